//! Output: human tables and text, or JSON for scripts.

use berth_core::{Error, ErrorCode, Result};
use chrono::{DateTime, Local, Utc};
use comfy_table::{presets, Table};
use serde::Serialize;
use std::fmt::Display;
use std::io::Write;

/// What every command knows about how it was invoked.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// `--json`.
    pub json: bool,
    /// `--dev` / `BERTH_DEV`.
    pub dev: bool,
}

/// A command's failure: the core's error and, for `--json`, the other
/// fields of the one document a refusal prints (`pools validate` puts its
/// problems there), so a refusal never prints a second document.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong (its code decides the `error[<code>]` line).
    pub error: Error,
    /// Fields printed next to `"error"` with `--json`.
    pub report: serde_json::Map<String, serde_json::Value>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure {
            error,
            report: serde_json::Map::new(),
        }
    }
}

/// Prints a refusal the one documented way: one `error[<code>]: <message>`
/// line on stderr (a message's further lines indented under it) and, with
/// `--json`, one document `{"error":{"code","message"}, ...}` on stdout.
pub fn refusal(failure: &Failure, json: bool) {
    let code = failure.error.code();
    let message = failure.error.to_string();
    let mut lines = message.lines();
    eprintln!("error[{}]: {}", code.as_str(), lines.next().unwrap_or(""));
    for more in lines {
        eprintln!("  {more}");
    }
    if json {
        let mut doc = failure.report.clone();
        doc.insert(
            "error".into(),
            serde_json::json!({ "code": code.as_str(), "message": message }),
        );
        emit(serde_json::Value::Object(doc));
    }
}

/// Writes `text` and a newline to stdout. `false` when stdout is gone
/// (e.g. a closed pipe): streaming commands stop then.
pub fn emit(text: impl Display) -> bool {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").and_then(|_| out.flush()).is_ok()
}

fn to_json<T: Serialize>(value: &T, pretty: bool) -> Result<String> {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    text.map_err(|e| Error::new(ErrorCode::Internal, format!("cannot encode JSON: {e}")))
}

/// Prints a JSON document (one-shot commands).
pub fn json<T: Serialize>(value: &T) -> Result<()> {
    emit(to_json(value, true)?);
    Ok(())
}

/// Prints one JSON object on one line (streaming commands); `false` when stdout is gone.
pub fn json_line<T: Serialize>(value: &T) -> Result<bool> {
    Ok(emit(to_json(value, false)?))
}

/// A table with Berth's look and these column headers.
pub fn table<const N: usize>(headers: [&str; N]) -> Table {
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    t.set_header(headers);
    t
}

/// A time in the local zone, to the second.
pub fn time(at: DateTime<Utc>) -> String {
    at.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// A time of day in the local zone.
pub fn clock(at: DateTime<Utc>) -> String {
    at.with_timezone(&Local).format("%H:%M:%S").to_string()
}

/// A duration for people: `850 ms`, `4.2 s`, `3 min 12 s`, `2 h 5 min`.
pub fn duration_ms(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let ms = ms.unsigned_abs();
    let text = if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        let tenths = (ms + 50) / 100;
        if tenths.is_multiple_of(10) {
            format!("{} s", tenths / 10)
        } else {
            format!("{}.{} s", tenths / 10, tenths % 10)
        }
    } else if ms < 3_600_000 {
        let s = (ms + 500) / 1_000;
        format!("{} min {} s", s / 60, s % 60)
    } else {
        let m = (ms + 30_000) / 60_000;
        format!("{} h {} min", m / 60, m % 60)
    };
    format!("{sign}{text}")
}

/// How long ago `at` was, for people.
pub fn ago(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!("{} ago", duration_ms((now - at).num_milliseconds().max(0)))
}

/// An optional value, `-` when absent.
pub fn opt<T: Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// `1 slot` / `3 slots`.
pub fn plural(n: impl Into<i64>, word: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_ms(850), "850 ms");
        assert_eq!(duration_ms(4_200), "4.2 s");
        assert_eq!(duration_ms(4_000), "4 s");
        assert_eq!(duration_ms(192_000), "3 min 12 s");
        assert_eq!(duration_ms(7_500_000), "2 h 5 min");
        assert_eq!(duration_ms(-1_500), "-1.5 s");
        assert_eq!(plural(1, "slot"), "1 slot");
        assert_eq!(plural(0, "slot"), "0 slots");
    }
}
