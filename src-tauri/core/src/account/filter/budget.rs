//! PostgreSQL's dialect with a work budget.
//!
//! sqlparser backtracks: where a construct has alternatives it parses one,
//! and on an error deeper inside tries the next. Nested constructs whose
//! innermost part is broken (`CAST(CAST(… 1 + …`) are then re-parsed once
//! per alternative per level: twice to eight times the work per level, so
//! twenty levels take hours. No depth limit small enough for that also lets
//! ordinary queries through, so the parser's work is counted instead: every
//! expression it starts (and every operator it looks at) spends a step, and
//! past [`MAX_STEPS`] every further step fails at once, so the backtracking
//! unwinds in a few steps per level.
//!
//! Everything else is PostgreSQL's dialect, method for method (the test
//! `the_budgeted_dialect_parses_like_postgresql` compares the two), and
//! [`Dialect::dialect`] answers as PostgreSQL so the parser's dialect checks
//! see PostgreSQL.

use std::any::TypeId;
use std::cell::Cell;

use sqlparser::ast::Expr;
use sqlparser::dialect::{Dialect, PostgreSqlDialect, Precedence};
use sqlparser::parser::{Parser, ParserError};

/// Steps one parse may take. Ordinary queries at the token cap take at most
/// an eighth of it (25,000 for one made of nested function calls); a parse
/// that runs out takes about a second in a debug build, a tenth in release.
pub const MAX_STEPS: u32 = 200_000;

/// [`PostgreSqlDialect`] that counts the parser's steps.
#[derive(Debug)]
pub struct Budgeted {
    inner: PostgreSqlDialect,
    steps: Cell<u32>,
}

impl Default for Budgeted {
    fn default() -> Self {
        Budgeted {
            inner: PostgreSqlDialect {},
            steps: Cell::new(0),
        }
    }
}

impl Budgeted {
    /// Whether the parse ran out of steps.
    pub fn exhausted(&self) -> bool {
        self.steps.get() > MAX_STEPS
    }

    /// Steps taken so far.
    #[cfg(test)]
    pub fn steps(&self) -> u32 {
        self.steps.get()
    }

    fn step(&self) -> Result<(), ParserError> {
        let n = self.steps.get().saturating_add(1);
        self.steps.set(n);
        if n > MAX_STEPS {
            Err(ParserError::ParserError(
                "the query is too complex to check".into(),
            ))
        } else {
            Ok(())
        }
    }
}

impl Dialect for Budgeted {
    fn dialect(&self) -> TypeId {
        TypeId::of::<PostgreSqlDialect>()
    }

    fn parse_prefix(&self, parser: &mut Parser) -> Option<Result<Expr, ParserError>> {
        if let Err(e) = self.step() {
            return Some(Err(e));
        }
        self.inner.parse_prefix(parser)
    }

    fn parse_infix(
        &self,
        parser: &mut Parser,
        expr: &Expr,
        precedence: u8,
    ) -> Option<Result<Expr, ParserError>> {
        if let Err(e) = self.step() {
            return Some(Err(e));
        }
        self.inner.parse_infix(parser, expr, precedence)
    }

    fn get_next_precedence(&self, parser: &Parser) -> Option<Result<u8, ParserError>> {
        if let Err(e) = self.step() {
            return Some(Err(e));
        }
        self.inner.get_next_precedence(parser)
    }

    // The rest is PostgreSQL's dialect unchanged.

    fn identifier_quote_style(&self, identifier: &str) -> Option<char> {
        self.inner.identifier_quote_style(identifier)
    }
    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        self.inner.is_delimited_identifier_start(ch)
    }
    fn is_identifier_start(&self, ch: char) -> bool {
        self.inner.is_identifier_start(ch)
    }
    fn is_identifier_part(&self, ch: char) -> bool {
        self.inner.is_identifier_part(ch)
    }
    fn supports_unicode_string_literal(&self) -> bool {
        self.inner.supports_unicode_string_literal()
    }
    fn is_custom_operator_part(&self, ch: char) -> bool {
        self.inner.is_custom_operator_part(ch)
    }
    fn supports_filter_during_aggregation(&self) -> bool {
        self.inner.supports_filter_during_aggregation()
    }
    fn supports_group_by_expr(&self) -> bool {
        self.inner.supports_group_by_expr()
    }
    fn prec_value(&self, prec: Precedence) -> u8 {
        self.inner.prec_value(prec)
    }
    fn allow_extract_custom(&self) -> bool {
        self.inner.allow_extract_custom()
    }
    fn allow_extract_single_quotes(&self) -> bool {
        self.inner.allow_extract_single_quotes()
    }
    fn supports_create_index_with_clause(&self) -> bool {
        self.inner.supports_create_index_with_clause()
    }
    fn supports_explain_with_utility_options(&self) -> bool {
        self.inner.supports_explain_with_utility_options()
    }
    fn supports_listen_notify(&self) -> bool {
        self.inner.supports_listen_notify()
    }
    fn supports_factorial_operator(&self) -> bool {
        self.inner.supports_factorial_operator()
    }
    fn supports_comment_on(&self) -> bool {
        self.inner.supports_comment_on()
    }
    fn supports_load_extension(&self) -> bool {
        self.inner.supports_load_extension()
    }
    fn supports_named_fn_args_with_colon_operator(&self) -> bool {
        self.inner.supports_named_fn_args_with_colon_operator()
    }
    fn supports_named_fn_args_with_expr_name(&self) -> bool {
        self.inner.supports_named_fn_args_with_expr_name()
    }
    fn supports_empty_projections(&self) -> bool {
        self.inner.supports_empty_projections()
    }
    fn supports_nested_comments(&self) -> bool {
        self.inner.supports_nested_comments()
    }
    fn supports_string_escape_constant(&self) -> bool {
        self.inner.supports_string_escape_constant()
    }
    fn supports_numeric_literal_underscores(&self) -> bool {
        self.inner.supports_numeric_literal_underscores()
    }
    fn supports_array_typedef_with_brackets(&self) -> bool {
        self.inner.supports_array_typedef_with_brackets()
    }
    fn supports_geometric_types(&self) -> bool {
        self.inner.supports_geometric_types()
    }
    fn supports_set_names(&self) -> bool {
        self.inner.supports_set_names()
    }
    fn supports_alter_column_type_using(&self) -> bool {
        self.inner.supports_alter_column_type_using()
    }
    fn supports_notnull_operator(&self) -> bool {
        self.inner.supports_notnull_operator()
    }
    fn supports_interval_options(&self) -> bool {
        self.inner.supports_interval_options()
    }
}
