//! What validation reports: every problem at once ([`ConfigErrors`]), and warnings.

use std::collections::BTreeSet;
use std::fmt;

use super::keys::is_secret_key;

/// What a secret value is replaced with wherever it would be shown.
pub const REDACTED: &str = "<redacted>";

/// One key with a missing or unusable value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigProblem {
    /// The key, as the configuration spells it (`producer.override.linger.ms`,
    /// `table.whitelist`); `(connector JSON)` for a document that cannot be read at all.
    pub key: String,
    /// The value given, `None` when the key is missing. Secret values are
    /// [`REDACTED`].
    pub value: Option<String>,
    /// What is wrong and what is accepted.
    pub reason: String,
}

impl ConfigProblem {
    /// A problem with a key; the value is redacted when the key holds a secret.
    pub fn new(key: impl Into<String>, value: Option<&str>, reason: impl Into<String>) -> Self {
        let key = key.into();
        let value = value.map(|v| {
            if is_secret_key(&key) {
                REDACTED.to_owned()
            } else {
                v.to_owned()
            }
        });
        ConfigProblem {
            key,
            value,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConfigProblem {
    /// `<key>: <reason> (got "<value>")` on one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", one_line(&self.key), one_line(&self.reason))?;
        if let Some(v) = &self.value {
            write!(f, " (got {v:?})")?;
        }
        Ok(())
    }
}

fn one_line(s: &str) -> String {
    if s.contains(['\n', '\r']) {
        s.replace(['\n', '\r'], " ")
    } else {
        s.to_owned()
    }
}

/// Every problem of a configuration, one per key. `Display` writes one line per problem.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigErrors {
    problems: Vec<ConfigProblem>,
    warnings: Vec<ConfigWarning>,
}

impl ConfigErrors {
    /// Errors from a list of problems.
    pub fn new(problems: Vec<ConfigProblem>) -> Self {
        ConfigErrors {
            problems,
            warnings: Vec::new(),
        }
    }

    /// A single problem.
    pub fn single(problem: ConfigProblem) -> Self {
        ConfigErrors::new(vec![problem])
    }

    /// The same errors, with the warnings found while reading the configuration.
    pub fn with_warnings(mut self, warnings: Vec<ConfigWarning>) -> Self {
        self.warnings = warnings;
        self
    }

    /// What else was found in the configuration, sorted by key: unknown keys (with the
    /// key probably meant), legacy names, keys without effect. A misspelt key is often the
    /// cause of a problem reported for another, so callers print these too.
    pub fn warnings(&self) -> &[ConfigWarning] {
        &self.warnings
    }

    /// The problems, sorted by key.
    pub fn problems(&self) -> &[ConfigProblem] {
        &self.problems
    }

    /// The problem about a key, if any.
    pub fn problem(&self, key: &str) -> Option<&ConfigProblem> {
        self.problems.iter().find(|p| p.key == key)
    }

    /// The keys with a problem.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.problems.iter().map(|p| p.key.as_str())
    }

    /// How many problems.
    pub fn len(&self) -> usize {
        self.problems.len()
    }

    /// Whether there are none (never the case for an error returned by a parser).
    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl IntoIterator for ConfigErrors {
    type Item = ConfigProblem;
    type IntoIter = std::vec::IntoIter<ConfigProblem>;

    fn into_iter(self) -> Self::IntoIter {
        self.problems.into_iter()
    }
}

/// Something accepted that deserves attention: an unknown key, a deprecated name, a key
/// without effect.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigWarning {
    /// The key, as the configuration spells it.
    pub key: String,
    /// What to know about it.
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    /// `<key>: <message>` on one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", one_line(&self.key), one_line(&self.message))
    }
}

/// Collects problems and warnings while a configuration is read, and cleans them up at the
/// end: one problem per key (the first reported), keys spelled as the user wrote them, no
/// secret value anywhere.
#[derive(Debug, Default)]
pub(crate) struct Report {
    problems: Vec<ConfigProblem>,
    warnings: Vec<ConfigWarning>,
    secrets: BTreeSet<String>,
}

/// Secret values shorter than this are not searched for inside messages (they would
/// match ordinary words); their keys are still redacted.
const MIN_SCRUBBED_SECRET: usize = 4;

impl Report {
    pub(crate) fn problem(&mut self, key: &str, value: Option<&str>, reason: impl Into<String>) {
        self.problems.push(ConfigProblem::new(key, value, reason));
    }

    pub(crate) fn push(&mut self, problem: ConfigProblem) {
        self.problems.push(problem);
    }

