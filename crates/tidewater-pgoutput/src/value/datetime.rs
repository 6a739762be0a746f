//! `date`, `time`, `timetz`, `timestamp` and `timestamptz`, plus proleptic
//! Gregorian calendar arithmetic.
//!
//! Text forms are those of `DateStyle = ISO`. Binary forms are integers
//! counted from PostgreSQL's epoch, 2000-01-01 00:00:00 (UTC for `timestamptz`).

use std::fmt;

use super::error::{Fail, fixed};

/// Days from 1970-01-01 to 2000-01-01.
pub const PG_EPOCH_UNIX_DAYS: i64 = 10_957;
/// Microseconds from 1970-01-01 to 2000-01-01.
pub const PG_EPOCH_UNIX_MICROS: i64 = PG_EPOCH_UNIX_DAYS * MICROS_PER_DAY;
/// Microseconds in a day.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;
/// Largest UTC offset `timetz` accepts, exclusive: 16 hours in seconds.
const TZ_LIMIT_SECONDS: i32 = 16 * 3600;

/// Days since 1970-01-01 of a proleptic Gregorian date. `year` is
/// astronomical (0 is 1 BC, -1 is 2 BC). Month and day are not range-checked
/// here; see [`is_valid_ymd`].
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let month = i64::from(month);
    let day = i64::from(day);
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400); // [0, 399]
    let mp = (month + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + day - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// Proleptic Gregorian date (astronomical year, month 1-12, day 1-31) of a
/// count of days since 1970-01-01. Exact for every `i64` input whose year fits.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = i128::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i128::from(month <= 2);
    (i64::try_from(year).unwrap_or(i64::MAX), month, day)
}

/// Whether the year is a Gregorian leap year (astronomical numbering).
pub fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Whether month and day form a real calendar date in that year.
pub fn is_valid_ymd(year: i64, month: u32, day: u32) -> bool {
    let len = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => return false,
    };
    (1..=len).contains(&day)
}

/// A `date`: days since 2000-01-01, or one of the infinities.
///
/// On the wire `i32::MIN` and `i32::MAX` stand for `-infinity` and
/// `infinity`; `Finite` never holds those two values when produced by the
/// decoder. Ordering follows time (`NegativeInfinity` first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PgDate {
    /// `-infinity`.
    NegativeInfinity,
    /// Days since 2000-01-01.
    Finite(i32),
    /// `infinity`.
    PositiveInfinity,
}

impl PgDate {
    /// From the binary form.
    pub fn from_pg_days(days: i32) -> Self {
        match days {
            i32::MIN => PgDate::NegativeInfinity,
            i32::MAX => PgDate::PositiveInfinity,
            d => PgDate::Finite(d),
        }
    }

    /// The binary form.
    pub fn to_pg_days(self) -> i32 {
        match self {
            PgDate::NegativeInfinity => i32::MIN,
            PgDate::PositiveInfinity => i32::MAX,
            PgDate::Finite(d) => d,
        }
    }

    /// A calendar date (astronomical year: 0 is 1 BC), if valid and
    /// representable.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Self> {
        if !is_valid_ymd(year.into(), month, day) {
            return None;
        }
        let days = days_from_civil(year.into(), month, day) - PG_EPOCH_UNIX_DAYS;
        match i32::try_from(days) {
            Ok(d) if d != i32::MIN && d != i32::MAX => Some(PgDate::Finite(d)),
            _ => None,
        }
    }

    /// The calendar date (astronomical year, month, day) of a finite date.
    pub fn to_ymd(self) -> Option<(i32, u32, u32)> {
        let PgDate::Finite(d) = self else { return None };
        let (y, m, day) = civil_from_days(i64::from(d) + PG_EPOCH_UNIX_DAYS);
        Some((i32::try_from(y).ok()?, m, day))
    }

    /// Days since 1970-01-01 of a finite date.
    pub fn to_unix_days(self) -> Option<i64> {
        match self {
            PgDate::Finite(d) => Some(i64::from(d) + PG_EPOCH_UNIX_DAYS),
            _ => None,
        }
    }
}

