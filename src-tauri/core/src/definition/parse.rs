//! Reading a definition's text: strict YAML, then [`super::check`]; each
//! problem located at its key and quoting only short excerpts.

use std::path::Path;

use super::account_source::MISPLACED_KEYS;
use super::check::check;
use super::model::{PoolDefinition, Problem, MAX_FILE_BYTES};

/// Parses and checks one definition's text. `file` only labels problems.
/// A text over [`MAX_FILE_BYTES`] is refused unread. Problems quote at most
/// a short excerpt of the text ([`excerpt`]).
pub fn parse(text: &str, file: Option<&Path>) -> std::result::Result<PoolDefinition, Vec<Problem>> {
    if text.len() > MAX_FILE_BYTES {
        return Err(vec![Problem {
            file: file.map(Path::to_path_buf),
            line: None,
            column: None,
            field: None,
            message: format!(
                "the definition is {} bytes; at most {MAX_FILE_BYTES} ({} KiB) are allowed",
                text.len(),
                MAX_FILE_BYTES / 1024
            ),
        }]);
    }
    // YAML 1.2 booleans: only `true`/`false` (in YAML 1.1, `n`, `no` or `off`
    // would silently become `false`, e.g. a parameter named `n`).
    let options = serde_saphyr::options! {
        strict_booleans: true,
        with_snippet: false,
    };
    let def: PoolDefinition = serde_saphyr::from_str_with_options(text, options)
        .map_err(|e| vec![parse_problem(&e, text, file)])?;
    let problems = check(&def, text, file);
    if problems.is_empty() {
        Ok(def)
    } else {
        Err(problems)
    }
}

/// The parser's error as a problem: its own message (the rendered error
/// would add "at line N, column M" a second time, after the location
/// reported in the problem's fields), cut to excerpts, located where the
/// parser says, or for a key given to the wrong kind of account source, at
/// that key.
fn parse_problem(e: &serde_saphyr::Error, text: &str, file: Option<&Path>) -> Problem {
    use serde_saphyr::MessageFormatter;
    let message = serde_saphyr::DefaultMessageFormatter.format_message(e);
    let misplaced = MISPLACED_KEYS
        .iter()
        .find(|(m, _)| message == *m)
        .and_then(|(_, fields)| {
            fields.iter().find_map(|f| {
                let (depth, line, column) = find_key(text, f)?;
                (depth == f.split('.').count()).then_some((f, line, column))
            })
        });
    let (field, line, column) = match (misplaced, e.location()) {
        (Some((f, l, c)), _) => (Some(f.to_string()), Some(l), Some(c)),
        (None, Some(l)) => (None, Some(l.line()), Some(l.column())),
        (None, None) => (None, None, None),
    };
    Problem {
        file: file.map(Path::to_path_buf),
        line,
        column,
        field,
        message: excerpt(&message, MAX_MESSAGE_CHARS),
    }
}

/// The most characters of a problem's message.
pub(super) const MAX_MESSAGE_CHARS: usize = 300;
/// The most characters a problem quotes of one value it found.
pub(super) const MAX_EXCERPT_CHARS: usize = 40;

/// `text` made safe to show: control characters escaped, every quoted run
/// (between backticks or double quotes, as the parser and [`check`] quote
/// what they found) cut to [`MAX_EXCERPT_CHARS`], and the whole cut to
/// `max` characters. What a file holds comes back only as short excerpts.
pub(super) fn excerpt(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut open: Option<char> = None;
    let mut escaped = false;
    let mut quoted = 0;
    let mut shown = 0;
    for c in text.chars() {
        if shown >= max {
            out.push('…');
            break;
        }
        match open {
            // `{:?}` escapes quotes inside the quoted value.
            Some(q) if c == q && !escaped => open = None,
            Some(_) => {
                escaped = c == '\\' && !escaped;
                quoted += 1;
                if quoted > MAX_EXCERPT_CHARS {
                    if quoted == MAX_EXCERPT_CHARS + 1 {
                        out.push('…');
                        shown += 1;
                    }
                    continue;
                }
            }
            None if c == '`' || c == '"' => {
                open = Some(c);
                quoted = 0;
                escaped = false;
            }
            None => {}
        }
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
        shown += 1;
    }
    out
}

/// Line and column (1-based) of the key at `path` (`queue.timeout`,
/// `accounts.pool_config.max_failures`) in block-style YAML: the first key
/// at the top level, each next one inside the block of the one before it.
/// When the last key is not there (it sits in a flow mapping `{ ... }`, or
/// was left out), the deepest key found; when not even the first is, the
/// first line holding the last key anywhere.
pub(super) fn locate(text: &str, path: &str) -> (Option<u64>, Option<u64>) {
    if let Some((_, line, column)) = find_key(text, path) {
        return (Some(line), Some(column));
    }
    let last = path.rsplit('.').next().unwrap_or(path);
    text.lines()
        .enumerate()
        .find_map(|(i, line)| {
            let (column, body) = key_line(line)?;
            starts_with_key(body, last).then_some((Some(i as u64 + 1), Some(column as u64)))
        })
        .unwrap_or((None, None))
}

/// How many keys of `path` [`locate`] followed through the blocks, and the
/// line and column of the deepest; none when not even the first is there.
fn find_key(text: &str, path: &str) -> Option<(usize, u64, u64)> {
    let keys: Vec<&str> = path.split('.').collect();
    let mut found = None;
    let mut depth = 0;
    let mut block: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let Some((column, body)) = key_line(line) else {
            continue;
        };
        let indent = line.len() - line.trim_start().len();
        match block {
            // The parent's block ends at the first line indented no deeper.
            Some(parent) if indent <= parent => break,
            None if column != 1 => continue,
            _ => {}
        }
        if starts_with_key(body, keys[depth]) {
            depth += 1;
            found = Some((depth, i as u64 + 1, column as u64));
            if depth == keys.len() {
                break;
            }
            block = Some(column - 1);
        }
    }
    found
}

/// A line's 1-based column of its content (after any `- `) and that
/// content; none for blank and comment lines.
fn key_line(line: &str) -> Option<(usize, &str)> {
    let trimmed = line.trim_start();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return None;
    }
    let body = trimmed.strip_prefix("- ").unwrap_or(trimmed);
    Some((line.len() - body.len() + 1, body))
}

fn starts_with_key(body: &str, key: &str) -> bool {
    body.strip_prefix(key)
        .is_some_and(|rest| rest.trim_start().starts_with(':'))
}
