use super::*;
use crate::error::ErrorCode;
use std::os::unix::fs::PermissionsExt;
use std::time::{SystemTime, UNIX_EPOCH};

/// Removes a test directory when dropped (after the cluster in it stopped).
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("berth-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// True (and says why) when this machine has no PostgreSQL server binaries.
fn no_postgres() -> bool {
    match find_bin_dir(None) {
        Ok(_) => false,
        Err(e) => {
            eprintln!("skipping: no PostgreSQL server binaries on this machine ({e})");
            true
        }
    }
}

fn socket_file(pg: &EmbeddedPostgres) -> PathBuf {
    pg.socket_dir.join(format!(".s.PGSQL.{}", pg.port))
}

#[tokio::test]
async fn starts_connects_over_the_socket_only_attaches_and_stops() {
    if no_postgres() {
        return;
    }
    let dir = TempDir::new("embedded");
    let mut pg = EmbeddedPostgres::start(&dir.0).await.expect("start");
    assert!(pg.owns_server());
    assert_eq!(pg.socket_dir, dir.0.join("run"));
    let url = pg.url();
    assert!(url.starts_with("postgres:///berth?host=/"), "{url}");

    let db = sqlx::PgPool::connect(&url).await.expect("connect");
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&db).await.unwrap();
    assert_eq!(one, 1);
    let listen: String = sqlx::query_scalar("SHOW listen_addresses")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(listen, "", "the embedded server must not listen on TCP");
    let name: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(name, "berth");
    assert!(socket_file(&pg).exists());

    // A second start attaches to the running server (its owner lives)
    // and does not stop it.
    let mut attached = EmbeddedPostgres::start(&dir.0).await.expect("attach");
    assert!(!attached.owns_server());
    assert_eq!(attached.url(), url);
    let db2 = sqlx::PgPool::connect(&attached.url())
        .await
        .expect("connect attached");
    db2.close().await;
    attached.stop().await.expect("stop attached (no-op)");
    drop(attached);
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&db).await.unwrap();
    assert_eq!(one, 1, "the server survives the attached instance");
    db.close().await;

    // Closed connections leave pg_stat_activity a moment after the
    // client hangs up; until then they count as other clients, for
    // whom `stop` would rightly leave the server running.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while pg.other_clients().await.expect("count clients") > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the test's connections never closed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await; // polling interval
    }
    pg.stop().await.expect("stop");
    assert!(!socket_file(&pg).exists(), "socket file gone after stop");
    assert!(!pg.is_running().await.unwrap());
    pg.stop().await.expect("stop is idempotent");

    // Restart on the existing cluster (no initdb) and stop by dropping.
    let pg = EmbeddedPostgres::start(&dir.0).await.expect("restart");
    assert!(pg.owns_server());
    let db = sqlx::PgPool::connect(&pg.url()).await.expect("reconnect");
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&db).await.unwrap();
    assert_eq!(one, 1);
    db.close().await;
    let socket = socket_file(&pg);
    drop(pg);
    assert!(!socket.exists(), "dropping the starter stops the server");
}

#[tokio::test]
async fn stopping_leaves_the_server_to_other_connected_clients() {
    if no_postgres() {
        return;
    }
    let dir = TempDir::new("embedded-shared");
    let first = EmbeddedPostgres::start(&dir.0).await.expect("start");
    assert!(first.owns_server());
    let other = sqlx::PgPool::connect(&first.url())
        .await
        .expect("another client");
    // Dropping the instance that started it leaves it to the other client...
    drop(first);
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&other)
        .await
        .expect("served after drop");
    assert_eq!(one, 1);
    // ...without an owner now, so the next start adopts it, and an
    // explicit stop by an owner leaves it to the other client too.
    let mut second = EmbeddedPostgres::start(&dir.0).await.expect("adopt");
    assert!(second.owns_server(), "an ownerless server is adopted");
    second.stop().await.expect("stop");
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&other)
        .await
        .expect("served after stop");
    assert_eq!(one, 1);
    other.close().await;
    // Alone now: the stop is real.
    let mut last = EmbeddedPostgres::start(&dir.0).await.expect("adopt");
    assert!(last.owns_server());
    last.stop().await.expect("stop");
    assert!(
        !last.is_running().await.unwrap_or(true),
        "stopped once no client is left"
    );
}

/// Issue 11, item 23: a process that attached while the owner ran, and
/// outlives it, stops the server at its own clean exit.
#[tokio::test]
async fn the_last_client_to_exit_stops_a_server_its_owner_left() {
    if no_postgres() {
        return;
    }
    let dir = TempDir::new("embedded-last");
    let mut owner = EmbeddedPostgres::start(&dir.0).await.expect("start");
    let mut attached = EmbeddedPostgres::start(&dir.0).await.expect("attach");
    assert!(owner.owns_server() && !attached.owns_server());
    attached.set_own_application("the attached instance");
    let opts: sqlx::postgres::PgConnectOptions = attached.url().parse().unwrap();
    let its_pool = sqlx::PgPool::connect_with(opts.application_name("the attached instance"))
        .await
        .expect("the attached instance connects");
    // The owner exits first: the attached instance still uses the server.
    owner.stop().await.expect("owner stops");
    assert!(
        owner.is_running().await.unwrap(),
        "left to the attached instance"
    );
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&its_pool)
        .await
        .unwrap();
    assert_eq!(one, 1);
    // Its clean exit (its own connections do not count) stops it.
    its_pool.close().await;
    attached.stop().await.expect("stop");
    assert!(
        !attached.is_running().await.unwrap_or(true),
        "the last Berth process out stops the server its owner left"
    );
    assert!(!attached.owns_server());
}