impl fmt::Display for PgDate {
    /// PostgreSQL's ISO output: `2024-02-29`, `0044-03-15 BC`, `infinity`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PgDate::NegativeInfinity => f.write_str("-infinity"),
            PgDate::PositiveInfinity => f.write_str("infinity"),
            PgDate::Finite(d) => {
                let bc = write_ymd(f, i64::from(d) + PG_EPOCH_UNIX_DAYS)?;
                if bc { f.write_str(" BC") } else { Ok(()) }
            }
        }
    }
}

/// A `timestamp` or `timestamptz`: microseconds since 2000-01-01 00:00:00
/// (UTC for `timestamptz`), or one of the infinities.
///
/// On the wire `i64::MIN` and `i64::MAX` stand for `-infinity` and
/// `infinity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PgTimestamp {
    /// `-infinity`.
    NegativeInfinity,
    /// Microseconds since 2000-01-01 00:00:00.
    Finite(i64),
    /// `infinity`.
    PositiveInfinity,
}

impl PgTimestamp {
    /// From the binary form.
    pub fn from_pg_micros(micros: i64) -> Self {
        match micros {
            i64::MIN => PgTimestamp::NegativeInfinity,
            i64::MAX => PgTimestamp::PositiveInfinity,
            m => PgTimestamp::Finite(m),
        }
    }

    /// The binary form.
    pub fn to_pg_micros(self) -> i64 {
        match self {
            PgTimestamp::NegativeInfinity => i64::MIN,
            PgTimestamp::PositiveInfinity => i64::MAX,
            PgTimestamp::Finite(m) => m,
        }
    }

    /// Microseconds since 1970-01-01 00:00:00, if finite and representable.
    pub fn to_unix_micros(self) -> Option<i64> {
        match self {
            PgTimestamp::Finite(m) => m.checked_add(PG_EPOCH_UNIX_MICROS),
            _ => None,
        }
    }

    /// From microseconds since 1970-01-01 00:00:00.
    pub fn from_unix_micros(unix_micros: i64) -> Option<Self> {
        let m = unix_micros.checked_sub(PG_EPOCH_UNIX_MICROS)?;
        (m != i64::MIN && m != i64::MAX).then_some(PgTimestamp::Finite(m))
    }

    /// From a calendar date (astronomical year) and microseconds since
    /// midnight (`0..86_400_000_000`).
    pub fn from_civil(year: i32, month: u32, day: u32, micros_of_day: i64) -> Option<Self> {
        if !is_valid_ymd(year.into(), month, day) || !(0..MICROS_PER_DAY).contains(&micros_of_day) {
            return None;
        }
        let days = i128::from(days_from_civil(year.into(), month, day) - PG_EPOCH_UNIX_DAYS);
        let m =
            i64::try_from(days * i128::from(MICROS_PER_DAY) + i128::from(micros_of_day)).ok()?;
        (m != i64::MIN && m != i64::MAX).then_some(PgTimestamp::Finite(m))
    }

    /// Calendar date (astronomical year, month, day) and microseconds since
    /// midnight of a finite timestamp.
    pub fn to_civil(self) -> Option<(i32, u32, u32, i64)> {
        let PgTimestamp::Finite(m) = self else {
            return None;
        };
        let days = m.div_euclid(MICROS_PER_DAY);
        let (y, mo, d) = civil_from_days(days + PG_EPOCH_UNIX_DAYS);
        Some((i32::try_from(y).ok()?, mo, d, m.rem_euclid(MICROS_PER_DAY)))
    }
}

impl fmt::Display for PgTimestamp {
    /// PostgreSQL's ISO `timestamp` output (no zone), e.g.
    /// `2024-01-02 03:04:05.123456`, `0001-01-01 00:00:00 BC`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_timestamp(f, *self, None)
    }
}

