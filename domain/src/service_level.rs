//! Service levels: each kind of application has a target duration in working days. Weekends and
//! public holidays (from a configurable calendar) do not count, and the clock stops while the
//! application is with the applicant for a correction. Days are Baku's (UTC+4, no daylight saving).

use crate::application::ApplicationKind;
use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, Utc, Weekday};
use std::collections::BTreeSet;

/// Baku's offset from UTC: +4 hours all year.
const BAKU_OFFSET_SECONDS: i32 = 4 * 3600;

fn baku() -> FixedOffset {
    FixedOffset::east_opt(BAKU_OFFSET_SECONDS)
        .unwrap_or_else(|| FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!()))
}

/// The date in Baku of an instant.
pub fn baku_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&baku()).date_naive()
}

/// Working days: Monday to Friday, less the public holidays.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkingCalendar {
    holidays: BTreeSet<NaiveDate>,
}

impl WorkingCalendar {
    pub fn new(holidays: impl IntoIterator<Item = NaiveDate>) -> Self {
        Self {
            holidays: holidays.into_iter().collect(),
        }
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !self.holidays.contains(&date)
    }

    /// The `days`-th working day after `date`; with 0 days, `date` itself when it is a working
    /// day, otherwise the next one.
    fn nth_working_day_after(&self, date: NaiveDate, days: u32) -> NaiveDate {
        let mut current = date;
        while days == 0 && !self.is_working_day(current) {
            current = current.checked_add_days(Days::new(1)).unwrap_or(current);
        }
        let mut left = days;
        while left > 0 {
            current = current.checked_add_days(Days::new(1)).unwrap_or(current);
            if self.is_working_day(current) {
                left -= 1;
            }
        }
        current
    }

    /// The end (midnight, Baku time) of the `days`-th working day after the Baku date of
    /// `start`. Submitted on Friday with 1 day, it is due at the end of Monday.
    pub fn due_after(&self, start: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        let last_day = self.nth_working_day_after(baku_date(start), days);
        let end = last_day.checked_add_days(Days::new(1)).unwrap_or(last_day);
        end.and_hms_opt(0, 0, 0)
            .and_then(|midnight| midnight.and_local_timezone(baku()).single())
            .map_or(start, |local| local.with_timezone(&Utc))
    }

    /// The working days from the Baku date of `from` (exclusive) to that of `to` (inclusive):
    /// what remains of a due time when the clock stops at `from`.
    pub fn working_days_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
        let (mut current, end) = (baku_date(from), baku_date(to));
        let mut count = 0;
        while current < end {
            current = current.checked_add_days(Days::new(1)).unwrap_or(end);
            if self.is_working_day(current) {
                count += 1;
            }
        }
        count
    }
}

/// The target durations and the calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceLevels {
    pub calendar: WorkingCalendar,
    pub meter_damage_days: u32,
    pub account_change_days: u32,
}

impl Default for ServiceLevels {
    fn default() -> Self {
        Self {
            calendar: WorkingCalendar::default(),
            meter_damage_days: 10,
            account_change_days: 5,
        }
    }
}

impl ServiceLevels {
    pub fn target_days(&self, kind: ApplicationKind) -> u32 {
        match kind {
            ApplicationKind::MeterDamageInvestigation => self.meter_damage_days,
            ApplicationKind::AccountChange => self.account_change_days,
        }
    }

    /// Due time of an application of `kind` submitted at `submitted_at`.
    pub fn due_at(&self, kind: ApplicationKind, submitted_at: DateTime<Utc>) -> DateTime<Utc> {
        self.calendar
            .due_after(submitted_at, self.target_days(kind))
    }

