//! Arrays: `{1,2,NULL}`, `[0:1]={{a},{b}}` and the binary `array_send` form.

use std::borrow::Cow;

use super::error::{Fail, Reader, ValueError, utf8};
use super::{Format, PgValue, TypeLookup, decode_kind, decode_owned_text, resolve};

/// Most dimensions an array can have (PostgreSQL's `MAXDIM`).
pub const MAX_DIMENSIONS: usize = 6;

/// One dimension of an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArrayDimension {
    /// Number of elements along this dimension (at least 1).
    pub len: u32,
    /// Index of the first element (PostgreSQL's default is 1).
    pub lower_bound: i32,
}

impl ArrayDimension {
    /// Index of the last element.
    pub fn upper_bound(&self) -> i64 {
        i64::from(self.lower_bound) + i64::from(self.len) - 1
    }
}

/// An array value: its element type, its dimensions and its elements in
/// row-major order (`NULL` elements are [`PgValue::Null`]).
///
/// An empty array has zero dimensions, as in PostgreSQL.
#[derive(Debug, Clone, PartialEq)]
pub struct PgArray<'a> {
    element_oid: u32,
    dimensions: Vec<ArrayDimension>,
    elements: Vec<PgValue<'a>>,
}

impl<'a> PgArray<'a> {
    /// An array with the given shape. Returns `None` unless the number of
    /// elements is the product of the dimension lengths, there are at most
    /// [`MAX_DIMENSIONS`] dimensions, no dimension is empty and every upper
    /// bound fits in an `i32`. An array without elements must have no
    /// dimensions.
    pub fn new(
        element_oid: u32,
        dimensions: Vec<ArrayDimension>,
        elements: Vec<PgValue<'a>>,
    ) -> Option<Self> {
        if dimensions.len() > MAX_DIMENSIONS {
            return None;
        }
        let mut count: usize = if dimensions.is_empty() { 0 } else { 1 };
        for d in &dimensions {
            if d.len == 0 || d.upper_bound() > i64::from(i32::MAX) {
                return None;
            }
            count = count.checked_mul(usize::try_from(d.len).ok()?)?;
        }
        (count == elements.len()).then_some(PgArray {
            element_oid,
            dimensions,
            elements,
        })
    }

    /// A one-dimensional array with lower bound 1 (or an empty array).
    pub fn from_elements(element_oid: u32, elements: Vec<PgValue<'a>>) -> Option<Self> {
        let dimensions = if elements.is_empty() {
            Vec::new()
        } else {
            vec![ArrayDimension {
                len: u32::try_from(elements.len()).ok()?,
                lower_bound: 1,
            }]
        };
        Self::new(element_oid, dimensions, elements)
    }

    /// OID of the element type.
    pub fn element_oid(&self) -> u32 {
        self.element_oid
    }

    /// The dimensions, outermost first; empty for an empty array.
    pub fn dimensions(&self) -> &[ArrayDimension] {
        &self.dimensions
    }

    /// The elements in row-major order.
    pub fn elements(&self) -> &[PgValue<'a>] {
        &self.elements
    }

    /// Takes the elements.
    pub fn into_elements(self) -> Vec<PgValue<'a>> {
        self.elements
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.elements.len()
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }

    /// Copies borrowed data so the value no longer borrows the input.
    pub fn into_owned(self) -> PgArray<'static> {
        PgArray {
            element_oid: self.element_oid,
            dimensions: self.dimensions,
            elements: self.elements.into_iter().map(PgValue::into_owned).collect(),
        }
    }
}

/// Whitespace as PostgreSQL's array parser sees it (`array_isspace` up to 16,
/// `scanner_isspace` since 17; both include vertical tab): `array_out` quotes
/// elements containing these, so in server output they only occur unquoted
/// around elements, where they are not part of the value.
fn is_array_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C)
}

/// Parser of `array_out` text.
struct TextParser<'a> {
    s: &'a str,
    pos: usize,
    ndim: Option<usize>,
    counts: [Option<u32>; MAX_DIMENSIONS],
    elements: Vec<Option<Cow<'a, str>>>,
}