/// Writes `YYYY-MM-DD` for days since 1970; returns whether " BC" is due.
fn write_ymd<W: fmt::Write>(w: &mut W, unix_days: i64) -> Result<bool, fmt::Error> {
    let (y, m, d) = civil_from_days(unix_days);
    let bc = y <= 0;
    let shown = if bc { 1 - y } else { y };
    write!(w, "{shown:04}-{m:02}-{d:02}")?;
    Ok(bc)
}

/// Writes `HH:MM:SS[.ffffff]` with trailing fractional zeros removed.
pub(crate) fn write_time<W: fmt::Write>(w: &mut W, micros_of_day: i64) -> fmt::Result {
    let secs = micros_of_day / 1_000_000;
    let frac = micros_of_day % 1_000_000;
    write!(
        w,
        "{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )?;
    write_fraction(w, frac.unsigned_abs())
}

/// Writes `.ffffff` with trailing zeros trimmed, or nothing for zero.
pub(crate) fn write_fraction<W: fmt::Write>(w: &mut W, micros: u64) -> fmt::Result {
    if micros == 0 {
        return Ok(());
    }
    let mut digits = micros;
    let mut width = 6;
    while digits.is_multiple_of(10) {
        digits /= 10;
        width -= 1;
    }
    write!(w, ".{digits:0width$}")
}

/// Writes a UTC offset (seconds east) as PostgreSQL does: `+00`, `+05:30`,
/// `-03:00:15`.
pub(crate) fn write_offset<W: fmt::Write>(w: &mut W, east_seconds: i32) -> fmt::Result {
    let sign = if east_seconds >= 0 { '+' } else { '-' };
    let a = east_seconds.unsigned_abs();
    let (h, m, s) = (a / 3600, a / 60 % 60, a % 60);
    write!(w, "{sign}{h:02}")?;
    if m != 0 || s != 0 {
        write!(w, ":{m:02}")?;
    }
    if s != 0 {
        write!(w, ":{s:02}")?;
    }
    Ok(())
}

/// Writes a timestamp; with `Some(offset)` as `timestamptz` shown in that
/// offset (seconds east of UTC).
pub(crate) fn write_timestamp<W: fmt::Write>(
    w: &mut W,
    ts: PgTimestamp,
    offset: Option<i32>,
) -> fmt::Result {
    let m = match ts {
        PgTimestamp::NegativeInfinity => return w.write_str("-infinity"),
        PgTimestamp::PositiveInfinity => return w.write_str("infinity"),
        PgTimestamp::Finite(m) => m,
    };
    let local = i128::from(m) + i128::from(offset.unwrap_or(0)) * 1_000_000;
    let day_micros = i128::from(MICROS_PER_DAY);
    let days = local.div_euclid(day_micros) as i64;
    let tod = local.rem_euclid(day_micros) as i64;
    let bc = write_ymd(w, days + PG_EPOCH_UNIX_DAYS)?;
    w.write_char(' ')?;
    write_time(w, tod)?;
    if let Some(off) = offset {
        write_offset(w, off)?;
    }
    if bc {
        w.write_str(" BC")?;
    }
    Ok(())
}

/// Writes a `timetz`: time then offset.
pub(crate) fn write_timetz<W: fmt::Write>(w: &mut W, micros: i64, east: i32) -> fmt::Result {
    write_time(w, micros)?;
    write_offset(w, east)
}

/// A byte cursor for the text parsers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scan<'a> {
    pub(crate) b: &'a [u8],
}

