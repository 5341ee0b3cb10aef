use time::macros::date;

use super::{Every, Schedule};

fn schedule(every: Every, interval: u32, starts_on: time::Date) -> Schedule {
    Schedule {
        every,
        interval,
        starts_on,
        ends_on: None,
        count: None,
    }
}

fn dates(s: &Schedule, n: u32) -> Vec<time::Date> {
    (0..n).map_while(|i| s.date(i)).collect()
}

#[test]
fn monthly_on_the_31st_falls_on_month_ends_and_back_on_the_31st() {
    let s = schedule(Every::Month, 1, date!(2026 - 01 - 31));
    assert_eq!(
        dates(&s, 6),
        [
            date!(2026 - 01 - 31),
            date!(2026 - 02 - 28),
            date!(2026 - 03 - 31),
            date!(2026 - 04 - 30),
            date!(2026 - 05 - 31),
            date!(2026 - 06 - 30),
        ]
    );
}

#[test]
fn monthly_on_the_31st_in_a_leap_year_falls_on_29_february() {
    let s = schedule(Every::Month, 1, date!(2028 - 01 - 31));
    assert_eq!(s.date(1), Some(date!(2028 - 02 - 29)));
    assert_eq!(s.date(2), Some(date!(2028 - 03 - 31)));
}

#[test]
fn monthly_on_the_30th_keeps_the_30th_after_february() {
    let s = schedule(Every::Month, 1, date!(2026 - 01 - 30));
    assert_eq!(s.date(1), Some(date!(2026 - 02 - 28)));
    assert_eq!(s.date(2), Some(date!(2026 - 03 - 30)));
}

#[test]
fn yearly_on_29_february_falls_on_28_february_in_common_years() {
    let s = schedule(Every::Year, 1, date!(2024 - 02 - 29));
    assert_eq!(
        dates(&s, 5),
        [
            date!(2024 - 02 - 29),
            date!(2025 - 02 - 28),
            date!(2026 - 02 - 28),
            date!(2027 - 02 - 28),
            date!(2028 - 02 - 29),
        ]
    );
}

#[test]
fn intervals_multiply_the_unit() {
    let cases = [
        (Every::Day, 3, date!(2026 - 12 - 30), date!(2027 - 01 - 02)),
        (Every::Week, 2, date!(2026 - 12 - 24), date!(2027 - 01 - 07)),
        (
            Every::Month,
            3,
            date!(2026 - 11 - 30),
            date!(2027 - 02 - 28),
        ),
        (Every::Year, 4, date!(2024 - 02 - 29), date!(2028 - 02 - 29)),
        (
            Every::Month,
            12,
            date!(2026 - 01 - 15),
            date!(2027 - 01 - 15),
        ),
    ];
    for (every, interval, start, second) in cases {
        let s = schedule(every, interval, start);
        assert_eq!(s.date(0), Some(start), "{every:?} {interval}");
        assert_eq!(s.date(1), Some(second), "{every:?} {interval}");
    }
}

#[test]
fn count_limits_the_calendar() {
    let s = Schedule {
        count: Some(3),
        ..schedule(Every::Week, 1, date!(2026 - 01 - 01))
    };
    assert_eq!(dates(&s, 10).len(), 3);
    assert_eq!(s.date(2), Some(date!(2026 - 01 - 15)));
    assert_eq!(s.date(3), None);
}

#[test]
fn ends_on_is_inclusive() {
    let s = Schedule {
        ends_on: Some(date!(2026 - 03 - 31)),
        ..schedule(Every::Month, 1, date!(2026 - 01 - 31))
    };
    assert_eq!(dates(&s, 10).last(), Some(&date!(2026 - 03 - 31)));
    assert_eq!(dates(&s, 10).len(), 3);
    let just_before = Schedule {
        ends_on: Some(date!(2026 - 03 - 30)),
        ..s
    };
    assert_eq!(dates(&just_before, 10).len(), 2);
}

