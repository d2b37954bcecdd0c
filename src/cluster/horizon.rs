//! Counts over a horizon of publication days: how often each word was seen in the articles
//! of the last [`RARITY_DAYS`] UTC days of the stream (document frequencies, name evidence).
//!
//! Bounded by time, not by how long the process has run, the counts are a function of the
//! articles alone: a clusterer rebuilt from the store's last days of articles counts exactly
//! what one that saw them go by counts, and memory stays bounded on a long run.

use std::borrow::Borrow;
use std::collections::VecDeque;
use std::hash::Hash;

use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap as HashMap;

/// Days of publication whose articles the counts hold: the day of the newest article and the
/// days before it.
pub(crate) const RARITY_DAYS: i64 = 7;

/// The UTC day of a publication time.
pub(crate) fn day(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(86_400)
}

/// Counts per key over the horizon, kept per day so that a day falling out is subtracted.
#[derive(Debug, Clone)]
pub(crate) struct DayCounts<K> {
    total: HashMap<K, u32>,
    /// (day, counts of that day), oldest first.
    days: VecDeque<(i64, HashMap<K, u32>)>,
}

impl<K> Default for DayCounts<K> {
    fn default() -> Self {
        DayCounts {
            total: HashMap::default(),
            days: VecDeque::new(),
        }
    }
}

impl<K: Hash + Eq + Clone> DayCounts<K> {
    /// The count of `key` over the horizon.
    pub(crate) fn get<Q>(&self, key: &Q) -> u32
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.total.get(key).copied().unwrap_or(0)
    }

    /// Counts `key` once, on `day`. A day newer than any seen moves the horizon there (the
    /// days before it fall out); a day older than the horizon counts nothing.
    pub(crate) fn add(&mut self, day: i64, key: K) {
        let Some(slot) = self.slot(day) else {
            return;
        };
        *self.days[slot].1.entry(key.clone()).or_default() += 1;
        *self.total.entry(key).or_default() += 1;
    }

    /// The index of `day`'s counts, made if needed; `None` when it is older than the horizon.
    fn slot(&mut self, day: i64) -> Option<usize> {
        match self.days.back() {
            Some(&(last, _)) if day > last => {
                self.forget_before(day - RARITY_DAYS + 1);
                self.days.push_back((day, HashMap::default()));
                Some(self.days.len() - 1)
            }
            None => {
                self.days.push_back((day, HashMap::default()));
                Some(0)
            }
            Some(_) => {
                if day <= self.days.back()?.0 - RARITY_DAYS {
                    return None;
                }
                // A late article of a day inside the horizon: its day's counts, kept in order.
                let at = self.days.partition_point(|(d, _)| *d < day);
                if self.days.get(at).is_none_or(|(d, _)| *d != day) {
                    self.days.insert(at, (day, HashMap::default()));
                }
                Some(at)
            }
        }
    }

    /// Drops the days before `first`.
    fn forget_before(&mut self, first: i64) {
        while self.days.front().is_some_and(|(d, _)| *d < first) {
            let (_, counts) = self.days.pop_front().expect("checked");
            for (key, n) in counts {
                if let Some(t) = self.total.get_mut(&key) {
                    *t -= n;
                    if *t == 0 {
                        self.total.remove(&key);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_fall_out_after_the_horizon() {
        let mut c = DayCounts::default();
        c.add(100, "a");
        c.add(100, "a");
        c.add(103, "a");
        assert_eq!(c.get(&"a"), 3);
        c.add(100 + RARITY_DAYS, "b");
        assert_eq!(c.get(&"a"), 1, "day 100 fell out");
        c.add(100, "a");
        assert_eq!(
            c.get(&"a"),
            1,
            "a day older than the horizon counts nothing"
        );
        c.add(103, "a");
        assert_eq!(c.get(&"a"), 2, "a late article of a day inside it counts");
        c.add(103 + RARITY_DAYS, "b");
        assert_eq!(c.get(&"a"), 0);
        assert_eq!(c.get(&"b"), 2);
    }
}
