//! `interval`: months, days and microseconds, kept separately as PostgreSQL
//! does (a month is not a fixed number of days, nor a day of microseconds).

use std::fmt;

use super::datetime::{Scan, write_fraction};
use super::error::{Fail, fixed};

const MICROS_PER_HOUR: i64 = 3_600_000_000;
const MICROS_PER_MINUTE: i64 = 60_000_000;
const MICROS_PER_SECOND: i64 = 1_000_000;

/// An `interval`.
///
/// PostgreSQL 17+ has infinite intervals; they are stored with every field at
/// its maximum ([`Interval::INFINITY`]) or minimum
/// ([`Interval::NEG_INFINITY`]), the same sentinels as the binary format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Interval {
    /// Months (years are 12 months).
    pub months: i32,
    /// Days.
    pub days: i32,
    /// Microseconds.
    pub micros: i64,
}

impl Interval {
    /// `infinity` (PostgreSQL 17+).
    pub const INFINITY: Interval = Interval {
        months: i32::MAX,
        days: i32::MAX,
        micros: i64::MAX,
    };
    /// `-infinity` (PostgreSQL 17+).
    pub const NEG_INFINITY: Interval = Interval {
        months: i32::MIN,
        days: i32::MIN,
        micros: i64::MIN,
    };

    /// Whether this is `infinity` or `-infinity`.
    pub fn is_infinite(&self) -> bool {
        *self == Self::INFINITY || *self == Self::NEG_INFINITY
    }

    /// The `IntervalStyle = postgres` text, e.g.
    /// `1 year 2 mons 3 days 04:05:06.789` (the server's default style).
    pub fn to_postgres_style(&self) -> String {
        let mut s = String::new();
        // Writing to a String cannot fail.
        let _ = write_postgres(&mut s, *self);
        s
    }
}

impl fmt::Display for Interval {
    /// The `IntervalStyle = iso_8601` text, e.g. `P1Y2M3DT4H5M6.789S`,
    /// `PT0S`, `infinity`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_iso(f, *self)
    }
}

/// Fields as PostgreSQL's `interval2itm` splits them (C truncating division).
struct Parts {
    years: i32,
    months: i32,
    days: i32,
    hours: i64,
    minutes: i64,
    seconds: i64,
    fraction: i64,
}

fn parts(iv: Interval) -> Parts {
    let t = iv.micros;
    Parts {
        years: iv.months / 12,
        months: iv.months % 12,
        days: iv.days,
        hours: t / MICROS_PER_HOUR,
        minutes: t % MICROS_PER_HOUR / MICROS_PER_MINUTE,
        seconds: t % MICROS_PER_MINUTE / MICROS_PER_SECOND,
        fraction: t % MICROS_PER_SECOND,
    }
}

fn write_iso<W: fmt::Write>(w: &mut W, iv: Interval) -> fmt::Result {
    if iv == Interval::INFINITY {
        return w.write_str("infinity");
    }
    if iv == Interval::NEG_INFINITY {
        return w.write_str("-infinity");
    }
    let p = parts(iv);
    if iv == Interval::default() {
        return w.write_str("PT0S");
    }
    w.write_char('P')?;
    for (v, unit) in [(p.years, 'Y'), (p.months, 'M'), (p.days, 'D')] {
        if v != 0 {
            write!(w, "{v}{unit}")?;
        }
    }
    if iv.micros != 0 {
        w.write_char('T')?;
        for (v, unit) in [(p.hours, 'H'), (p.minutes, 'M')] {
            if v != 0 {
                write!(w, "{v}{unit}")?;
            }
        }
        if p.seconds != 0 || p.fraction != 0 {
            if p.seconds < 0 || p.fraction < 0 {
                w.write_char('-')?;
            }
            write!(w, "{}", p.seconds.unsigned_abs())?;
            write_fraction(w, p.fraction.unsigned_abs())?;
            w.write_char('S')?;
        }
    }
    Ok(())
}

