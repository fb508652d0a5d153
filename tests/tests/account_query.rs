//! Account queries against a real database: each dangerous query is refused
//! (by the filter, and again by the database when the filter is bypassed)
//! or is harmless, and the database is unchanged afterwards.

use berth_core::account::query::{self, Limits, QueryResult};
use berth_core::definition::{Parameter, ParameterType, SqlQuery};
use berth_core::ErrorCode;
use berth_tests::accounts_fixture;
use sqlx::PgPool;
use std::time::{Duration, Instant};

/// A digest of every user table's rows, the large objects and the tables
/// themselves: equal digests mean nothing was written.
async fn checksum(db: &PgPool) -> String {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT quote_ident(table_name) FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name",
    )
    .fetch_all(db)
    .await
    .unwrap();
    let mut parts = vec![tables.join(",")];
    for t in &tables {
        let digest: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) FROM {t} r"
        )))
        .fetch_one(db)
        .await
        .unwrap();
        parts.push(format!("{t}={}", digest.unwrap_or_default()));
    }
    let objects: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_largeobject_metadata")
        .fetch_one(db)
        .await
        .unwrap();
    parts.push(format!("lo={objects}"));
    parts.join(";")
}

fn sql(text: &str) -> SqlQuery {
    SqlQuery {
        select: text.into(),
        parameters: Vec::new(),
    }
}

fn limits() -> Limits {
    Limits {
        statement_timeout: Duration::from_millis(500),
        lock_timeout: Duration::from_millis(200),
        max_rows: 1000,
        max_bytes: 1 << 20,
    }
}

