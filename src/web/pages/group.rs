//! The groups a story's headlines are listed in: each side, then unrated outlets (the page's
//! sections, its side filter and the timeline's rows).

use crate::model::{Bias, Side};

/// The groups headlines are listed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Group {
    Side(Side),
    Unrated,
}

impl Group {
    pub(super) const ALL: [Group; 4] = [
        Group::Side(Side::Left),
        Group::Side(Side::Center),
        Group::Side(Side::Right),
        Group::Unrated,
    ];

    pub(super) fn key(self) -> &'static str {
        match self {
            Group::Side(s) => super::super::layout::side_class(s),
            Group::Unrated => "unrated",
        }
    }

    pub(super) fn label(self) -> &'static str {
        match self {
            Group::Side(s) => s.label(),
            Group::Unrated => "Unrated",
        }
    }

    pub(super) fn parse(s: &str) -> Option<Group> {
        Group::ALL.into_iter().find(|g| g.key() == s)
    }

    pub(super) fn of(bias: Option<Bias>) -> Group {
        bias.map_or(Group::Unrated, |b| Group::Side(b.side()))
    }
}