#[test]
fn the_earlier_of_count_and_ends_on_wins() {
    let s = Schedule {
        ends_on: Some(date!(2026 - 01 - 10)),
        count: Some(100),
        ..schedule(Every::Day, 1, date!(2026 - 01 - 01))
    };
    assert_eq!(dates(&s, 200).len(), 10);
    let by_count = Schedule {
        count: Some(4),
        ..s
    };
    assert_eq!(dates(&by_count, 200).len(), 4);
}

#[test]
fn resuming_continues_at_the_first_date_on_or_after_the_resume_day() {
    // Paused after January's occurrence (index 0 made, 1 next), resumed on 15 April:
    // February, March and the 31 March never come; April 30 is next, numbered 3.
    let s = schedule(Every::Month, 1, date!(2026 - 01 - 31));
    assert_eq!(s.first_from(date!(2026 - 04 - 15), 1), Some(3));
    assert_eq!(s.date(3), Some(date!(2026 - 04 - 30)));
    // Resumed on an occurrence's own day: that day's occurrence is made.
    assert_eq!(s.first_from(date!(2026 - 04 - 30), 1), Some(3));
    // Resumed before the next date was due: nothing is skipped.
    assert_eq!(s.first_from(date!(2026 - 02 - 01), 1), Some(1));
    // Never goes back below what was already made.
    assert_eq!(s.first_from(date!(2025 - 01 - 01), 2), Some(2));
}

#[test]
fn resuming_after_the_end_finds_nothing() {
    let s = Schedule {
        count: Some(3),
        ..schedule(Every::Month, 1, date!(2026 - 01 - 31))
    };
    assert_eq!(s.first_from(date!(2026 - 03 - 01), 1), Some(2));
    assert_eq!(s.first_from(date!(2026 - 04 - 01), 1), None);
}

#[test]
fn first_from_agrees_with_a_walk_of_the_calendar() {
    let rules = [
        schedule(Every::Day, 1, date!(2024 - 02 - 27)),
        schedule(Every::Day, 10, date!(2024 - 02 - 27)),
        schedule(Every::Week, 3, date!(2024 - 02 - 29)),
        schedule(Every::Month, 1, date!(2024 - 01 - 31)),
        schedule(Every::Month, 5, date!(2024 - 08 - 29)),
        schedule(Every::Year, 1, date!(2024 - 02 - 29)),
    ];
    for s in rules {
        let mut day = date!(2024 - 01 - 01);
        while day < date!(2030 - 01 - 01) {
            let walked = (0..10_000).find(|&n| s.date(n).is_some_and(|d| d >= day));
            assert_eq!(s.first_from(day, 0), walked, "{s:?} from {day}");
            day = day.next_day().unwrap_or(day);
        }
    }
}

#[test]
fn the_calendar_stops_at_year_9999() {
    let s = schedule(Every::Year, 1, date!(9998 - 06 - 01));
    assert_eq!(s.date(1), Some(date!(9999 - 06 - 01)));
    assert_eq!(s.date(2), None);
    assert_eq!(s.first_from(date!(9999 - 07 - 01), 0), None);
}

#[test]
fn checks_refuse_bad_rules() {
    let ok = schedule(Every::Month, 1, date!(2026 - 01 - 01));
    assert!(ok.check().is_ok());
    let codes = |s: Schedule| -> Vec<(String, &str)> {
        s.check()
            .err()
            .map(|e| e.0.into_iter().map(|f| (f.field, f.code)).collect())
            .unwrap_or_default()
    };
    assert_eq!(
        codes(Schedule { interval: 0, ..ok }),
        [("interval".to_string(), "out_of_range")]
    );
    assert_eq!(
        codes(Schedule {
            count: Some(0),
            ..ok
        }),
        [("count".to_string(), "out_of_range")]
    );
    assert_eq!(
        codes(Schedule {
            ends_on: Some(date!(2025 - 12 - 31)),
            ..ok
        }),
        [("ends_on".to_string(), "invalid_range")]
    );
    assert_eq!(
        codes(Schedule {
            starts_on: date!(1899 - 12 - 31),
            ..ok
        }),
        [("starts_on".to_string(), "date_out_of_range")]
    );
}
