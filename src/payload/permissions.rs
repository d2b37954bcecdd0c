//! Discord's permission bits that storybot reads, named.

pub(crate) const ADMINISTRATOR: u64 = 1 << 3;
pub(crate) const MANAGE_CHANNELS: u64 = 1 << 4;
pub(crate) const VIEW_CHANNEL: u64 = 1 << 10;
pub(crate) const SEND_MESSAGES: u64 = 1 << 11;
pub(crate) const EMBED_LINKS: u64 = 1 << 14;
pub(crate) const ATTACH_FILES: u64 = 1 << 15;
pub(crate) const MENTION_EVERYONE: u64 = 1 << 17;
pub(crate) const CREATE_PUBLIC_THREADS: u64 = 1 << 35;
pub(crate) const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;

/// Whether `held` grants `wanted` (administrators hold every permission).
pub(crate) fn grants(held: u64, wanted: u64) -> bool {
    held & ADMINISTRATOR != 0 || held & wanted == wanted
}