impl<'a> TextParser<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(is_array_space) {
            self.pos += 1;
        }
    }

    fn slice(&self, start: usize, end: usize) -> Result<&'a str, Fail> {
        self.s
            .get(start..end)
            .ok_or(Fail::Msg("internal error: element boundary"))
    }

    fn int(&mut self) -> Result<i64, Fail> {
        let start = self.pos;
        if matches!(self.peek(), Some(b'-' | b'+')) {
            self.pos += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) && self.pos - start < 12 {
            self.pos += 1;
        }
        self.slice(start, self.pos)?
            .parse::<i64>()
            .map_err(|_| Fail::Msg("invalid array bound"))
    }

    /// `[lb:ub]` or `[ub]` dimension decorations followed by `=`.
    fn bounds(&mut self) -> Result<Vec<ArrayDimension>, Fail> {
        let mut dims = Vec::new();
        while self.peek() == Some(b'[') {
            if dims.len() == MAX_DIMENSIONS {
                return Err(Fail::Msg("more than 6 dimensions"));
            }
            self.pos += 1;
            let first = self.int()?;
            let (lower, upper) = if self.peek() == Some(b':') {
                self.pos += 1;
                (first, self.int()?)
            } else {
                (1, first)
            };
            if self.peek() != Some(b']') {
                return Err(Fail::Msg("expected ']' in array bounds"));
            }
            self.pos += 1;
            let lower_bound =
                i32::try_from(lower).map_err(|_| Fail::Msg("array lower bound out of range"))?;
            i32::try_from(upper).map_err(|_| Fail::Msg("array upper bound out of range"))?;
            if upper < lower {
                return Err(Fail::Msg("array upper bound is below the lower bound"));
            }
            let len = u32::try_from(upper - lower + 1)
                .map_err(|_| Fail::Msg("array dimension too long"))?;
            dims.push(ArrayDimension { len, lower_bound });
        }
        self.skip_space();
        if self.peek() != Some(b'=') {
            return Err(Fail::Msg("expected '=' after array bounds"));
        }
        self.pos += 1;
        self.skip_space();
        Ok(dims)
    }

    /// Parses `{...}` at dimension `depth`; returns its number of items.
    fn level(&mut self, depth: usize) -> Result<u32, Fail> {
        if self.peek() != Some(b'{') {
            return Err(Fail::Msg("expected '{'"));
        }
        self.pos += 1;
        if depth >= MAX_DIMENSIONS {
            return Err(Fail::Msg("more than 6 dimensions"));
        }
        self.skip_space();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(0);
        }
        let mut count: u32 = 0;
        loop {
            self.skip_space();
            if self.peek() == Some(b'{') {
                if self.ndim.is_some_and(|n| depth + 1 >= n) {
                    return Err(Fail::Msg(
                        "sub-array where an element was expected (array is not rectangular)",
                    ));
                }
                if self.level(depth + 1)? == 0 {
                    return Err(Fail::Msg("empty sub-array"));
                }
            } else {
                match self.ndim {
                    None => self.ndim = Some(depth + 1),
                    Some(n) if n != depth + 1 => {
                        return Err(Fail::Msg(
                            "element where a sub-array was expected (array is not rectangular)",
                        ));
                    }
                    Some(_) => {}
                }
                let e = self.element()?;
                self.elements.push(e);
            }
            count = count
                .checked_add(1)
                .ok_or(Fail::Msg("too many array elements"))?;
            self.skip_space();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(Fail::Msg("expected ',' or '}' after an array element")),
            }
        }
        let slot = self
            .counts
            .get_mut(depth)
            .ok_or(Fail::Msg("more than 6 dimensions"))?;
        match *slot {
            None => *slot = Some(count),
            Some(c) if c != count => {
                return Err(Fail::Text(format!(
                    "sub-arrays along dimension {} have {c} and {count} elements (array is not rectangular)",
                    depth + 1
                )));
            }
            Some(_) => {}
        }
        Ok(count)
    }

    /// Appends the character after a backslash to `owned`.
    fn escape(&mut self, owned: &mut String) -> Result<(), Fail> {
        self.pos += 1;
        let c = self
            .s
            .get(self.pos..)
            .and_then(|r| r.chars().next())
            .ok_or(Fail::Msg("backslash at end of array"))?;
        owned.push(c);
        self.pos += c.len_utf8();
        Ok(())
    }

    /// One element; `None` for an unquoted `NULL`.
    fn element(&mut self) -> Result<Option<Cow<'a, str>>, Fail> {
        let quoted = self.peek() == Some(b'"');
        if quoted {
            self.pos += 1;
        }
        let start = self.pos;
        let mut owned: Option<String> = None;
        let mut segment = start;
        // End of the element's content (for unquoted: before trailing space).
        let mut content_end = start;
        loop {
            match self.peek() {
                None => return Err(Fail::Msg("unexpected end of array")),
                Some(b'"') if quoted => {
                    content_end = self.pos;
                    self.pos += 1;
                    break;
                }
                Some(b',' | b'}') if !quoted => break,
                Some(b'{' | b'"') if !quoted => {
                    return Err(Fail::Msg("unexpected '{' or '\"' in an unquoted element"));
                }
                Some(b'\\') => {
                    let s = self.slice(segment, self.pos)?;
                    let o = owned.get_or_insert_with(String::new);
                    o.push_str(s);
                    self.escape(o)?;
                    segment = self.pos;
                    content_end = self.pos;
                }
                Some(c) => {
                    self.pos += 1;
                    if quoted || !is_array_space(c) {
                        content_end = self.pos;
                    }
                }
            }
        }
        let tail = self.slice(segment, content_end.max(segment))?;
        Ok(Some(match owned {
            Some(mut o) => {
                o.push_str(tail);
                Cow::Owned(o)
            }
            None => {
                if !quoted {
                    if tail.is_empty() {
                        return Err(Fail::Msg("empty unquoted array element"));
                    }
                    if tail.eq_ignore_ascii_case("NULL") {
                        return Ok(None);
                    }
                }
                Cow::Borrowed(tail)
            }
        }))
    }
}

