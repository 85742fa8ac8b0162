//! The publication gate: which relevant items are news (the age gate) and
//! when a waiting story may go out (the posting cap). Pure functions of the
//! item, the settings and an injected `now`; the store keeps the queue. An
//! item's own date and the clock-skew rule are [`crate::model::own_date`].

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::{Item, clamp_future};

/// The publication settings in force (`[publish] max_age`, `max_per_hour`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate {
    /// `None`: items of any age are news.
    pub max_age: Option<Duration>,
    /// New stories per rolling hour; 0 = no cap.
    pub max_per_hour: u32,
}

impl Default for Gate {
    /// The shipped defaults: two days, six stories an hour.
    fn default() -> Self {
        Gate {
            max_age: Some(Duration::from_secs(2 * 86_400)),
            max_per_hour: 6,
        }
    }
}

impl Gate {
    /// Why an item dated `date` is not news at `now`, if it is not.
    pub fn hold_reason(&self, date: DateTime<Utc>, now: DateTime<Utc>) -> Option<String> {
        let max_age = self.max_age?;
        let limit = chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX);
        (now - clamp_future(date, now) > limit)
            .then(|| format!("older than max_age ({})", format_duration(max_age)))
    }

    /// [`Gate::hold_reason`] for an item's own date.
    pub fn hold_item(&self, item: &Item, now: DateTime<Utc>) -> Option<String> {
        self.hold_reason(item.published, now)
    }

    /// How many more stories may go out at `now`, given how many went out in
    /// the hour before it. `None`: no cap.
    pub fn allowance(&self, posted_last_hour: u64) -> Option<u64> {
        (self.max_per_hour > 0)
            .then(|| u64::from(self.max_per_hour).saturating_sub(posted_last_hour))
    }
}

/// A duration as an operator wrote it: "2d", "36h", "90m", "45s".
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0s".to_string(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0)
            .single()
            .expect("valid")
    }

    #[test]
    fn age_gate_holds_old_items_only() {
        let g = Gate::default();
        let day = chrono::Duration::days(1);
        assert_eq!(g.hold_reason(now() - day, now()), None);
        assert_eq!(
            g.hold_reason(now() - day * 2, now()),
            None,
            "exactly max_age is news"
        );
        assert_eq!(
            g.hold_reason(now() - day * 3, now()).as_deref(),
            Some("older than max_age (2d)")
        );
        // Far-future dates count as now, so they are news, not held.
        assert_eq!(g.hold_reason(now() + day * 400, now()), None);
        let off = Gate { max_age: None, ..g };
        assert_eq!(off.hold_reason(now() - day * 3650, now()), None);
    }

    #[test]
    fn future_dates_beyond_skew_count_as_now() {
        let soon = now() + chrono::Duration::minutes(3);
        assert_eq!(clamp_future(soon, now()), soon);
        let later = now() + chrono::Duration::minutes(30);
        assert_eq!(clamp_future(later, now()), now());
    }

    #[test]
    fn allowance_counts_down_to_zero() {
        let g = Gate::default();
        assert_eq!(g.allowance(0), Some(6));
        assert_eq!(g.allowance(4), Some(2));
        assert_eq!(g.allowance(9), Some(0));
        let uncapped = Gate {
            max_per_hour: 0,
            ..g
        };
        assert_eq!(uncapped.allowance(1000), None);
    }

    #[test]
    fn durations_read_as_written() {
        assert_eq!(format_duration(Duration::from_secs(172_800)), "2d");
        assert_eq!(format_duration(Duration::from_secs(36 * 3600)), "36h");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
    }
}