    /// The due time after a correction: the working days that were left when the application went
    /// back to the applicant count again from the resubmission.
    pub fn due_after_correction(
        &self,
        due_at: DateTime<Utc>,
        returned_at: DateTime<Utc>,
        resubmitted_at: DateTime<Utc>,
    ) -> DateTime<Utc> {
        // The due time is the midnight after the last working day; the second before it falls on
        // that day.
        let last_moment = due_at - chrono::TimeDelta::seconds(1);
        let remaining = self.calendar.working_days_between(returned_at, last_moment);
        self.calendar.due_after(resubmitted_at, remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn baku_time(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        baku()
            .with_ymd_and_hms(y, m, d, h, 0, 0)
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }
    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn weekends_do_not_count() {
        let calendar = WorkingCalendar::default();
        // Friday 20 November 2026, 15:00 in Baku; one working day: the end of Monday 23rd.
        assert_eq!(
            calendar.due_after(baku_time(2026, 11, 20, 15), 1),
            baku_time(2026, 11, 24, 0)
        );
        // Saturday counts from Monday too.
        assert_eq!(
            calendar.due_after(baku_time(2026, 11, 21, 10), 1),
            baku_time(2026, 11, 24, 0)
        );
        // Five working days from Monday: the end of the next Monday.
        assert_eq!(
            calendar.due_after(baku_time(2026, 11, 16, 9), 5),
            baku_time(2026, 11, 24, 0)
        );
    }

    #[test]
    fn holidays_do_not_count() {
        // 9 November 2026 (Monday) is the State Flag Day holiday.
        let calendar = WorkingCalendar::new([date(2026, 11, 9)]);
        assert!(!calendar.is_working_day(date(2026, 11, 9)));
        // Friday 6th + 1 working day skips the weekend and the Monday holiday: end of Tuesday 10th.
        assert_eq!(
            calendar.due_after(baku_time(2026, 11, 6, 12), 1),
            baku_time(2026, 11, 11, 0)
        );
    }

    #[test]
    fn a_due_time_at_the_end_of_a_friday_keeps_its_days_after_a_correction() {
        let levels = ServiceLevels {
            calendar: WorkingCalendar::default(),
            meter_damage_days: 4,
            account_change_days: 4,
        };
        let due = levels.due_at(
            ApplicationKind::MeterDamageInvestigation,
            baku_time(2026, 11, 16, 9),
        );
        assert_eq!(due, baku_time(2026, 11, 21, 0), "end of Friday 20th");
        // Returned on Tuesday 17th with Wed, Thu, Fri left; resubmitted on Monday 23rd.
        let new_due = levels.due_after_correction(
            due,
            baku_time(2026, 11, 17, 9),
            baku_time(2026, 11, 23, 9),
        );
        assert_eq!(new_due, baku_time(2026, 11, 27, 0), "end of Thursday 26th");
    }

    #[test]
    fn no_days_left_means_the_end_of_a_working_day() {
        let calendar = WorkingCalendar::new([date(2026, 11, 9)]);
        // Saturday 7th with nothing left: the end of Tuesday 10th (Monday 9th is a holiday).
        assert_eq!(
            calendar.due_after(baku_time(2026, 11, 7, 10), 0),
            baku_time(2026, 11, 11, 0)
        );
        assert_eq!(
            calendar.due_after(baku_time(2026, 11, 4, 10), 0),
            baku_time(2026, 11, 5, 0)
        );
    }

    #[test]
    fn baku_dates_are_utc_plus_four() {
        // 21:30 UTC on the 20th is already the 21st in Baku.
        let late = Utc
            .with_ymd_and_hms(2026, 11, 20, 21, 30, 0)
            .single()
            .unwrap_or_default();
        assert_eq!(baku_date(late), date(2026, 11, 21));
    }

    #[test]
    fn the_clock_stops_while_with_the_applicant() {
        let levels = ServiceLevels {
            calendar: WorkingCalendar::default(),
            meter_damage_days: 5,
            account_change_days: 5,
        };
        let submitted = baku_time(2026, 11, 16, 9); // Monday
        let due = levels.due_at(ApplicationKind::AccountChange, submitted);
        assert_eq!(due, baku_time(2026, 11, 24, 0)); // end of Monday 23rd
        // Returned on Wednesday 18th with Thu, Fri, Mon left; resubmitted on Monday 30th.
        let returned = baku_time(2026, 11, 18, 11);
        assert_eq!(
            levels
                .calendar
                .working_days_between(returned, due - chrono::TimeDelta::seconds(1)),
            3
        );
        let resubmitted = baku_time(2026, 11, 30, 10);
        let new_due = levels.due_after_correction(due, returned, resubmitted);
        assert_eq!(
            new_due,
            baku_time(2026, 12, 4, 0),
            "three working days from Monday 30th: end of Thursday 3rd"
        );
    }
}
