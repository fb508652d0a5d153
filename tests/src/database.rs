//! Test databases on the server `DATABASE_URL` names: the URL of a test's
//! own database, and databases made by hand for tests that run Berth as a
//! child process (`#[sqlx::test]` makes its own for in-process tests).

use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool};

/// `url` with its database replaced by `name` (query string kept; a URL
/// without a database part gets one).
pub fn with_database(url: &str, name: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let authority_start = head.find("://").map_or(0, |i| i + 3);
    let base = match head[authority_start..].find('/') {
        Some(i) => &head[..authority_start + i],
        None => head,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// The URL of `db`'s own database: `DATABASE_URL` with its database part
/// replaced (what an instance of that test would connect with).
pub fn database_url_of(db: &PgPool) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let name = db
        .connect_options()
        .get_database()
        .expect("the test database has a name")
        .to_string();
    with_database(&base, &name)
}

/// A database created for one test, dropped by [`TestDb::drop_db`] (not on
/// drop: that needs a runtime, and a failed test's database is worth a look).
pub struct TestDb {
    admin_url: String,
    name: String,
    /// Its URL, for a child process.
    pub url: String,
    /// A pool on it, for the test's own checks.
    pub pool: PgPool,
}

impl TestDb {
    /// Creates an empty `berth_<tag>_<pid>_<nanos>` on `DATABASE_URL`'s
    /// server (no schema: whatever the test runs migrates it).
    pub async fn new(tag: &str) -> TestDb {
        let admin_url = std::env::var("DATABASE_URL").expect(
            "DATABASE_URL=postgres://USER@HOST:PORT/postgres (a user that may CREATE DATABASE)",
        );
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("berth_{tag}_{}_{nanos}", std::process::id());
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .expect("admin connection");
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await
            .expect("test database created");
        admin.close().await.ok();
        let url = with_database(&admin_url, &name);
        let pool = PgPool::connect(&url)
            .await
            .expect("test database reachable");
        TestDb {
            admin_url,
            name,
            url,
            pool,
        }
    }

    /// Drops the database (and any session still on it).
    pub async fn drop_db(self) {
        self.pool.close().await;
        if let Ok(mut admin) = PgConnection::connect(&self.admin_url).await {
            let _ = sqlx::raw_sql(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            )))
            .execute(&mut admin)
            .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_names_are_swapped_in_urls() {
        assert_eq!(
            with_database("postgres://u@h:1/postgres", "x"),
            "postgres://u@h:1/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h:1/postgres?sslmode=disable", "x"),
            "postgres://u:p@h:1/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h:1", "x"), "postgres://u@h:1/x");
    }
}
