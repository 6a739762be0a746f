//! `${provider:[path:]key}` placeholders, resolved as Kafka's config providers resolve
//! them:
//!
//! | placeholder | value | Kafka class |
//! |---|---|---|
//! | `${env:NAME}` | the environment variable `NAME` | `EnvVarConfigProvider` |
//! | `${file:/path/app.properties:key}` | `key` of a Java properties file | `FileConfigProvider` |
//! | `${directory:/path/dir:name}` | the content of the file `name` in a directory | `DirectoryConfigProvider` |
//!
//! A placeholder may sit anywhere inside a value (`jdbc:${env:HOST}:5432`), several per
//! value. Text of the form `${name}` without a colon is not a placeholder and stays as
//! written (the outbox router's `${routedByValue}`); so does a placeholder of another
//! provider, with a warning. A missing variable, file or key is an error naming the
//! configuration key — never the value.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::properties::parse_properties;

type EnvLookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// Where placeholders get their values: the environment (replaceable, for tests) and
/// files, optionally only below some directories (Kafka's `allowed.paths`).
///
/// ```
/// use tidewater::config::{ConfigParser, ConfigProviders};
/// let providers = ConfigProviders::new().with_env_vars([("PGHOST", "db.internal")]);
/// let config = ConfigParser::new().providers(providers).parse_properties([
///     ("database.hostname", "${env:PGHOST}"),
///     ("database.user", "cdc"),
///     ("database.dbname", "shop"),
///     ("topic.prefix", "shop"),
/// ])?;
/// assert_eq!(config.source_config().hostname, "db.internal");
/// # Ok::<(), tidewater::config::ConfigErrors>(())
/// ```
#[derive(Clone)]
pub struct ConfigProviders {
    env: Arc<EnvLookup>,
    allowed_paths: Option<Vec<PathBuf>>,
}

impl Default for ConfigProviders {
    /// The process environment; files anywhere.
    fn default() -> Self {
        ConfigProviders {
            env: Arc::new(|name| std::env::var(name).ok()),
            allowed_paths: None,
        }
    }
}

impl fmt::Debug for ConfigProviders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigProviders")
            .field("allowed_paths", &self.allowed_paths)
            .finish_non_exhaustive()
    }
}

impl ConfigProviders {
    /// The process environment; files anywhere.
    pub fn new() -> Self {
        ConfigProviders::default()
    }

    /// Looks environment variables up with `lookup` instead of the process environment.
    pub fn with_env(
        mut self,
        lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.env = Arc::new(lookup);
        self
    }

    /// Takes environment variables from a fixed list instead of the process environment.
    pub fn with_env_vars<I, K, V>(self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars: HashMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self.with_env(move |name| vars.get(name).cloned())
    }

    /// Lets `${file:…}` and `${directory:…}` read only below these directories (Kafka's
    /// `allowed.paths`); paths are compared after resolving `..` and symbolic links.
    pub fn with_allowed_paths<I, P>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<PathBuf>,
    {
        self.allowed_paths = Some(
            paths
                .into_iter()
                .map(|p| {
                    let p = p.into();
                    std::fs::canonicalize(&p).unwrap_or(p)
                })
                .collect(),
        );
        self
    }
}

/// What resolving one value gave.
#[derive(Debug, Default)]
pub(crate) struct Resolved {
    /// The value with every placeholder replaced.
    pub(crate) value: String,
    /// Whether the value held a placeholder that was replaced.
    pub(crate) substituted: bool,
    /// Things to warn about (placeholders of unknown providers).
    pub(crate) warnings: Vec<String>,
}

/// Resolves the placeholders of one configuration, reading each file once.
pub(crate) struct Resolver<'a> {
    providers: &'a ConfigProviders,
    files: HashMap<PathBuf, Result<HashMap<String, String>, String>>,
}

impl<'a> Resolver<'a> {
    pub(crate) fn new(providers: &'a ConfigProviders) -> Self {
        Resolver {
            providers,
            files: HashMap::new(),
        }
    }

    /// Replaces every placeholder of `value`; the error is the reason, which never holds a
    /// resolved value.
    pub(crate) fn resolve(&mut self, value: &str) -> Result<Resolved, String> {
        let mut out = Resolved::default();
        if !value.contains("${") {
            out.value = value.to_owned();
            return Ok(out);
        }
        let mut rest = value;
        while let Some((before, after)) = rest.split_once("${") {
            out.value.push_str(before);
            let Some((body, tail)) = after.split_once('}') else {
                out.value.push_str("${");
                rest = after;
                break;
            };
            rest = tail;
            let Some((provider, reference)) = body.split_once(':') else {
                // `${name}`: not a placeholder (no provider).
                out.value.push_str("${");
                out.value.push_str(body);
                out.value.push('}');
                continue;
            };
            match provider {
                "env" => {
                    out.value.push_str(&self.env(reference)?);
                    out.substituted = true;
                }
                "file" => {
                    out.value.push_str(&self.file(reference)?);
                    out.substituted = true;
                }
                "directory" => {
                    out.value.push_str(&self.directory(reference)?);
                    out.substituted = true;
                }
                other => {
                    out.warnings.push(format!(
                        "placeholder provider `{other}` is not available (only env, file and \
                         directory); `${{{other}:…}}` is kept as written"
                    ));
                    out.value.push_str("${");
                    out.value.push_str(body);
                    out.value.push('}');
                }
            }
        }
        out.value.push_str(rest);
        Ok(out)
    }

