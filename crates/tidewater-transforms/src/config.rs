//! Reading one transform's or predicate's options, as Kafka Connect's
//! `ConfigDef` reads them: values are trimmed, booleans are `true`/`false`
//! in any case, lists are comma-separated. Every key must be understood:
//! [`TransformOptions::finish`] rejects the ones nobody asked for.

use regex::Regex;

use crate::error::{Result, TransformError};

/// Whether options belong to a transform or to a predicate (decides the key
/// prefix written in errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptionScope {
    /// `transforms.<alias>.<option>`.
    Transform,
    /// `predicates.<alias>.<option>`.
    Predicate,
}

impl OptionScope {
    fn prefix(self) -> &'static str {
        match self {
            OptionScope::Transform => "transforms",
            OptionScope::Predicate => "predicates",
        }
    }
}

/// The options of one transform or predicate (`transforms.<alias>.*` without
/// `type`, `predicate` and `negate`), with the alias and the class for error
/// messages.
///
/// A factory reads what it understands; the chain then calls
/// [`finish`](Self::finish), which reports any key left unread as unknown.
///
/// ```
/// use tidewater_transforms::{RegexRouter, TransformOptions};
/// let mut opts = TransformOptions::new("route", [("regex", "(.*)"), ("replacement", "x.$1")]);
/// let router = RegexRouter::from_options(&mut opts)?;
/// opts.finish()?;
/// # let _ = router;
/// # Ok::<(), tidewater_transforms::TransformError>(())
/// ```
#[derive(Debug, Clone)]
pub struct TransformOptions {
    scope: OptionScope,
    alias: String,
    class: String,
    entries: Vec<(String, String)>,
    used: Vec<bool>,
}

