//! Java's `SimpleDateFormat` patterns in UTC (the zone Kafka's transforms
//! set), for `TimestampConverter` and `TimestampRouter`.
//!
//! Supported letters: `G y Y M L d D E u a H k K h m s S z Z X`, quoted text
//! (`'T'`, `''` for a quote). English month and day names. Week-based
//! letters (`w W F`) are rejected when the pattern is read. Dates use the
//! proleptic Gregorian calendar (Java switches to the Julian calendar before
//! 1582-10-15). `Y` is read as `y`. Parsing is lenient as Java's default
//! (month 13 rolls into the next year, trailing text is ignored); a
//! two-digit `yy` year falls in 1946–2045.

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Milliseconds per day.
pub(crate) const MILLIS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (month 1–12).
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    Field { letter: char, count: usize },
}

/// A parsed `SimpleDateFormat` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DateFormat {
    pattern: String,
    tokens: Vec<Token>,
}

fn is_numeric_field(t: &Token) -> bool {
    match t {
        Token::Field { letter, count } => match letter {
            'y' | 'Y' | 'd' | 'D' | 'u' | 'H' | 'k' | 'K' | 'h' | 'm' | 's' | 'S' => true,
            'M' | 'L' => *count <= 2,
            _ => false,
        },
        Token::Literal(_) => false,
    }
}

fn pad(out: &mut String, n: i64, width: usize) {
    let s = n.unsigned_abs().to_string();
    if n < 0 {
        out.push('-');
    }
    for _ in s.len()..width {
        out.push('0');
    }
    out.push_str(&s);
}

/// Fields gathered while parsing.
#[derive(Default)]
struct Parsed {
    year: Option<i64>,
    month: Option<i64>,
    day: Option<i64>,
    day_of_year: Option<i64>,
    hour24: Option<i64>,
    hour12: Option<i64>,
    pm: Option<bool>,
    minute: i64,
    second: i64,
    millis: i64,
    offset_minutes: i64,
    bc: bool,
}

