//! Pool definitions: strict parsing with located errors, every field's
//! rules, discovery of a pools directory, and applying a definition so that
//! every instance sharing the database uses it.

use berth_core::actor::Actor;
use berth_core::definition::{self, AccountSource, ParameterType, PoolDefinition, Problem};
use berth_core::feed::{ChangeEvent, Feed, Topic};
use berth_core::meeting::{MeetingPlatform, PlatformKind};
use berth_core::{pool, ErrorCode};
use berth_tests::slots;
use sqlx::PgPool;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const FULL: &str = r#"name: sales-zoom
meeting_platform: zoom
image: ghcr.io/acme/zoom-bot
tag: v1.2.3
max_size: 40
prewarm: 4
platforms: [aws, k8s]
resources:
  cpu: 750m
  memory: 2Gi
  shm_size: 1Gi
recovery:
  interval: 2m
  deploying_timeout: 3m
  max_attempts: 5
queue:
  priority: 20
  timeout: 90s
accounts:
  type: sql
  query:
    select: SELECT id, email FROM accounts WHERE status = :status AND failures < :max LIMIT :limit
    parameters:
      - { name: status, type: string, value: available }
      - { name: max, type: int, value: 3 }
      - { name: limit, type: int, value: 50 }
  pool_config:
    retry_failed: true
    max_failures: 4
    refresh_interval: 45s
"#;

fn problems(text: &str) -> Vec<Problem> {
    definition::parse(text, Some(Path::new("pools/x.yaml"))).expect_err("the definition is refused")
}

/// `FULL` with `from` replaced by `to` (which must occur exactly once).
fn edit(from: &str, to: &str) -> String {
    assert_eq!(
        FULL.matches(from).count(),
        1,
        "{from:?} occurs once in FULL"
    );
    FULL.replace(from, to)
}

#[test]
fn every_snake_case_field_is_read() {
    let d: PoolDefinition = definition::parse(FULL, None).expect("valid");
    assert_eq!(d.name, "sales-zoom");
    assert_eq!(d.meeting_platform, MeetingPlatform::Zoom);
    assert_eq!(d.image, "ghcr.io/acme/zoom-bot");
    assert_eq!(d.tag, "v1.2.3");
    assert_eq!((d.max_size, d.prewarm), (40, 4));
    assert_eq!(
        d.platforms,
        Some(vec![PlatformKind::Aws, PlatformKind::K8s])
    );
    assert_eq!(d.resources.cpu.as_deref(), Some("750m"));
    assert_eq!(d.resources.memory.as_deref(), Some("2Gi"));
    assert_eq!(d.resources.shm_size.as_deref(), Some("1Gi"));
    assert_eq!(d.recovery.interval.0, Duration::from_secs(120));
    assert_eq!(d.recovery.deploying_timeout.0, Duration::from_secs(180));
    assert_eq!(d.recovery.max_attempts, 5);
    assert_eq!(d.queue.priority, Some(20));
    assert_eq!(d.queue.timeout.0, Duration::from_secs(90));
    let Some(AccountSource::Sql {
        query: Some(query),
        builder: None,
        pool_config,
    }) = &d.accounts
    else {
        panic!("an sql account source: {:?}", d.accounts)
    };
    assert_eq!(query.parameters.len(), 3);
    assert_eq!(query.parameters[1].kind, ParameterType::Int);
    assert_eq!(query.parameters[1].value, serde_json::json!(3));
    assert!(pool_config.retry_failed);
    assert_eq!(pool_config.max_failures, 4);
    assert_eq!(pool_config.refresh_interval.0, Duration::from_secs(45));
}