impl TransformOptions {
    /// Options of a transform with the given alias, from `(option, value)`
    /// pairs without the `transforms.<alias>.` prefix (a later duplicate
    /// replaces an earlier one).
    pub fn new<K, V>(alias: &str, options: impl IntoIterator<Item = (K, V)>) -> TransformOptions
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        TransformOptions::with_scope(OptionScope::Transform, alias, "", options)
    }

    /// Options in a given scope, for a given class (used in messages).
    pub fn with_scope<K, V>(
        scope: OptionScope,
        alias: &str,
        class: &str,
        options: impl IntoIterator<Item = (K, V)>,
    ) -> TransformOptions
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut entries: Vec<(String, String)> = Vec::new();
        for (k, v) in options {
            let (k, v) = (k.as_ref(), v.as_ref());
            match entries.iter_mut().find(|(ek, _)| ek == k) {
                Some(slot) => slot.1 = v.to_string(),
                None => entries.push((k.to_string(), v.to_string())),
            }
        }
        let used = vec![false; entries.len()];
        TransformOptions {
            scope,
            alias: alias.to_string(),
            class: class.to_string(),
            entries,
            used,
        }
    }

    /// The alias.
    pub fn alias(&self) -> &str {
        &self.alias
    }

    /// The class named by `type` (empty when built from code).
    pub fn class(&self) -> &str {
        &self.class
    }

    /// The full key of an option, as the user wrote it.
    pub fn key(&self, option: &str) -> String {
        format!("{}.{}.{}", self.scope.prefix(), self.alias, option)
    }

    /// A configuration error about an option.
    #[cold]
    pub fn error(
        &self,
        option: &str,
        value: Option<&str>,
        reason: impl Into<String>,
    ) -> TransformError {
        TransformError::Config {
            alias: self.alias.clone(),
            key: self.key(option),
            value: value.map(str::to_string),
            reason: reason.into(),
        }
    }

    /// The value as written (not trimmed), marking the option as read.
    pub fn raw(&mut self, option: &str) -> Option<String> {
        let i = self.entries.iter().position(|(k, _)| k == option)?;
        if let Some(u) = self.used.get_mut(i) {
            *u = true;
        }
        self.entries.get(i).map(|(_, v)| v.clone())
    }

    /// Whether the option is present (without reading it).
    pub fn contains(&self, option: &str) -> bool {
        self.entries.iter().any(|(k, _)| k == option)
    }

    /// The trimmed value, if present.
    pub fn string(&mut self, option: &str) -> Option<String> {
        self.raw(option).map(|v| v.trim().to_string())
    }

    /// The trimmed value or a default.
    pub fn string_or(&mut self, option: &str, default: &str) -> String {
        self.string(option).unwrap_or_else(|| default.to_string())
    }

    /// A required, non-empty value.
    pub fn required(&mut self, option: &str) -> Result<String> {
        match self.string(option) {
            Some(v) if !v.is_empty() => Ok(v),
            Some(v) => Err(self.error(option, Some(&v), "must not be empty")),
            None => Err(self.error(option, None, "missing required option")),
        }
    }

    /// A boolean (`true` / `false`, any case).
    pub fn bool(&mut self, option: &str, default: bool) -> Result<bool> {
        let Some(v) = self.string(option) else {
            return Ok(default);
        };
        match v.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(self.error(option, Some(&v), "expected true or false")),
        }
    }

    /// An integer in a range.
    pub fn int(&mut self, option: &str, default: i64, min: i64, max: i64) -> Result<i64> {
        let Some(v) = self.string(option) else {
            return Ok(default);
        };
        match v.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            Ok(_) => Err(self.error(option, Some(&v), format!("must be between {min} and {max}"))),
            Err(_) => Err(self.error(option, Some(&v), "expected an integer")),
        }
    }

    /// A comma-separated list: items trimmed, empty items dropped.
    pub fn list(&mut self, option: &str) -> Vec<String> {
        self.raw(option).map(|v| split_list(&v)).unwrap_or_default()
    }

    /// A non-empty list (Kafka's `NonEmptyListValidator`).
    pub fn required_list(&mut self, option: &str) -> Result<Vec<String>> {
        let present = self.contains(option);
        let list = self.list(option);
        if list.is_empty() {
            let reason = if present {
                "must list at least one item"
            } else {
                "missing required option"
            };
            let value = if present { Some("") } else { None };
            return Err(self.error(option, value, reason));
        }
        Ok(list)
    }

    /// One of a set of values (compared without case); returns the allowed
    /// spelling.
    pub fn choice(
        &mut self,
        option: &str,
        allowed: &[&'static str],
        default: &'static str,
    ) -> Result<&'static str> {
        let Some(v) = self.string(option) else {
            return Ok(default);
        };
        allowed
            .iter()
            .find(|a| a.eq_ignore_ascii_case(&v))
            .copied()
            .ok_or_else(|| {
                self.error(
                    option,
                    Some(&v),
                    format!("must be one of {}", allowed.join(", ")),
                )
            })
    }

    /// A regular expression (Java syntax as far as the `regex` crate
    /// understands it; look-around and backreferences are rejected here).
    pub fn regex(&mut self, option: &str, whole_match: bool) -> Result<Option<Regex>> {
        let Some(v) = self.string(option) else {
            return Ok(None);
        };
        compile_regex(&v, whole_match)
            .map(Some)
            .map_err(|e| self.error(option, Some(&v), e))
    }

    /// Fails on the first option nobody read.
    pub fn finish(&self) -> Result<()> {
        for ((k, v), used) in self.entries.iter().zip(&self.used) {
            if !used {
                let what = if self.class.is_empty() {
                    "unknown option".to_string()
                } else {
                    format!("unknown option for {}", self.class)
                };
                return Err(self.error(k, Some(v), what));
            }
        }
        Ok(())
    }

    /// Marks options as read without interpreting them (accepted for
    /// compatibility, no effect).
    pub fn ignore(&mut self, options: &[&str]) {
        for o in options {
            let _ = self.raw(o);
        }
    }
}

/// Splits a Connect list value: comma-separated, items trimmed, empty items
/// dropped.
pub(crate) fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Compiles a Java-style pattern. With `whole_match`, the pattern must
/// match the whole input (Java's `Matcher.matches()`).
pub(crate) fn compile_regex(
    pattern: &str,
    whole_match: bool,
) -> std::result::Result<Regex, String> {
    let source = if whole_match {
        format!(r"\A(?:{pattern})\z")
    } else {
        pattern.to_string()
    };
    Regex::new(&source).map_err(|e| format!("invalid regular expression: {e}"))
}