fn write_postgres<W: fmt::Write>(w: &mut W, iv: Interval) -> fmt::Result {
    if iv == Interval::INFINITY {
        return w.write_str("infinity");
    }
    if iv == Interval::NEG_INFINITY {
        return w.write_str("-infinity");
    }
    let p = parts(iv);
    let mut is_zero = true;
    let mut is_before = false;
    for (v, unit) in [(p.years, "year"), (p.months, "mon"), (p.days, "day")] {
        if v != 0 {
            write!(
                w,
                "{}{}{v} {unit}{}",
                if is_zero { "" } else { " " },
                if is_before && v > 0 { "+" } else { "" },
                if v != 1 { "s" } else { "" }
            )?;
            is_before = v < 0;
            is_zero = false;
        }
    }
    if is_zero || iv.micros != 0 {
        let minus = iv.micros < 0;
        write!(
            w,
            "{}{}{:02}:{:02}:{:02}",
            if is_zero { "" } else { " " },
            if minus {
                "-"
            } else if is_before {
                "+"
            } else {
                ""
            },
            p.hours.unsigned_abs(),
            p.minutes.unsigned_abs(),
            p.seconds.unsigned_abs()
        )?;
        write_fraction(w, p.fraction.unsigned_abs())?;
    }
    Ok(())
}

/// Accumulated fields, wide enough that parsing cannot overflow before the
/// final range check.
#[derive(Default)]
struct Acc {
    months: i128,
    days: i128,
    micros: i128,
}

impl Acc {
    fn finish(self) -> Result<Interval, Fail> {
        let out = (|| {
            Some(Interval {
                months: i32::try_from(self.months).ok()?,
                days: i32::try_from(self.days).ok()?,
                micros: i64::try_from(self.micros).ok()?,
            })
        })();
        out.ok_or(Fail::Msg("interval field out of range"))
    }
}

/// A signed integer with an optional fraction of up to 6 digits:
/// (negative, integer part, fraction in microseconds).
fn number(s: &mut Scan<'_>) -> Result<(bool, i128, i128), Fail> {
    let negative = if s.eat(b'-') {
        true
    } else {
        s.eat(b'+');
        false
    };
    let (int, _) = s.digits(1, 19).ok_or(Fail::Msg("expected a number"))?;
    if s.peek().is_some_and(|c| c.is_ascii_digit()) {
        return Err(Fail::Msg("number too long"));
    }
    let frac = s.fraction()?;
    Ok((negative, i128::from(int), i128::from(frac)))
}

fn signed(negative: bool, v: i128) -> i128 {
    if negative { -v } else { v }
}

/// `P[nY][nM][nW][nD][T[nH][nM][n[.f]S]]` with per-field signs.
fn parse_iso(b: &[u8]) -> Result<Interval, Fail> {
    let mut s = Scan::new(b);
    if !s.eat(b'P') {
        return Err(Fail::Msg("expected 'P'"));
    }
    let mut acc = Acc::default();
    let mut in_time = false;
    let mut any = false;
    while !s.is_empty() {
        if s.eat(b'T') {
            if in_time {
                return Err(Fail::Msg("'T' appears twice"));
            }
            in_time = true;
            continue;
        }
        let (neg, int, frac) = number(&mut s)?;
        let unit = s.peek().ok_or(Fail::Msg("number without a unit"))?;
        s.bump();
        if frac != 0 && !(in_time && unit == b'S') {
            return Err(Fail::Msg("only seconds may have a fraction"));
        }
        let v = signed(neg, int);
        match (in_time, unit) {
            (false, b'Y') => acc.months += v * 12,
            (false, b'M') => acc.months += v,
            (false, b'W') => acc.days += v * 7,
            (false, b'D') => acc.days += v,
            (true, b'H') => acc.micros += v * i128::from(MICROS_PER_HOUR),
            (true, b'M') => acc.micros += v * i128::from(MICROS_PER_MINUTE),
            (true, b'S') => {
                acc.micros += signed(neg, int * i128::from(MICROS_PER_SECOND) + frac);
            }
            _ => return Err(Fail::Msg("unknown ISO 8601 interval unit")),
        }
        any = true;
    }
    if !any {
        return Err(Fail::Msg("interval has no fields"));
    }
    acc.finish()
}

