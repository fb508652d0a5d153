//! The visual query builder: a [`QueryBuilder`] form compiled to one
//! `SELECT`.
//!
//! Nothing the form holds is spliced into SQL unchecked: the table and every
//! column must be among the columns the query role can read (looked up in
//! `information_schema` on the query role's own connection, so privileges
//! decide what exists), and are written as quoted identifiers taken from the
//! catalog, not from the form; every value becomes a bound parameter cast to
//! its column's type (the type name also comes from the catalog). The
//! compiled query then goes through the same filter and boundary as a
//! hand-written one ([`super::query::run`]).

use serde::Serialize;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use super::role::{quote_ident as quote, QUERY_ROLE};
use crate::definition::{
    Comparator, Direction, Filter, Parameter, ParameterType, QueryBuilder, SqlQuery,
};
use crate::error::{Error, ErrorCode, Result};

/// One column of a table, as the query role sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
// The container's name is only the TypeScript type's (JSON is unaffected).
#[serde(rename = "BuilderColumn", rename_all = "camelCase")]
pub struct ColumnInfo {
    /// Column name, exactly as in the catalog.
    pub name: String,
    /// Its type (`integer`, `character varying(64)`), from `format_type`.
    pub data_type: String,
}

/// A table the query role can read, with its readable columns in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename = "BuilderTable", rename_all = "camelCase")]
pub struct TableColumns {
    /// Schema.
    pub schema: String,
    /// Table name.
    pub table: String,
    /// Columns the query role can read.
    pub columns: Vec<ColumnInfo>,
}

impl TableColumns {
    fn column(&self, name: &str) -> Result<&ColumnInfo> {
        self.columns.iter().find(|c| c.name == name).ok_or_else(|| {
            let known: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
            Error::new(
                ErrorCode::QueryRefused,
                format!(
                    "{name:?} is not a column of {}.{} that {QUERY_ROLE} can read (columns: {})",
                    self.schema,
                    self.table,
                    known.join(", ")
                ),
            )
        })
    }
}

async fn connect(options: &PgConnectOptions) -> Result<PgConnection> {
    super::role::connect(options).await
}

/// Tables (`schema.table`, or `table` in `public`) whose columns the query
/// role can read, by name. Opens and closes its own connection.
pub async fn tables(options: &PgConnectOptions) -> Result<Vec<String>> {
    let mut conn = connect(options).await?;
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT table_schema::text, table_name::text FROM information_schema.columns
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
         ORDER BY 1, 2",
    )
    .fetch_all(&mut conn)
    .await?;
    let _ = conn.close().await;
    Ok(rows
        .into_iter()
        .map(|(s, t)| if s == "public" { t } else { format!("{s}.{t}") })
        .collect())
}

/// The columns of `table` (`name` on the search path, or `schema.name`) the
/// query role can read. Refused (`query_refused`) when it can read none.
/// Opens and closes its own connection.
pub async fn columns(options: &PgConnectOptions, table: &str) -> Result<TableColumns> {
    let (schema, name) = match table.split_once('.') {
        Some((s, t)) => (Some(s), t),
        None => (None, table),
    };
    let mut conn = connect(options).await?;
    // The schema is the named one, or the first on the search path that has
    // a readable table of that name.
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "WITH candidates AS (
             SELECT c.table_schema::text AS schema, c.table_name::text AS name,
                    c.column_name::text AS column_name, c.ordinal_position,
                    format_type(a.atttypid, a.atttypmod) AS data_type,
                    CASE WHEN $1::text IS NOT NULL THEN 0
                         ELSE array_position(current_schemas(false), c.table_schema::name) END AS rank
             FROM information_schema.columns c
             JOIN pg_attribute a
               ON a.attrelid = (quote_ident(c.table_schema) || '.' || quote_ident(c.table_name))::regclass
              AND a.attname = c.column_name
             WHERE c.table_name = $2
               AND (c.table_schema = $1 OR ($1 IS NULL AND c.table_schema = ANY(current_schemas(false)))))
         SELECT schema, column_name, data_type FROM candidates
         WHERE rank = (SELECT min(rank) FROM candidates)
         ORDER BY ordinal_position",
    )
    .bind(schema)
    .bind(name)
    .fetch_all(&mut conn)
    .await?;
    let _ = conn.close().await;
    let Some((schema, _, _)) = rows.first() else {
        // The name is the form's, not the catalog's: quoted, so the hint is
        // safe to paste whatever it holds.
        let grant_on = match schema {
            Some(s) => format!("{}.{}", quote(s), quote(name)),
            None => quote(name),
        };
        return Err(Error::new(
            ErrorCode::QueryRefused,
            format!(
                "no table {table:?} that the query role {QUERY_ROLE} can read; grant it: GRANT SELECT ON {grant_on} TO {QUERY_ROLE}"
            ),
        ));
    };
    Ok(TableColumns {
        schema: schema.clone(),
        table: name.to_string(),
        columns: rows
            .iter()
            .map(|(_, n, t)| ColumnInfo {
                name: n.clone(),
                data_type: t.clone(),
            })
            .collect(),
    })
}

