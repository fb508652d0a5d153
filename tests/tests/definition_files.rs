//! Pool definition files and file account sources are read only from inside
//! the pools directory; files and durations have caps their errors state;
//! a problem quotes only short excerpts of what it found and points at the
//! offending key (issue 11, items 5 to 8). Real files, real symbolic links,
//! and for the account sources a real PostgreSQL.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use berth_core::account::{lease, source};
use berth_core::actor::Actor;
use berth_core::definition::{self, AccountSource, PoolDefinition, Problem};
use berth_core::{jobs, ErrorCode};
use berth_tests::{database_url_of, harness, query_connection, three_platforms};
use sqlx::PgPool;

/// What a secret file outside the pools directory holds: a line that parses
/// as a mapping, so a parser that read it would quote its key.
const SECRET: &str = "secretuser: $6$saltsalt$hashhashhashhash\n";

/// A temporary tree, removed on drop: `root/pools` is the pools directory,
/// `root/outside` holds a secret file and an account directory next to it.
struct Tree {
    root: PathBuf,
}

impl Tree {
    fn new(tag: &str) -> Tree {
        let root = std::env::temp_dir().join(format!(
            "berth-files-{tag}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        std::fs::create_dir_all(root.join("pools/accounts/manual")).unwrap();
        std::fs::create_dir_all(root.join("outside/accounts")).unwrap();
        std::fs::write(root.join("outside/shadow"), SECRET).unwrap();
        for f in ["x.key", "y.key"] {
            std::fs::write(root.join("outside/accounts").join(f), "secret").unwrap();
        }
        Tree { root }
    }

    fn pools(&self) -> PathBuf {
        self.root.join("pools")
    }

    fn outside(&self) -> PathBuf {
        self.root.join("outside")
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn link(target: impl AsRef<Path>, at: impl AsRef<Path>) {
    std::os::unix::fs::symlink(target, at).unwrap();
}

const BASE: &str = "name: files\nmeeting_platform: zoom\nimage: bots/zoom\nmax_size: 5\n";

fn file_source(directory: &str) -> String {
    format!("{BASE}accounts:\n  type: file\n  directory: {directory}\n")
}

fn problems(text: &str) -> Vec<Problem> {
    definition::parse(text, Some(Path::new("pools/x.yaml"))).expect_err("refused")
}

/// The valid file source of `accounts/manual` with its directory replaced
/// by `directory`, as an applied definition stored before this check
/// existed (or edited in the database) would hold it: the read itself must
/// refuse what parsing would.
fn with_directory(directory: &str) -> PoolDefinition {
    let mut def = definition::parse(&file_source("accounts/manual"), None).unwrap();
    if let Some(AccountSource::File { directory: d, .. }) = &mut def.accounts {
        *d = PathBuf::from(directory);
    }
    def
}

// Item 5: a file account source lists nothing outside the pools directory.

#[test]
fn an_account_directory_must_be_written_inside_the_pools_directory() {
    for dir in ["../../etc", "/etc", "accounts/../../etc"] {
        let p = problems(&file_source(dir));
        assert_eq!(p.len(), 1, "{dir}: {p:?}");
        assert_eq!(p[0].field.as_deref(), Some("accounts.directory"), "{dir}");
        assert_eq!((p[0].line, p[0].column), (Some(7), Some(3)), "{dir}");
        assert!(
            p[0].message.contains("inside the pools directory"),
            "{}",
            p[0]
        );
    }
    definition::parse(&file_source("accounts/manual"), None).expect("inside: valid");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_file_source_lists_only_files_inside_the_pools_directory(db: PgPool) {
    let h = harness(db, &three_platforms("10", ["0", "0", "0"]), false).await;
    let url = database_url_of(&h.db);
    let t = Tree::new("source");
    let pools = t.pools();
    let manual = pools.join("accounts/manual");
    for f in ["a.xml", "b.xml"] {
        std::fs::write(manual.join(f), "<account/>").unwrap();
    }
    // Links inside the account directory: one to a file inside (kept, as the
    // file it names), one to a secret outside and one to nothing (skipped).
    link("a.xml", manual.join("alias.xml"));
    link(t.outside().join("shadow"), manual.join("stolen.xml"));
    link("gone.xml", manual.join("dangling.xml"));
    // Links in the pools directory: one to a directory outside, one inside.
    link("/etc", pools.join("accounts/etc-link"));
    link(
        t.outside().join("accounts"),
        pools.join("accounts/out-link"),
    );
    link("accounts/manual", pools.join("shared"));

    let canonical = std::fs::canonicalize(&pools).unwrap();
    for dir in ["accounts/manual", "shared"] {
        let r = source::read(&h.db, query_connection(&url), &pools, &with_directory(dir))
            .await
            .unwrap()
            .unwrap();
        let ids: Vec<&str> = r.rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["a.xml", "alias.xml", "b.xml"], "{dir}");
        let alias = r.rows[1]["path"].as_str().unwrap();
        assert_eq!(Path::new(alias), canonical.join("accounts/manual/a.xml"));
        assert!(
            r.rows
                .iter()
                .all(|r| Path::new(r["path"].as_str().unwrap()).starts_with(&canonical)),
            "{r:?}"
        );
    }
    for dir in [
        "../../etc",
        "/etc",
        "accounts/etc-link",
        "accounts/out-link",
        "../outside/accounts",
    ] {
        let e = source::read(&h.db, query_connection(&url), &pools, &with_directory(dir))
            .await
            .expect_err(dir);
        assert_eq!(e.code(), ErrorCode::DefinitionInvalid, "{dir}: {e}");
        let text = e.to_string();
        assert!(
            text.contains("outside") || text.contains("relative"),
            "{dir}: {text}"
        );
        assert!(
            !text.contains("passwd") && !text.contains("x.key"),
            "{text}"
        );
    }

    // The leader's periodic refresh reads the applied definition (not the
    // file): an applied directory leading out refreshes nothing.
    definition::apply(
        &h.db,
        h.router.feed(),
        &file_source("accounts/manual"),
        &Actor::system("test"),
    )
    .await
    .unwrap();
    sqlx::query(
        "UPDATE pool_definitions
         SET definition = jsonb_set(definition, '{accounts,directory}', '\"/etc\"')
         WHERE name = 'files'",
    )
    .execute(&h.db)
    .await
    .unwrap();
    let report = jobs::refresh_accounts(
        &h.router,
        query_connection(&url),
        &pools,
        &mut HashMap::new(),
    )
    .await
    .unwrap();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert!(report.failed[0].1.contains("inside"), "{report:?}");
    let stats = lease::stats(&h.db, "files").await.unwrap();
    assert_eq!((stats.available, stats.in_use), (0, 0), "{stats:?}");
}

// Item 6: a pool file linking out is neither read nor echoed.

#[test]
fn a_pool_file_linking_out_of_the_directory_is_not_read() {
    let t = Tree::new("links");
    let pools = t.pools();
    std::fs::write(pools.join("ok.yaml"), file_source("accounts/manual")).unwrap();
    link("../outside/shadow", pools.join("relative.yaml"));
    link(t.outside().join("shadow"), pools.join("absolute.yaml"));
    link("missing.yaml", pools.join("dangling.yaml"));
    // A link that stays inside is followed: a definition kept in a
    // subdirectory (as in a checkout with one folder per environment).
    std::fs::create_dir_all(pools.join("envs")).unwrap();
    std::fs::write(
        pools.join("envs/prod.yaml"),
        BASE.replace("name: files", "name: prod"),
    )
    .unwrap();
    link("envs/prod.yaml", pools.join("prod.yaml"));

    let found = definition::discover(&pools).unwrap();
    let names: Vec<&str> = found
        .definitions
        .iter()
        .map(|f| f.definition.name.as_str())
        .collect();
    assert_eq!(names, ["files", "prod"]);
    let broken: Vec<String> = found
        .problems
        .iter()
        .map(|p| {
            p.file
                .as_ref()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(broken, ["absolute.yaml", "dangling.yaml", "relative.yaml"]);
    for p in &found.problems {
        let text = p.to_string();
        assert!(
            !text.contains("secretuser") && !text.contains("$6$"),
            "{text}"
        );
        assert_eq!(p.line, None, "nothing was parsed: {text}");
    }
    assert!(
        found.problems[0].message.contains("leads outside"),
        "{}",
        found.problems[0]
    );
    assert!(
        found.problems[1].message.contains("does not exist"),
        "{}",
        found.problems[1]
    );
    assert!(
        found.problems[2].message.contains("leads outside"),
        "{}",
        found.problems[2]
    );
}

#[test]
fn problems_quote_only_a_short_excerpt_of_what_they_found() {
    // Under YAML's 1024-character limit on a plain key, so the parser quotes it.
    let long = "s".repeat(1_000);
    // A key the parser does not know, and a value a check refuses.
    for text in [
        format!("{BASE}{long}: 1\n"),
        BASE.replace("name: files", &format!("name: {long}")),
        BASE.replace(
            "image: bots/zoom",
            &format!("image: bots/zoom\ntag: \"{long}\""),
        ),
    ] {
        let p = problems(&text);
        let shown = p[0].to_string();
        assert!(
            !shown.contains(&"s".repeat(41)),
            "{} chars: {shown}",
            shown.len()
        );
        assert!(shown.len() < 400, "{} chars", shown.len());
        assert!(shown.contains("sss…"), "{shown}");
    }
}

// Item 7: caps on the file size and on every duration, stated in the errors.

#[test]
fn a_file_over_the_size_cap_is_refused_unread() {
    let t = Tree::new("size");
    let pools = t.pools();
    // 50 MB (sparse: it costs no disk), refused from its size alone.
    let big = std::fs::File::create(pools.join("big.yaml")).unwrap();
    big.set_len(50 * 1024 * 1024).unwrap();
    // A valid definition just under the cap is read.
    let padding = "#".repeat(256 * 1024 - BASE.len() - 1);
    std::fs::write(pools.join("edge.yaml"), format!("{BASE}{padding}\n")).unwrap();
    let found = definition::discover(&pools).unwrap();
    assert_eq!(found.definitions.len(), 1, "{:?}", found.problems);
    assert_eq!(found.problems.len(), 1);
    assert_eq!(
        found.problems[0].message,
        "is 52428800 bytes; the limit is 262144 bytes (256 KiB)"
    );

    // The same cap on text that comes from elsewhere (an editor, apply).
    let p = problems(&format!("{BASE}{padding}#\n"));
    assert_eq!(
        p[0].message,
        "the definition is 262145 bytes; at most 262144 (256 KiB) are allowed"
    );
}

#[test]
fn every_duration_has_a_range_its_error_states() {
    let with = |section: &str| format!("{BASE}{section}");
    let cases = [
        (
            "recovery:\n  deploying_timeout: 99999999h\n",
            "recovery.deploying_timeout",
            "must be from 10s to 24h, got 99999999h",
        ),
        (
            "recovery:\n  interval: 25h\n",
            "recovery.interval",
            "must be from 1s to 24h, got 25h",
        ),
        (
            "recovery:\n  interval: 500ms\n",
            "recovery.interval",
            "must be from 1s to 24h, got 500ms",
        ),
        (
            "queue:\n  timeout: 11m\n",
            "queue.timeout",
            "must be from 1s to 10m, got 11m",
        ),
        (
            "accounts:\n  type: file\n  directory: a\n  pool_config:\n    refresh_interval: 2years\n",
            "accounts.pool_config.refresh_interval",
            "must be 0s (manual refresh only) or from 1s to 24h, got 17532h",
        ),
    ];
    for (section, field, message) in cases {
        let p = problems(&with(section));
        assert_eq!(p.len(), 1, "{section}: {p:?}");
        assert_eq!(p[0].field.as_deref(), Some(field), "{section}");
        assert_eq!(p[0].message, message, "{section}");
        let last = with(section).lines().count() as u64;
        assert_eq!(p[0].line, Some(last), "{section}: {}", p[0]);
    }
    // The bounds themselves are accepted.
    definition::parse(
        &with("recovery:\n  interval: 24h\n  deploying_timeout: 24h\nqueue:\n  timeout: 10m\naccounts:\n  type: file\n  directory: a\n  pool_config:\n    refresh_interval: 24h\n"),
        None,
    )
    .expect("the bounds are valid");
}

/// Hostile structure within the size cap: nesting far deeper than the
/// parser's recursion limit, and anchors whose aliases would expand a
/// 2 KB file a billion times ("billion laughs"). Each is a located problem,
/// never a stack overflow or an expansion (either would take down the
/// desktop app or `berth serve`, which read the pools directory).
#[test]
fn deep_nesting_and_alias_bombs_are_problems_not_crashes() {
    let deep = format!(
        "{BASE}platforms: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(deep.len() < 256 * 1024, "within the size cap");
    let p = problems(&deep);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].message.contains("recursion limit"), "{p:?}");
    assert_eq!(p[0].line, Some(5), "{p:?}");

    let mut laughs =
        format!("{BASE}platforms:\n  - &a0 [k8s, k8s, k8s, k8s, k8s, k8s, k8s, k8s, k8s]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 9].join(", ");
        laughs.push_str(&format!("  - &a{i} [{refs}]\n"));
    }
    let p = problems(&laughs);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].line.map(|l| l >= 5), Some(true), "{p:?}");
}

// Item 8: a problem points at its key, and says where once.

#[test]
fn errors_inside_accounts_point_at_the_offending_key() {
    let sql = "accounts:\n  type: sql\n  query:\n    select: SELECT id FROM a\n";
    let cases: [(String, u64, u64, &str); 6] = [
        // The case: a key on line 12 was reported on line 5.
        (
            format!("{sql}  pool_config:\n    retry_failed: true\n    max_failures: 3\n    colour: red\n"),
            12,
            5,
            "unknown field `colour`",
        ),
        (
            format!("{sql}    paramters: []\n"),
            9,
            5,
            "unknown field `paramters`",
        ),
        (
            format!("{sql}  pool_config:\n    max_failures: many\n"),
            10,
            19,
            "invalid u32",
        ),
        (
            format!("{sql}  pool_config:\n    refresh_interval: soon\n"),
            10,
            23,
            "\"soon\" is not a duration",
        ),
        (
            format!("{sql}  directory: accounts\n"),
            9,
            3,
            "`directory` belongs to a file source",
        ),
        (
            "accounts:\n  type: file\n  directory: a\n  builder:\n    table: t\n".to_string(),
            8,
            3,
            "belong to an sql source",
        ),
    ];
    for (accounts, line, column, message) in cases {
        let text = format!("{BASE}{accounts}");
        let p = problems(&text);
        assert_eq!(p.len(), 1, "{text}: {p:?}");
        assert_eq!(
            (p[0].line, p[0].column),
            (Some(line), Some(column)),
            "{text}\n{}",
            p[0]
        );
        assert!(p[0].message.contains(message), "{}", p[0]);
    }
    // A check's problem finds the top-level key, not a parameter's of that name.
    let text = "accounts:\n  type: sql\n  query:\n    select: SELECT 1 WHERE :name = ''\n    parameters:\n      - name: name\n        type: string\n        value: x\nname: Not_Valid\nmeeting_platform: zoom\nimage: bots/zoom\nmax_size: 5\n";
    let p = problems(text);
    assert_eq!(p[0].field.as_deref(), Some("name"), "{p:?}");
    assert_eq!((p[0].line, p[0].column), (Some(9), Some(1)), "{}", p[0]);
}

#[test]
fn a_problem_says_where_it_is_once() {
    for text in [
        format!("{BASE}maxSize: 3\n"),
        format!("{BASE}accounts:\n  type: sql\n  query:\n    select: x\n    colour: red\n"),
        "name: a\nwat\n".to_string(),
    ] {
        let p = problems(&text);
        let shown = p[0].to_string();
        let at = format!(
            "pools/x.yaml:{}:{}: ",
            p[0].line.unwrap(),
            p[0].column.unwrap()
        );
        assert!(shown.starts_with(&at), "{shown}");
        assert!(
            !shown.contains("line"),
            "the location is printed twice: {shown}"
        );
    }
}