impl<'a> Scan<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Scan { b }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.b.first().copied()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.b.is_empty()
    }

    pub(crate) fn bump(&mut self) {
        self.b = self.b.get(1..).unwrap_or(&[]);
    }

    /// Consumes `c` if it is next.
    pub(crate) fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.bump();
            true
        } else {
            false
        }
    }

    /// Consumes `s` if it is next.
    pub(crate) fn eat_str(&mut self, s: &[u8]) -> bool {
        match self.b.strip_prefix(s) {
            Some(rest) => {
                self.b = rest;
                true
            }
            None => false,
        }
    }

    /// Reads between `min` and `max` ASCII digits as a number; `None` when
    /// fewer than `min` digits are present (consuming nothing then).
    pub(crate) fn digits(&mut self, min: usize, max: usize) -> Option<(u64, usize)> {
        let n = self
            .b
            .iter()
            .take(max)
            .take_while(|c| c.is_ascii_digit())
            .count();
        if n < min {
            return None;
        }
        let (head, tail) = self.b.split_at_checked(n)?;
        let mut v: u64 = 0;
        for &c in head {
            v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
        }
        self.b = tail;
        Some((v, n))
    }

    /// Exactly `n` digits.
    pub(crate) fn fixed_digits(&mut self, n: usize) -> Option<u64> {
        let save = *self;
        match self.digits(n, n) {
            Some((v, _)) => Some(v),
            None => {
                *self = save;
                None
            }
        }
    }

    /// An optional `.` and 1-6 digits as microseconds.
    pub(crate) fn fraction(&mut self) -> Result<u64, Fail> {
        if !self.eat(b'.') {
            return Ok(0);
        }
        let (v, n) = self
            .digits(1, 7)
            .ok_or(Fail::Msg("expected digits after '.'"))?;
        if n > 6 {
            return Err(Fail::Msg("more than 6 fractional digits"));
        }
        Ok(v * 10u64.pow(6 - n as u32))
    }
}

/// `YYYY-MM-DD` (year of 4+ digits) as days since 1970, and whether the
/// date is followed by ` BC` is left to the caller: returns the displayed
/// year, month and day.
fn parse_ymd(s: &mut Scan<'_>) -> Result<(i64, u32, u32), Fail> {
    let (year, _) = s
        .digits(4, 9)
        .ok_or(Fail::Msg("expected a year of at least 4 digits"))?;
    if !s.eat(b'-') {
        return Err(Fail::Msg("expected '-' after the year"));
    }
    let month = s
        .fixed_digits(2)
        .ok_or(Fail::Msg("expected a 2-digit month"))?;
    if !s.eat(b'-') {
        return Err(Fail::Msg("expected '-' after the month"));
    }
    let day = s
        .fixed_digits(2)
        .ok_or(Fail::Msg("expected a 2-digit day"))?;
    Ok((year as i64, month as u32, day as u32))
}

/// Applies the era and validates; returns days since 1970.
fn ymd_to_days(year: i64, month: u32, day: u32, bc: bool) -> Result<i64, Fail> {
    if bc && year == 0 {
        return Err(Fail::Msg("year 0 BC does not exist"));
    }
    if !bc && year == 0 {
        return Err(Fail::Msg("year 0 does not exist (use 0001 BC)"));
    }
    let astro = if bc { 1 - year } else { year };
    if !is_valid_ymd(astro, month, day) {
        return Err(Fail::Text(format!(
            "{year:04}-{month:02}-{day:02}{} is not a calendar date",
            if bc { " BC" } else { "" }
        )));
    }
    Ok(days_from_civil(astro, month, day))
}

/// `HH:MM:SS[.ffffff]` as microseconds since midnight; `24:00:00` only when
/// `allow_24`.
fn parse_time_of_day(s: &mut Scan<'_>, allow_24: bool) -> Result<i64, Fail> {
    let h = s
        .fixed_digits(2)
        .ok_or(Fail::Msg("expected a 2-digit hour"))?;
    if !s.eat(b':') {
        return Err(Fail::Msg("expected ':' after the hour"));
    }
    let m = s
        .fixed_digits(2)
        .ok_or(Fail::Msg("expected 2-digit minutes"))?;
    if !s.eat(b':') {
        return Err(Fail::Msg("expected ':' after the minutes"));
    }
    let sec = s
        .fixed_digits(2)
        .ok_or(Fail::Msg("expected 2-digit seconds"))?;
    let frac = s.fraction()?;
    if m > 59 || sec > 59 {
        return Err(Fail::Msg("minutes or seconds out of range"));
    }
    let total = ((h * 60 + m) * 60 + sec) * 1_000_000 + frac;
    let limit = if allow_24 {
        MICROS_PER_DAY as u64
    } else {
        MICROS_PER_DAY as u64 - 1
    };
    if h > 24 || total > limit {
        return Err(Fail::Msg("time of day out of range"));
    }
    Ok(total as i64)
}