/// Splits array text into its shape and raw element texts.
#[allow(clippy::type_complexity)]
fn parse_text(s: &str) -> Result<(Vec<ArrayDimension>, Vec<Option<Cow<'_, str>>>), Fail> {
    let mut p = TextParser {
        s,
        pos: 0,
        ndim: None,
        counts: [None; MAX_DIMENSIONS],
        elements: Vec::new(),
    };
    p.skip_space();
    let explicit = if p.peek() == Some(b'[') {
        Some(p.bounds()?)
    } else {
        None
    };
    p.level(0)?;
    p.skip_space();
    if p.pos != s.len() {
        return Err(Fail::Msg("unexpected characters after the array"));
    }
    let ndim = p.ndim.unwrap_or(0);
    let mut dims = Vec::with_capacity(ndim);
    for c in p.counts.iter().take(ndim) {
        dims.push(ArrayDimension {
            len: c.unwrap_or(0),
            lower_bound: 1,
        });
    }
    if let Some(explicit) = explicit {
        if explicit.len() != dims.len() || explicit.iter().zip(&dims).any(|(e, d)| e.len != d.len) {
            return Err(Fail::Msg(
                "array bounds do not match the number of elements",
            ));
        }
        dims = explicit;
    }
    Ok((dims, p.elements))
}

