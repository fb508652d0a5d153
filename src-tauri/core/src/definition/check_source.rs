//! Semantic checks of a definition's account source.

use std::time::Duration;

use super::account_source::{
    AccountSource, Comparator, ParameterType, QueryBuilder, SqlQuery, MAX_BUILDER_LIMIT,
};
use super::check::{out_of_range, short_duration};
use super::model::MAX_JOB_DURATION;
use crate::confined;

/// The account source and its leasing policy.
pub(super) fn check_accounts(source: &AccountSource, bad: &mut impl FnMut(&str, String)) {
    let config = match source {
        AccountSource::Sql {
            query,
            builder,
            pool_config,
        } => {
            match (query, builder) {
                (Some(query), None) => check_query(query, bad),
                (None, Some(b)) => check_builder(b, bad),
                (None, None) => bad(
                    "accounts.query",
                    "is missing: write a `query` (SQL) or a `builder` (form)".into(),
                ),
                (Some(_), Some(_)) => bad(
                    "accounts.builder",
                    "and `query` are both given: keep one of them".into(),
                ),
            }
            pool_config
        }
        AccountSource::File {
            directory,
            pool_config,
        } => {
            if directory.as_os_str().is_empty() {
                bad("accounts.directory", "is empty".into());
            } else if !confined::written_inside(directory) {
                bad(
                    "accounts.directory",
                    format!(
                        "{:?} is not inside the pools directory: write it relative to that directory, without a leading `/` or `..`",
                        directory.display().to_string()
                    ),
                );
            }
            pool_config
        }
    };
    if !(1..=100).contains(&config.max_failures) {
        bad(
            "accounts.pool_config.max_failures",
            format!("must be from 1 to 100, got {}", config.max_failures),
        );
    }
    let refresh = config.refresh_interval.0;
    if !refresh.is_zero()
        && out_of_range(refresh, Duration::from_secs(1), MAX_JOB_DURATION).is_some()
    {
        bad(
            "accounts.pool_config.refresh_interval",
            format!(
                "must be 0s (manual refresh only) or from 1s to {}, got {}",
                short_duration(MAX_JOB_DURATION),
                short_duration(refresh)
            ),
        );
    }
}

fn check_query(query: &SqlQuery, bad: &mut impl FnMut(&str, String)) {
    let names: Vec<&str> = query.parameters.iter().map(|p| p.name.as_str()).collect();
    if query.select.trim().is_empty() {
        bad("accounts.query.select", "is empty".into());
    }
    for (i, p) in query.parameters.iter().enumerate() {
        if p.name.is_empty()
            || !p
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            bad(
                "accounts.query.parameters",
                format!("{:?} is not a parameter name (letters, digits, _)", p.name),
            );
        }
        if names[..i].contains(&p.name.as_str()) {
            bad(
                "accounts.query.parameters",
                format!("{:?} is defined twice", p.name),
            );
        }
        let fits = match p.kind {
            ParameterType::String => p.value.is_string(),
            ParameterType::Int => p.value.is_i64(),
            ParameterType::Float => p.value.is_number(),
            ParameterType::Bool => p.value.is_boolean(),
        };
        if !fits {
            bad(
                "accounts.query.parameters",
                format!("{:?}: {} is not a {:?} value", p.name, p.value, p.kind).to_lowercase(),
            );
        }
    }
    for used in placeholders(&query.select) {
        if !names.contains(&used.as_str()) {
            bad(
                "accounts.query.select",
                format!("uses :{used}, which is not among the parameters"),
            );
        }
    }
}

fn check_builder(b: &QueryBuilder, bad: &mut impl FnMut(&str, String)) {
    let ident = |bad: &mut dyn FnMut(&str, String), field: &str, name: &str| {
        if name.trim().is_empty() || name.len() > 63 || name.contains('\0') {
            bad(field, format!("{name:?} is not a column or table name"));
        }
    };
    let mut parts = b.table.split('.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(t), None, None) => ident(bad, "accounts.builder.table", t),
        (Some(s), Some(t), None) => {
            ident(bad, "accounts.builder.table", s);
            ident(bad, "accounts.builder.table", t);
        }
        _ => ident(bad, "accounts.builder.table", ""),
    }
    for c in &b.columns {
        ident(bad, "accounts.builder.columns", c);
    }
    for s in &b.sort {
        ident(bad, "accounts.builder.sort", &s.column);
    }
    let scalar = |v: &serde_json::Value| v.is_string() || v.is_number() || v.is_boolean();
    for f in &b.filters {
        ident(bad, "accounts.builder.filters", &f.column);
        let op = f.op.as_str();
        let ok = match f.op {
            Comparator::IsNull | Comparator::IsNotNull => f.value.is_null(),
            Comparator::In | Comparator::NotIn => f.value.as_array().is_some_and(|items| {
                !items.is_empty()
                    && items.len() <= 1000
                    && items.iter().all(scalar)
                    && items.iter().all(|i| same_kind(i, &items[0]))
            }),
            Comparator::Like => f.value.is_string(),
            _ => scalar(&f.value),
        };
        if !ok {
            let want = match f.op {
                Comparator::IsNull | Comparator::IsNotNull => "no value",
                Comparator::In | Comparator::NotIn => {
                    "a list of 1 to 1000 values of one type (strings, numbers or booleans)"
                }
                Comparator::Like => "a string pattern",
                _ => "a string, number or boolean",
            };
            bad(
                "accounts.builder.filters",
                format!("{:?} {op}: takes {want}, got {}", f.column, f.value),
            );
        }
    }
    if let Some(limit) = b.limit {
        if !(1..=MAX_BUILDER_LIMIT).contains(&limit) {
            bad(
                "accounts.builder.limit",
                format!("must be from 1 to {MAX_BUILDER_LIMIT}, got {limit}"),
            );
        }
    }
}

fn same_kind(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// `:name` placeholders in a query, outside quoted strings and `::` casts.
pub fn placeholders(sql: &str) -> Vec<String> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut quote: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == ':' => {
                if chars.get(i + 1) == Some(&':') {
                    i += 2;
                    continue;
                }
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && (chars[end].is_ascii_alphanumeric() || chars[end] == '_')
                {
                    end += 1;
                }
                if end > start && !(i > 0 && chars[i - 1] == ':') {
                    let name: String = chars[start..end].iter().collect();
                    if !out.contains(&name) {
                        out.push(name);
                    }
                }
                i = end;
                continue;
            }
            None => {}
        }
        i += 1;
    }
    out
}