    fn env(&self, name: &str) -> Result<String, String> {
        if name.is_empty() || name.contains(':') {
            return Err(format!(
                "`${{env:{name}}}`: an environment placeholder is `${{env:NAME}}`"
            ));
        }
        (self.providers.env)(name)
            .ok_or_else(|| format!("environment variable `{name}` is not set (`${{env:{name}}}`)"))
    }

    fn check_allowed(&self, path: &Path) -> Result<PathBuf, String> {
        let Some(allowed) = &self.providers.allowed_paths else {
            return Ok(path.to_path_buf());
        };
        let real = std::fs::canonicalize(path)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        if allowed.iter().any(|a| real.starts_with(a)) {
            Ok(real)
        } else {
            Err(format!(
                "`{}` is outside the allowed paths of the file placeholders",
                path.display()
            ))
        }
    }

    fn file(&mut self, reference: &str) -> Result<String, String> {
        let Some((path, key)) = reference.split_once(':') else {
            return Err(format!(
                "`${{file:{reference}}}`: a file placeholder is `${{file:<path>:<key>}}`"
            ));
        };
        if path.is_empty() {
            return Err("`${file::…}`: the file placeholder names no file".to_owned());
        }
        let path = self.check_allowed(Path::new(path))?;
        let entries = self
            .files
            .entry(path.clone())
            .or_insert_with(|| read_properties_file(&path));
        let entries = entries.as_ref().map_err(Clone::clone)?;
        entries
            .get(key)
            .cloned()
            .ok_or_else(|| format!("key `{key}` is not in `{}`", path.display()))
    }

    fn directory(&mut self, reference: &str) -> Result<String, String> {
        let Some((dir, name)) = reference.split_once(':') else {
            return Err(format!(
                "`${{directory:{reference}}}`: a directory placeholder is `${{directory:<dir>:<file>}}`"
            ));
        };
        if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
            return Err(format!(
                "`${{directory:{dir}:{name}}}`: the file must be a plain name inside the directory"
            ));
        }
        let path = self.check_allowed(&Path::new(dir).join(name))?;
        std::fs::read_to_string(&path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))
    }
}

fn read_properties_file(path: &Path) -> Result<HashMap<String, String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let entries = parse_properties(&text).map_err(|e| format!("`{}`: {e}", path.display()))?;
    Ok(entries.into_iter().collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn providers() -> ConfigProviders {
        ConfigProviders::new().with_env_vars([("HOST", "db"), ("EMPTY", "")])
    }

    #[test]
    fn env_placeholders_anywhere_in_a_value() {
        let p = providers();
        let mut r = Resolver::new(&p);
        let v = r.resolve("pg://${env:HOST}:${env:HOST}/x").unwrap();
        assert_eq!(v.value, "pg://db:db/x");
        assert!(v.substituted);
        assert_eq!(r.resolve("${env:EMPTY}").unwrap().value, "");
        let err = r.resolve("${env:NOPE}").unwrap_err();
        assert!(err.contains("`NOPE` is not set"), "{err}");
        assert!(r.resolve("${env:a:b}").is_err());
    }

    #[test]
    fn text_that_is_not_a_placeholder_stays() {
        let p = providers();
        let mut r = Resolver::new(&p);
        for text in ["outbox.event.${routedByValue}", "${", "a${b", "$x}", "${}"] {
            let v = r.resolve(text).unwrap();
            assert_eq!(v.value, text);
            assert!(!v.substituted);
        }
        let v = r.resolve("${vault:secret/db:password}").unwrap();
        assert_eq!(v.value, "${vault:secret/db:password}");
        assert_eq!(v.warnings.len(), 1);
    }

    #[test]
    fn file_and_directory_placeholders() {
        let dir = tempfile::tempdir().unwrap();
        let props = dir.path().join("db.properties");
        std::fs::write(&props, "# db\nuser = cdc\npassword=p\\=w\n").unwrap();
        std::fs::write(dir.path().join("token"), "abc\n").unwrap();
        let p = providers();
        let mut r = Resolver::new(&p);
        let path = props.display().to_string();
        assert_eq!(
            r.resolve(&format!("${{file:{path}:user}}")).unwrap().value,
            "cdc"
        );
        assert_eq!(
            r.resolve(&format!("${{file:{path}:password}}"))
                .unwrap()
                .value,
            "p=w"
        );
        let err = r.resolve(&format!("${{file:{path}:missing}}")).unwrap_err();
        assert!(err.contains("key `missing` is not in"), "{err}");
        let err = r.resolve("${file:/no/such/file.properties:k}").unwrap_err();
        assert!(
            err.contains("cannot read `/no/such/file.properties`"),
            "{err}"
        );
        assert!(r.resolve(&format!("${{file:{path}}}")).is_err());
        let d = dir.path().display().to_string();
        assert_eq!(
            r.resolve(&format!("${{directory:{d}:token}}"))
                .unwrap()
                .value,
            "abc\n"
        );
        assert!(r.resolve(&format!("${{directory:{d}:../etc}}")).is_err());

        let elsewhere = tempfile::tempdir().unwrap();
        let p = providers().with_allowed_paths([elsewhere.path()]);
        let mut r = Resolver::new(&p);
        let err = r.resolve(&format!("${{file:{path}:user}}")).unwrap_err();
        assert!(err.contains("outside the allowed paths"), "{err}");
        let p = providers().with_allowed_paths([dir.path()]);
        let mut r = Resolver::new(&p);
        assert_eq!(
            r.resolve(&format!("${{file:{path}:user}}")).unwrap().value,
            "cdc"
        );
    }
}