/// `+HH[:MM[:SS]]` or `-…` as seconds east of UTC.
fn parse_offset(s: &mut Scan<'_>) -> Result<i32, Fail> {
    let negative = match s.peek() {
        Some(b'+') => false,
        Some(b'-') => true,
        _ => return Err(Fail::Msg("expected a UTC offset (+HH[:MM[:SS]])")),
    };
    s.bump();
    let h = s
        .fixed_digits(2)
        .ok_or(Fail::Msg("expected 2-digit offset hours"))?;
    let mut m = 0;
    let mut sec = 0;
    if s.eat(b':') {
        m = s
            .fixed_digits(2)
            .ok_or(Fail::Msg("expected 2-digit offset minutes"))?;
        if s.eat(b':') {
            sec = s
                .fixed_digits(2)
                .ok_or(Fail::Msg("expected 2-digit offset seconds"))?;
        }
    }
    if m > 59 || sec > 59 {
        return Err(Fail::Msg("offset minutes or seconds out of range"));
    }
    let total = (h * 3600 + m * 60 + sec) as i32; // h < 100
    if total >= TZ_LIMIT_SECONDS {
        return Err(Fail::Msg("UTC offset must be under 16 hours"));
    }
    Ok(if negative { -total } else { total })
}

fn eat_bc(s: &mut Scan<'_>) -> bool {
    s.eat_str(b" BC")
}

fn end(s: &Scan<'_>) -> Result<(), Fail> {
    if s.is_empty() {
        Ok(())
    } else {
        Err(Fail::Msg("unexpected characters after the value"))
    }
}

/// `date` text.
pub(crate) fn decode_date_text(b: &[u8]) -> Result<PgDate, Fail> {
    match b {
        b"infinity" => return Ok(PgDate::PositiveInfinity),
        b"-infinity" => return Ok(PgDate::NegativeInfinity),
        _ => {}
    }
    let mut s = Scan::new(b);
    let (y, m, d) = parse_ymd(&mut s)?;
    let bc = eat_bc(&mut s);
    end(&s)?;
    let days = ymd_to_days(y, m, d, bc)? - PG_EPOCH_UNIX_DAYS;
    match i32::try_from(days) {
        Ok(d) if d != i32::MIN && d != i32::MAX => Ok(PgDate::Finite(d)),
        _ => Err(Fail::Msg("date out of range")),
    }
}

/// `date` binary: i32 days since 2000-01-01.
pub(crate) fn decode_date_binary(raw: &[u8]) -> Result<PgDate, Fail> {
    Ok(PgDate::from_pg_days(i32::from_be_bytes(fixed(raw)?)))
}

/// `timestamp` (`with_tz = false`) or `timestamptz` text.
pub(crate) fn decode_timestamp_text(b: &[u8], with_tz: bool) -> Result<PgTimestamp, Fail> {
    match b {
        b"infinity" => return Ok(PgTimestamp::PositiveInfinity),
        b"-infinity" => return Ok(PgTimestamp::NegativeInfinity),
        _ => {}
    }
    let mut s = Scan::new(b);
    let (y, mo, d) = parse_ymd(&mut s)?;
    if !(s.eat(b' ') || s.eat(b'T')) {
        return Err(Fail::Msg("expected ' ' between date and time"));
    }
    let tod = parse_time_of_day(&mut s, false)?;
    let offset = if with_tz { parse_offset(&mut s)? } else { 0 };
    let bc = eat_bc(&mut s);
    end(&s)?;
    let days = ymd_to_days(y, mo, d, bc)? - PG_EPOCH_UNIX_DAYS;
    let micros = i128::from(days) * i128::from(MICROS_PER_DAY) + i128::from(tod)
        - i128::from(offset) * 1_000_000;
    match i64::try_from(micros) {
        Ok(m) if m != i64::MIN && m != i64::MAX => Ok(PgTimestamp::Finite(m)),
        _ => Err(Fail::Msg("timestamp out of range")),
    }
}

