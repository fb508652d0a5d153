//! The parser's filter in front of an account query.
//!
//! It refuses early, with a clear reason, what the database boundary
//! ([`super::query`]) would refuse or contain anyway. It must itself be safe
//! on hostile text, so it works in three bounded steps:
//!
//! 1. **Size**: at most [`MAX_QUERY_BYTES`] of text, tokenized (a loop, no
//!    recursion) into at most [`MAX_QUERY_TOKENS`] tokens.
//! 2. **Tokens**: no denied function name ([`DENIED_FUNCTIONS`]) anywhere,
//!    whatever the position (select list, `FROM`, `LATERAL`, nested); no
//!    Unicode-escaped identifier (`U&"…"`, which PostgreSQL reads and this
//!    parser does not, so it could hide a name); at most
//!    [`MAX_SET_OPERATIONS`] `UNION`/`INTERSECT`/`EXCEPT`.
//! 3. **Statement**: parsed with a recursion limit of [`MAX_NESTING`] and a
//!    work budget ([`budget`]: the parser backtracks, exponentially on some
//!    nested broken input), it must be exactly one query: no DML anywhere
//!    (not in a CTE either), no `SELECT … INTO`, no row locks, and no
//!    expression nested more than [`MAX_EXPRESSION_DEPTH`] deep.
//!
//! Parsing, walking and dropping a syntax tree recurse as deep as the tree
//! is, and left-deep chains (`a + b + …`, `UNION` chains) are built by
//! loops that no recursion limit sees. So the walk stops at
//! [`MAX_EXPRESSION_DEPTH`], the token cap bounds the deepest tree that is
//! built (and dropped), and the whole filter runs on a dedicated thread with
//! a [`FILTER_STACK_BYTES`] stack; a test runs the deepest trees the caps
//! allow on a quarter of that stack. A query the filter refuses is an error
//! (`query_refused`), never a crash or a hang.

mod budget;

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, Query, SetExpr, Statement, Visit, Visitor};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::error::{Error, ErrorCode, Result};

/// Most bytes of query text.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;
/// Most tokens (words, literals, operators; not spaces or comments). This
/// also bounds how deep the syntax tree can be.
pub const MAX_QUERY_TOKENS: usize = 10_000;
/// Most `UNION`, `INTERSECT` and `EXCEPT` in one query.
pub const MAX_SET_OPERATIONS: usize = 64;
/// Deepest nesting of parentheses, subqueries and expressions the parser
/// accepts.
pub const MAX_NESTING: usize = 32;
/// Deepest expression the walk accepts. A chain of operators (`a OR b OR
/// …`) is as deep as it is long; long lists belong in `IN (…)`.
pub const MAX_EXPRESSION_DEPTH: usize = 200;
/// Stack of the thread the filter runs on: eight times what the deepest
/// trees the caps allow were measured to need in a debug build (at most
/// 4 MiB; a release build needs less). Only the pages used are touched.
pub const FILTER_STACK_BYTES: usize = 32 << 20;

/// Functions refused by the filter, wherever their name appears: they
/// write, signal or read other sessions, sleep, lock, change session state
/// (including the role), or run SQL text the filter never sees. (The
/// read-only transaction and the query role refuse or contain most of them
/// anyway; this makes the refusal early and clear.)
pub const DENIED_FUNCTIONS: &[&str] = &[
    "pg_notify",
    "pg_sleep",
    "pg_sleep_for",
    "pg_sleep_until",
    "pg_advisory_lock",
    "pg_advisory_lock_shared",
    "pg_advisory_xact_lock",
    "pg_advisory_xact_lock_shared",
    "pg_try_advisory_lock",
    "pg_try_advisory_lock_shared",
    "pg_try_advisory_xact_lock",
    "pg_try_advisory_xact_lock_shared",
    "pg_terminate_backend",
    "pg_cancel_backend",
    "pg_reload_conf",
    "pg_rotate_logfile",
    "pg_stat_get_activity",
    "set_config",
    "lo_import",
    "lo_export",
    "lo_from_bytea",
    "lo_create",
    "lo_creat",
    "lo_unlink",
    "lo_put",
    "lo_open",
    "lo_truncate",
    "lowrite",
    "dblink",
    "dblink_exec",
    "dblink_send_query",
    "pg_read_file",
    "pg_read_binary_file",
    "pg_ls_dir",
    "pg_stat_file",
    "nextval",
    "setval",
    "txid_current",
    "pg_current_xact_id",
    // These run a query given as text: the filter would never see it.
    "query_to_xml",
    "query_to_xmlschema",
    "query_to_xml_and_xmlschema",
    "cursor_to_xml",
    "cursor_to_xmlschema",
    "ts_stat",
    "ts_rewrite",
];