#[tokio::test]
async fn long_data_dir_uses_a_short_socket_dir_under_tmp() {
    if no_postgres() {
        return;
    }
    let dir = TempDir::new("embedded-long");
    let data_dir = dir.0.join("a-rather-long-directory-name-".repeat(4));
    // Removed after the server stopped, even if an assertion fails.
    let _socket_dir = TempDir(socket_dir_for(&data_dir));
    let mut pg = EmbeddedPostgres::start(&data_dir).await.expect("start");
    assert_eq!(pg.socket_dir, _socket_dir.0);
    assert!(
        pg.socket_dir
            .to_string_lossy()
            .starts_with("/tmp/berth-pg-"),
        "{:?}",
        pg.socket_dir
    );
    assert!(socket_file(&pg).as_os_str().len() <= SOCKET_PATH_MAX);
    let mode = std::fs::metadata(&pg.socket_dir)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);

    let db = sqlx::PgPool::connect(&pg.url()).await.expect("connect");
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&db).await.unwrap();
    assert_eq!(one, 1);
    db.close().await;

    pg.stop().await.expect("stop");
    assert!(!socket_file(&pg).exists());
}

#[tokio::test]
async fn as_root_a_data_dir_closed_to_postgres_is_a_clear_error() {
    if no_postgres() || !is_root() {
        return;
    }
    let dir = TempDir::new("embedded-closed");
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o700)).unwrap();
    let err = EmbeddedPostgres::start(&dir.0.join("data"))
        .await
        .expect_err("postgres cannot enter a root-only directory");
    assert_eq!(err.code(), ErrorCode::EmbeddedDatabase);
    let msg = err.to_string();
    assert!(msg.contains("BERTH_DATA_DIR"), "{msg}");
    assert!(msg.contains("DATABASE_URL"), "{msg}");
}

#[tokio::test]
async fn a_server_that_does_not_start_is_reported_with_its_log() {
    if no_postgres() {
        return;
    }
    let dir = TempDir::new("embedded-broken");
    let mut pg = EmbeddedPostgres::start(&dir.0).await.expect("start");
    pg.stop().await.expect("stop");
    let conf = pg.cluster.join("postgresql.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str("\nshared_buffers = 'not a size'\n");
    std::fs::write(&conf, text).unwrap();

    let err = EmbeddedPostgres::start(&dir.0)
        .await
        .expect_err("a broken configuration does not start");
    assert_eq!(err.code(), ErrorCode::EmbeddedDatabase);
    let msg = err.to_string();
    assert!(msg.contains("server.log"), "{msg}");
    assert!(msg.contains("shared_buffers"), "{msg}");
}

#[test]
fn default_data_dir_order() {
    fn env<'a>(
        pairs: &'a [(&'a str, &'a str)],
    ) -> impl Fn(&str) -> Option<std::ffi::OsString> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| std::ffi::OsString::from(v))
        }
    }
    let all = [
        ("BERTH_DATA_DIR", "/srv/berth"),
        ("XDG_DATA_HOME", "/xdg"),
        ("HOME", "/home/u"),
    ];
    assert_eq!(data_dir_from(env(&all)), PathBuf::from("/srv/berth"));
    assert_eq!(
        data_dir_from(env(&[("XDG_DATA_HOME", "/xdg"), ("HOME", "/home/u")])),
        PathBuf::from("/xdg/berth")
    );
    assert_eq!(
        data_dir_from(env(&[("BERTH_DATA_DIR", ""), ("HOME", "/home/u")])),
        PathBuf::from("/home/u/.local/share/berth")
    );
    let default = default_data_dir();
    assert!(default.ends_with("berth") || std::env::var_os("BERTH_DATA_DIR").is_some());
}

#[test]
fn url_parses_as_a_unix_socket() {
    let pg = EmbeddedPostgres {
        bin: PathBuf::new(),
        cluster: PathBuf::new(),
        socket_dir: PathBuf::from("/tmp/odd dir&x=1"),
        port: PORT,
        run_as: None,
        owner: None,
        lock: PathBuf::new(),
        own_application: None,
    };
    let options: sqlx::postgres::PgConnectOptions = pg.url().parse().expect("sqlx parses the url");
    assert_eq!(
        options.get_socket().map(|p| p.as_path()),
        Some(Path::new("/tmp/odd dir&x=1"))
    );
    assert_eq!(options.get_port(), PORT);
    assert_eq!(options.get_username(), DB_USER);
    assert_eq!(options.get_database(), Some(DB_NAME));
}

#[test]
fn socket_dir_is_short_and_stable() {
    let short = socket_dir_for(Path::new("/var/lib/berth"));
    assert_eq!(short, PathBuf::from("/var/lib/berth/run"));
    let long_dir = PathBuf::from(format!("/{}", "x".repeat(120)));
    let a = socket_dir_for(&long_dir);
    assert_eq!(a, socket_dir_for(&long_dir));
    assert!(a.starts_with("/tmp"));
    assert_ne!(a, socket_dir_for(&long_dir.join("other")));
    assert_eq!(shell_quote("/a b/it's"), r"'/a b/it'\''s'");
}