/// `[-]H+:MM:SS[.f]` as signed microseconds.
fn parse_clock(tok: &[u8]) -> Result<i128, Fail> {
    let mut s = Scan::new(tok);
    let negative = if s.eat(b'-') {
        true
    } else {
        s.eat(b'+');
        false
    };
    let (h, _) = s.digits(1, 18).ok_or(Fail::Msg("expected hours"))?;
    if !s.eat(b':') {
        return Err(Fail::Msg("expected ':' after hours"));
    }
    let m = s
        .fixed_digits(2)
        .ok_or(Fail::Msg("expected 2-digit minutes"))?;
    let mut sec = 0;
    let mut frac = 0;
    if s.eat(b':') {
        sec = s
            .fixed_digits(2)
            .ok_or(Fail::Msg("expected 2-digit seconds"))?;
        frac = s.fraction()?;
    }
    if !s.is_empty() || m > 59 || sec > 59 {
        return Err(Fail::Msg("malformed time field"));
    }
    let total = ((i128::from(h) * 60 + i128::from(m)) * 60 + i128::from(sec))
        * i128::from(MICROS_PER_SECOND)
        + i128::from(frac);
    Ok(signed(negative, total))
}

/// `IntervalStyle = postgres`: `1 year -2 mons +3 days -04:05:06.789`.
fn parse_postgres(b: &[u8]) -> Result<Interval, Fail> {
    let mut acc = Acc::default();
    let mut tokens = b.split(|c| *c == b' ').filter(|t| !t.is_empty()).peekable();
    if tokens.peek().is_none() {
        return Err(Fail::Msg("empty interval"));
    }
    let mut seen_clock = false;
    while let Some(tok) = tokens.next() {
        if tok.contains(&b':') {
            if seen_clock {
                return Err(Fail::Msg("two time fields"));
            }
            seen_clock = true;
            acc.micros += parse_clock(tok)?;
            continue;
        }
        let mut s = Scan::new(tok);
        let (neg, int, frac) = number(&mut s)?;
        if frac != 0 || !s.is_empty() {
            return Err(Fail::Msg("expected an integer before a unit"));
        }
        let v = signed(neg, int);
        let unit = tokens.next().ok_or(Fail::Msg("number without a unit"))?;
        match unit {
            b"year" | b"years" => acc.months += v * 12,
            b"mon" | b"mons" | b"month" | b"months" => acc.months += v,
            b"week" | b"weeks" => acc.days += v * 7,
            b"day" | b"days" => acc.days += v,
            b"hour" | b"hours" => acc.micros += v * i128::from(MICROS_PER_HOUR),
            b"min" | b"mins" => acc.micros += v * i128::from(MICROS_PER_MINUTE),
            b"sec" | b"secs" => acc.micros += v * i128::from(MICROS_PER_SECOND),
            _ => return Err(Fail::Msg("unknown interval unit")),
        }
    }
    acc.finish()
}

/// `interval` text in `iso_8601` or `postgres` style.
pub(crate) fn decode_text(b: &[u8]) -> Result<Interval, Fail> {
    match b {
        b"infinity" => Ok(Interval::INFINITY),
        b"-infinity" => Ok(Interval::NEG_INFINITY),
        [b'P', ..] => parse_iso(b),
        _ => parse_postgres(b),
    }
}

/// `interval` binary: i64 micros, i32 days, i32 months.
pub(crate) fn decode_binary(raw: &[u8]) -> Result<Interval, Fail> {
    let bytes: [u8; 16] = fixed(raw)?;
    let [
        t0,
        t1,
        t2,
        t3,
        t4,
        t5,
        t6,
        t7,
        d0,
        d1,
        d2,
        d3,
        m0,
        m1,
        m2,
        m3,
    ] = bytes;
    Ok(Interval {
        micros: i64::from_be_bytes([t0, t1, t2, t3, t4, t5, t6, t7]),
        days: i32::from_be_bytes([d0, d1, d2, d3]),
        months: i32::from_be_bytes([m0, m1, m2, m3]),
    })
}

/// Appends the binary form.
pub(crate) fn encode_binary(iv: &Interval, out: &mut Vec<u8>) {
    out.extend_from_slice(&iv.micros.to_be_bytes());
    out.extend_from_slice(&iv.days.to_be_bytes());
    out.extend_from_slice(&iv.months.to_be_bytes());
}

