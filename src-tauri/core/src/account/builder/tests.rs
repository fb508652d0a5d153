use super::*;
use crate::definition::Sort;

fn accounts() -> TableColumns {
    TableColumns {
        schema: "public".into(),
        table: "accounts".into(),
        columns: [
            "id:bigint",
            "email:text",
            "status:text",
            "Pack Count:integer",
        ]
        .iter()
        .map(|s| {
            let (n, t) = s.split_once(':').unwrap();
            ColumnInfo {
                name: n.into(),
                data_type: t.into(),
            }
        })
        .collect(),
    }
}

fn builder(filters: Vec<Filter>) -> QueryBuilder {
    QueryBuilder {
        table: "accounts".into(),
        columns: vec!["id".into(), "email".into()],
        filters,
        sort: vec![Sort {
            column: "Pack Count".into(),
            direction: Direction::Desc,
        }],
        limit: Some(5),
    }
}

#[test]
fn compiles_quoted_names_and_bound_values() {
    let q = compile(
        &builder(vec![
            Filter {
                column: "status".into(),
                op: Comparator::In,
                value: serde_json::json!(["available", "x'); DROP TABLE bots;--"]),
            },
            Filter {
                column: "Pack Count".into(),
                op: Comparator::Ge,
                value: serde_json::json!(10),
            },
            Filter {
                column: "email".into(),
                op: Comparator::IsNotNull,
                value: serde_json::Value::Null,
            },
        ]),
        &accounts(),
    )
    .expect("compiles");
    assert_eq!(
            q.select,
            "SELECT \"id\", \"email\" FROM \"public\".\"accounts\" WHERE \"status\" IN (CAST(:p1 AS text), CAST(:p2 AS text)) AND \"Pack Count\" >= CAST(:p3 AS integer) AND \"email\" IS NOT NULL ORDER BY \"Pack Count\" DESC LIMIT 5"
        );
    let values: Vec<_> = q
        .parameters
        .iter()
        .map(|p| (p.kind, p.value.clone()))
        .collect();
    assert_eq!(
        values,
        vec![
            (ParameterType::String, serde_json::json!("available")),
            (
                ParameterType::String,
                serde_json::json!("x'); DROP TABLE bots;--")
            ),
            (ParameterType::Int, serde_json::json!(10)),
        ]
    );
}

#[test]
fn a_name_that_is_not_a_column_is_refused_wherever_it_appears() {
    let evil = "id\" FROM bots; DROP TABLE bots; --";
    let cases = [
        QueryBuilder {
            columns: vec![evil.into()],
            ..builder(vec![])
        },
        builder(vec![Filter {
            column: evil.into(),
            op: Comparator::Eq,
            value: serde_json::json!(1),
        }]),
        QueryBuilder {
            sort: vec![Sort {
                column: evil.into(),
                direction: Direction::Asc,
            }],
            ..builder(vec![])
        },
    ];
    for b in cases {
        let e = compile(&b, &accounts()).expect_err("refused");
        assert_eq!(e.code(), ErrorCode::QueryRefused, "{e}");
        assert!(e.to_string().contains("is not a column"), "{e}");
        assert!(
            e.to_string().contains("id, email, status, Pack Count"),
            "{e}"
        );
    }
}

#[test]
fn every_column_when_none_are_chosen() {
    let q = compile(
        &QueryBuilder {
            columns: vec![],
            sort: vec![],
            limit: None,
            ..builder(vec![])
        },
        &accounts(),
    )
    .unwrap();
    assert_eq!(
        q.select,
        "SELECT \"id\", \"email\", \"status\", \"Pack Count\" FROM \"public\".\"accounts\""
    );
    assert!(q.parameters.is_empty());
}