/// Why a query was refused before it ran.
fn refused(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::QueryRefused, message)
}

/// Checks `sql` (named parameters already rewritten to `$n`) is exactly one
/// read-only query statement within the caps. Runs on its own thread (see
/// the module docs) and blocks until it is done; async code uses
/// [`check_off_thread`].
pub fn check(sql: &str) -> Result<()> {
    let sql = sql.to_string();
    spawn(FILTER_STACK_BYTES, move || check_here(&sql))?
        .join()
        .map_err(|_| Error::new(ErrorCode::Internal, "the query filter panicked"))?
}

/// [`check`] for async callers: the worker thread is not blocked.
pub async fn check_off_thread(sql: &str) -> Result<()> {
    let (tx, rx) = futures::channel::oneshot::channel();
    let sql = sql.to_string();
    spawn(FILTER_STACK_BYTES, move || {
        let _ = tx.send(check_here(&sql));
    })?;
    rx.await
        .map_err(|_| Error::new(ErrorCode::Internal, "the query filter panicked"))?
}

fn spawn<T: Send + 'static>(
    stack: usize,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<std::thread::JoinHandle<T>> {
    std::thread::Builder::new()
        .name("berth-query-filter".into())
        .stack_size(stack)
        .spawn(f)
        .map_err(|e| {
            Error::new(
                ErrorCode::Internal,
                format!("cannot start the query filter: {e}"),
            )
        })
}

