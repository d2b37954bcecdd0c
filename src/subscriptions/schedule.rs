//! When a daily briefing is due: a local time in an IANA zone, once per local date, also
//! across daylight-saving changes. A local time that does not exist that day (the spring-forward
//! gap) fires at the first minute that does; one that happens twice (fall back) fires at the
//! first. A briefing missed while the bot was down fires late, within a grace period, once (the
//! outbox keys it by its local date).

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

pub(crate) use crate::model::{parse_time, parse_zone};

/// The instant a briefing at `time` fires on local `date`.
pub(crate) fn occurrence(date: NaiveDate, time: NaiveTime, tz: Tz) -> DateTime<Utc> {
    let mut local = date.and_time(time);
    // A gap is at most a few hours; step a minute at a time to its end.
    for _ in 0..24 * 60 {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => return first.with_timezone(&Utc),
            LocalResult::None => local += Duration::minutes(1),
        }
    }
    Utc.from_utc_datetime(&date.and_time(time))
}

/// The occurrence due at `now`, if any: the latest one not after `now`, no earlier than the
/// subscription (`since`: no backfill) and no more than `grace` ago. Returns its local date
/// (the key that makes it fire once) and its instant.
pub(crate) fn due(
    now: DateTime<Utc>,
    time: NaiveTime,
    tz: Tz,
    since: DateTime<Utc>,
    grace: Duration,
) -> Option<(NaiveDate, DateTime<Utc>)> {
    let today = now.with_timezone(&tz).date_naive();
    [today, today.pred_opt()?]
        .into_iter()
        .map(|d| (d, occurrence(d, time, tz)))
        .find(|(_, at)| *at <= now)
        .filter(|(_, at)| *at >= since && now - *at <= grace)
}

/// A local date as the delivery revision (`20261127`).
pub(crate) fn date_key(date: NaiveDate) -> i64 {
    use chrono::Datelike;
    i64::from(date.year()) * 10_000 + i64::from(date.month()) * 100 + i64::from(date.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn times_and_zones_parse_strictly() {
        assert_eq!(parse_time("7:30"), NaiveTime::from_hms_opt(7, 30, 0));
        assert_eq!(parse_time("23:59"), NaiveTime::from_hms_opt(23, 59, 0));
        for bad in ["24:00", "7", "7:3", "07:60", "ab:cd", "", "1:2:3"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
        assert_eq!(parse_zone("europe/paris"), Some(chrono_tz::Europe::Paris));
        assert_eq!(parse_zone("Mars/Olympus"), None);
    }

    #[test]
    fn seven_oclock_follows_new_york_across_both_changes() {
        let ny = chrono_tz::America::New_York;
        let seven = parse_time("07:00").unwrap();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        // EST (UTC-5) before 8 March 2026, EDT (UTC-4) after; back on 1 November.
        assert_eq!(
            occurrence(d("2026-03-07"), seven, ny),
            utc("2026-03-07T12:00:00Z")
        );
        assert_eq!(
            occurrence(d("2026-03-08"), seven, ny),
            utc("2026-03-08T11:00:00Z")
        );
        assert_eq!(
            occurrence(d("2026-10-31"), seven, ny),
            utc("2026-10-31T11:00:00Z")
        );
        assert_eq!(
            occurrence(d("2026-11-01"), seven, ny),
            utc("2026-11-01T12:00:00Z")
        );
    }

    #[test]
    fn gaps_fire_at_their_end_and_repeated_times_once_at_the_first() {
        let ny = chrono_tz::America::New_York;
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        // 02:30 does not exist on 8 March 2026: 03:00 EDT.
        let gap = occurrence(d("2026-03-08"), parse_time("02:30").unwrap(), ny);
        assert_eq!(gap, utc("2026-03-08T07:00:00Z"));
        // 01:30 happens twice on 1 November 2026: the first, EDT.
        let fold = occurrence(d("2026-11-01"), parse_time("01:30").unwrap(), ny);
        assert_eq!(fold, utc("2026-11-01T05:30:00Z"));
    }

    #[test]
    fn due_within_grace_never_before_the_subscription() {
        let ny = chrono_tz::America::New_York;
        let seven = parse_time("07:00").unwrap();
        let since = utc("2026-03-01T00:00:00Z");
        let grace = Duration::minutes(60);
        assert_eq!(
            due(utc("2026-03-08T10:59:00Z"), seven, ny, since, grace),
            None
        );
        let (date, at) = due(utc("2026-03-08T11:00:00Z"), seven, ny, since, grace).unwrap();
        assert_eq!(
            (date_key(date), at),
            (20260308, utc("2026-03-08T11:00:00Z"))
        );
        // Down at 07:00, back at 07:40: still due, same key; back at 08:01: missed.
        let late = due(utc("2026-03-08T11:40:00Z"), seven, ny, since, grace).unwrap();
        assert_eq!(date_key(late.0), 20260308);
        assert_eq!(
            due(utc("2026-03-08T12:01:00Z"), seven, ny, since, grace),
            None
        );
        // Subscribed at 07:10 local: today's 07:00 is not backfilled.
        let after = utc("2026-03-08T11:10:00Z");
        assert_eq!(
            due(utc("2026-03-08T11:20:00Z"), seven, ny, after, grace),
            None
        );
    }
}
