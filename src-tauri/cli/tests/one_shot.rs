//! One-shot commands stay quick: they check the schema and do their work,
//! never the start-up of `serve`, `demo` or the app (migrations, the
//! environment's configuration written under the settings lock).
//!
//! Each test makes its own database on `DATABASE_URL`'s server (see
//! `cli.rs`). Nothing sleeps to synchronise: a command that would wait on a
//! lock is caught by a deadline, and the control waits on `pg_locks`.

mod support;

use serde_json::Value;
use sqlx::{Connection, PgConnection, PgPool};
use std::time::Duration;
use support::{berth, command, eventually, finish, text, INSTANT_K8S};

/// The key of sqlx's migration lock for `database` (sqlx-postgres 0.9,
/// `generate_lock_id`: 0x3d32ad9e × CRC-32/ISO-HDLC of the name). The
/// control in [`one_shot_commands_take_neither_the_migration_nor_the_settings_lock`]
/// fails if sqlx ever takes another.
fn migration_lock_key(database: &str) -> i64 {
    let mut crc = !0u32;
    for b in database.as_bytes() {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    0x3d32_ad9e * i64::from(!crc)
}

/// Whether some session waits for the advisory lock `key` in this database.
async fn someone_waits_for(pool: &PgPool, key: i64) -> bool {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_locks
          WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND ((classid::bigint << 32) | objid::bigint) = $1)",
    )
    .bind(key)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Runs `berth args…` and expects success within 30 s: a one-shot command
/// that waited on a lock held by the test would not finish.
async fn quickly(url: &str, args: &[&str]) -> String {
    let child = command(url, args).spawn().expect("berth runs");
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("berth {args:?} hung: it waits on a start-up lock"))
        .expect("berth output");
    assert!(
        out.status.success(),
        "berth {args:?} failed: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

const CREATE: [&str; 8] = [
    "--dev",
    "--json",
    "bots",
    "create",
    "--meeting-platform",
    "zoom",
    "--meeting-url",
    "https://zoom.us/j/5551234567",
];

#[tokio::test]
async fn one_shot_commands_take_neither_the_migration_nor_the_settings_lock() {
    let db = support::migrated("oneshot_locks").await;
    let name: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let migration_key = migration_lock_key(&name);
    quickly(&db.url, INSTANT_K8S).await;

    // Another session holds both start-up locks for the whole test.
    let mut holder = PgConnection::connect(&db.url).await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(migration_key)
        .execute(&mut holder)
        .await
        .unwrap();
    // The settings lock (`settings::lock`).
    sqlx::query("SELECT pg_advisory_lock(hashtext('berth.settings'))")
        .execute(&mut holder)
        .await
        .unwrap();

    // Routing, releasing, cancelling and reading all finish regardless.
    let created: Value = serde_json::from_str(&quickly(&db.url, &CREATE).await).unwrap();
    assert_eq!(created["result"], "deployed", "{created}");
    let first = created["botId"].as_i64().expect("botId").to_string();
    quickly(&db.url, &["--dev", "bots", "status", &first, "DONE"]).await;
    let created: Value = serde_json::from_str(&quickly(&db.url, &CREATE).await).unwrap();
    let second = created["botId"].as_i64().expect("botId").to_string();
    quickly(&db.url, &["--dev", "bots", "cancel", &second]).await;
    for read in [
        &["bots", "show", first.as_str()][..],
        &["bots", "list"],
        &["queue"],
        &["status"],
        &["slots"],
        &["sim", "show"],
    ] {
        quickly(&db.url, read).await;
    }
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(applied > 0);

    // Control: the keys are the ones start-up takes. `migrate` waits for
    // the migration lock, then (once it is free) for the settings lock.
    let migrate = command(&db.url, &["--dev", "migrate"]);
    let running = tokio::spawn(finish(migrate, Duration::from_secs(60)));
    eventually(
        Duration::from_secs(30),
        "migrate waits for the migration lock",
        || {
            let pool = db.pool.clone();
            async move { someone_waits_for(&pool, migration_key).await.then_some(()) }
        },
    )
    .await;
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(migration_key)
        .execute(&mut holder)
        .await
        .unwrap();
    let settings_key: i64 = sqlx::query_scalar("SELECT hashtext('berth.settings')::bigint")
        .fetch_one(&mut holder)
        .await
        .unwrap();
    eventually(
        Duration::from_secs(30),
        "migrate waits for the settings lock",
        || {
            let pool = db.pool.clone();
            async move { someone_waits_for(&pool, settings_key).await.then_some(()) }
        },
    )
    .await;
    sqlx::query("SELECT pg_advisory_unlock(hashtext('berth.settings'))")
        .execute(&mut holder)
        .await
        .unwrap();
    let out = running.await.unwrap();
    assert!(out.status.success(), "migrate: {}", text(&out.stderr));
    holder.close().await.ok();
    db.drop_db().await;
}

#[tokio::test]
async fn a_schema_behind_the_build_is_refused_and_left_as_it_is() {
    let db = support::migrated("oneshot_behind").await;
    // The newest migration "not yet applied": the database is one behind.
    let newest: i64 = sqlx::query_scalar(
        "DELETE FROM _sqlx_migrations
          WHERE version = (SELECT max(version) FROM _sqlx_migrations) RETURNING version",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let expected = format!(
        "error[schema_outdated]: the database schema is behind this build (1 migration pending, up to {newest}): run `berth migrate`"
    );
    for args in [
        &CREATE[..],
        &["--dev", "--json", "bots", "status", "1", "DONE"],
        &["--json", "queue"],
        &["--json", "status"],
        &["--json", "bots", "list"],
    ] {
        let out = berth(&db.url, args).await;
        assert_eq!(out.status.code(), Some(1), "berth {args:?}");
        assert_eq!(text(&out.stderr).trim_end(), expected, "berth {args:?}");
        let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
        assert_eq!(doc["error"]["code"], "schema_outdated", "{doc}");
    }
    // Nothing was migrated, nothing written.
    let back: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM _sqlx_migrations WHERE version = $1)")
            .bind(newest)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(!back, "a one-shot command applied migration {newest}");
    let bots: i64 = sqlx::query_scalar("SELECT count(*) FROM bots")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(bots, 0);
    db.drop_db().await;
}
