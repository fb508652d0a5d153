//! `berth tokens create|list|revoke`: API tokens for the HTTP API. A new
//! token is printed once (stdout only); Berth keeps its hash.

use berth_core::actor::Actor;
use berth_core::token::{self, Scope};
use berth_core::Result;
use chrono::Utc;
use serde_json::json;

use crate::connect::with_db;
use crate::output::{self, Ctx};

/// `berth tokens create`.
pub async fn create(ctx: Ctx, scope: Scope, name: &str, tiers: &token::Tiers) -> Result<()> {
    let created = with_db(async |db| {
        token::create_with_tiers(&db.pool, name, scope, tiers, &Actor::cli()).await
    })
    .await?;
    if ctx.json {
        return output::json(&json!({
            "name": created.name, "scope": created.scope, "token": created.token,
        }));
    }
    output::emit(format!(
        "token {:?} ({}) created; it is shown only now, keep it somewhere safe:",
        created.name, created.scope
    ));
    output::emit(&created.token);
    Ok(())
}

/// `berth tokens list`.
pub async fn list(ctx: Ctx) -> Result<()> {
    let tokens = with_db(async |db| token::list(&db.pool).await).await?;
    if ctx.json {
        return output::json(&tokens);
    }
    if tokens.is_empty() {
        output::emit(
            "no API tokens (create one with `berth tokens create --scope bots:write --name NAME`)",
        );
        return Ok(());
    }
    let now = Utc::now();
    let mut t = output::table(["name", "scope", "tiers", "created", "by", "revoked"]);
    for k in &tokens {
        t.add_row(vec![
            k.name.clone(),
            k.scope.clone(),
            format!(
                "default {}, up to {}",
                k.default_tier.as_deref().unwrap_or("-"),
                k.max_tier.as_deref().unwrap_or("any")
            ),
            format!(
                "{} ({})",
                output::time(k.created_at),
                output::ago(k.created_at, now)
            ),
            k.created_by.clone(),
            match (&k.revoked_at, &k.revoked_by) {
                (Some(at), Some(by)) => format!("{} by {by}", output::time(*at)),
                _ => "-".to_string(),
            },
        ]);
    }
    output::emit(t);
    Ok(())
}

/// `berth tokens revoke`.
pub async fn revoke(ctx: Ctx, name: &str) -> Result<()> {
    let info = with_db(async |db| token::revoke(&db.pool, name, &Actor::cli()).await).await?;
    if ctx.json {
        return output::json(&info);
    }
    output::emit(format!("token {:?} revoked; it no longer works", info.name));
    Ok(())
}