impl DateFormat {
    /// Reads a pattern; unknown or unsupported letters are errors.
    pub(crate) fn new(pattern: &str) -> Result<DateFormat, String> {
        let mut tokens = Vec::new();
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        let mut literal = String::new();
        while let Some(&c) = chars.get(i) {
            if c == '\'' {
                // '' is a quote; 'text' is literal text ('' inside it too).
                if chars.get(i + 1) == Some(&'\'') {
                    literal.push('\'');
                    i += 2;
                    continue;
                }
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(format!("unterminated quote in pattern {pattern:?}")),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            literal.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            literal.push(ch);
                            i += 1;
                        }
                    }
                }
                continue;
            }
            if c.is_ascii_alphabetic() {
                if !"GyYMLdDEuaHkKhmsSzZX".contains(c) {
                    return Err(if "wWF".contains(c) {
                        format!("pattern letter {c:?} (week-based) is not supported")
                    } else {
                        format!("illegal pattern character {c:?}")
                    });
                }
                let mut count = 1;
                while chars.get(i + count) == Some(&c) {
                    count += 1;
                }
                if !literal.is_empty() {
                    tokens.push(Token::Literal(std::mem::take(&mut literal)));
                }
                tokens.push(Token::Field { letter: c, count });
                i += count;
                continue;
            }
            literal.push(c);
            i += 1;
        }
        if !literal.is_empty() {
            tokens.push(Token::Literal(literal));
        }
        Ok(DateFormat {
            pattern: pattern.to_string(),
            tokens,
        })
    }

    /// Formats milliseconds since the epoch, in UTC.
    pub(crate) fn format(&self, millis: i64) -> String {
        let days = millis.div_euclid(MILLIS_PER_DAY);
        let ms_of_day = millis.rem_euclid(MILLIS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let hour = ms_of_day / 3_600_000;
        let minute = ms_of_day / 60_000 % 60;
        let second = ms_of_day / 1000 % 60;
        let milli = ms_of_day % 1000;
        let weekday = (days + 4).rem_euclid(7); // 0 = Sunday
        let mut out = String::with_capacity(self.pattern.len() + 8);
        for t in &self.tokens {
            let (letter, count) = match t {
                Token::Literal(s) => {
                    out.push_str(s);
                    continue;
                }
                Token::Field { letter, count } => (*letter, *count),
            };
            let name = |names: &[&str], i: i64| -> String {
                let full = names
                    .get(usize::try_from(i).unwrap_or(0))
                    .copied()
                    .unwrap_or("");
                if count >= 4 {
                    full.to_string()
                } else {
                    full.chars().take(3).collect()
                }
            };
            match letter {
                'G' => out.push_str(if year > 0 { "AD" } else { "BC" }),
                'y' | 'Y' => {
                    let y = if year > 0 { year } else { 1 - year };
                    if count == 2 {
                        pad(&mut out, y % 100, 2);
                    } else {
                        pad(&mut out, y, count);
                    }
                }
                'M' | 'L' => {
                    if count >= 3 {
                        out.push_str(&name(&MONTHS, month - 1));
                    } else {
                        pad(&mut out, month, count);
                    }
                }
                'd' => pad(&mut out, day, count),
                'D' => pad(&mut out, days - days_from_civil(year, 1, 1) + 1, count),
                'E' => out.push_str(&name(&DAYS, weekday)),
                'u' => pad(&mut out, if weekday == 0 { 7 } else { weekday }, count),
                'a' => out.push_str(if hour < 12 { "AM" } else { "PM" }),
                'H' => pad(&mut out, hour, count),
                'k' => pad(&mut out, if hour == 0 { 24 } else { hour }, count),
                'K' => pad(&mut out, hour % 12, count),
                'h' => pad(&mut out, if hour % 12 == 0 { 12 } else { hour % 12 }, count),
                'm' => pad(&mut out, minute, count),
                's' => pad(&mut out, second, count),
                'S' => pad(&mut out, milli, count),
                'z' => out.push_str(if count >= 4 {
                    "Coordinated Universal Time"
                } else {
                    "UTC"
                }),
                'Z' => out.push_str("+0000"),
                'X' => out.push('Z'),
                _ => {}
            }
        }
        out
    }

    /// Parses text into milliseconds since the epoch (UTC unless the text
    /// carries an offset).
    pub(crate) fn parse(&self, text: &str) -> Result<i64, String> {
        let mismatch = || format!("value {text:?} does not match pattern {:?}", self.pattern);
        let bytes = text.as_bytes();
        let mut pos = 0usize;
        let mut p = Parsed::default();
        for (i, t) in self.tokens.iter().enumerate() {
            match t {
                Token::Literal(s) => {
                    if text.get(pos..pos + s.len()) != Some(s.as_str()) {
                        return Err(mismatch());
                    }
                    pos += s.len();
                }
                Token::Field { letter, count } => {
                    let (letter, count) = (*letter, *count);
                    let abutting = self.tokens.get(i + 1).is_some_and(is_numeric_field);
                    if is_numeric_field(t) {
                        let start = pos;
                        let mut negative = false;
                        if matches!(letter, 'y' | 'Y') && bytes.get(pos) == Some(&b'-') {
                            negative = true;
                            pos += 1;
                        }
                        let digits_start = pos;
                        while bytes.get(pos).is_some_and(u8::is_ascii_digit)
                            && (!abutting || pos - digits_start < count)
                        {
                            pos += 1;
                        }
                        let digits = text.get(digits_start..pos).unwrap_or("");
                        if digits.is_empty() || digits.len() > 18 {
                            return Err(mismatch());
                        }
                        let mut n: i64 = digits.parse().map_err(|_| mismatch())?;
                        if negative {
                            n = -n;
                        }
                        match letter {
                            'y' | 'Y' => {
                                if count <= 2 && pos - start == 2 {
                                    n += if n < 46 { 2000 } else { 1900 };
                                }
                                p.year = Some(n);
                            }
                            'M' | 'L' => p.month = Some(n),
                            'd' => p.day = Some(n),
                            'D' => p.day_of_year = Some(n),
                            'H' => p.hour24 = Some(n),
                            'k' => p.hour24 = Some(if n == 24 { 0 } else { n }),
                            'K' => p.hour12 = Some(n),
                            'h' => p.hour12 = Some(if n == 12 { 0 } else { n }),
                            'm' => p.minute = n,
                            's' => p.second = n,
                            'S' => p.millis = n,
                            _ => {} // 'u': day of week, ignored
                        }
                        continue;
                    }
                    let rest = text.get(pos..).unwrap_or("");
                    match letter {
                        'M' | 'L' => {
                            let (idx, len) = match_name(rest, &MONTHS).ok_or_else(mismatch)?;
                            p.month = Some(idx as i64 + 1);
                            pos += len;
                        }
                        'E' => {
                            let (_, len) = match_name(rest, &DAYS).ok_or_else(mismatch)?;
                            pos += len;
                        }
                        'a' => {
                            let (idx, len) =
                                match_name(rest, &["AM", "PM"]).ok_or_else(mismatch)?;
                            p.pm = Some(idx == 1);
                            pos += len;
                        }
                        'G' => {
                            let (idx, len) =
                                match_name(rest, &["BC", "AD"]).ok_or_else(mismatch)?;
                            p.bc = idx == 0;
                            pos += len;
                        }
                        _ => {
                            // z, Z, X: an offset.
                            let (minutes, len) = parse_offset(rest).ok_or_else(mismatch)?;
                            p.offset_minutes = minutes;
                            pos += len;
                        }
                    }
                }
            }
        }
        let mut year = p.year.unwrap_or(1970);
        if p.bc {
            year = 1 - year;
        }
        let days = match p.day_of_year {
            Some(doy) if p.month.is_none() && p.day.is_none() => {
                days_from_civil(year, 1, 1) + doy - 1
            }
            _ => {
                let m = p.month.unwrap_or(1) - 1;
                let y = year + m.div_euclid(12);
                let m = m.rem_euclid(12) + 1;
                days_from_civil(y, m, 1) + p.day.unwrap_or(1) - 1
            }
        };
        let hour = match (p.hour24, p.hour12) {
            (Some(h), _) => h,
            (None, Some(h)) => h + if p.pm == Some(true) { 12 } else { 0 },
            (None, None) => {
                if p.pm == Some(true) {
                    12
                } else {
                    0
                }
            }
        };
        let total = days
            .checked_mul(MILLIS_PER_DAY)
            .and_then(|d| d.checked_add(hour.checked_mul(3_600_000)?))
            .and_then(|d| d.checked_add(p.minute.checked_mul(60_000)?))
            .and_then(|d| d.checked_add(p.second.checked_mul(1000)?))
            .and_then(|d| d.checked_add(p.millis))
            .and_then(|d| d.checked_sub(p.offset_minutes.checked_mul(60_000)?))
            .ok_or_else(|| format!("value {text:?} is out of range"))?;
        Ok(total)
    }
}

