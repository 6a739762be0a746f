//! A few `--name value` options, without a command-line parsing library.

use std::collections::BTreeMap;

/// Options given as `--name value` or `--name=value`.
#[derive(Debug, Default)]
pub struct Args {
    values: BTreeMap<String, String>,
}

/// Why the command line was not understood.
#[derive(Debug, PartialEq, Eq)]
pub enum ArgsError {
    /// `--help` or `-h`: print the usage and exit successfully.
    Help,
    /// Anything else: print this and the usage, and exit with code 2.
    Invalid(String),
}

impl Args {
    /// Reads `args` (without the program name), accepting only the options in
    /// `known` (names without the dashes).
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        known: &[&str],
    ) -> Result<Args, ArgsError> {
        let mut values = BTreeMap::new();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if arg == "--help" || arg == "-h" {
                return Err(ArgsError::Help);
            }
            let Some(option) = arg.strip_prefix("--") else {
                return Err(ArgsError::Invalid(format!("unexpected argument {arg:?}")));
            };
            let (name, value) = match option.split_once('=') {
                Some((name, value)) => (name.to_owned(), value.to_owned()),
                None => {
                    let value = args
                        .next()
                        .ok_or_else(|| ArgsError::Invalid(format!("--{option} needs a value")))?;
                    (option.to_owned(), value)
                }
            };
            if !known.contains(&name.as_str()) {
                return Err(ArgsError::Invalid(format!("unknown option --{name}")));
            }
            if values.insert(name.clone(), value).is_some() {
                return Err(ArgsError::Invalid(format!("--{name} given twice")));
            }
        }
        Ok(Args { values })
    }

    /// Reads the process's arguments; on `--help` prints `usage` and exits 0, on a
    /// mistake prints it and the usage and exits 2.
    pub fn from_env_or_exit(usage: &str, known: &[&str]) -> Args {
        match Args::parse(std::env::args().skip(1), known) {
            Ok(args) => args,
            Err(ArgsError::Help) => {
                println!("{usage}");
                std::process::exit(0);
            }
            Err(ArgsError::Invalid(reason)) => {
                eprintln!("error: {reason}\n\n{usage}");
                std::process::exit(2);
            }
        }
    }

    /// The value of `--name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The value of `--name` parsed, `default` when absent; a value that does not
    /// parse is an error naming the option.
    pub fn parse_or<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.get(name) {
            None => Ok(default),
            Some(text) => text
                .parse()
                .map_err(|_| format!("--{name}: {text:?} is not a valid value")),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn parse(args: &[&str]) -> Result<Args, ArgsError> {
        Args::parse(args.iter().map(|s| (*s).to_owned()), &["config", "every"])
    }

    #[test]
    fn reads_both_spellings_and_refuses_the_rest() {
        let args = parse(&["--config", "c.json", "--every=5"]).unwrap();
        assert_eq!(args.get("config"), Some("c.json"));
        assert_eq!(args.parse_or("every", 10u64), Ok(5));
        assert_eq!(args.parse_or("missing", 10u64), Ok(10));
        assert_eq!(parse(&["-h"]).unwrap_err(), ArgsError::Help);
        for bad in [
            &["--config"][..],
            &["--nope", "1"],
            &["c.json"],
            &["--config", "a", "--config", "b"],
        ] {
            assert!(matches!(parse(bad), Err(ArgsError::Invalid(_))), "{bad:?}");
        }
        let args = parse(&["--every", "soon"]).unwrap();
        assert!(
            args.parse_or("every", 1u64)
                .unwrap_err()
                .contains("--every")
        );
    }
}
