//! Where an instance's database is, and opening it: the one code path
//! behind every face's connection (the desktop's and `berth serve`'s
//! instances, a CLI command's short connection, the tests').

use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;
use std::path::PathBuf;
use std::str::FromStr;

use crate::config::var;
use crate::db::{self, embedded::EmbeddedPostgres};
use crate::error::Result;

/// Where the database is: a server at a URL, or the embedded cluster in a
/// data directory (started, or joined when another process runs it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// A server at this URL (`DATABASE_URL`). It may hold a password:
    /// never log it; show [`Database::location`] instead.
    Url(String),
    /// The embedded cluster in this data directory.
    Embedded(PathBuf),
}

/// What opening does with the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Apply pending migrations (instances that prepare the database, `berth migrate`).
    Migrate,
    /// Refuse a schema that is not exactly this build's (`schema_outdated`),
    /// reading only ([`db::check_schema`]).
    Check,
    /// Leave it alone (`berth migrate` reads it before migrating).
    AsIs,
}

impl Database {
    /// `DATABASE_URL` if set and not blank, else the embedded cluster in
    /// `BERTH_DATA_DIR` (or the default data directory).
    pub fn from_env() -> Database {
        match var::database_url(&var::process) {
            Some(url) => Database::Url(url),
            None => Database::Embedded(db::embedded::default_data_dir()),
        }
    }

    /// Where the database is, for people: the URL without its password (or
    /// any parameter, which might carry one), or the embedded cluster's
    /// directory.
    pub fn location(&self) -> String {
        match self {
            Database::Embedded(dir) => format!("embedded ({})", dir.display()),
            Database::Url(url) => match PgConnectOptions::from_str(url) {
                Ok(o) => format!(
                    "postgres://{}@{}:{}/{}",
                    o.get_username(),
                    o.get_host(),
                    o.get_port(),
                    o.get_database().unwrap_or_default()
                ),
                Err(_) => "DATABASE_URL (unreadable)".to_string(),
            },
        }
    }

    /// A short connection for one command: no adapters, no background
    /// services, nothing written unless `schema` says [`Schema::Migrate`].
    /// The embedded cluster is started if no process runs it, and stopped by
    /// [`Connection::close`] only if this process started it.
    pub async fn connect(&self, max_connections: u32, schema: Schema) -> Result<Connection> {
        self.open(max_connections, None, schema).await
    }

    /// Opens the database: the embedded cluster started if needed, a pool
    /// whose connections report `application` (when given, the embedded
    /// server also tells them from other clients'), the schema handled as
    /// `schema` says. On failure the embedded cluster this call started is
    /// stopped again.
    pub(super) async fn open(
        &self,
        max_connections: u32,
        application: Option<&str>,
        schema: Schema,
    ) -> Result<Connection> {
        let (url, mut embedded) = match self {
            Database::Url(url) => (url.clone(), None),
            Database::Embedded(dir) => {
                let mut pg = EmbeddedPostgres::start(dir).await?;
                if let Some(app) = application {
                    pg.set_own_application(app);
                }
                (pg.url(), Some(pg))
            }
        };
        let opened = async {
            let pool =
                db::connect_as(&url, max_connections, application.unwrap_or("berth")).await?;
            let checked = match schema {
                Schema::Migrate => db::migrate(&pool).await,
                Schema::Check => db::check_schema(&pool).await,
                Schema::AsIs => Ok(()),
            };
            if let Err(e) = checked {
                pool.close().await;
                return Err(e);
            }
            Ok(pool)
        }
        .await;
        match opened {
            Ok(pool) => Ok(Connection {
                pool,
                location: self.location(),
                url,
                embedded,
            }),
            Err(e) => {
                if let Some(pg) = embedded.as_mut() {
                    let _ = pg.stop().await;
                }
                Err(e)
            }
        }
    }
}

/// An open database, with the embedded cluster it started (if any).
pub struct Connection {
    /// The connection pool.
    pub pool: PgPool,
    /// Where it is ([`Database::location`]: no password).
    pub location: String,
    /// The URL connected to (may hold a password: never print it).
    pub url: String,
    embedded: Option<EmbeddedPostgres>,
}

impl Connection {
    /// Closes the pool and stops the embedded cluster if this process
    /// started it (and no other client uses it).
    pub async fn close(mut self) -> Result<()> {
        self.pool.close().await;
        if let Some(mut pg) = self.embedded.take() {
            pg.stop().await?;
        }
        Ok(())
    }

    /// A connection of parts an instance kept (to close them on a failed start).
    pub(super) fn from_parts(
        pool: PgPool,
        url: String,
        embedded: Option<EmbeddedPostgres>,
    ) -> Connection {
        Connection {
            pool,
            location: String::new(),
            url,
            embedded,
        }
    }

    /// The parts an instance keeps.
    pub(super) fn into_parts(self) -> (PgPool, String, Option<EmbeddedPostgres>) {
        (self.pool, self.url, self.embedded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let url = "postgres://berth:s3cret@db.example:6543/prod?password=other&sslmode=require";
        let shown = Database::Url(url.into()).location();
        assert_eq!(shown, "postgres://berth@db.example:6543/prod");
        assert!(!shown.contains("s3cret") && !shown.contains("other"));
        assert_eq!(
            Database::Embedded("/data".into()).location(),
            "embedded (/data)"
        );
    }
}