/// Matches a full or three-letter English name without case; the longest
/// match wins. Returns the index and the length matched.
fn match_name(text: &str, names: &[&str]) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    for (i, name) in names.iter().enumerate() {
        for candidate in [*name, name.get(..3).unwrap_or(name)] {
            if text.len() >= candidate.len()
                && text
                    .get(..candidate.len())
                    .is_some_and(|t| t.eq_ignore_ascii_case(candidate))
                && best.is_none_or(|(_, l)| candidate.len() > l)
            {
                best = Some((i, candidate.len()));
            }
        }
    }
    best
}

/// `Z`, `UTC`, `GMT`, `+hh`, `+hhmm`, `+hh:mm` (also after `UTC`/`GMT`).
fn parse_offset(text: &str) -> Option<(i64, usize)> {
    let b = text.as_bytes();
    if b.first() == Some(&b'Z') {
        return Some((0, 1));
    }
    let mut pos = 0;
    for prefix in ["UTC", "GMT"] {
        if text.len() >= 3
            && text
                .get(..3)
                .is_some_and(|t| t.eq_ignore_ascii_case(prefix))
        {
            pos = 3;
            break;
        }
    }
    let sign = match b.get(pos) {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return (pos == 3).then_some((0, 3)),
    };
    pos += 1;
    let digit = |i: usize| {
        b.get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|c| i64::from(c - b'0'))
    };
    let hours = digit(pos)? * 10 + digit(pos + 1)?;
    pos += 2;
    let mut minutes = 0;
    let colon = usize::from(b.get(pos) == Some(&b':'));
    if let (Some(a), Some(c)) = (digit(pos + colon), digit(pos + colon + 1)) {
        minutes = a * 10 + c;
        pos += colon + 2;
    }
    Some((sign * (hours * 60 + minutes), pos))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test fixtures")]
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-719_468, -1, 0, 1, 10_957, 18_262, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
    }

    #[test]
    fn formats_like_simple_date_format_in_utc() {
        let ts = 1_709_945_296_007; // 2024-03-09T00:48:16.007Z, a Saturday
        let f = |p: &str| DateFormat::new(p).unwrap().format(ts);
        assert_eq!(f("yyyyMMdd"), "20240309");
        assert_eq!(
            f("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"),
            "2024-03-09T00:48:16.007Z"
        );
        assert_eq!(
            f("yy MMM MMMM EEE EEEE a h k K"),
            "24 Mar March Sat Saturday AM 12 24 0"
        );
        assert_eq!(f("D u S SSSSSS z Z X ''"), "69 6 7 000007 UTC +0000 Z '");
        assert_eq!(
            DateFormat::new("yyyy").unwrap().format(-62_135_596_800_001),
            "0001"
        );
    }

    #[test]
    fn parses_like_simple_date_format_in_utc() {
        let p = |pat: &str, text: &str| DateFormat::new(pat).unwrap().parse(text);
        assert_eq!(p("yyyyMMdd", "20240309"), Ok(1_709_942_400_000));
        assert_eq!(
            p("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "2024-03-09T00:48:16.007Z"),
            Ok(1_709_945_296_007)
        );
        assert_eq!(
            p("yyyy-MM-dd HH:mm:ssXXX", "2024-03-09 02:48:16+02:00"),
            Ok(1_709_945_296_000)
        );
        assert_eq!(
            p("dd MMM yyyy hh:mm a", "09 mar 2024 12:48 AM"),
            Ok(1_709_945_280_000)
        );
        assert_eq!(p("yyyy-MM-dd", "2024-13-01"), p("yyyy-MM-dd", "2025-01-01"));
        assert!(p("yyyy-MM-dd", "2024/01/01").is_err());
        assert!(DateFormat::new("yyyy-ww").is_err());
        assert!(DateFormat::new("yyyy-bb").is_err());
        assert!(DateFormat::new("'open").is_err());
    }
}