/// The filter itself, on the current thread's stack (which must be the
/// filter's: see [`check`]). The syntax tree is dropped here too.
fn check_here(sql: &str) -> Result<()> {
    if sql.len() > MAX_QUERY_BYTES {
        return Err(refused(format!(
            "the query is {} bytes long; at most {} KiB are allowed",
            sql.len(),
            MAX_QUERY_BYTES / 1024
        )));
    }
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize_with_location()
        .map_err(|e| refused(format!("not a valid query: {e}")))?;
    let first_word = screen_tokens(&tokens)?;
    let dialect = budget::Budgeted::default();
    let parsed = Parser::new(&dialect)
        .with_recursion_limit(MAX_NESTING)
        .with_tokens_with_locations(tokens)
        .parse_statements();
    if dialect.exhausted() {
        return Err(refused(
            "the query is too complex to check (it nests constructs too deeply)",
        ));
    }
    let statements = parsed.map_err(|e| match e {
        ParserError::RecursionLimitExceeded => refused(format!(
            "the query is nested too deeply (at most {MAX_NESTING} levels of parentheses, subqueries and expressions)"
        )),
        e => refused(format!("not a valid query: {e}")),
    })?;
    match statements.as_slice() {
        [Statement::Query(_)] => {}
        [] => return Err(refused("the query is empty")),
        [_] => {
            return Err(refused(format!(
                "only a SELECT query is allowed, found {}",
                first_word.unwrap_or_else(|| "another statement".into())
            )))
        }
        _ => return Err(refused("exactly one statement is allowed")),
    }
    match statements.visit(&mut ReadOnly::default()) {
        ControlFlow::Break(why) => Err(refused(why)),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// Step 2 of the module docs. Returns the first word (for messages).
fn screen_tokens(tokens: &[TokenWithSpan]) -> Result<Option<String>> {
    let mut count = 0usize;
    let mut set_operations = 0usize;
    let mut first_word = None;
    for (i, t) in tokens.iter().enumerate() {
        let word = match &t.token {
            Token::Whitespace(_) => continue,
            Token::Word(w) => w,
            _ => {
                count += 1;
                continue;
            }
        };
        count += 1;
        if count > MAX_QUERY_TOKENS {
            return Err(refused(format!(
                "the query has more than {MAX_QUERY_TOKENS} tokens"
            )));
        }
        let lower = word.value.to_ascii_lowercase();
        if first_word.is_none() {
            first_word = Some(word.value.to_ascii_uppercase());
        }
        if DENIED_FUNCTIONS.contains(&lower.as_str()) {
            return Err(refused(format!("the function {lower} is not allowed")));
        }
        if word.quote_style.is_none() {
            if matches!(
                word.keyword,
                Keyword::UNION | Keyword::INTERSECT | Keyword::EXCEPT | Keyword::MINUS
            ) {
                set_operations += 1;
                if set_operations > MAX_SET_OPERATIONS {
                    return Err(refused(format!(
                        "the query combines more than {} queries with UNION, INTERSECT or EXCEPT",
                        MAX_SET_OPERATIONS + 1
                    )));
                }
            }
            // `U&"…"`: the tokens touch (no space between them).
            if lower == "u"
                && matches!(tokens.get(i + 1), Some(t) if t.token == Token::Ampersand)
                && matches!(tokens.get(i + 2), Some(TokenWithSpan { token: Token::Word(w), .. }) if w.quote_style.is_some())
            {
                return Err(refused(
                    "Unicode-escaped identifiers (U&\"…\") are not allowed",
                ));
            }
        }
    }
    if count > MAX_QUERY_TOKENS {
        return Err(refused(format!(
            "the query has more than {MAX_QUERY_TOKENS} tokens"
        )));
    }
    Ok(first_word)
}

/// Step 3 of the module docs. Set-operation trees are walked with an
/// explicit stack; expressions only as deep as [`MAX_EXPRESSION_DEPTH`]
/// (stopping there stops the recursion).
#[derive(Default)]
struct ReadOnly {
    depth: usize,
}

impl Visitor for ReadOnly {
    type Break = String;

    fn pre_visit_expr(&mut self, _: &Expr) -> ControlFlow<String> {
        self.depth += 1;
        if self.depth > MAX_EXPRESSION_DEPTH {
            return ControlFlow::Break(format!(
                "an expression is nested more than {MAX_EXPRESSION_DEPTH} deep (a chain of operators such as a OR b OR … counts one level per operator; use IN (…) for long lists)"
            ));
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, _: &Expr) -> ControlFlow<String> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_statement(&mut self, s: &Statement) -> ControlFlow<String> {
        match s {
            Statement::Query(_) => ControlFlow::Continue(()),
            _ => ControlFlow::Break("only SELECT is allowed".into()),
        }
    }

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<String> {
        if !q.locks.is_empty() {
            return ControlFlow::Break("row locks (FOR UPDATE/SHARE) are not allowed".into());
        }
        let mut pending: Vec<&SetExpr> = vec![&q.body];
        while let Some(body) = pending.pop() {
            match body {
                SetExpr::Select(s) if s.into.is_some() => {
                    return ControlFlow::Break("SELECT … INTO is not allowed".into())
                }
                SetExpr::SetOperation { left, right, .. } => {
                    pending.push(left);
                    pending.push(right);
                }
                SetExpr::Insert(_)
                | SetExpr::Update(_)
                | SetExpr::Delete(_)
                | SetExpr::Merge(_) => {
                    return ControlFlow::Break("data-modifying statements are not allowed".into())
                }
                _ => {}
            }
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests;