#[test]
fn only_true_and_false_are_booleans() {
    // YAML 1.1 would read `n` and `no` as false: a parameter named `n`
    // and a string value `no` must stay strings.
    let d = definition::parse(
        "name: p\nmeeting_platform: zoom\nimage: bot\nmax_size: 3\naccounts:\n  type: sql\n  query:\n    select: SELECT id FROM a WHERE x = :n\n    parameters:\n      - { name: n, type: string, value: no }\n",
        None,
    )
    .expect("valid");
    let Some(AccountSource::Sql {
        query: Some(query), ..
    }) = &d.accounts
    else {
        panic!("sql source")
    };
    assert_eq!(query.parameters[0].name, "n");
    assert_eq!(query.parameters[0].value, serde_json::json!("no"));
    let p = problems("name: p\nmeeting_platform: zoom\nimage: bot\nmax_size: 3\naccounts:\n  type: sql\n  query:\n    select: SELECT 1\n  pool_config:\n    retry_failed: yes\n");
    // Pointed at the `yes` itself (before the fix: at `accounts:`, line 5).
    assert!(p[0].message.contains("true/false"), "{}", p[0]);
    assert_eq!((p[0].line, p[0].column), (Some(10), Some(19)), "{}", p[0]);
}

#[test]
fn defaults_fill_what_is_left_out() {
    let d = definition::parse(
        "name: p\nmeeting_platform: google-meet\nimage: bot\nmax_size: 3\n",
        None,
    )
    .expect("valid");
    assert_eq!(d.tag, "latest");
    assert_eq!(d.prewarm, 0);
    assert_eq!(d.platforms, None);
    assert_eq!(d.recovery.max_attempts, 3);
    assert_eq!(d.recovery.interval.0, Duration::from_secs(300));
    assert_eq!(
        d.queue.priority, None,
        "no priority given: the default tier"
    );
    assert_eq!(d.queue.timeout.0, Duration::from_secs(300));
    assert_eq!(d.accounts, None);
}

#[test]
fn unknown_keys_are_refused_with_their_line() {
    // camelCase is not an alias: the earlier system silently dropped such keys.
    let p = problems(&edit("max_size: 40", "maxSize: 40"));
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].message.contains("maxSize"), "{}", p[0]);
    assert_eq!(p[0].line, Some(5), "{}", p[0]);
    assert_eq!(p[0].file.as_deref(), Some(Path::new("pools/x.yaml")));

    let p = problems(&edit(
        "  max_attempts: 5",
        "  max_attempts: 5\n  retries: 2",
    ));
    assert!(p[0].message.contains("retries"), "{}", p[0]);
    assert_eq!(p[0].line, Some(16), "{}", p[0]);

    let p = problems(&edit(
        "    retry_failed: true",
        "    retry_failed: true\n    colour: red",
    ));
    assert!(p[0].message.contains("colour"), "{}", p[0]);
}

#[test]
fn broken_yaml_reports_line_and_column() {
    let p = problems("name: a\nmeeting_platform: zoom\nimage: [unclosed\nmax_size: 3\n");
    assert_eq!(p.len(), 1);
    assert!(p[0].line.is_some_and(|l| (3..=5).contains(&l)), "{}", p[0]);
    assert!(p[0].column.is_some(), "{}", p[0]);
    let text = p[0].to_string();
    assert!(text.starts_with("pools/x.yaml:"), "{text}");

    let p = problems("name: a\n  meeting_platform: zoom\n");
    assert!(p[0].line.is_some(), "{}", p[0]);
    let p = problems("max_size: not-a-number\nname: a\nmeeting_platform: zoom\nimage: b\n");
    assert_eq!(p[0].line, Some(1), "{}", p[0]);
    let p = problems("name: a\nmeeting_platform: skype\nimage: b\nmax_size: 1\n");
    assert!(p[0].message.contains("skype"), "{}", p[0]);
    assert_eq!(p[0].line, Some(2), "{}", p[0]);
}