#[cfg(test)]
mod tests {
    // Tests unwrap known-good fixtures.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn iv(months: i32, days: i32, micros: i64) -> Interval {
        Interval {
            months,
            days,
            micros,
        }
    }

    fn parse(s: &str) -> Interval {
        decode_text(s.as_bytes()).unwrap()
    }

    const HMS: i64 = 4 * MICROS_PER_HOUR + 5 * MICROS_PER_MINUTE + 6_789_000;

    #[test]
    fn iso_8601() {
        assert_eq!(parse("P1Y2M3DT4H5M6.789S"), iv(14, 3, HMS));
        assert_eq!(iv(14, 3, HMS).to_string(), "P1Y2M3DT4H5M6.789S");
        assert_eq!(parse("PT0S"), iv(0, 0, 0));
        assert_eq!(iv(0, 0, 0).to_string(), "PT0S");
        assert_eq!(parse("P-1Y-2M3DT-4H-5M-6.789S"), iv(-14, 3, -HMS));
        assert_eq!(iv(-14, 3, -HMS).to_string(), "P-1Y-2M3DT-4H-5M-6.789S");
        assert_eq!(iv(0, 0, -500_000).to_string(), "PT-0.5S");
        assert_eq!(parse("PT-0.5S"), iv(0, 0, -500_000));
        assert_eq!(iv(1, 0, 0).to_string(), "P1M");
        assert_eq!(iv(0, 0, MICROS_PER_HOUR).to_string(), "PT1H");
        assert_eq!(parse("P2W"), iv(0, 14, 0));
        assert_eq!(parse("infinity"), Interval::INFINITY);
        assert_eq!(parse("-infinity"), Interval::NEG_INFINITY);
        assert_eq!(Interval::INFINITY.to_string(), "infinity");
        assert!(Interval::NEG_INFINITY.is_infinite());
        let min = iv(i32::MIN + 1, i32::MIN, i64::MIN);
        assert_eq!(parse(&min.to_string()), min);
        for bad in [
            "P",
            "PT",
            "P1",
            "P1X",
            "PT1Y",
            "P1.5Y",
            "P1DT2H3",
            "P99999999999Y",
            "PT1.1234567S",
            "P1D T1H",
        ] {
            assert!(decode_text(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn postgres_style() {
        assert_eq!(parse("1 year 2 mons 3 days 04:05:06.789"), iv(14, 3, HMS));
        assert_eq!(
            iv(14, 3, HMS).to_postgres_style(),
            "1 year 2 mons 3 days 04:05:06.789"
        );
        assert_eq!(parse("-00:00:01"), iv(0, 0, -1_000_000));
        assert_eq!(parse("00:00:00"), iv(0, 0, 0));
        assert_eq!(iv(0, 0, 0).to_postgres_style(), "00:00:00");
        assert_eq!(
            iv(-14, 3, -HMS).to_postgres_style(),
            "-1 years -2 mons +3 days -04:05:06.789"
        );
        assert_eq!(
            parse("-1 years -2 mons +3 days -04:05:06.789"),
            iv(-14, 3, -HMS)
        );
        assert_eq!(parse("1 day"), iv(0, 1, 0));
        assert_eq!(parse("-1 days +02:00:00"), iv(0, -1, 2 * MICROS_PER_HOUR));
        assert_eq!(parse("100:00:00"), iv(0, 0, 100 * MICROS_PER_HOUR));
        for bad in [
            "",
            " ",
            "1",
            "1 fortnight",
            "1.5 days",
            "01:02:03 04:05:06",
            "1:2:3",
            "x",
        ] {
            assert!(decode_text(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn binary() {
        let mut raw = Vec::new();
        encode_binary(&iv(-14, 3, -HMS), &mut raw);
        assert_eq!(raw.len(), 16);
        assert_eq!(&raw[8..12], &3i32.to_be_bytes());
        assert_eq!(&raw[12..], &(-14i32).to_be_bytes());
        assert_eq!(decode_binary(&raw).unwrap(), iv(-14, 3, -HMS));
        assert!(decode_binary(&raw[..15]).is_err());
    }
}
