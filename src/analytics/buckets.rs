//! UTC buckets of a period: days, weeks from Monday, calendar months.

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc};

use super::Bucket;
use crate::error::{AppError, AppResult};

/// Longest period one call may cover.
pub const MAX_DAYS: i64 = 366;

/// The bucket a day falls in, by its first day.
pub fn start_of(bucket: Bucket, day: NaiveDate) -> NaiveDate {
    match bucket {
        Bucket::Day => day,
        Bucket::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
        Bucket::Month => day.with_day(1).unwrap_or(day),
    }
}

fn next(bucket: Bucket, start: NaiveDate) -> NaiveDate {
    match bucket {
        Bucket::Day => start + Duration::days(1),
        Bucket::Week => start + Duration::days(7),
        Bucket::Month => start + Months::new(1),
    }
}

/// The first day of each bucket that meets `[from, to)`, in order, after
/// checking the period.
pub fn starts(bucket: Bucket, from: DateTime<Utc>, to: DateTime<Utc>) -> AppResult<Vec<NaiveDate>> {
    for (field, at) in [("from", from), ("to", to)] {
        if !(1970..=9999).contains(&at.year()) {
            return Err(AppError::bad_input(
                field,
                "dates lie in the years 1970 to 9999",
            ));
        }
    }
    if to <= from {
        return Err(AppError::bad_input("to", "to must be after from"));
    }
    if to - from > Duration::days(MAX_DAYS) {
        return Err(AppError::bad_input(
            "to",
            format!("a period covers at most {MAX_DAYS} days"),
        ));
    }
    let mut out = Vec::new();
    let mut start = start_of(bucket, from.date_naive());
    while start.and_hms_opt(0, 0, 0).is_some_and(|t| t.and_utc() < to) {
        out.push(start);
        start = next(bucket, start);
    }
    Ok(out)
}

/// The instant a bucket ends (the next one's start).
pub fn end_of(bucket: Bucket, start: NaiveDate) -> DateTime<Utc> {
    next(bucket, start)
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Utc};

    use super::{Bucket, starts};

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a date")
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        let from = Utc
            .with_ymd_and_hms(2026, 12, 2, 15, 0, 0)
            .single()
            .expect("a time");
        let to = Utc
            .with_ymd_and_hms(2027, 1, 5, 0, 0, 0)
            .single()
            .expect("a time");
        let weeks = starts(Bucket::Week, from, to).expect("weeks");
        assert_eq!(weeks[0], day(2026, 11, 30));
        assert_eq!(*weeks.last().expect("a week"), day(2027, 1, 4));
        let months = starts(Bucket::Month, from, to).expect("months");
        assert_eq!(months, [day(2026, 12, 1), day(2027, 1, 1)]);
        assert_eq!(starts(Bucket::Day, from, to).expect("days").len(), 34);
        assert!(starts(Bucket::Day, to, from).is_err());
        let long = Utc
            .with_ymd_and_hms(2028, 1, 5, 0, 0, 0)
            .single()
            .expect("a time");
        assert!(starts(Bucket::Day, from, long).is_err());
    }
}