#[test]
fn each_field_rule_is_enforced_and_located() {
    let cases: &[(&str, &str, &str, u64)] = &[
        ("name: sales-zoom", "name: Sales_Zoom", "name", 1),
        (
            "image: ghcr.io/acme/zoom-bot",
            "image: ghcr.io/acme/zoom-bot:v2",
            "image",
            3,
        ),
        ("tag: v1.2.3", "tag: 'v1 2'", "tag", 4),
        ("max_size: 40", "max_size: 0", "max_size", 5),
        ("max_size: 40", "max_size: 1000", "max_size", 5),
        ("prewarm: 4", "prewarm: 41", "prewarm", 6),
        (
            "platforms: [aws, k8s]",
            "platforms: [aws, aws]",
            "platforms",
            7,
        ),
        ("platforms: [aws, k8s]", "platforms: []", "platforms", 7),
        ("  cpu: 750m", "  cpu: lots", "resources.cpu", 9),
        ("  memory: 2Gi", "  memory: 2GB", "resources.memory", 10),
        (
            "  shm_size: 1Gi",
            "  shm_size: '0'",
            "resources.shm_size",
            11,
        ),
        (
            "  deploying_timeout: 3m",
            "  deploying_timeout: 2s",
            "recovery.deploying_timeout",
            14,
        ),
        (
            "  max_attempts: 5",
            "  max_attempts: 0",
            "recovery.max_attempts",
            15,
        ),
        ("  priority: 20", "  priority: 5000", "queue.priority", 17),
        ("  timeout: 90s", "  timeout: 11m", "queue.timeout", 18),
        (
            "    max_failures: 4",
            "    max_failures: 0",
            "accounts.pool_config.max_failures",
            29,
        ),
        (
            "{ name: max, type: int, value: 3 }",
            "{ name: max, type: int, value: three }",
            "accounts.query.parameters",
            23,
        ),
        (
            "{ name: limit, type: int, value: 50 }",
            "{ name: status, type: int, value: 50 }",
            "accounts.query.parameters",
            23,
        ),
        (":limit", ":lim", "accounts.query.select", 22),
    ];
    for (from, to, field, line) in cases {
        let p = problems(&edit(from, to));
        let hit = p.iter().find(|p| p.field.as_deref() == Some(field));
        let Some(hit) = hit else {
            panic!("{to:?}: no problem for {field}: {p:?}")
        };
        assert_eq!(hit.line, Some(*line), "{to:?}: {hit}");
        assert!(!hit.message.is_empty());
    }
    // Durations that do not parse are located by the parser.
    let p = problems(&edit("  interval: 2m", "  interval: soon"));
    assert!(p[0].message.contains("soon"), "{}", p[0]);
    assert_eq!(p[0].line, Some(13), "{}", p[0]);
}