/// Decodes array text whose elements have type `element_oid`.
pub(crate) fn decode_text<'a>(
    array_oid: u32,
    element_oid: u32,
    raw: &'a [u8],
    types: &dyn TypeLookup,
    depth: u32,
) -> Result<PgValue<'a>, ValueError> {
    let at = |f: Fail| f.at(array_oid, Format::Text);
    let s = utf8(raw).map_err(at)?;
    let (dims, texts) = parse_text(s).map_err(at)?;
    let (elem_oid, kind) = resolve(element_oid, types, depth + 1).map_err(at)?;
    let mut elements = Vec::with_capacity(texts.len());
    for (index, text) in texts.into_iter().enumerate() {
        let value = match text {
            None => Ok(PgValue::Null),
            Some(Cow::Borrowed(t)) => {
                decode_kind(Format::Text, elem_oid, kind, t.as_bytes(), types, depth + 1)
            }
            Some(Cow::Owned(t)) => decode_owned_text(elem_oid, kind, t, types, depth + 1),
        };
        elements.push(value.map_err(|e| {
            at(Fail::Element {
                index,
                source: Box::new(e),
            })
        })?);
    }
    Ok(PgValue::Array(PgArray {
        element_oid,
        dimensions: dims,
        elements,
    }))
}

/// Decodes `array_send` output whose elements should have type `element_oid`.
pub(crate) fn decode_binary<'a>(
    array_oid: u32,
    element_oid: u32,
    raw: &'a [u8],
    types: &dyn TypeLookup,
    depth: u32,
) -> Result<PgValue<'a>, ValueError> {
    let at = |f: Fail| f.at(array_oid, Format::Binary);
    let mut r = Reader::new(raw);
    let (Some(ndim), Some(flags), Some(wire_elem)) = (r.i32(), r.i32(), r.u32()) else {
        return Err(at(Fail::Text(format!(
            "header needs 12 bytes, {} available",
            raw.len()
        ))));
    };
    let ndim = usize::try_from(ndim)
        .ok()
        .filter(|&n| n <= MAX_DIMENSIONS)
        .ok_or_else(|| at(Fail::Text(format!("{ndim} dimensions, must be 0..=6"))))?;
    if flags != 0 && flags != 1 {
        return Err(at(Fail::Text(format!("invalid flags {flags}"))));
    }
    if wire_elem != element_oid {
        return Err(at(Fail::Text(format!(
            "element type oid {wire_elem}, expected {element_oid}"
        ))));
    }
    let mut dims = Vec::with_capacity(ndim);
    let mut nitems: u64 = if ndim == 0 { 0 } else { 1 };
    for d in 0..ndim {
        let (Some(len), Some(lower_bound)) = (r.i32(), r.i32()) else {
            return Err(at(Fail::Text(format!(
                "dimension {} needs 8 bytes, {} remain",
                d + 1,
                r.remaining()
            ))));
        };
        let len = u32::try_from(len)
            .map_err(|_| at(Fail::Text(format!("dimension {} has length {len}", d + 1))))?;
        let dim = ArrayDimension { len, lower_bound };
        if dim.upper_bound() > i64::from(i32::MAX) {
            return Err(at(Fail::Msg("array upper bound out of range")));
        }
        nitems = nitems.saturating_mul(u64::from(len));
        dims.push(dim);
    }
    if nitems == 0 {
        if r.remaining() != 0 {
            return Err(at(Fail::Text(format!(
                "empty array followed by {} bytes",
                r.remaining()
            ))));
        }
        return Ok(PgValue::Array(PgArray {
            element_oid,
            dimensions: Vec::new(),
            elements: Vec::new(),
        }));
    }
    // Every element takes at least its 4-byte length: refuse counts the
    // remaining bytes cannot hold before allocating anything.
    let available = r.remaining() as u64;
    if nitems > available / 4 {
        return Err(at(Fail::Text(format!(
            "{nitems} elements need at least {} bytes, {available} remain",
            nitems.saturating_mul(4)
        ))));
    }
    let (elem_oid, kind) = resolve(element_oid, types, depth + 1).map_err(at)?;
    let mut elements = Vec::with_capacity(nitems as usize);
    for index in 0..nitems as usize {
        let len = r.i32().ok_or_else(|| {
            at(Fail::Text(format!(
                "element {index} length needs 4 bytes, {} remain",
                r.remaining()
            )))
        })?;
        let value = if len == -1 {
            PgValue::Null
        } else {
            let n = usize::try_from(len)
                .map_err(|_| at(Fail::Text(format!("element {index} has length {len}"))))?;
            let bytes = r.take(n).ok_or_else(|| {
                at(Fail::Text(format!(
                    "element {index} needs {n} bytes, {} remain",
                    r.remaining()
                )))
            })?;
            decode_kind(Format::Binary, elem_oid, kind, bytes, types, depth + 1).map_err(|e| {
                at(Fail::Element {
                    index,
                    source: Box::new(e),
                })
            })?
        };
        elements.push(value);
    }
    if r.remaining() != 0 {
        return Err(at(Fail::Text(format!(
            "{} bytes after the last element",
            r.remaining()
        ))));
    }
    Ok(PgValue::Array(PgArray {
        element_oid,
        dimensions: dims,
        elements,
    }))
}

