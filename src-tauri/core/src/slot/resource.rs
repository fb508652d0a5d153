//! A slot's platform resource as the database records it: which resources
//! are known, forgetting a vanished one, adopting one whose database write
//! was lost. Each is one statement; none sends a notification.

use sqlx::PgPool;
use std::collections::HashSet;

use crate::error::Result;
use crate::meeting::PlatformKind;

/// Every platform resource a slot on `kind` records.
pub async fn platform_refs(db: &PgPool, kind: PlatformKind) -> Result<HashSet<String>> {
    Ok(sqlx::query_scalar(
        "SELECT platform_ref FROM pool_slots WHERE deployment_platform = $1 AND platform_ref IS NOT NULL",
    )
    .bind(kind.as_str())
    .fetch_all(db)
    .await?
    .into_iter()
    .collect())
}

/// Forgets slot `id`'s resource, if it still records `platform_ref` (the
/// resource is gone: the next deploy creates a new one); whether it did.
pub async fn forget_platform_ref(db: &PgPool, id: i64, platform_ref: &str) -> Result<bool> {
    let forgot = sqlx::query(
        "UPDATE pool_slots SET platform_ref = NULL WHERE id = $1 AND platform_ref = $2",
    )
    .bind(id)
    .bind(platform_ref)
    .execute(db)
    .await?;
    Ok(forgot.rows_affected() == 1)
}

/// The slot a resource's owner marker names.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Marked {
    /// Slot id.
    pub id: i64,
    /// Its lease epoch.
    pub epoch: i64,
    /// The resource it records, if any.
    pub platform_ref: Option<String>,
    /// Its pool.
    pub pool: String,
}

/// The slot named `slot_name` on `kind`, if there is one.
pub async fn marked(db: &PgPool, slot_name: &str, kind: PlatformKind) -> Result<Option<Marked>> {
    Ok(sqlx::query_as(
        "SELECT id, epoch, platform_ref, pool FROM pool_slots WHERE slot_name = $1 AND deployment_platform = $2",
    )
    .bind(slot_name)
    .bind(kind.as_str())
    .fetch_optional(db)
    .await?)
}

/// Records `resource` on slot `id` if it records none; whether it did.
pub async fn adopt_platform_ref(db: &PgPool, id: i64, resource: &str) -> Result<bool> {
    let adopted = sqlx::query(
        "UPDATE pool_slots SET platform_ref = $2 WHERE id = $1 AND platform_ref IS NULL",
    )
    .bind(id)
    .bind(resource)
    .execute(db)
    .await?;
    Ok(adopted.rows_affected() == 1)
}

/// Idle slots of pool `pool`.
pub async fn idle_count(db: &PgPool, pool: &str) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM pool_slots WHERE pool = $1 AND status = 'idle'")
            .bind(pool)
            .fetch_one(db)
            .await?,
    )
}
