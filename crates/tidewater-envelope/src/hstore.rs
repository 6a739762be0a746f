//! The text form of the `hstore` extension type: `"k"=>"v", "k2"=>NULL`.

/// Parses hstore text into key/value pairs in order (`None` for `NULL`
/// values); `None` when the text is malformed.
pub(crate) fn parse(text: &str) -> Option<Vec<(String, Option<String>)>> {
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let (key, after) = token(rest)?;
        let key = key?;
        rest = after.trim_start().strip_prefix("=>")?.trim_start();
        let (value, after) = token(rest)?;
        out.push((key, value));
        rest = after.trim_start();
        if let Some(r) = rest.strip_prefix(',') {
            rest = r.trim_start();
        } else if !rest.is_empty() {
            return None;
        }
    }
    Some(out)
}

/// One quoted string, or an unquoted word (`NULL` gives `None`).
fn token(s: &str) -> Option<(Option<String>, &str)> {
    if let Some(body) = s.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => value.push(chars.next()?.1),
                '"' => return Some((Some(value), body.get(i + 1..)?)),
                c => value.push(c),
            }
        }
        None
    } else {
        let end = s
            .find(|c: char| c.is_whitespace() || c == ',' || c == '=')
            .unwrap_or(s.len());
        let word = s.get(..end)?;
        if word.is_empty() {
            return None;
        }
        let value = if word.eq_ignore_ascii_case("null") {
            None
        } else {
            Some(word.to_string())
        };
        Some((value, s.get(end..)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pairs() {
        assert_eq!(
            parse(r#""a"=>"1", "b c"=>NULL, "q\"uote"=>"back\\slash""#),
            Some(vec![
                ("a".into(), Some("1".into())),
                ("b c".into(), None),
                ("q\"uote".into(), Some("back\\slash".into())),
            ])
        );
        assert_eq!(parse(""), Some(vec![]));
        assert_eq!(parse(r#""a"=>"#), None);
        assert_eq!(parse(r#""a" "b""#), None);
    }
}