/// Whether `array_out` would quote this element text.
fn needs_quotes(text: &[u8]) -> bool {
    text.is_empty()
        || text.eq_ignore_ascii_case(b"NULL")
        || text
            .iter()
            .any(|&c| matches!(c, b'"' | b'\\' | b'{' | b'}' | b',') || is_array_space(c))
}

/// Appends `array_out` text.
pub(crate) fn encode_text(a: &PgArray<'_>, out: &mut Vec<u8>) {
    if a.dimensions.is_empty() {
        out.extend_from_slice(b"{}");
        return;
    }
    if a.dimensions.iter().any(|d| d.lower_bound != 1) {
        for d in &a.dimensions {
            out.extend_from_slice(format!("[{}:{}]", d.lower_bound, d.upper_bound()).as_bytes());
        }
        out.push(b'=');
    }
    let mut next = a.elements.iter();
    let mut scratch = Vec::new();
    encode_level(&a.dimensions, &mut next, out, &mut scratch);
}

fn encode_level<'v>(
    dims: &[ArrayDimension],
    next: &mut impl Iterator<Item = &'v PgValue<'v>>,
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) {
    let Some((first, inner)) = dims.split_first() else {
        return;
    };
    out.push(b'{');
    for i in 0..first.len {
        if i > 0 {
            out.push(b',');
        }
        if !inner.is_empty() {
            encode_level(inner, next, out, scratch);
            continue;
        }
        match next.next() {
            None | Some(PgValue::Null) => out.extend_from_slice(b"NULL"),
            Some(v) => {
                scratch.clear();
                super::encode::encode_text(v, scratch);
                if needs_quotes(scratch) {
                    out.push(b'"');
                    for &c in scratch.iter() {
                        if c == b'"' || c == b'\\' {
                            out.push(b'\\');
                        }
                        out.push(c);
                    }
                    out.push(b'"');
                } else {
                    out.extend_from_slice(scratch);
                }
            }
        }
    }
    out.push(b'}');
}