/// `timestamp`/`timestamptz` binary: i64 microseconds since 2000-01-01.
pub(crate) fn decode_timestamp_binary(raw: &[u8]) -> Result<PgTimestamp, Fail> {
    Ok(PgTimestamp::from_pg_micros(i64::from_be_bytes(fixed(raw)?)))
}

/// `time` text.
pub(crate) fn decode_time_text(b: &[u8]) -> Result<i64, Fail> {
    let mut s = Scan::new(b);
    let t = parse_time_of_day(&mut s, true)?;
    end(&s)?;
    Ok(t)
}

/// `time` binary: i64 microseconds since midnight, `0..=86_400_000_000`.
pub(crate) fn decode_time_binary(raw: &[u8]) -> Result<i64, Fail> {
    let t = i64::from_be_bytes(fixed(raw)?);
    if !(0..=MICROS_PER_DAY).contains(&t) {
        return Err(Fail::Text(format!(
            "{t} microseconds is outside 00:00:00..24:00:00"
        )));
    }
    Ok(t)
}

/// `timetz` text; returns (micros, seconds east of UTC).
pub(crate) fn decode_timetz_text(b: &[u8]) -> Result<(i64, i32), Fail> {
    let mut s = Scan::new(b);
    let t = parse_time_of_day(&mut s, true)?;
    let off = parse_offset(&mut s)?;
    end(&s)?;
    Ok((t, off))
}

/// `timetz` binary: i64 micros, i32 zone in seconds WEST of UTC.
pub(crate) fn decode_timetz_binary(raw: &[u8]) -> Result<(i64, i32), Fail> {
    let bytes: [u8; 12] = fixed(raw)?;
    let [t @ .., z0, z1, z2, z3] = bytes;
    let t = i64::from_be_bytes(t);
    let west = i32::from_be_bytes([z0, z1, z2, z3]);
    if !(0..=MICROS_PER_DAY).contains(&t) {
        return Err(Fail::Text(format!(
            "{t} microseconds is outside 00:00:00..24:00:00"
        )));
    }
    if west <= -TZ_LIMIT_SECONDS || west >= TZ_LIMIT_SECONDS {
        return Err(Fail::Text(format!(
            "zone {west} seconds is not under 16 hours"
        )));
    }
    Ok((t, -west))
}

