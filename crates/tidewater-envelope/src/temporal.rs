//! Date, time and interval representations as Debezium writes them.

use std::fmt::Write as _;

use tidewater_pgoutput::value::{Interval, civil_from_days};

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Java's `ISO_LOCAL_DATE` year: at least four digits, `+` above 9999, `-`
/// below zero (astronomical years: 0 is 1 BC).
fn write_year(out: &mut String, year: i64) {
    if year > 9999 {
        let _ = write!(out, "+{year}");
    } else if year < 0 {
        let _ = write!(out, "-{:04}", year.unsigned_abs());
    } else {
        let _ = write!(out, "{year:04}");
    }
}

/// Writes a fraction of a second given in microseconds: exactly `width`
/// digits (truncated), or with `width == None` the fewest digits without
/// trailing zeros (nothing when zero), as `DateTimeFormatter` does.
fn write_fraction(out: &mut String, micros: i64, width: Option<u8>) {
    let nanos = micros * 1000;
    match width {
        Some(w) if (1..=9).contains(&w) => {
            let digits = format!("{nanos:09}");
            out.push('.');
            out.push_str(digits.get(..usize::from(w)).unwrap_or(&digits));
        }
        _ => {
            if nanos != 0 {
                let digits = format!("{nanos:09}");
                out.push('.');
                out.push_str(digits.trim_end_matches('0'));
            }
        }
    }
}

fn write_hms(out: &mut String, micros_of_day: i64) {
    let secs = micros_of_day / 1_000_000;
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
}

fn push2(out: &mut String, v: i64) {
    out.push(char::from(b'0' + (v / 10 % 10) as u8));
    out.push(char::from(b'0' + (v % 10) as u8));
}