    pub(crate) fn warn(&mut self, key: &str, message: impl Into<String>) {
        self.warnings.push(ConfigWarning {
            key: key.to_owned(),
            message: message.into(),
        });
    }

    /// Remembers a secret value so that it is scrubbed from every message.
    pub(crate) fn secret(&mut self, value: &str) {
        if value.len() >= MIN_SCRUBBED_SECRET {
            self.secrets.insert(value.to_owned());
        }
        let trimmed = value.trim();
        if trimmed.len() >= MIN_SCRUBBED_SECRET && trimmed != value {
            self.secrets.insert(trimmed.to_owned());
        }
    }

    /// The problems as reported so far (for a caller that renames their keys).
    pub(crate) fn into_problems(self) -> Vec<ConfigProblem> {
        self.problems
    }

    pub(crate) fn has_problem(&self, key: &str) -> bool {
        self.problems.iter().any(|p| p.key == key)
    }

    /// Replaces every remembered secret inside `text`.
    pub(crate) fn scrub(&self, text: &str) -> String {
        scrub(&self.secrets, text)
    }

    pub(crate) fn secrets(&self) -> &BTreeSet<String> {
        &self.secrets
    }

    /// Renames keys (`current` → as written), removes duplicate problems (the first one
    /// about a key stays), scrubs secrets and sorts both lists by key.
    pub(crate) fn finish(
        mut self,
        spelled: impl Fn(&str) -> String,
    ) -> (Vec<ConfigProblem>, Vec<ConfigWarning>) {
        let mut seen = BTreeSet::new();
        let mut problems = Vec::with_capacity(self.problems.len());
        for mut p in std::mem::take(&mut self.problems) {
            p.key = spelled(&p.key);
            if !seen.insert(p.key.clone()) {
                continue;
            }
            if is_secret_key(&p.key) && p.value.is_some() {
                p.value = Some(REDACTED.to_owned());
            }
            p.value = p.value.map(|v| self.scrub(&v));
            p.reason = self.scrub(&p.reason);
            problems.push(p);
        }
        problems.sort_by(|a, b| a.key.cmp(&b.key));
        let mut warnings: Vec<ConfigWarning> = Vec::with_capacity(self.warnings.len());
        for mut w in std::mem::take(&mut self.warnings) {
            w.key = spelled(&w.key);
            w.message = self.scrub(&w.message);
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
        warnings.sort_by(|a, b| a.key.cmp(&b.key));
        (problems, warnings)
    }
}

pub(crate) fn scrub(secrets: &BTreeSet<String>, text: &str) -> String {
    let mut out = text.to_owned();
    // Longest first, so a secret containing another is replaced whole.
    let mut by_len: Vec<&String> = secrets.iter().collect();
    by_len.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in by_len {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), REDACTED);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, reason = "tests")]

    use super::*;

    #[test]
    fn one_line_per_problem_with_the_value() {
        let errors = ConfigErrors::new(vec![
            ConfigProblem::new("a.b", Some("x\ny"), "bad\nvalue"),
            ConfigProblem::new("c", None, "is required"),
            ConfigProblem::new("database.password", Some("hunter22"), "odd"),
        ]);
        let text = errors.to_string();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert_eq!(text.lines().next(), Some(r#"a.b: bad value (got "x\ny")"#));
        assert_eq!(text.lines().nth(1), Some("c: is required"));
        assert!(!text.contains("hunter22"), "{text}");
        assert!(text.contains("database.password: odd (got \"<redacted>\")"));
    }

    #[test]
    fn report_dedupes_scrubs_and_renames() {
        let mut r = Report::default();
        r.secret("s3cret-value");
        r.problem("table.include.list", Some("("), "first");
        r.problem("table.include.list", Some("("), "second");
        r.problem(
            "b",
            Some("has s3cret-value inside"),
            "mentions s3cret-value",
        );
        r.warn("w", "also s3cret-value");
        let (problems, warnings) = r.finish(|k| {
            if k == "table.include.list" {
                "table.whitelist".to_owned()
            } else {
                k.to_owned()
            }
        });
        assert_eq!(problems.len(), 2);
        assert_eq!(problems[0].key, "b");
        assert_eq!(problems[0].reason, "mentions <redacted>");
        assert_eq!(problems[0].value.as_deref(), Some("has <redacted> inside"));
        assert_eq!(problems[1].key, "table.whitelist");
        assert_eq!(problems[1].reason, "first");
        assert_eq!(warnings[0].message, "also <redacted>");
    }
}