/// Appends `array_send` output.
pub(crate) fn encode_binary(
    a: &PgArray<'_>,
    array_oid: u32,
    out: &mut Vec<u8>,
) -> Result<(), ValueError> {
    let too_big = || Fail::Msg("array too large").at(array_oid, Format::Binary);
    let has_null = a.elements.iter().any(|e| matches!(e, PgValue::Null));
    out.extend_from_slice(&(a.dimensions.len() as i32).to_be_bytes());
    out.extend_from_slice(&i32::from(has_null).to_be_bytes());
    out.extend_from_slice(&a.element_oid.to_be_bytes());
    for d in &a.dimensions {
        let len = i32::try_from(d.len).map_err(|_| too_big())?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&d.lower_bound.to_be_bytes());
    }
    for (index, e) in a.elements.iter().enumerate() {
        if matches!(e, PgValue::Null) {
            out.extend_from_slice(&(-1i32).to_be_bytes());
            continue;
        }
        let at = out.len();
        out.extend_from_slice(&[0; 4]);
        super::encode::encode_binary(e, a.element_oid, out).map_err(|source| {
            Fail::Element {
                index,
                source: Box::new(source),
            }
            .at(array_oid, Format::Binary)
        })?;
        let len = i32::try_from(out.len() - at - 4).map_err(|_| too_big())?;
        if let Some(slot) = out.get_mut(at..at + 4) {
            slot.copy_from_slice(&len.to_be_bytes());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    // Tests unwrap known-good fixtures.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::types::NoTypes;
    use crate::value::oid::*;
    use crate::value::{PgTimestamp, decode_binary as dec_bin, decode_text as dec_text, encode};

    fn arr(oid: u32, s: &str) -> PgArray<'_> {
        match dec_text(oid, -1, s.as_bytes(), &NoTypes).unwrap() {
            PgValue::Array(a) => a,
            other => panic!("{other:?}"),
        }
    }

    fn text_err(oid: u32, s: &str) -> String {
        dec_text(oid, -1, s.as_bytes(), &NoTypes)
            .unwrap_err()
            .to_string()
    }

    fn t(s: &str) -> PgValue<'_> {
        PgValue::Text(Cow::Borrowed(s))
    }

    fn dim(len: u32, lower_bound: i32) -> ArrayDimension {
        ArrayDimension { len, lower_bound }
    }

    fn show(a: &PgArray<'_>) -> String {
        let mut out = Vec::new();
        encode_text(a, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn simple_and_empty() {
        let a = arr(INT4_ARRAY, "{1,2,NULL}");
        assert_eq!(a.element_oid(), INT4);
        assert_eq!(a.dimensions(), &[dim(3, 1)]);
        assert_eq!(
            a.elements(),
            &[PgValue::Int4(1), PgValue::Int4(2), PgValue::Null]
        );
        assert_eq!(show(&a), "{1,2,NULL}");
        let e = arr(INT4_ARRAY, "{}");
        assert!(e.is_empty() && e.dimensions().is_empty());
        assert_eq!(show(&e), "{}");
        assert_eq!(
            arr(INT4_ARRAY, " { 1 ,\t2 } ").elements(),
            &[PgValue::Int4(1), PgValue::Int4(2)]
        );
        assert_eq!(arr(INT4_ARRAY, "{ }").len(), 0);
    }

    #[test]
    fn nested_and_bounds() {
        let a = arr(INT4_ARRAY, "{{1,2},{3,4}}");
        assert_eq!(a.dimensions(), &[dim(2, 1), dim(2, 1)]);
        assert_eq!(a.elements().len(), 4);
        assert_eq!(a.elements()[2], PgValue::Int4(3));
        assert_eq!(show(&a), "{{1,2},{3,4}}");
        let b = arr(INT4_ARRAY, "[0:2]={1,2,3}");
        assert_eq!(b.dimensions(), &[dim(3, 0)]);
        assert_eq!(show(&b), "[0:2]={1,2,3}");
        let c = arr(TEXT_ARRAY, "[1:2][1:1]={{a},{b}}");
        assert_eq!(c.dimensions(), &[dim(2, 1), dim(1, 1)]);
        assert_eq!(show(&c), "{{a},{b}}");
        let d = arr(INT4_ARRAY, "[-5:-4]={7,8}");
        assert_eq!(d.dimensions(), &[dim(2, -5)]);
        assert_eq!(show(&d), "[-5:-4]={7,8}");
        assert_eq!(arr(INT4_ARRAY, "[2]={7,8}").dimensions(), &[dim(2, 1)]);
        let six = arr(INT4_ARRAY, "{{{{{{1}}}}}}");
        assert_eq!(six.dimensions().len(), 6);
    }

    #[test]
    fn quoting_and_escapes() {
        let a = arr(
            TEXT_ARRAY,
            r#"{"a b","c\"d","NULL",NULL,"",x\,y,  padded  ,"\\",é}"#,
        );
        assert_eq!(
            a.elements(),
            &[
                t("a b"),
                PgValue::Text(Cow::Owned("c\"d".into())),
                t("NULL"),
                PgValue::Null,
                t(""),
                t("x,y"),
                t("padded"),
                t("\\"),
                t("é"),
            ]
        );
        // Unescaped elements borrow the input.
        assert!(matches!(&a.elements()[0], PgValue::Text(Cow::Borrowed(_))));
        assert_eq!(
            show(&a),
            r#"{"a b","c\"d","NULL",NULL,"","x,y",padded,"\\",é}"#
        );
        let b = arr(BYTEA_ARRAY, r#"{"\\x0102",NULL}"#);
        assert_eq!(b.elements()[0], PgValue::Bytea(Cow::Owned(vec![1, 2])));
        assert_eq!(show(&b), r#"{"\\x0102",NULL}"#);
        let ts = arr(TIMESTAMP_ARRAY, r#"{"2000-01-01 00:00:01",infinity}"#);
        assert_eq!(
            ts.elements(),
            &[
                PgValue::Timestamp(PgTimestamp::Finite(1_000_000)),
                PgValue::Timestamp(PgTimestamp::PositiveInfinity)
            ]
        );
        assert_eq!(show(&ts), r#"{"2000-01-01 00:00:01",infinity}"#);
        // Unquoted vertical tabs around an element are whitespace (PostgreSQL 15:
        // E'{\x0bx\x0b}'::text[] is {x}); an element containing one is quoted.
        let v = arr(TEXT_ARRAY, "{\u{b}x\u{b}}");
        assert_eq!(v.elements(), &[t("x")]);
        let v = arr(TEXT_ARRAY, "{\"\u{b}x\"}");
        assert_eq!(v.elements(), &[t("\u{b}x")]);
        assert_eq!(show(&v), "{\"\u{b}x\"}");
        let j = arr(JSONB_ARRAY, r#"{"{\"a\": 1}"}"#);
        assert_eq!(
            j.elements(),
            &[PgValue::Jsonb(Cow::Owned("{\"a\": 1}".into()))]
        );
    }

    #[test]
    fn bad_text() {
        for bad in [
            "",
            "{",
            "}",
            "{1,2",
            "{1,,2}",
            "{,}",
            "{1}}",
            "{1} x",
            "{{1,2},{3}}",
            "{{1},2}",
            "{1,{2}}",
            "{{}}",
            "[1:2]={1}",
            "[2:1]={1}",
            "[1:1]{1}",
            "[1:1][1:1]={1}",
            "{{{{{{{1}}}}}}}",
            "{\"a}",
            "{a\"b}",
            "{1\\",
            "[99999999999:1]={1}",
            "{a{b}",
        ] {
            assert!(
                dec_text(INT4_ARRAY, -1, bad.as_bytes(), &NoTypes).is_err(),
                "{bad:?}"
            );
        }
        let e = text_err(INT4_ARRAY, "{1,x}");
        assert_eq!(
            e,
            "_int4 (oid 1007) text: element 1: int4 (oid 23) text: not an integer in -2147483648..=2147483647"
        );
        assert!(text_err(INT4_ARRAY, "{{1,2},{3}}").contains("not rectangular"));
    }

    fn header(ndim: i32, flags: i32, elem: u32, dims: &[(i32, i32)]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&ndim.to_be_bytes());
        v.extend_from_slice(&flags.to_be_bytes());
        v.extend_from_slice(&elem.to_be_bytes());
        for (len, lb) in dims {
            v.extend_from_slice(&len.to_be_bytes());
            v.extend_from_slice(&lb.to_be_bytes());
        }
        v
    }

    fn push_elem(v: &mut Vec<u8>, e: Option<&[u8]>) {
        match e {
            None => v.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(b) => {
                v.extend_from_slice(&(b.len() as i32).to_be_bytes());
                v.extend_from_slice(b);
            }
        }
    }

    #[test]
    fn binary_layout() {
        let mut raw = header(1, 1, INT4, &[(3, 1)]);
        push_elem(&mut raw, Some(&1i32.to_be_bytes()));
        push_elem(&mut raw, None);
        push_elem(&mut raw, Some(&3i32.to_be_bytes()));
        let v = dec_bin(INT4_ARRAY, -1, &raw, &NoTypes).unwrap();
        let PgValue::Array(a) = &v else { panic!() };
        assert_eq!(
            a.elements(),
            &[PgValue::Int4(1), PgValue::Null, PgValue::Int4(3)]
        );
        let mut again = Vec::new();
        encode::encode_binary(&v, INT4_ARRAY, &mut again).unwrap();
        assert_eq!(again, raw);
        // Empty arrays: ndim 0, or a zero-length dimension.
        let empty_raw = header(0, 0, INT4, &[]);
        let empty = dec_bin(INT4_ARRAY, -1, &empty_raw, &NoTypes).unwrap();
        assert_eq!(
            empty,
            PgValue::Array(PgArray::from_elements(INT4, vec![]).unwrap())
        );
        assert_eq!(
            dec_bin(INT4_ARRAY, -1, &header(1, 0, INT4, &[(0, 1)]), &NoTypes).unwrap(),
            empty
        );
        let mut out = Vec::new();
        encode::encode_binary(&empty, INT4_ARRAY, &mut out).unwrap();
        assert_eq!(out, header(0, 0, INT4, &[]));
    }

    #[test]
    fn hostile_binary() {
        // A claimed 2^31-1 elements with no data: rejected before allocating.
        let huge = header(1, 0, INT4, &[(i32::MAX, 1)]);
        let e = dec_bin(INT4_ARRAY, -1, &huge, &NoTypes)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("2147483647 elements need at least 8589934588 bytes, 0 remain"),
            "{e}"
        );
        let huge = header(6, 0, INT4, &[(i32::MAX, 1); 6]);
        assert!(dec_bin(INT4_ARRAY, -1, &huge, &NoTypes).is_err());
        let mut one = header(1, 0, INT4, &[(1, 1)]);
        push_elem(&mut one, Some(&[0, 0, 0, 1]));
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("short header", vec![0, 0, 0, 1, 0]),
            ("7 dims", header(7, 0, INT4, &[(1, 1); 7])),
            ("negative ndim", header(-1, 0, INT4, &[])),
            ("bad flags", header(0, 2, INT4, &[])),
            ("wrong elem oid", header(0, 0, INT8, &[])),
            ("missing dims", header(2, 0, INT4, &[(1, 1)])),
            ("negative dim", header(1, 0, INT4, &[(-1, 1)])),
            ("ub overflow", {
                let mut v = header(1, 0, INT4, &[(2, i32::MAX)]);
                push_elem(&mut v, None);
                push_elem(&mut v, None);
                v
            }),
            ("truncated element", one[..one.len() - 1].to_vec()),
            ("trailing", [one.clone(), vec![0]].concat()),
            ("bad element length", {
                let mut v = header(1, 0, INT4, &[(1, 1)]);
                v.extend_from_slice(&(-2i32).to_be_bytes());
                v
            }),
            ("element too long", {
                let mut v = header(1, 0, INT4, &[(1, 1)]);
                v.extend_from_slice(&1000i32.to_be_bytes());
                v.extend_from_slice(&[0; 4]);
                v
            }),
            ("bad element", {
                let mut v = header(1, 0, INT4, &[(1, 1)]);
                push_elem(&mut v, Some(&[1, 2, 3]));
                v
            }),
            (
                "empty with trailing",
                [header(0, 0, INT4, &[]), vec![1]].concat(),
            ),
        ];
        assert!(dec_bin(INT4_ARRAY, -1, &one, &NoTypes).is_ok());
        for (what, raw) in cases {
            assert!(dec_bin(INT4_ARRAY, -1, &raw, &NoTypes).is_err(), "{what}");
        }
    }

    #[test]
    fn constructor_checks_shape() {
        let one = || vec![PgValue::Int4(1)];
        assert!(PgArray::new(INT4, vec![dim(1, 1)], one()).is_some());
        assert!(PgArray::new(INT4, vec![dim(2, 1)], one()).is_none());
        assert!(PgArray::new(INT4, vec![], one()).is_none());
        assert!(PgArray::new(INT4, vec![dim(0, 1)], vec![]).is_none());
        assert!(PgArray::new(INT4, vec![dim(1, i32::MAX)], one()).is_some());
        assert!(PgArray::new(INT4, vec![dim(1, 1); 7], one()).is_none());
        assert_eq!(dim(3, -1).upper_bound(), 1);
    }
}