/// `io.debezium.time.ZonedTimestamp`: `2016-11-04T11:51:30.123456Z`, the
/// fraction padded to `width` digits (`None`: trimmed).
pub(crate) fn zoned_timestamp(unix_micros: i64, width: Option<u8>) -> String {
    let mut out = String::with_capacity(32);
    let days = unix_micros.div_euclid(MICROS_PER_DAY);
    let of_day = unix_micros.rem_euclid(MICROS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    if (1000..=9999).contains(&y) && width == Some(6) {
        // The common case, formatted without the formatting machinery.
        push2(&mut out, y / 100);
        push2(&mut out, y % 100);
        out.push('-');
        push2(&mut out, i64::from(m));
        out.push('-');
        push2(&mut out, i64::from(d));
        out.push('T');
        let secs = of_day / 1_000_000;
        push2(&mut out, secs / 3600);
        out.push(':');
        push2(&mut out, secs / 60 % 60);
        out.push(':');
        push2(&mut out, secs % 60);
        out.push('.');
        let frac = of_day % 1_000_000;
        push2(&mut out, frac / 10_000);
        push2(&mut out, frac / 100 % 100);
        push2(&mut out, frac % 100);
        out.push('Z');
        return out;
    }
    zoned_timestamp_general(out, y, m, d, of_day, width)
}

fn zoned_timestamp_general(
    mut out: String,
    y: i64,
    m: u32,
    d: u32,
    of_day: i64,
    width: Option<u8>,
) -> String {
    write_year(&mut out, y);
    let _ = write!(out, "-{m:02}-{d:02}T");
    write_hms(&mut out, of_day);
    write_fraction(&mut out, of_day % 1_000_000, width);
    out.push('Z');
    out
}

/// `io.debezium.time.ZonedTime`: a UTC time of day, fraction trimmed.
pub(crate) fn zoned_time(micros_of_day: i64, offset_seconds: i32) -> String {
    let utc = (micros_of_day - i64::from(offset_seconds) * 1_000_000).rem_euclid(MICROS_PER_DAY);
    let mut out = String::with_capacity(20);
    write_hms(&mut out, utc);
    write_fraction(&mut out, utc % 1_000_000, None);
    out.push('Z');
    out
}

/// An interval split as the JDBC driver's `PGInterval` splits it.
struct Parts {
    years: i32,
    months: i32,
    days: i32,
    hours: i32,
    minutes: i32,
    seconds: f64,
}

fn parts(iv: &Interval) -> Parts {
    let t = iv.micros;
    let whole = t % 60_000_000 / 1_000_000;
    let micros = t % 1_000_000;
    Parts {
        years: iv.months / 12,
        months: iv.months % 12,
        days: iv.days,
        hours: i32::try_from(t / 3_600_000_000).unwrap_or(i32::MAX),
        minutes: (t % 3_600_000_000 / 60_000_000) as i32,
        seconds: whole as f64 + micros as f64 / 1e6,
    }
}

/// `io.debezium.time.MicroDuration`: microseconds with a month of 365.25/12
/// days, computed in floating point exactly as Debezium does.
pub(crate) fn micro_duration(iv: &Interval) -> i64 {
    if *iv == Interval::INFINITY {
        return i64::MAX;
    }
    if *iv == Interval::NEG_INFINITY {
        return i64::MIN;
    }
    let p = parts(iv);
    let days_per_month = 365.25 / 12.0;
    let months = p.years.wrapping_mul(12).wrapping_add(p.months);
    let number_of_days = f64::from(months) * days_per_month + f64::from(p.days);
    let number_of_seconds =
        ((number_of_days * 24.0 + f64::from(p.hours)) * 60.0 + f64::from(p.minutes)) * 60.0
            + p.seconds;
    (number_of_seconds * 1e6) as i64
}

/// `io.debezium.time.Interval`: `P1Y2M3DT4H5M6.78S` with every component,
/// seconds from the exact binary value of the double truncated to 9 digits.
pub(crate) fn interval_iso(iv: &Interval) -> String {
    if *iv == Interval::INFINITY {
        return "infinity".into();
    }
    if *iv == Interval::NEG_INFINITY {
        return "-infinity".into();
    }
    let p = parts(iv);
    let mut out = String::with_capacity(32);
    let _ = write!(
        out,
        "P{}Y{}M{}DT{}H{}M",
        p.years, p.months, p.days, p.hours, p.minutes
    );
    write_seconds(&mut out, p.seconds);
    out.push('S');
    out
}

/// `new BigDecimal(seconds)` truncated to 9 decimals, trailing zeros
/// stripped, plain notation.
fn write_seconds(out: &mut String, s: f64) {
    let bits = s.to_bits();
    let negative = bits >> 63 == 1;
    let exp_bits = ((bits >> 52) & 0x7FF) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    let (mant, exp) = if exp_bits == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), exp_bits - 1075)
    };
    // floor(|s| * 10^9), exactly.
    let scaled: u128 = if exp >= 0 {
        u128::from(mant)
            .checked_shl(exp as u32)
            .and_then(|v| v.checked_mul(1_000_000_000))
            .unwrap_or(u128::MAX)
    } else {
        let shift = (-exp) as u32;
        let product = u128::from(mant) * 1_000_000_000;
        if shift >= 128 { 0 } else { product >> shift }
    };
    let int = scaled / 1_000_000_000;
    let frac = (scaled % 1_000_000_000) as u64;
    if negative && scaled != 0 {
        out.push('-');
    }
    let _ = write!(out, "{int}");
    if frac != 0 {
        let digits = format!("{frac:09}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoned_timestamps() {
        // 2016-11-04T11:51:30.123456Z
        let t = 1_478_260_290_123_456;
        assert_eq!(zoned_timestamp(t, Some(6)), "2016-11-04T11:51:30.123456Z");
        assert_eq!(zoned_timestamp(t, Some(3)), "2016-11-04T11:51:30.123Z");
        assert_eq!(
            zoned_timestamp(t - 123_456, Some(6)),
            "2016-11-04T11:51:30.000000Z"
        );
        assert_eq!(zoned_timestamp(t - 123_456, None), "2016-11-04T11:51:30Z");
        assert_eq!(zoned_timestamp(-1, Some(6)), "1969-12-31T23:59:59.999999Z");
        assert_eq!(zoned_timestamp(-1, Some(5)), "1969-12-31T23:59:59.99999Z");
        assert_eq!(zoned_timestamp(0, Some(6)), "1970-01-01T00:00:00.000000Z");
        // Year 1 AD and 1 BC (astronomical year 0).
        let ad1 = tidewater_pgoutput::value::days_from_civil(1, 1, 1) * MICROS_PER_DAY;
        assert_eq!(zoned_timestamp(ad1, Some(6)), "0001-01-01T00:00:00.000000Z");
        let bc1 = tidewater_pgoutput::value::days_from_civil(0, 1, 1) * MICROS_PER_DAY;
        assert_eq!(zoned_timestamp(bc1, Some(6)), "0000-01-01T00:00:00.000000Z");
        // Year 21016 gets a sign.
        let far = (tidewater_pgoutput::value::days_from_civil(21016, 11, 4)) * MICROS_PER_DAY;
        assert_eq!(
            zoned_timestamp(far, Some(6)),
            "+21016-11-04T00:00:00.000000Z"
        );
    }

    #[test]
    fn zoned_times() {
        assert_eq!(
            zoned_time(11 * 3_600_000_000 + 51 * 60_000_000 + 2_000_000, 0),
            "11:51:02Z"
        );
        assert_eq!(
            zoned_time(16 * 3_600_000_000 + 51 * 60_000_000 + 30_123_000, 5 * 3600),
            "11:51:30.123Z"
        );
        assert_eq!(zoned_time(30 * 60_000_000, 3600), "23:30:00Z");
    }

    #[test]
    fn intervals() {
        let iv = Interval {
            months: 14,
            days: 3,
            micros: 4 * 3_600_000_000 + 5 * 60_000_000 + 6_789_000,
        };
        // 6.789 as a double is 6.78899999999999970157...: Debezium's
        // `new BigDecimal(double)` truncated to 9 digits keeps that.
        assert_eq!(interval_iso(&iv), "P1Y2M3DT4H5M6.788999999S");
        let half = Interval {
            months: 0,
            days: 0,
            micros: 1_500_000,
        };
        assert_eq!(interval_iso(&half), "P0Y0M0DT0H0M1.5S");
        assert_eq!(interval_iso(&Interval::default()), "P0Y0M0DT0H0M0S");
        let neg = Interval {
            months: 0,
            days: 0,
            micros: -300_000,
        };
        // 0.3 as a double is 0.29999999999999998889...; Debezium truncates.
        assert_eq!(interval_iso(&neg), "P0Y0M0DT0H0M-0.299999999S");
        // 1 month = 30.4375 days.
        let month = Interval {
            months: 1,
            days: 0,
            micros: 0,
        };
        assert_eq!(micro_duration(&month), 2_629_800_000_000);
        assert_eq!(micro_duration(&iv), 37_091_106_789_000);
    }
}