fn parameter(n: usize, value: &serde_json::Value) -> Result<Parameter> {
    let kind = match value {
        serde_json::Value::String(_) => ParameterType::String,
        serde_json::Value::Bool(_) => ParameterType::Bool,
        serde_json::Value::Number(v) if v.is_i64() => ParameterType::Int,
        serde_json::Value::Number(_) => ParameterType::Float,
        other => {
            return Err(Error::new(
                ErrorCode::DefinitionInvalid,
                format!("{other} is not a string, number or boolean"),
            ))
        }
    };
    Ok(Parameter {
        name: format!("p{n}"),
        kind,
        value: value.clone(),
    })
}

/// Compiles `b` against `table` (from [`columns`] for `b.table`) into one
/// `SELECT` with bound parameters. Every name must be one of `table`'s
/// columns (else `query_refused`, naming the real ones); identifiers are
/// quoted, values bound and cast to their column's type. Pure.
pub fn compile(b: &QueryBuilder, table: &TableColumns) -> Result<SqlQuery> {
    let selected: Vec<String> = if b.columns.is_empty() {
        table.columns.iter().map(|c| quote(&c.name)).collect()
    } else {
        b.columns
            .iter()
            .map(|c| table.column(c).map(|c| quote(&c.name)))
            .collect::<Result<_>>()?
    };
    let mut sql = format!(
        "SELECT {} FROM {}.{}",
        selected.join(", "),
        quote(&table.schema),
        quote(&table.table)
    );
    let mut binder = Binder::default();
    let conditions = b
        .filters
        .iter()
        .map(|f| condition(f, table, &mut binder))
        .collect::<Result<Vec<_>>>()?;
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    if !b.sort.is_empty() {
        let keys = b
            .sort
            .iter()
            .map(|s| {
                table.column(&s.column).map(|c| {
                    let dir = match s.direction {
                        Direction::Asc => "ASC",
                        Direction::Desc => "DESC",
                    };
                    format!("{} {dir}", quote(&c.name))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        sql.push_str(" ORDER BY ");
        sql.push_str(&keys.join(", "));
    }
    if let Some(limit) = b.limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    Ok(SqlQuery {
        select: sql,
        parameters: binder.parameters,
    })
}

/// The parameters of one query, numbered in the order they are bound.
#[derive(Default)]
struct Binder {
    parameters: Vec<Parameter>,
}

impl Binder {
    /// Binds `value` as the next parameter, cast to `data_type`; returns
    /// the placeholder text.
    fn bind(&mut self, value: &serde_json::Value, data_type: &str) -> Result<String> {
        let p = parameter(self.parameters.len() + 1, value)?;
        let text = format!("CAST(:{} AS {data_type})", p.name);
        self.parameters.push(p);
        Ok(text)
    }
}

/// One filter as a `WHERE` condition on its (checked) column.
fn condition(f: &Filter, table: &TableColumns, binder: &mut Binder) -> Result<String> {
    let col = table.column(&f.column)?;
    let name = quote(&col.name);
    let ty = col.data_type.as_str();
    Ok(match f.op {
        Comparator::IsNull => format!("{name} IS NULL"),
        Comparator::IsNotNull => format!("{name} IS NOT NULL"),
        Comparator::Like => {
            let p = parameter(0, &f.value)?;
            format!(
                "CAST({name} AS text) LIKE {}",
                binder.bind(&p.value, "text")?
            )
        }
        Comparator::In | Comparator::NotIn => {
            let items = f
                .value
                .as_array()
                .filter(|a| !a.is_empty())
                .ok_or_else(|| {
                    Error::new(
                        ErrorCode::DefinitionInvalid,
                        format!("{} {}: takes a non-empty list", f.column, f.op.as_str()),
                    )
                })?;
            let list = items
                .iter()
                .map(|v| binder.bind(v, ty))
                .collect::<Result<Vec<_>>>()?
                .join(", ");
            let not = if f.op == Comparator::NotIn {
                "NOT "
            } else {
                ""
            };
            format!("{name} {not}IN ({list})")
        }
        op => {
            let sym = match op {
                Comparator::Eq => "=",
                Comparator::Ne => "<>",
                Comparator::Lt => "<",
                Comparator::Le => "<=",
                Comparator::Gt => ">",
                _ => ">=",
            };
            format!("{name} {sym} {}", binder.bind(&f.value, ty)?)
        }
    })
}

/// Looks up `b`'s table as the query role and compiles `b` ([`columns`],
/// then [`compile`]).
pub async fn build(options: &PgConnectOptions, b: &QueryBuilder) -> Result<SqlQuery> {
    let table = columns(options, &b.table).await?;
    compile(b, &table)
}

#[cfg(test)]
mod tests;