#[cfg(test)]
mod tests {
    // Tests unwrap known-good fixtures.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn date(s: &str) -> PgDate {
        decode_date_text(s.as_bytes()).unwrap()
    }

    fn ts(s: &str) -> PgTimestamp {
        decode_timestamp_text(s.as_bytes(), false).unwrap()
    }

    fn tstz(s: &str) -> PgTimestamp {
        decode_timestamp_text(s.as_bytes(), true).unwrap()
    }

    fn show_tstz(t: PgTimestamp) -> String {
        let mut s = String::new();
        write_timestamp(&mut s, t, Some(0)).unwrap();
        s
    }

    #[test]
    fn civil_round_trip_and_known_points() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 1, 1), PG_EPOCH_UNIX_DAYS);
        assert_eq!(days_from_civil(2000, 3, 1), PG_EPOCH_UNIX_DAYS + 60);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        // Julian day 0 is 4714-11-24 BC Gregorian = astronomical -4713.
        assert_eq!(days_from_civil(-4713, 11, 24), -2_440_588);
        for d in (-3_000_000i64..3_000_000)
            .step_by(997)
            .chain([i64::from(i32::MIN) * 2, i64::from(i32::MAX) * 3])
        {
            let (y, m, day) = civil_from_days(d);
            assert!(is_valid_ymd(y, m, day));
            assert_eq!(days_from_civil(y, m, day), d);
        }
        assert!(is_leap_year(2000) && is_leap_year(0) && !is_leap_year(1900) && is_leap_year(-4));
    }

    #[test]
    fn dates() {
        assert_eq!(date("2000-01-01"), PgDate::Finite(0));
        assert_eq!(date("1999-12-31"), PgDate::Finite(-1));
        assert_eq!(date("1970-01-01"), PgDate::Finite(-10957));
        assert_eq!(date("2024-02-29").to_ymd(), Some((2024, 2, 29)));
        assert_eq!(date("0001-01-01 BC").to_ymd(), Some((0, 1, 1)));
        assert_eq!(date("0044-03-15 BC").to_ymd(), Some((-43, 3, 15)));
        assert_eq!(date("4713-01-01 BC").to_string(), "4713-01-01 BC");
        assert_eq!(date("5874897-12-31").to_string(), "5874897-12-31");
        assert_eq!(date("infinity"), PgDate::PositiveInfinity);
        assert_eq!(date("-infinity"), PgDate::NegativeInfinity);
        assert_eq!(PgDate::Finite(0).to_string(), "2000-01-01");
        assert_eq!(
            PgDate::from_ymd(-43, 3, 15).unwrap().to_string(),
            "0044-03-15 BC"
        );
        assert_eq!(PgDate::Finite(-10957).to_unix_days(), Some(0));
        assert_eq!(PgDate::from_pg_days(i32::MAX), PgDate::PositiveInfinity);
        assert_eq!(PgDate::from_pg_days(i32::MIN).to_pg_days(), i32::MIN);
        assert!(PgDate::NegativeInfinity < PgDate::Finite(i32::MIN + 1));
        for bad in [
            "",
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-01-32",
            "24-01-01",
            "2024-1-01",
            "0000-01-01",
            "0000-01-01 BC",
            "2024-01-01 AD",
            "2024-01-01 ",
            "Infinity",
            "99999999-01-01",
        ] {
            assert!(decode_date_text(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert_eq!(
            decode_date_binary(&0i32.to_be_bytes()).unwrap(),
            PgDate::Finite(0)
        );
        assert!(decode_date_binary(&[0, 0, 0]).is_err());
    }

    #[test]
    fn times() {
        assert_eq!(decode_time_text(b"00:00:00").unwrap(), 0);
        assert_eq!(decode_time_text(b"24:00:00").unwrap(), MICROS_PER_DAY);
        assert_eq!(
            decode_time_text(b"23:59:59.999999").unwrap(),
            MICROS_PER_DAY - 1
        );
        assert_eq!(decode_time_text(b"01:02:03.5").unwrap(), 3_723_500_000);
        for bad in [
            "24:00:00.000001",
            "25:00:00",
            "12:60:00",
            "12:00",
            "1:00:00",
            "12:00:00.1234567",
            "12:00:00 ",
        ] {
            assert!(decode_time_text(bad.as_bytes()).is_err(), "{bad:?}");
        }
        let mut s = String::new();
        write_time(&mut s, 3_723_500_000).unwrap();
        assert_eq!(s, "01:02:03.5");
        assert!(decode_time_binary(&(MICROS_PER_DAY + 1).to_be_bytes()).is_err());
        assert!(decode_time_binary(&(-1i64).to_be_bytes()).is_err());
    }

    #[test]
    fn timetz_offsets_are_east_in_text_and_west_on_the_wire() {
        assert_eq!(
            decode_timetz_text(b"10:00:00+05:30").unwrap(),
            (36_000_000_000, 19_800)
        );
        assert_eq!(
            decode_timetz_text(b"10:00:00-03").unwrap(),
            (36_000_000_000, -10_800)
        );
        assert_eq!(decode_timetz_text(b"10:00:00+00:00:15").unwrap().1, 15);
        let mut raw = 36_000_000_000i64.to_be_bytes().to_vec();
        raw.extend_from_slice(&(-19_800i32).to_be_bytes()); // 5:30 east is -19800 west
        assert_eq!(
            decode_timetz_binary(&raw).unwrap(),
            (36_000_000_000, 19_800)
        );
        assert!(decode_timetz_text(b"10:00:00").is_err());
        assert!(decode_timetz_text(b"10:00:00+16").is_err());
        let mut raw = 0i64.to_be_bytes().to_vec();
        raw.extend_from_slice(&57_600i32.to_be_bytes());
        assert!(decode_timetz_binary(&raw).is_err());
        let mut s = String::new();
        write_timetz(&mut s, 0, -19_815).unwrap();
        assert_eq!(s, "00:00:00-05:30:15");
    }

    #[test]
    fn timestamps() {
        assert_eq!(ts("2000-01-01 00:00:00"), PgTimestamp::Finite(0));
        let t = ts("2024-01-02 03:04:05.123456");
        assert_eq!(t.to_string(), "2024-01-02 03:04:05.123456");
        assert_eq!(t.to_unix_micros(), Some(1_704_164_645_123_456));
        assert_eq!(ts("1970-01-01 00:00:00").to_unix_micros(), Some(0));
        assert_eq!(
            ts("10000-01-01 00:00:00").to_string(),
            "10000-01-01 00:00:00"
        );
        assert_eq!(
            ts("0001-01-01 00:00:00 BC").to_string(),
            "0001-01-01 00:00:00 BC"
        );
        assert_eq!(ts("0001-01-01 00:00:00 BC").to_civil(), Some((0, 1, 1, 0)));
        assert_eq!(ts("infinity"), PgTimestamp::PositiveInfinity);
        assert_eq!(ts("-infinity"), PgTimestamp::NegativeInfinity);
        assert_eq!(ts("2024-01-02T03:04:05"), ts("2024-01-02 03:04:05"));
        assert_eq!(tstz("2024-01-02 03:04:05.123456+00"), t);
        assert_eq!(tstz("2024-01-02 08:34:05.123456+05:30"), t);
        assert_eq!(tstz("2024-01-02 08:34:20.123456+05:30:15"), t);
        assert_eq!(tstz("2024-01-01 23:04:05.123456-04"), t);
        let bc = tstz("0001-01-01 00:00:00+00 BC");
        assert_eq!(show_tstz(bc), "0001-01-01 00:00:00+00 BC");
        assert_eq!(
            PgTimestamp::from_civil(2024, 1, 2, 11_045_123_456).unwrap(),
            t
        );
        assert_eq!(
            PgTimestamp::from_unix_micros(0).unwrap().to_unix_micros(),
            Some(0)
        );
        for bad in [
            "2024-01-02",
            "2024-01-02 24:00:00",
            "2024-01-02 03:04:05+00",
            "2024-01-02 03:04:05 BCE",
            "2024-02-30 00:00:00",
        ] {
            assert!(
                decode_timestamp_text(bad.as_bytes(), false).is_err(),
                "{bad:?}"
            );
        }
        for bad in [
            "2024-01-02 03:04:05",
            "2024-01-02 03:04:05+5",
            "2024-01-02 03:04:05Z",
        ] {
            assert!(
                decode_timestamp_text(bad.as_bytes(), true).is_err(),
                "{bad:?}"
            );
        }
        // Extremes of the i64 range format and parse back.
        for m in [i64::MIN + 1, i64::MAX - 1, -1, 1] {
            let t = PgTimestamp::Finite(m);
            assert_eq!(ts(&t.to_string()), t);
            assert_eq!(tstz(&show_tstz(t)), t);
        }
        assert_eq!(
            decode_timestamp_binary(&i64::MAX.to_be_bytes()).unwrap(),
            PgTimestamp::PositiveInfinity
        );
        assert_eq!(
            decode_timestamp_binary(&i64::MIN.to_be_bytes()).unwrap(),
            PgTimestamp::NegativeInfinity
        );
        assert!(decode_timestamp_binary(&[1; 7]).is_err());
    }
}