#[test]
fn the_json_schema_describes_the_format() {
    let schema = definition::schema();
    let props = &schema["properties"];
    for key in [
        "name",
        "meeting_platform",
        "max_size",
        "prewarm",
        "platforms",
        "accounts",
    ] {
        assert!(props.get(key).is_some(), "schema lacks {key}: {schema}");
    }
    assert_eq!(schema["additionalProperties"], serde_json::json!(false));
    let required: Vec<&str> = schema["required"]
        .as_array()
        .expect("required list")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for key in ["name", "meeting_platform", "image", "max_size"] {
        assert!(required.contains(&key), "{key} is required: {required:?}");
    }
    let text = schema.to_string();
    for v in [
        "google-meet",
        "microsoft-teams",
        "zoom",
        "k8s",
        "aws",
        "coolify",
    ] {
        assert!(text.contains(v), "schema lacks the value {v}");
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "berth-defs-{tag}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn discovery_reads_yaml_files_reports_broken_ones_and_skips_them() {
    let dir = temp_dir("discover");
    std::fs::write(dir.join("a.yaml"), FULL).unwrap();
    std::fs::write(
        dir.join("b.yaml"),
        "name: b\nmeeting_platform: zoom\nimage: x\nmax_size: 2\n",
    )
    .unwrap();
    std::fs::write(dir.join("broken.yaml"), "name: [\n").unwrap();
    std::fs::write(dir.join("dup.yaml"), FULL).unwrap(); // same name as a.yaml
    std::fs::write(dir.join("notes.txt"), "name: ignored\n").unwrap();
    std::fs::write(dir.join("old.yml"), "name: ignored\n").unwrap();
    std::fs::create_dir(dir.join("nested.yaml")).unwrap();
    let found = definition::discover(&dir).expect("scan");
    let names: Vec<&str> = found
        .definitions
        .iter()
        .map(|f| f.definition.name.as_str())
        .collect();
    assert_eq!(names, vec!["sales-zoom", "b"]);
    assert_eq!(found.problems.len(), 2, "{:?}", found.problems);
    assert!(found.problems[0]
        .file
        .as_ref()
        .is_some_and(|f| f.ends_with("broken.yaml")));
    assert!(found.problems[0].line.is_some());
    assert!(found.problems[1]
        .file
        .as_ref()
        .is_some_and(|f| f.ends_with("dup.yaml")));
    assert!(
        found.problems[1].message.contains("already defined"),
        "{}",
        found.problems[1]
    );
    assert_eq!(
        found.get("b").unwrap().hash,
        definition::content_hash(&std::fs::read_to_string(dir.join("b.yaml")).unwrap())
    );
    std::fs::remove_dir_all(&dir).unwrap();

    let missing = definition::discover(&dir).expect_err("a missing directory is an error");
    assert_eq!(missing.code(), ErrorCode::NotFound);
}

#[test]
fn first_run_seeds_valid_commented_examples_once() {
    let dir = temp_dir("seed").join("pools");
    let written = definition::seed(&dir).expect("seeded");
    assert_eq!(written.len(), MeetingPlatform::ALL.len());
    let found = definition::discover(&dir).expect("scan");
    assert_eq!(found.definitions.len(), MeetingPlatform::ALL.len());
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    assert!(
        found.definitions[0].text.contains("# "),
        "examples carry comments"
    );
    std::fs::remove_file(&written[0]).unwrap();
    assert!(definition::seed(&dir).expect("second run").is_empty());
    assert!(!written[0].exists(), "a deleted example is not recreated");
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[test]
fn file_names_come_from_valid_names_only() {
    assert_eq!(
        definition::file_name("sales-zoom").unwrap(),
        "sales-zoom.yaml"
    );
    for bad in ["../etc/passwd", "a/b", "", "UPPER", "-lead"] {
        assert_eq!(
            definition::file_name(bad).unwrap_err().code(),
            ErrorCode::DefinitionInvalid,
            "{bad:?}"
        );
    }
}

async fn next_pools_change(rx: &mut tokio::sync::broadcast::Receiver<ChangeEvent>) -> uuid::Uuid {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Ok(ChangeEvent::Changed { origin, topics, .. }))
                if topics.contains(&Topic::Pools) =>
            {
                return origin
            }
            Ok(Ok(_)) => continue,
            other => panic!("no pools change: {other:?}"),
        }
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn applying_versions_the_definition_and_reaches_other_instances(db: PgPool) {
    let (a, b) = (
        Feed::new(uuid::Uuid::new_v4(), true),
        Feed::new(uuid::Uuid::new_v4(), true),
    );
    let mut tasks = a.spawn(db.clone());
    tasks.extend(b.spawn(db.clone()));
    let mut rx = b.subscribe();
    while !matches!(rx.recv().await.unwrap(), ChangeEvent::Resync) {}

    let first = definition::apply(&db, &a, FULL, &Actor::api("alice"))
        .await
        .expect("applied");
    assert_eq!((first.version, first.changed), (1, true));
    assert_eq!(first.hash, definition::content_hash(FULL));
    // Instance B is told, and reads the new pool from the shared database.
    assert_eq!(next_pools_change(&mut rx).await, a.origin());
    let p = pool::get(&db, "sales-zoom").await.expect("the pool exists");
    assert_eq!(p.image, "ghcr.io/acme/zoom-bot:v1.2.3");
    assert_eq!((p.max_size, p.prewarm_count), (40, 4));
    assert_eq!(
        p.allowed_platforms,
        Some(vec![PlatformKind::Aws, PlatformKind::K8s])
    );
    assert_eq!(p.source, "definition");

    let again = definition::apply(&db, &a, FULL, &Actor::api("bob"))
        .await
        .expect("no-op");
    assert_eq!((again.version, again.changed), (1, false));

    let bigger = edit("max_size: 40", "max_size: 60");
    let second = definition::apply(&db, &a, &bigger, &Actor::api("bob"))
        .await
        .expect("applied");
    assert_eq!((second.version, second.changed), (2, true));
    assert_eq!(pool::get(&db, "sales-zoom").await.unwrap().max_size, 60);
    let applied = definition::applied(&db).await.unwrap();
    let current = &applied["sales-zoom"];
    assert_eq!(
        (current.version, current.applied_by.as_str()),
        (2, "api:bob")
    );
    assert_eq!(current.text, bigger);
    let versions: i64 = sqlx::query_scalar("SELECT count(*) FROM pool_definitions")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(versions, 2, "every version is kept");

    // Invalid text writes nothing.
    let before: i64 = versions;
    let err = definition::apply(
        &db,
        &a,
        &edit("max_size: 40", "max_size: 0"),
        &Actor::api("eve"),
    )
    .await
    .expect_err("refused");
    assert_eq!(err.code(), ErrorCode::DefinitionInvalid);
    assert!(err.to_string().contains("max_size"), "{err}");
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM pool_definitions")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(after, before);
    for t in tasks {
        t.abort();
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_pool_with_slots_keeps_its_meeting_platform(db: PgPool) {
    let feed = Feed::new(uuid::Uuid::new_v4(), false);
    definition::apply(&db, &feed, FULL, &Actor::api("alice"))
        .await
        .unwrap();
    slots::of("sales-zoom", PlatformKind::K8s).create(&db).await;
    let moved = edit("meeting_platform: zoom", "meeting_platform: google-meet");
    let err = definition::apply(&db, &feed, &moved, &Actor::api("alice"))
        .await
        .expect_err("refused");
    assert_eq!(err.code(), ErrorCode::Conflict);
    assert_eq!(
        pool::get(&db, "sales-zoom").await.unwrap().meeting_platform,
        MeetingPlatform::Zoom
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn impact_counts_creations_removals_and_busy_slots(db: PgPool) {
    let feed = Feed::new(uuid::Uuid::new_v4(), false);
    definition::apply(&db, &feed, FULL, &Actor::api("alice"))
        .await
        .unwrap();
    let mut conn = db.acquire().await.unwrap();
    // Five idle slots (001-005) and one busy (006).
    for _ in 0..5 {
        slots::of("sales-zoom", PlatformKind::K8s)
            .create_on(&mut conn)
            .await;
    }
    let bot = berth_tests::insert_bot(&db, "sales-zoom").await;
    slots::of("sales-zoom", PlatformKind::K8s)
        .holding(bot)
        .create_on(&mut conn)
        .await;

    let shrink = definition::parse(
        &edit("max_size: 40", "max_size: 3").replace("prewarm: 4", "prewarm: 3"),
        None,
    )
    .unwrap();
    let i = definition::impact(&db, &shrink).await.unwrap();
    assert_eq!((i.creates, i.removes_idle, i.busy_affected), (0, 2, 1));
    assert_eq!(
        i.to_string(),
        "creates 0 slots, removes 2 idle, 1 busy affected"
    );

    let warm = definition::parse(&edit("prewarm: 4", "prewarm: 8"), None).unwrap();
    let i = definition::impact(&db, &warm).await.unwrap();
    assert_eq!((i.creates, i.removes_idle, i.busy_affected), (3, 0, 0));
}

async fn next_paths(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Vec<PathBuf>>) -> Vec<PathBuf> {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a change is noticed")
        .expect("the watcher runs")
}

#[tokio::test]
async fn files_changed_outside_berth_are_noticed() {
    let dir = temp_dir("watch");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let _watching = definition::watch(&dir, move |paths| {
        let _ = tx.send(paths);
    })
    .expect("watching");
    // Not a definition: ignored. Then a new definition: noticed.
    std::fs::write(dir.join("notes.txt"), "x").unwrap();
    std::fs::write(dir.join("a.yaml"), FULL).unwrap();
    let seen = next_paths(&mut rx).await;
    assert_eq!(seen, vec![dir.join("a.yaml")]);
    // An edit, then a removal.
    std::fs::write(dir.join("a.yaml"), edit("max_size: 40", "max_size: 41")).unwrap();
    assert_eq!(next_paths(&mut rx).await, vec![dir.join("a.yaml")]);
    std::fs::remove_file(dir.join("a.yaml")).unwrap();
    assert_eq!(next_paths(&mut rx).await, vec![dir.join("a.yaml")]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn the_applied_definitions_resources_reach_deploys(db: PgPool) {
    let feed = Feed::new(uuid::Uuid::new_v4(), false);
    // No definition (a built-in pool): nothing set, the platform's defaults apply.
    let none = definition::resources_of(&db, "zoom").await.unwrap();
    assert_eq!(none, definition::Resources::default());
    definition::apply(&db, &feed, FULL, &Actor::api("alice"))
        .await
        .unwrap();
    let r = definition::resources_of(&db, "sales-zoom").await.unwrap();
    assert_eq!(
        (r.cpu.as_deref(), r.memory.as_deref(), r.shm_size.as_deref()),
        (Some("750m"), Some("2Gi"), Some("1Gi"))
    );
    // The newest version wins.
    definition::apply(
        &db,
        &feed,
        &edit("  memory: 2Gi", "  memory: 3Gi"),
        &Actor::api("bob"),
    )
    .await
    .unwrap();
    let r = definition::resources_of(&db, "sales-zoom").await.unwrap();
    assert_eq!(r.memory.as_deref(), Some("3Gi"));
}

#[test]
fn a_builder_form_is_checked_field_by_field() {
    let base = "name: p\nmeeting_platform: zoom\nimage: bot\nmax_size: 3\naccounts:\n  type: sql\n";
    let ok = definition::parse(
        &format!("{base}  builder:\n    table: accounts\n    filters:\n      - {{ column: status, op: in, value: [a, b] }}\n      - {{ column: banned, op: is_null }}\n    sort:\n      - {{ column: id, direction: desc }}\n    limit: 10\n"),
        None,
    )
    .expect("valid builder");
    let Some(AccountSource::Sql {
        query: None,
        builder: Some(b),
        ..
    }) = &ok.accounts
    else {
        panic!("{:?}", ok.accounts)
    };
    assert_eq!(b.filters[0].op, definition::Comparator::In);
    assert_eq!(b.sort[0].direction, definition::Direction::Desc);

    let cases = [
        ("", "accounts.query"),
        (
            "  query: { select: SELECT 1 }\n  builder: { table: a }\n",
            "accounts.builder",
        ),
        (
            "  builder:\n    table: a\n    filters:\n      - { column: x, op: in, value: 3 }\n",
            "accounts.builder.filters",
        ),
        (
            "  builder:\n    table: a\n    filters:\n      - { column: x, op: in, value: [1, a] }\n",
            "accounts.builder.filters",
        ),
        (
            "  builder:\n    table: a\n    filters:\n      - { column: x, op: is_null, value: 1 }\n",
            "accounts.builder.filters",
        ),
        (
            "  builder:\n    table: a\n    filters:\n      - { column: x, op: like, value: 1 }\n",
            "accounts.builder.filters",
        ),
        (
            "  builder:\n    table: a\n    filters:\n      - { column: '', op: '=', value: 1 }\n",
            "accounts.builder.filters",
        ),
        ("  builder:\n    table: a.b.c\n", "accounts.builder.table"),
        ("  builder:\n    table: a\n    limit: 0\n", "accounts.builder.limit"),
        ("  builder:\n    table: a\n    limit: 10001\n", "accounts.builder.limit"),
    ];
    for (source, field) in cases {
        let p = problems(&format!("{base}{source}"));
        assert!(
            p.iter().any(|p| p.field.as_deref() == Some(field)),
            "{source}: expected a problem at {field}, got {p:?}"
        );
    }
    // An operator outside the allowed set is not even parsed.
    let p = problems(&format!(
        "{base}  builder:\n    table: a\n    filters:\n      - {{ column: x, op: '~', value: 1 }}\n"
    ));
    assert!(p[0].message.contains("unknown variant"), "{p:?}");
    // Located at the operator itself (line 10, in its flow mapping), not at
    // the `accounts:` block that holds it (line 5).
    assert_eq!((p[0].line, p[0].column), (Some(10), Some(26)), "{p:?}");
}
