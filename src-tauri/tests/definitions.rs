//! The Pools view's commands against a real PostgreSQL (one database per
//! test) and a real pools directory (one temporary directory per test,
//! passed as a parameter, so tests run in parallel).

use std::path::{Path, PathBuf};

use berth_core::account::query::QUERY_ROLE;
use berth_core::definition::view::SAMPLE_ROWS;
use berth_core::definition::State as DefinitionState;
use berth_core::meeting::PlatformKind;
use berth_desktop::api::definitions as api;
use berth_desktop::dto::CommandError;
use berth_tests::slots;
use berth_tests::{
    database_url_of, harness, insert_bot, query_connection, three_platforms, Harness,
};
use sqlx::PgPool;

/// A temporary pools directory, removed on drop. `dir` itself does not
/// exist yet, so the first scan seeds it.
struct TempDir {
    root: PathBuf,
    dir: PathBuf,
}

impl TempDir {
    fn new(db: &PgPool) -> Self {
        // The test database's name is unique per test.
        let name = db.connect_options().get_database().unwrap().to_string();
        let root = std::env::temp_dir().join(format!("berth-pools-{name}"));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        TempDir {
            dir: root.join("pools"),
            root,
        }
    }

    fn files(&self) -> Vec<String> {
        let mut f: Vec<String> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        f.sort();
        f
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn yaml(name: &str, max: u32, prewarm: u32) -> String {
    format!(
        "name: {name}\nmeeting_platform: zoom\nimage: bot\nmax_size: {max}\nprewarm: {prewarm}\n"
    )
}

fn refused<T: std::fmt::Debug>(r: Result<T, CommandError>) -> CommandError {
    r.expect_err("expected the command to refuse")
}

async fn setup(db: PgPool) -> (Harness, TempDir) {
    let t = TempDir::new(&db);
    (
        harness(db, &three_platforms("2", ["0", "0", "0"]), false).await,
        t,
    )
}

fn seeded(t: &TempDir) -> &Path {
    // Seeds the directory with the examples (google-meet, microsoft-teams, zoom).
    api::save_definition(&t.dir, None, &yaml("seed-probe", 1, 0)).unwrap();
    std::fs::remove_file(t.dir.join("seed-probe.yaml")).unwrap();
    &t.dir
}

#[sqlx::test(migrations = "../migrations")]
async fn the_list_seeds_examples_and_shows_states_slots_and_broken_files(db: PgPool) {
    let (h, t) = setup(db).await;
    let list = api::list_definitions(&h.db, &t.dir).await.unwrap();
    assert_eq!(
        t.files(),
        ["google-meet.yaml", "microsoft-teams.yaml", "zoom.yaml"]
    );
    assert_eq!(list.definitions.len(), 3);
    assert!(list.problems.is_empty());
    assert!(list
        .definitions
        .iter()
        .all(|d| d.state == DefinitionState::NotApplied && d.accounts.is_none()));

    std::fs::write(t.dir.join("broken.yaml"), "name: broken\nmax_size: [\n").unwrap();
    std::fs::write(
        t.dir.join("small.yaml"),
        "name: small\nmeeting_platform: zoom\nimage: bot\nmax_size: 2\nprewarm: 5\n",
    )
    .unwrap();
    api::save_definition(&t.dir, None, &yaml("extra", 4, 0)).unwrap();
    api::apply_definition(&h.db, h.router.feed(), &t.dir, "extra")
        .await
        .unwrap();
    slots::of("extra", PlatformKind::K8s).create(&h.db).await;
    api::save_definition(&t.dir, Some("zoom"), &yaml("zoom", 7, 0)).unwrap();
    api::apply_definition(&h.db, h.router.feed(), &t.dir, "zoom")
        .await
        .unwrap();
    api::save_definition(&t.dir, Some("zoom"), &yaml("zoom", 8, 0)).unwrap();

    let list = api::list_definitions(&h.db, &t.dir).await.unwrap();
    let row = |n: &str| {
        list.definitions
            .iter()
            .find(|d| d.summary.name == n)
            .unwrap_or_else(|| panic!("{n} listed"))
    };
    assert_eq!(row("extra").state, DefinitionState::Applied { version: 1 });
    assert_eq!(row("extra").slots, 1);
    assert_eq!(row("extra").file, "extra.yaml");
    assert_eq!(row("zoom").state, DefinitionState::Pending { version: 1 });
    assert_eq!(row("zoom").summary.max_size, 8);
    assert_eq!(row("google-meet").state, DefinitionState::NotApplied);
    let files: Vec<_> = list.problems.iter().map(|p| p.file.as_deref()).collect();
    assert_eq!(files, [Some("broken.yaml"), Some("small.yaml")]);
    let small = &list.problems[1];
    assert_eq!(small.field.as_deref(), Some("prewarm"));
    assert_eq!((small.line, small.column), (Some(5), Some(1)));
    assert!(list.problems[0].line.is_some(), "{:?}", list.problems[0]);
}

#[sqlx::test(migrations = "../migrations")]
async fn get_returns_the_text_and_the_applied_text(db: PgPool) {
    let (h, t) = setup(db).await;
    let dir = seeded(&t);
    let d = api::get_definition(&h.db, dir, "zoom").await.unwrap();
    assert_eq!(d.file, "zoom.yaml");
    assert_eq!(
        d.text,
        std::fs::read_to_string(dir.join("zoom.yaml")).unwrap()
    );
    assert_eq!(d.summary.meeting_platform, "zoom");
    assert_eq!(d.applied_text, None);

    api::apply_definition(&h.db, h.router.feed(), dir, "zoom")
        .await
        .unwrap();
    let applied = d.text.clone();
    api::save_definition(dir, Some("zoom"), &yaml("zoom", 3, 0)).unwrap();
    let d = api::get_definition(&h.db, dir, "zoom").await.unwrap();
    assert_eq!(d.applied_text.as_deref(), Some(applied.as_str()));
    assert_eq!(d.text, yaml("zoom", 3, 0));
    assert_eq!(d.state, DefinitionState::Pending { version: 1 });

    assert_eq!(
        refused(api::get_definition(&h.db, dir, "nope").await).code,
        "not_found"
    );
    std::fs::write(dir.join("bad.yaml"), "name: bad\nwhat: 1\n").unwrap();
    assert_eq!(
        refused(api::get_definition(&h.db, dir, "bad").await).code,
        "definition_invalid"
    );
}

#[tokio::test]
async fn validation_returns_located_problems_as_data() {
    let v = api::validate_definition(
        "name: p\nmeeting_platform: zoom\nimage: bot\nmax_size: 3\nmax_sise: 4\n",
    )
    .await;
    assert!(v.summary.is_none());
    assert_eq!(v.problems.len(), 1, "{:?}", v.problems);
    assert_eq!(
        (v.problems[0].line, v.problems[0].column),
        (Some(5), Some(1))
    );
    assert!(
        v.problems[0].message.contains("max_sise"),
        "{:?}",
        v.problems[0]
    );
    assert_eq!(v.problems[0].file, None);

    let v = api::validate_definition("name: [unclosed\n").await;
    assert!(!v.problems.is_empty());
    assert!(v.problems[0].line.is_some());

    let v = api::validate_definition(&yaml("ok", 9, 2)).await;
    assert!(v.problems.is_empty());
    let s = v.summary.unwrap();
    assert_eq!((s.name.as_str(), s.max_size, s.prewarm), ("ok", 9, 2));
    assert_eq!(s.source_type, None);

    // The account query meets the filter it would meet when run.
    let v = api::validate_definition(
        &SQL_SOURCE.replace("FROM accounts", "FROM accounts, pg_sleep(1)"),
    )
    .await;
    assert!(v.summary.is_none());
    assert_eq!(v.problems.len(), 1, "{:?}", v.problems);
    let p = &v.problems[0];
    assert_eq!(p.field.as_deref(), Some("accounts.query.select"));
    assert_eq!((p.line, p.column), (Some(8), Some(5)));
    assert!(
        p.message
            .starts_with("refused by the account-query filter: ")
            && p.message.contains("pg_sleep"),
        "{p:?}"
    );
}

const SQL_SOURCE: &str = "name: acc\nmeeting_platform: zoom\nimage: bot\nmax_size: 3\naccounts:\n  type: sql\n  query:\n    select: SELECT id, email, password FROM accounts WHERE status = :status ORDER BY id\n    parameters:\n      - { name: status, type: string, value: available }\n  pool_config:\n    refresh_interval: 45s\n";

async fn accounts_table(db: &PgPool) {
    sqlx::raw_sql(
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT NOT NULL, password TEXT NOT NULL, status TEXT NOT NULL);
         INSERT INTO accounts SELECT i, 'u' || i || '@example.com', 'hunter' || i, CASE WHEN i % 2 = 0 THEN 'available' ELSE 'used' END
         FROM generate_series(1, 10) AS i;",
    )
    .execute(db)
    .await
    .unwrap();
    berth_core::account::query::ensure_role(db).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "GRANT SELECT ON accounts TO {QUERY_ROLE}"
    )))
    .execute(db)
    .await
    .unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn test_shows_impact_and_an_account_preview_without_secrets(db: PgPool) {
    let (h, t) = setup(db).await;
    accounts_table(&h.db).await;
    let url = database_url_of(&h.db);
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM pool_definitions")
        .fetch_one(&h.db)
        .await
        .unwrap();

    let r = api::test_definition(
        &h.db,
        query_connection(&url),
        h.router.platforms(),
        &t.dir,
        SQL_SOURCE,
    )
    .await
    .unwrap();
    assert!(r.problems.is_empty());
    assert_eq!(r.accounts_error, None);
    let a = r.accounts.unwrap();
    assert_eq!((a.count, a.truncated), (5, false));
    assert_eq!(a.columns, ["id", "email", "password"]);
    assert_eq!(a.sample.len(), SAMPLE_ROWS);
    assert_eq!(
        a.sample[0],
        r#"{"email":"u2@example.com","id":2,"password":"***"}"#
    );
    assert!(a.sample.iter().all(|s| !s.contains("hunter")));
    let impact = r.impact.unwrap();
    assert_eq!(impact.creates, 0);
    assert_eq!(
        impact.text,
        "creates 0 slots, removes 0 idle, 0 busy affected"
    );

    let r = api::test_definition(
        &h.db,
        query_connection(&url),
        h.router.platforms(),
        &t.dir,
        &yaml("p", 5, 2),
    )
    .await
    .unwrap();
    assert_eq!(r.impact.unwrap().creates, 2);
    assert_eq!(r.accounts, None);
    assert_eq!(r.sql, None);
    // Reachability: the global priority order, each probed now.
    let reach: Vec<(&str, &str)> = r
        .platforms
        .iter()
        .map(|p| (p.platform.as_str(), p.health.as_str()))
        .collect();
    assert_eq!(
        reach,
        [
            ("k8s", "healthy"),
            ("aws", "healthy"),
            ("coolify", "healthy")
        ]
    );
    // The pool's own order; a platform that does not answer says so.
    berth_core::platform::sim::set_knobs(
        &h.db,
        berth_core::meeting::PlatformKind::Coolify,
        &berth_core::platform::sim::SimKnobs {
            list_fails: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let r = api::test_definition(
        &h.db,
        query_connection(&url),
        h.router.platforms(),
        &t.dir,
        &format!("{}platforms: [coolify, aws]\n", yaml("p", 5, 2)),
    )
    .await
    .unwrap();
    let reach: Vec<(&str, &str)> = r
        .platforms
        .iter()
        .map(|p| (p.platform.as_str(), p.health.as_str()))
        .collect();
    assert_eq!(reach, [("coolify", "down"), ("aws", "healthy")]);
    assert!(r.platforms[0].detail.is_some());

    // A source the query role may not read is reported, impact still shown.
    let denied = SQL_SOURCE.replace("FROM accounts", "FROM pool_slots");
    let r = api::test_definition(
        &h.db,
        query_connection(&url),
        h.router.platforms(),
        &t.dir,
        &denied,
    )
    .await
    .unwrap();
    assert!(r.impact.is_some());
    let e = r.accounts_error.expect("refused");
    assert!(e.code != "internal", "{e}");

    let r = api::test_definition(
        &h.db,
        query_connection(&url),
        h.router.platforms(),
        &t.dir,
        "name: x\n",
    )
    .await
    .unwrap();
    assert!(!r.problems.is_empty() && r.impact.is_none());
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM pool_definitions")
        .fetch_one(&h.db)
        .await
        .unwrap();
    assert_eq!(before, after, "testing writes nothing");
}

#[sqlx::test(migrations = "../migrations")]
async fn save_creates_updates_renames_and_refuses_collisions_and_invalid_text(db: PgPool) {
    let (_h, t) = setup(db).await;
    let dir = seeded(&t);

    let s = api::save_definition(dir, None, &yaml("new-pool", 3, 0)).unwrap();
    assert_eq!(
        (s.name.as_str(), s.file.as_str()),
        ("new-pool", "new-pool.yaml")
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("new-pool.yaml")).unwrap(),
        yaml("new-pool", 3, 0)
    );
    let e = refused(api::save_definition(dir, None, &yaml("new-pool", 4, 0)));
    assert_eq!(e.code, "conflict");
    assert!(e.message.contains("new-pool.yaml"), "{e}");
    // A stray file of that name is never overwritten either.
    std::fs::write(dir.join("taken.yaml"), "not: valid\n").unwrap();
    assert_eq!(
        refused(api::save_definition(dir, None, &yaml("taken", 1, 0))).code,
        "conflict"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("taken.yaml")).unwrap(),
        "not: valid\n"
    );

    let e = refused(api::save_definition(
        dir,
        Some("new-pool"),
        "name: new-pool\nmax_size: x\n",
    ));
    assert_eq!(e.code, "definition_invalid");
    assert_eq!(
        std::fs::read_to_string(dir.join("new-pool.yaml")).unwrap(),
        yaml("new-pool", 3, 0),
        "nothing written"
    );

    api::save_definition(dir, Some("new-pool"), &yaml("new-pool", 6, 1)).unwrap();
    assert!(std::fs::read_to_string(dir.join("new-pool.yaml"))
        .unwrap()
        .contains("max_size: 6"));

    let s = api::save_definition(dir, Some("new-pool"), &yaml("renamed", 6, 1)).unwrap();
    assert_eq!(s.renamed_from.as_deref(), Some("new-pool.yaml"));
    assert_eq!(s.file, "renamed.yaml");
    assert_eq!(
        t.files(),
        [
            "google-meet.yaml",
            "microsoft-teams.yaml",
            "renamed.yaml",
            "taken.yaml",
            "zoom.yaml"
        ],
        "moved, no temporary files left"
    );
    assert_eq!(
        refused(api::save_definition(
            dir,
            Some("renamed"),
            &yaml("zoom", 1, 0)
        ))
        .code,
        "conflict"
    );
    assert_eq!(
        refused(api::save_definition(
            dir,
            Some("ghost"),
            &yaml("ghost", 1, 0)
        ))
        .code,
        "not_found"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn apply_versions_the_file_and_refresh_loads_the_accounts(db: PgPool) {
    let (h, t) = setup(db).await;
    accounts_table(&h.db).await;
    let url = database_url_of(&h.db);
    let dir = seeded(&t);
    api::save_definition(dir, None, SQL_SOURCE).unwrap();

    let e = refused(
        api::refresh_accounts(&h.db, h.router.feed(), query_connection(&url), dir, "acc").await,
    );
    assert_eq!(e.code, "invalid_input");
    assert!(e.message.contains("not applied"), "{e}");

    let a = api::apply_definition(&h.db, h.router.feed(), dir, "acc")
        .await
        .unwrap();
    assert_eq!((a.version, a.changed), (1, true));
    let a = api::apply_definition(&h.db, h.router.feed(), dir, "acc")
        .await
        .unwrap();
    assert_eq!((a.version, a.changed), (1, false));

    let r = api::refresh_accounts(&h.db, h.router.feed(), query_connection(&url), dir, "acc")
        .await
        .unwrap();
    assert_eq!((r.added, r.kept, r.removed), (5, 0, 0));
    assert_eq!(r.stats.available, 5);
    let list = api::list_definitions(&h.db, dir).await.unwrap();
    let row = list
        .definitions
        .iter()
        .find(|d| d.summary.name == "acc")
        .unwrap();
    assert_eq!(row.accounts.unwrap().available, 5);
    assert!(row
        .last_refresh
        .as_deref()
        .is_some_and(|t| t.ends_with('Z')));
    assert_eq!(row.summary.source_type.as_deref(), Some("sql"));
    assert_eq!(row.summary.refresh_interval_ms, Some(45_000));

    assert_eq!(
        refused(
            api::refresh_accounts(&h.db, h.router.feed(), query_connection(&url), dir, "zoom")
                .await
        )
        .code,
        "invalid_input",
        "no source"
    );
}

/// The last automatic refresh's failure shows on the pool's row (as in
/// `berth pools list`; issue 11, item 1: "the pool shows a clear error"),
/// and a later successful refresh clears it.
#[sqlx::test(migrations = "../migrations")]
async fn the_list_shows_a_failed_automatic_refresh_until_a_refresh_succeeds(db: PgPool) {
    let (h, t) = setup(db).await;
    accounts_table(&h.db).await;
    let url = database_url_of(&h.db);
    let dir = seeded(&t);
    api::save_definition(dir, None, SQL_SOURCE).unwrap();
    api::apply_definition(&h.db, h.router.feed(), dir, "acc")
        .await
        .unwrap();
    let row_of = |list: berth_core::definition::view::DefinitionList| {
        list.definitions
            .into_iter()
            .find(|d| d.summary.name == "acc")
            .unwrap()
    };
    let row = row_of(api::list_definitions(&h.db, dir).await.unwrap());
    assert_eq!(row.refresh_error, None);

    // The source's table goes away; the leader's automatic refresh fails.
    sqlx::query("ALTER TABLE accounts RENAME TO accounts_gone")
        .execute(&h.db)
        .await
        .unwrap();
    let mut attempts = std::collections::HashMap::new();
    let report =
        berth_core::jobs::refresh_accounts(&h.router, query_connection(&url), dir, &mut attempts)
            .await
            .unwrap();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let row = row_of(api::list_definitions(&h.db, dir).await.unwrap());
    let e = row.refresh_error.expect("the failure shows on the row");
    assert_ne!(e.code, berth_core::ErrorCode::Internal, "{e:?}");
    assert!(e.message.contains("accounts"), "{e:?}");
    assert!(e.failed_at.ends_with('Z'), "{e:?}");

    sqlx::query("ALTER TABLE accounts_gone RENAME TO accounts")
        .execute(&h.db)
        .await
        .unwrap();
    api::refresh_accounts(&h.db, h.router.feed(), query_connection(&url), dir, "acc")
        .await
        .unwrap();
    let row = row_of(api::list_definitions(&h.db, dir).await.unwrap());
    assert_eq!(row.refresh_error, None, "a successful refresh clears it");
}

#[sqlx::test(migrations = "../migrations")]
async fn delete_is_refused_while_slots_work_and_keeps_the_database_pool(db: PgPool) {
    let (h, t) = setup(db).await;
    let dir = seeded(&t);
    for name in ["zoom", "google-meet"] {
        api::apply_definition(&h.db, h.router.feed(), dir, name)
            .await
            .unwrap();
    }
    let bot = insert_bot(&h.db, "zoom").await;
    let mut conn = h.db.acquire().await.unwrap();
    slots::of("zoom", PlatformKind::K8s)
        .holding(bot)
        .create_on(&mut conn)
        .await;
    slots::of("google-meet", PlatformKind::K8s)
        .create_on(&mut conn)
        .await;
    drop(conn);

    let e = refused(api::delete_definition(&h.db, h.router.feed(), dir, "zoom").await);
    assert_eq!(e.code, "conflict");
    assert!(e.message.contains("1 busy or deploying"), "{e}");
    assert!(dir.join("zoom.yaml").exists());

    let d = api::delete_definition(&h.db, h.router.feed(), dir, "google-meet")
        .await
        .unwrap();
    assert_eq!(d.file, "google-meet.yaml");
    assert!(
        d.note.contains(
            "google-meet is retired: it takes no new bots and its 1 idle slot will be removed"
        ),
        "{}",
        d.note
    );
    assert!(!dir.join("google-meet.yaml").exists());
    // Retired, not gone: the row stays for its bots' history, hidden from
    // the pool list, and the trim job removes its idle slot.
    let retired: bool = sqlx::query_scalar("SELECT retired FROM pools WHERE name = 'google-meet'")
        .fetch_one(&h.db)
        .await
        .unwrap();
    assert!(retired);
    assert_eq!(berth_core::jobs::trim(&h.router).await.unwrap(), 1);
    let slots: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pool_slots WHERE pool = 'google-meet'")
            .fetch_one(&h.db)
            .await
            .unwrap();
    assert_eq!(slots, 0);
    assert!(!berth_core::pool::stats(&h.db)
        .await
        .unwrap()
        .iter()
        .any(|s| s.pool == "google-meet"));
    // The zoom pool, refused above, was left as it was.
    let zoom_retired: bool = sqlx::query_scalar("SELECT retired FROM pools WHERE name = 'zoom'")
        .fetch_one(&h.db)
        .await
        .unwrap();
    assert!(!zoom_retired);

    api::save_definition(dir, None, &yaml("fresh", 1, 0)).unwrap();
    let d = api::delete_definition(&h.db, h.router.feed(), dir, "fresh")
        .await
        .unwrap();
    assert_eq!(
        d.note,
        "it was never applied: nothing changed in the database"
    );
    // A never-applied example named after a built-in pool leaves that pool alone.
    let d = api::delete_definition(&h.db, h.router.feed(), dir, "microsoft-teams")
        .await
        .unwrap();
    assert_eq!(
        d.note,
        "it was never applied: nothing changed in the database"
    );
    let teams: (bool, String) =
        sqlx::query_as("SELECT retired, source FROM pools WHERE name = 'microsoft-teams'")
            .fetch_one(&h.db)
            .await
            .unwrap();
    assert_eq!(teams, (false, "default".to_string()));
    assert_eq!(
        refused(api::delete_definition(&h.db, h.router.feed(), dir, "fresh").await).code,
        "not_found"
    );
}

#[test]
fn the_schema_is_json_with_the_definition_fields() {
    let s: serde_json::Value = serde_json::from_str(&api::definition_schema().unwrap()).unwrap();
    let props = s["properties"].as_object().expect("properties");
    for field in [
        "name",
        "meeting_platform",
        "image",
        "max_size",
        "prewarm",
        "accounts",
    ] {
        assert!(props.contains_key(field), "{field}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_broken_file_is_read_raw_and_repaired_only_with_valid_text(db: PgPool) {
    let (_h, t) = setup(db).await;
    let dir = seeded(&t);
    std::fs::write(dir.join("broken.yaml"), "name: fixed\nmax_size: [\n").unwrap();
    assert_eq!(
        api::read_definition_file(dir, "broken.yaml").unwrap(),
        "name: fixed\nmax_size: [\n"
    );
    for bad in [
        "../broken.yaml",
        "/etc/passwd",
        ".hidden.yaml",
        "broken.yml",
        "a/b.yaml",
        "",
    ] {
        assert_eq!(
            refused(api::read_definition_file(dir, bad)).code,
            "invalid_input",
            "{bad:?}"
        );
    }
    assert_eq!(
        refused(api::read_definition_file(dir, "missing.yaml")).code,
        "not_found"
    );
    // Still invalid: refused, the file as it was.
    let e = refused(api::repair_definition(dir, "broken.yaml", "name: fixed\n"));
    assert_eq!(e.code, "definition_invalid");
    assert_eq!(
        std::fs::read_to_string(dir.join("broken.yaml")).unwrap(),
        "name: fixed\nmax_size: [\n"
    );
    // A name another file holds: refused.
    let e = refused(api::repair_definition(
        dir,
        "broken.yaml",
        &yaml("zoom", 3, 0),
    ));
    assert_eq!(e.code, "conflict");
    // Valid: saved under its pool's name, the broken file gone.
    let saved = api::repair_definition(dir, "broken.yaml", &yaml("fixed", 3, 0)).unwrap();
    assert_eq!(
        (saved.file.as_str(), saved.renamed_from.as_deref()),
        ("fixed.yaml", Some("broken.yaml"))
    );
    assert!(!dir.join("broken.yaml").exists());
    assert_eq!(
        std::fs::read_to_string(dir.join("fixed.yaml")).unwrap(),
        yaml("fixed", 3, 0)
    );
    // A broken file already named after its pool is fixed in place.
    std::fs::write(dir.join("inplace.yaml"), "name: inplace\nmax_size: nope\n").unwrap();
    let saved = api::repair_definition(dir, "inplace.yaml", &yaml("inplace", 2, 0)).unwrap();
    assert_eq!(
        (saved.file.as_str(), saved.renamed_from),
        ("inplace.yaml", None)
    );
}

/// Item 5-7 of issue 11 through the Pools view's commands: a link out of
/// the pools directory is neither read for the editor nor listed, an
/// account directory leading out is refused by Test, and the caps hold for
/// files and for text from the editor.
#[sqlx::test(migrations = "../migrations")]
async fn the_pools_view_reads_nothing_outside_the_pools_directory(db: PgPool) {
    let (h, t) = setup(db).await;
    let url = database_url_of(&h.db);
    let dir = seeded(&t);
    let outside = t.root.join("outside");
    std::fs::create_dir_all(outside.join("accounts")).unwrap();
    std::fs::write(outside.join("shadow"), "secretuser: $6$saltsalt$hash\n").unwrap();
    std::fs::write(outside.join("accounts/x.key"), "key").unwrap();
    std::os::unix::fs::symlink(outside.join("shadow"), dir.join("shadow.yaml")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("accounts")).unwrap();
    let big = std::fs::File::create(dir.join("big.yaml")).unwrap();
    big.set_len(50 * 1024 * 1024).unwrap();

    // The raw-file command (to repair a broken file) refuses both.
    let e = refused(api::read_definition_file(dir, "shadow.yaml"));
    assert_eq!(e.code, "definition_invalid", "{e:?}");
    assert!(e.message.contains("leads outside"), "{e:?}");
    assert!(!e.message.contains("secretuser"), "{e:?}");
    let e = refused(api::read_definition_file(dir, "big.yaml"));
    assert_eq!(e.code, "definition_invalid", "{e:?}");
    assert!(e.message.contains("the limit is 262144 bytes"), "{e:?}");
    // The list shows them as problems, quoting nothing of the secret.
    let list = api::list_definitions(&h.db, dir).await.unwrap();
    let files: Vec<_> = list.problems.iter().map(|p| p.file.as_deref()).collect();
    assert_eq!(files, [Some("big.yaml"), Some("shadow.yaml")]);
    assert!(
        list.problems
            .iter()
            .all(|p| !p.message.contains("secretuser")),
        "{:?}",
        list.problems
    );
    // Repairing the link replaces the link, never writes through it.
    api::repair_definition(dir, "shadow.yaml", &yaml("shadow", 2, 0)).unwrap();
    assert_eq!(
        std::fs::read_to_string(outside.join("shadow")).unwrap(),
        "secretuser: $6$saltsalt$hash\n"
    );

    // Test: an account directory leading out is refused, written or linked.
    let source = |d: &str| {
        format!(
            "{}accounts:\n  type: file\n  directory: {d}\n",
            yaml("files", 3, 0)
        )
    };
    let r = api::test_definition(
        &h.db,
        query_connection(&url),
        h.router.platforms(),
        dir,
        &source("accounts/accounts"),
    )
    .await
    .unwrap();
    assert_eq!(r.accounts, None);
    let e = r.accounts_error.expect("refused");
    assert_eq!(e.code, "definition_invalid", "{e:?}");
    assert!(!e.message.contains("x.key"), "{e:?}");
    for d in ["/etc", "../outside/accounts"] {
        let v = api::validate_definition(&source(d)).await;
        assert_eq!(v.problems.len(), 1, "{d}: {:?}", v.problems);
        assert_eq!(v.problems[0].field.as_deref(), Some("accounts.directory"));
    }

    // Caps on text from the editor: durations and size, nothing written.
    let v = api::validate_definition(&format!(
        "{}recovery:\n  deploying_timeout: 99999999h\n",
        yaml("slow", 3, 0)
    ))
    .await;
    assert_eq!(
        v.problems[0].message,
        "must be from 10s to 24h, got 99999999h"
    );
    let huge = format!("{}#{}\n", yaml("huge", 3, 0), "x".repeat(300 * 1024));
    let e = refused(api::save_definition(dir, None, &huge));
    assert_eq!(e.code, "definition_invalid");
    assert!(e.message.contains("at most 262144"), "{e:?}");
    assert!(!dir.join("huge.yaml").exists());
}

#[sqlx::test(migrations = "../migrations")]
async fn a_deploy_batch_routes_each_bot_into_the_chosen_pool(db: PgPool) {
    use berth_core::lifecycle::BatchRequest as DeployRequest;
    use berth_desktop::api::deploy;
    let (h, _t) = setup(db).await;
    let req = |pool: &str, count: u32| DeployRequest {
        pool: pool.into(),
        meeting_url: "https://zoom.us/j/5550002".into(),
        count,
        priority: None,
        queue_timeout_ms: None,
        join_at: None,
        if_full: None,
        stagger_ms: None,
    };
    for count in [0, deploy::MAX_BATCH + 1] {
        let e = refused(deploy::deploy_bots(&h.router, &req("zoom", count)).await);
        assert_eq!(e.code, "invalid_input", "{count}");
    }
    assert_eq!(
        refused(deploy::deploy_bots(&h.router, &req("nope", 1)).await).code,
        "not_found"
    );
    let bots: i64 = sqlx::query_scalar("SELECT count(*) FROM bots")
        .fetch_one(&h.db)
        .await
        .unwrap();
    assert_eq!(bots, 0, "refused batches write nothing");

    // Three platforms of 2 bots each: six deploy, the seventh queues.
    let b = deploy::deploy_bots(&h.router, &req("zoom", 7))
        .await
        .unwrap();
    assert_eq!((b.deployed, b.queued, b.bot_ids.len()), (6, 1, 7));
    let pools: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT pool FROM bots WHERE id = ANY($1)")
            .bind(&b.bot_ids)
            .fetch_all(&h.db)
            .await
            .unwrap();
    assert_eq!(pools, ["zoom"]);
}

#[sqlx::test(migrations = "../migrations")]
async fn renaming_an_applied_pool_retires_the_old_one_unless_it_is_busy(db: PgPool) {
    let (h, t) = setup(db).await;
    let dir = seeded(&t);
    api::save_definition(dir, None, &yaml("old-name", 3, 0)).unwrap();
    api::apply_definition(&h.db, h.router.feed(), dir, "old-name")
        .await
        .unwrap();
    // Busy: refused, nothing moved, nothing retired.
    let bot = insert_bot(&h.db, "old-name").await;
    slots::of("old-name", PlatformKind::K8s)
        .holding(bot)
        .create(&h.db)
        .await;
    let e = refused(
        api::save_definition_retiring(
            &h.db,
            h.router.feed(),
            dir,
            Some("old-name"),
            &yaml("new-name", 3, 0),
        )
        .await,
    );
    assert_eq!(e.code, "conflict");
    assert!(dir.join("old-name.yaml").exists() && !dir.join("new-name.yaml").exists());
    let retired = |h: &Harness| {
        let db = h.db.clone();
        async move {
            sqlx::query_scalar::<_, bool>("SELECT retired FROM pools WHERE name = 'old-name'")
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    assert!(!retired(&h).await);
    // Idle again: the rename moves the file and retires the old pool.
    sqlx::query("DELETE FROM pool_slots WHERE pool = 'old-name'")
        .execute(&h.db)
        .await
        .unwrap();
    let s = api::save_definition_retiring(
        &h.db,
        h.router.feed(),
        dir,
        Some("old-name"),
        &yaml("new-name", 3, 0),
    )
    .await
    .unwrap();
    assert_eq!(s.renamed_from.as_deref(), Some("old-name.yaml"));
    assert!(retired(&h).await);
    // A rename onto a taken name retires nothing.
    api::save_definition(dir, None, &yaml("other", 1, 0)).unwrap();
    api::apply_definition(&h.db, h.router.feed(), dir, "other")
        .await
        .unwrap();
    let e = refused(
        api::save_definition_retiring(
            &h.db,
            h.router.feed(),
            dir,
            Some("other"),
            &yaml("zoom", 1, 0),
        )
        .await,
    );
    assert_eq!(e.code, "conflict");
    let other: bool = sqlx::query_scalar("SELECT retired FROM pools WHERE name = 'other'")
        .fetch_one(&h.db)
        .await
        .unwrap();
    assert!(!other);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_scaled_definition_shows_its_policy_and_its_pool_s_scaling(db: PgPool) {
    let h = harness(db, &three_platforms("5", ["0", "0", "0"]), false).await;
    let text = "name: zoom\nmeeting_platform: zoom\nimage: bot\nmax_size: 9\n\
                scaling:\n  min_idle: 2\n  max_idle: 4\n  scale_down_after: 2m\n";
    let v = api::validate_definition(text).await;
    let s = v.summary.expect("valid").scaling.expect("scaled");
    assert_eq!(
        (s.min_idle, s.max_idle, s.scale_down_after_ms),
        (2, 4, 120_000)
    );
    berth_core::definition::apply(
        &h.db,
        h.router.feed(),
        text,
        &berth_core::actor::Actor::system("test"),
    )
    .await
    .unwrap();
    berth_core::jobs::scale(&h.router).await.unwrap();
    let view = api::pool_scaling(&h.db, "zoom").await.unwrap();
    assert!(view.scaled);
    assert_eq!(view.current.map(|t| t.target), Some(2));
    assert_eq!(view.decisions.len(), 1);
    let missing = api::pool_scaling(&h.db, "nope").await.unwrap_err();
    assert_eq!(missing.code, berth_core::ErrorCode::NotFound);
}
