//! Reading environment variables, the one way every part of Berth does it.
//!
//! Every reader takes a variable lookup ([`Lookup`]) rather than the process
//! environment, so parsing is tested without touching it. Values are
//! trimmed; a variable set to nothing but blanks counts as unset, except
//! where a reader says otherwise. Errors are `config_invalid` and name the
//! variable at fault.

use crate::error::{Error, ErrorCode, Result};
use crate::settings::rules::Range;

/// A variable lookup: `std::env::var(k).ok()` in production, a map in tests.
pub type Lookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// The process environment as a [`Lookup`].
pub fn process(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn invalid(var: &str, message: String) -> Error {
    Error::config(ErrorCode::ConfigInvalid, var, message)
}

/// The trimmed value of `var`, `None` when unset or blank.
pub fn text(get: &Lookup<'_>, var: &str) -> Option<String> {
    get(var)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// An optional whole number within `range`. Unlike [`text`], a variable set
/// but blank is refused (a value was meant, and none is not a number).
pub fn number(get: &Lookup<'_>, var: &str, range: Range) -> Result<Option<u32>> {
    let Range { min, max } = range;
    let Some(raw) = get(var) else { return Ok(None) };
    let text = raw.trim();
    if text.is_empty() {
        return Err(invalid(
            var,
            format!("is set but empty; expected a whole number from {min} to {max}, or unset it"),
        ));
    }
    let n: u64 = text.parse().map_err(|_| {
        invalid(
            var,
            format!("must be a whole number from {min} to {max}, got {text:?}"),
        )
    })?;
    if !range.contains(i64::try_from(n).unwrap_or(i64::MAX)) {
        return Err(invalid(var, range.refusal(n)));
    }
    Ok(Some(n as u32))
}

/// A comma-separated list (empty when unset); an empty entry is refused.
pub fn list(get: &Lookup<'_>, var: &str) -> Result<Vec<String>> {
    let Some(raw) = text(get, var) else {
        return Ok(Vec::new());
    };
    let items: Vec<String> = raw.split(',').map(|s| s.trim().to_string()).collect();
    if items.iter().any(String::is_empty) {
        return Err(invalid(
            var,
            format!("has an empty entry in {raw:?}; separate values with single commas"),
        ));
    }
    Ok(items)
}

/// A boolean (`true/false/1/0/yes/no`, any case); anything else is refused.
pub fn flag(get: &Lookup<'_>, var: &str) -> Result<Option<bool>> {
    let Some(raw) = text(get, var) else {
        return Ok(None);
    };
    match raw.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(Some(true)),
        "false" | "0" | "no" => Ok(Some(false)),
        _ => Err(invalid(var, format!("must be true or false, got {raw:?}"))),
    }
}

/// A switch that turns a mode on (`BERTH_DEV`, `BERTH_DEMO`): on for
/// `1/true/yes/on` (any case), off for anything else, never an error, so
/// a stray value starts the app in its ordinary mode.
pub fn switch(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    })
}

/// `DATABASE_URL`, if set and not blank (`None`: the embedded cluster).
pub fn database_url(get: &Lookup<'_>) -> Option<String> {
    get("DATABASE_URL").filter(|s| !s.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| vars.get(k).cloned()
    }

    #[test]
    fn numbers_lists_flags_and_switches() {
        let get = lookup(&[
            ("N", " 42 "),
            ("BLANK", "  "),
            ("BIG", "100001"),
            ("L", "a, b"),
            ("L2", "a,,b"),
            ("F", "Yes"),
            ("BAD", "maybe"),
        ]);
        let r = Range {
            min: 1,
            max: 100_000,
        };
        assert_eq!(number(&get, "N", r).unwrap(), Some(42));
        assert_eq!(number(&get, "UNSET", r).unwrap(), None);
        assert!(number(&get, "BLANK", r)
            .unwrap_err()
            .to_string()
            .contains("set but empty"));
        assert!(number(&get, "BIG", r)
            .unwrap_err()
            .to_string()
            .contains("must be from 1 to 100000, got 100001"));
        assert_eq!(list(&get, "L").unwrap(), ["a", "b"]);
        assert!(list(&get, "L2").is_err());
        assert_eq!(flag(&get, "F").unwrap(), Some(true));
        assert!(flag(&get, "BAD").is_err());
        assert_eq!(text(&get, "BLANK"), None);
        assert!(switch(Some(" ON ")) && !switch(Some("2")) && !switch(None));
        assert_eq!(database_url(&get), None);
    }
}