fn refused(r: berth_core::Result<QueryResult>, what: &str) -> String {
    let e = r.expect_err(what);
    assert_eq!(e.code(), ErrorCode::QueryRefused, "{what}: {e}");
    e.to_string()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_plain_query_reads_granted_rows_with_bound_parameters(db: PgPool) {
    let role = accounts_fixture(&db).await;
    let q = SqlQuery {
        select: "SELECT id, email, premium FROM accounts WHERE status = :status AND failures < :max ORDER BY id".into(),
        parameters: vec![
            Parameter { name: "status".into(), kind: ParameterType::String, value: "available".into() },
            Parameter { name: "max".into(), kind: ParameterType::Int, value: 3.into() },
        ],
    };
    let r = query::run(&role, &q, limits()).await.expect("runs");
    // 'available' is ARRAY[...][1 + i % 4] = [1], so i % 4 = 0: 4, 8, 12, 16;
    // failures i % 5 < 3 keeps 12 (2) and 16 (1); premium is i % 3 = 0.
    let ids: Vec<i64> = r
        .rows
        .iter()
        .map(|row| row["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![12, 16]);
    assert_eq!(r.columns, vec!["id", "email", "premium"]);
    assert_eq!(r.rows[0]["email"], "user12@example.com");
    assert_eq!(r.rows[0]["premium"], true);
    assert_eq!(r.rows[1]["premium"], false);
    assert!(!r.truncated);
}

#[sqlx::test(migrations = "../migrations")]
async fn every_dangerous_query_is_refused_and_changes_nothing(db: PgPool) {
    let role = accounts_fixture(&db).await;
    let before = checksum(&db).await;
    let cases = [
        "SELECT 1; DELETE FROM accounts",
        "WITH d AS (DELETE FROM accounts RETURNING *) SELECT * FROM d",
        "SELECT * INTO stolen FROM accounts",
        "SELECT * FROM accounts FOR UPDATE",
        "EXPLAIN ANALYZE DELETE FROM accounts",
        "SELECT pg_notify('berth_changes', 'x')",
        "SELECT lo_from_bytea(0, 'x'::bytea)",
        "SELECT pg_advisory_lock(42)",
        "SELECT set_config('statement_timeout', '0', false)",
        "SELECT pg_terminate_backend(pg_backend_pid())",
        "SELECT pg_sleep(60)",
        // The same calls in FROM, LATERAL, or out of sight in a query text.
        "SELECT * FROM pg_advisory_lock(1)",
        "SELECT * FROM lo_from_bytea(0,'x')",
        "SELECT * FROM pg_notify('berth_changes','x')",
        "SELECT * FROM txid_current()",
        "SELECT * FROM pg_sleep(0)",
        "SELECT t FROM pg_stat_activity a, pg_terminate_backend(a.pid) t",
        "SELECT * FROM accounts a, LATERAL set_config('role', 'none', true) r",
        "SELECT query_to_xml('select pg_advisory_lock(1)', true, false, '')",
    ];
    for case in cases {
        // The filter refuses it before it reaches the database...
        refused(query::run(&role, &sql(case), limits()).await, case);
    }
    assert_eq!(
        checksum(&db).await,
        before,
        "the filter let something through"
    );

    // ...and without the filter, the database refuses the writers itself.
    for case in [
        "SELECT 1; DELETE FROM accounts",
        "WITH d AS (DELETE FROM accounts RETURNING *) SELECT * FROM d",
        "SELECT * INTO stolen FROM accounts",
        "SELECT * FROM accounts FOR UPDATE",
        "EXPLAIN ANALYZE DELETE FROM accounts",
        "SELECT * FROM bots",
    ] {
        let r = query::run_unfiltered(&role, &sql(case), limits()).await;
        assert!(r.is_err(), "{case}: the database let it run: {r:?}");
    }
    // A notification is queued but rolled back with the transaction: a
    // listener's next message is the sentinel sent after it.
    let mut listener = sqlx::postgres::PgListener::connect_with(&db).await.unwrap();
    listener.listen("berth_probe").await.unwrap();
    query::run_unfiltered(
        &role,
        &sql("SELECT pg_notify('berth_probe', 'leak')"),
        limits(),
    )
    .await
    .expect("pg_notify runs, inside a transaction that is rolled back");
    sqlx::query("SELECT pg_notify('berth_probe', 'sentinel')")
        .execute(&db)
        .await
        .unwrap();
    let first = listener.recv().await.unwrap();
    assert_eq!(
        first.payload(),
        "sentinel",
        "the query's notification escaped"
    );
    // The rest run but leave nothing behind: the transaction is rolled back
    // (the large object with it; the checksum counts them) and the session
    // is closed (the advisory lock and the setting with it).
    for case in [
        "SELECT lo_from_bytea(0, 'x'::bytea)",
        "SELECT pg_advisory_lock(42)",
        "SELECT set_config('statement_timeout', '0', false)",
    ] {
        query::run_unfiltered(&role, &sql(case), limits())
            .await
            .unwrap_or_else(|e| panic!("{case}: {e}"));
    }
    let locks: i64 =
        // (This database's only: other tests' migrations lock their own.)
        sqlx::query_scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(locks, 0, "an advisory lock outlived the query");
    // It cannot stop anyone else's backend (ours belongs to a superuser).
    let ours: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&db)
        .await
        .unwrap();
    let kill = query::run_unfiltered(
        &role,
        &sql(&format!("SELECT pg_terminate_backend({ours})")),
        limits(),
    )
    .await;
    assert!(kill.is_err(), "terminated another role's backend: {kill:?}");
    let alive: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&db).await.unwrap();
    assert_eq!(alive, 1);
    assert_eq!(checksum(&db).await, before, "the database changed");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_sleeping_query_is_cancelled_by_the_statement_timeout(db: PgPool) {
    let role = accounts_fixture(&db).await;
    let started = Instant::now();
    let why = refused(
        query::run_unfiltered(&role, &sql("SELECT pg_sleep(60)"), limits()).await,
        "pg_sleep(60)",
    );
    assert!(why.contains("statement timeout"), "{why}");
    // Cancelled by the server after 500 ms, not after 60 s.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_huge_result_is_capped(db: PgPool) {
    let role = accounts_fixture(&db).await;
    // 16 × 16 × 16 × 16 × 16 × 16 = 16.7 million rows.
    let r = query::run(
        &role,
        &sql("SELECT a.id FROM accounts a, accounts b, accounts c, accounts d, accounts e, accounts f"),
        limits(),
    )
    .await
    .expect("runs, capped");
    assert_eq!(r.rows.len(), 1000);
    assert!(r.truncated);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_parameter_value_is_data_never_sql(db: PgPool) {
    let role = accounts_fixture(&db).await;
    let before = checksum(&db).await;
    let q = SqlQuery {
        select: "SELECT id FROM accounts WHERE email = :email".into(),
        parameters: vec![Parameter {
            name: "email".into(),
            kind: ParameterType::String,
            value: "'; DROP TABLE bots;--".into(),
        }],
    };
    let r = query::run(&role, &q, limits()).await.expect("runs");
    assert!(r.rows.is_empty());
    assert_eq!(checksum(&db).await, before);
    let bots: i64 = sqlx::query_scalar("SELECT count(*) FROM bots")
        .fetch_one(&db)
        .await
        .expect("bots still exists");
    assert_eq!(bots, 0);
}

/// The builder form of a definition whose `accounts.builder` is `yaml`
/// (parsed and checked like any definition file).
fn builder(yaml: &str) -> berth_core::definition::QueryBuilder {
    let indented: String = yaml.lines().map(|l| format!("    {l}\n")).collect();
    let text = format!(
        "name: b\nmeeting_platform: zoom\nimage: bot\nmax_size: 1\naccounts:\n  type: sql\n  builder:\n{indented}"
    );
    match berth_core::definition::parse(&text, None)
        .expect(&text)
        .accounts
    {
        Some(berth_core::definition::AccountSource::Sql {
            builder: Some(b), ..
        }) => b,
        other => panic!("a builder source: {other:?}"),
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_builder_selects_by_real_columns_and_refuses_any_other_name(db: PgPool) {
    use berth_core::account::builder;
    let role = accounts_fixture(&db).await;
    let before = checksum(&db).await;

    // Available or failed (2, 4, 6, 8, 10, 12, 14, 16) with fewer than 3
    // failures (i % 5): 2:2, 6:1, 10:0, 12:2, 16:1; by failures, then id
    // descending: 10, 16, 6, 12, 2; limit 4.
    let form = builder(
        "table: accounts
columns: [id, email]
filters:
  - { column: status, op: in, value: [available, failed] }
  - { column: failures, op: '<', value: 3 }
  - { column: email, op: is_not_null }
sort:
  - { column: failures }
  - { column: id, direction: desc }
limit: 4
",
    );
    let q = builder::build(&role, &form).await.expect("compiles");
    let r = query::run(&role, &q, limits()).await.expect("runs");
    let ids: Vec<i64> = r
        .rows
        .iter()
        .map(|row| row["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![10, 16, 6, 12]);
    assert_eq!(r.columns, vec!["id", "email"]);

    // A value is bound, never spliced: it matches nothing and drops nothing.
    let q = builder::build(
        &role,
        &builder("table: accounts\nfilters:\n  - { column: email, op: '=', value: \"'; DROP TABLE bots;--\" }\n"),
    )
    .await
    .unwrap();
    assert!(query::run(&role, &q, limits())
        .await
        .unwrap()
        .rows
        .is_empty());

    // Names that are not real columns, wherever they appear, and tables
    // the role may not read, are refused before any query runs.
    let evil = "id\\\" FROM bots; DROP TABLE bots; --";
    for form in [
        format!("table: accounts\ncolumns: [\"{evil}\"]\n"),
        format!("table: accounts\nfilters:\n  - {{ column: \"{evil}\", op: '=', value: 1 }}\n"),
        format!("table: accounts\nsort:\n  - {{ column: \"{evil}\" }}\n"),
        "table: accounts\ncolumns: [passwd]\n".to_string(),
        "table: accounts\nfilters:\n  - { column: ID, op: '=', value: 1 }\n".to_string(),
    ] {
        let e = builder::build(&role, &builder(&form))
            .await
            .expect_err(&form);
        assert_eq!(e.code(), ErrorCode::QueryRefused, "{form}: {e}");
        assert!(
            e.to_string().contains("is not a column of public.accounts"),
            "{e}"
        );
    }
    for table in [
        "bots",
        "pg_authid",
        "accounts; DROP TABLE bots",
        "public.nope",
    ] {
        let e = builder::build(&role, &builder(&format!("table: \"{table}\"\n")))
            .await
            .expect_err(table);
        assert_eq!(e.code(), ErrorCode::QueryRefused, "{table}: {e}");
        assert!(e.to_string().contains("can read"), "{e}");
        if table == "accounts; DROP TABLE bots" {
            // The hint quotes the name: pasted, it names one (missing) table.
            assert!(
                e.to_string()
                    .contains("GRANT SELECT ON \"accounts; DROP TABLE bots\" TO berth_query"),
                "{e}"
            );
        }
        if table == "public.nope" {
            assert!(
                e.to_string()
                    .contains("GRANT SELECT ON \"public\".\"nope\" TO"),
                "{e}"
            );
        }
    }
    assert_eq!(before, checksum(&db).await, "the database is unchanged");
    let bots: bool = sqlx::query_scalar("SELECT to_regclass('bots') IS NOT NULL")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(bots);
}

/// The pid of this database's account query session waiting on a lock
/// (the fixture's sessions log in as the login role).
async fn waiting_query_pid(db: &PgPool) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let pid: Option<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity
             WHERE datname = current_database() AND usename = $1 AND wait_event_type = 'Lock'",
        )
        .bind(query::LOGIN_ROLE)
        .fetch_optional(db)
        .await
        .unwrap();
        if let Some(pid) = pid {
            return pid;
        }
        assert!(Instant::now() < deadline, "the first query never waited");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn one_query_cannot_signal_or_read_another_querys_session(db: PgPool) {
    let role = accounts_fixture(&db).await;
    // The first query waits on a lock the test holds, as long as it likes.
    let mut holder = db.begin().await.unwrap();
    sqlx::query("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *holder)
        .await
        .unwrap();
    let patient = Limits {
        statement_timeout: Duration::from_secs(30),
        lock_timeout: Duration::from_secs(30),
        ..limits()
    };
    let mut first = tokio::spawn({
        let role = role.clone();
        async move { query::run(&role, &sql("SELECT id FROM accounts ORDER BY id"), patient).await }
    });
    let pid = tokio::select! {
        pid = waiting_query_pid(&db) => pid,
        done = &mut first => panic!("the first query did not wait: {done:?}"),
    };

    // A second query, even past the filter, may not signal it or read it:
    // the database refuses, because they logged in as a role the query role
    // is not a member of.
    for case in [
        format!("SELECT pg_cancel_backend({pid})"),
        format!("SELECT pg_terminate_backend({pid})"),
        // (Only this test's database: other tests run next to it.)
        format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND usename = '{}' AND pid <> pg_backend_pid()",
            query::LOGIN_ROLE
        ),
    ] {
        let why = refused(
            query::run_unfiltered(&role, &sql(&case), limits()).await,
            &case,
        );
        assert!(
            why.contains("must be a member of the role whose"),
            "{case}: {why}"
        );
    }
    let seen = query::run_unfiltered(
        &role,
        &sql(&format!(
            "SELECT query FROM pg_stat_activity WHERE pid = {pid}"
        )),
        limits(),
    )
    .await
    .unwrap();
    assert_eq!(seen.rows[0]["query"], "<insufficient privilege>");

    // Sessions of the login role default to read-only, never idle for long.
    let defaults: Vec<String> = sqlx::query_scalar(
        "SELECT unnest(s.setconfig) FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
         WHERE r.rolname = $1 AND s.setdatabase = 0 ORDER BY 1",
    )
    .bind(query::LOGIN_ROLE)
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(
        defaults,
        vec![
            "default_transaction_read_only=on",
            "idle_in_transaction_session_timeout=30s"
        ]
    );

    // The first query was not disturbed: released, it reads every row.
    holder.commit().await.unwrap();
    let r = first.await.unwrap().expect("the first query finished");
    assert_eq!(r.rows.len(), 16);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_session_that_could_disturb_others_is_refused(db: PgPool) {
    let role = accounts_fixture(&db).await;
    // Logged in as a superuser (this test's own user).
    let superuser = (*db.connect_options()).clone();
    let why = refused(
        query::run(&superuser, &sql("SELECT 1"), limits()).await,
        "superuser",
    );
    assert!(why.contains("superuser"), "{why}");
    // Logged in as a role that may not take the query role.
    let outsider = "berth_query_outsider";
    let created = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE ROLE {outsider} LOGIN NOINHERIT"
    )))
    .execute(&db)
    .await;
    if let Err(sqlx::Error::Database(e)) = &created {
        assert_eq!(e.code().as_deref(), Some("42710"), "{e}");
    }
    let why = refused(
        query::run(&role.clone().username(outsider), &sql("SELECT 1"), limits()).await,
        "outsider",
    );
    assert!(
        why.contains("GRANT berth_query TO \"berth_query_outsider\""),
        "{why}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_result_is_capped_in_bytes_as_well_as_rows(db: PgPool) {
    let role = accounts_fixture(&db).await;
    let cap = Limits {
        max_bytes: 4 << 20,
        statement_timeout: Duration::from_secs(20),
        ..limits()
    };
    // Rows of 1 MB each: at most four fit.
    let r = query::run(
        &role,
        &sql("SELECT g AS id, repeat('x', 1000000) AS blob FROM generate_series(1, 10000) g"),
        cap,
    )
    .await
    .expect("runs, capped");
    assert!(r.truncated);
    let ids: Vec<i64> = r
        .rows
        .iter()
        .map(|row| row["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![1, 2, 3, 4],
        "4 × 1,000,020 bytes fit in 4 MiB, 5 do not"
    );
    let bytes: usize = r
        .rows
        .iter()
        .map(|row| serde_json::to_string(row).unwrap().len())
        .sum();
    assert!(bytes <= cap.max_bytes, "{bytes}");
    assert_eq!(r.columns, vec!["id", "blob"]);
    // One row larger than the cap never comes back at all.
    let started = Instant::now();
    let r = query::run(
        &role,
        &sql("SELECT 1 AS id, repeat('x', 8000000) AS blob"),
        cap,
    )
    .await
    .expect("runs, capped");
    assert!(r.rows.is_empty() && r.truncated, "{:?}", r.columns);
    assert!(started.elapsed() < Duration::from_secs(30));
    // Under the caps, values keep their JSON types and columns their order.
    let r = query::run(
        &role,
        &sql("SELECT 2 AS b, 'x' AS a, true AS c, 1.5::numeric AS d, '2026-01-02 03:04:05+00'::timestamptz AS e, NULL::text AS f"),
        cap,
    )
    .await
    .unwrap();
    assert_eq!(r.columns, vec!["b", "a", "c", "d", "e", "f"]);
    assert_eq!(
        serde_json::to_value(&r.rows[0]).unwrap(),
        serde_json::json!({"b": 2, "a": "x", "c": true, "d": 1.5, "e": "2026-01-02T03:04:05+00:00", "f": null})
    );
    assert!(!r.truncated);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_huge_union_is_refused_without_overflowing_the_callers_stack(db: PgPool) {
    let role = accounts_fixture(&db).await;
    let mut text = String::from("SELECT 0 AS id");
    for n in 1..1_500 {
        text.push_str(&format!(" UNION SELECT {n} AS id"));
    }
    // A caller with a small stack (a runtime worker has 2 MiB): the check
    // runs elsewhere.
    let why = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async { query::run(&role, &sql(&text), limits()).await })
        })
        .unwrap()
        .join()
        .unwrap();
    let why = refused(why, "1,500 UNIONs");
    assert!(why.contains("UNION, INTERSECT or EXCEPT"), "{why}");
}
