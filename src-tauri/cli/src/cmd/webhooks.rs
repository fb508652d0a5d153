//! `berth webhooks add|list|remove|log|bot-secret`: outgoing webhooks.

use berth_core::actor::Actor;
use berth_core::webhook::{self, log::DeliveryState, EventType, NewSubscription};
use berth_core::Result;
use chrono::Utc;

use crate::connect::with_db;
use crate::output::{self, Ctx};

/// `berth webhooks add`.
pub async fn add(ctx: Ctx, url: String, events: Vec<EventType>, name: String) -> Result<()> {
    let new = NewSubscription { name, url, events };
    let created =
        with_db(async |db| webhook::subscription::add(&db.pool, &Actor::cli(), &new).await).await?;
    if ctx.json {
        return output::json(&created);
    }
    let s = &created.subscription;
    output::emit(format!(
        "webhook {} added: {} receives {}",
        s.name,
        s.url,
        types(&s.events)
    ));
    output::emit(format!(
        "signing secret (shown only now): {}",
        created.secret.expose()
    ));
    Ok(())
}

/// `berth webhooks list`.
pub async fn list(ctx: Ctx) -> Result<()> {
    let all = with_db(async |db| webhook::subscription::list(&db.pool).await).await?;
    if ctx.json {
        return output::json(&all);
    }
    if all.is_empty() {
        output::emit(
            "no webhooks; add one with `berth webhooks add URL --events TYPE,... --name NAME`",
        );
        return Ok(());
    }
    let mut t = output::table(["name", "url", "events", "added", "by"]);
    for s in &all {
        t.add_row(vec![
            s.name.clone(),
            s.url.clone(),
            types(&s.events),
            output::time(s.created_at),
            s.created_by.clone(),
        ]);
    }
    output::emit(t);
    Ok(())
}

/// `berth webhooks remove`.
pub async fn remove(ctx: Ctx, name: String) -> Result<()> {
    let removed =
        with_db(async |db| webhook::subscription::remove(&db.pool, &Actor::cli(), &name).await)
            .await?;
    if ctx.json {
        return output::json(&serde_json::json!({ "removed": removed }));
    }
    output::emit(format!("webhook {} removed", removed.name));
    Ok(())
}

/// `berth webhooks log`.
pub async fn log(ctx: Ctx, name: Option<String>, limit: i64) -> Result<()> {
    let (entries, backlog) = with_db(async |db| {
        let entries = webhook::log::log(&db.pool, name.as_deref(), limit).await?;
        let backlog = webhook::backlog(&db.pool, Utc::now()).await?;
        Ok((entries, backlog))
    })
    .await?;
    if ctx.json {
        return output::json(&entries);
    }
    if entries.is_empty() {
        output::emit("no deliveries yet");
        return Ok(());
    }
    let now = Utc::now();
    let mut t = output::table([
        "event", "type", "to", "state", "attempts", "last", "next try",
    ]);
    for d in &entries {
        let to = match (&d.webhook, d.bot_id) {
            (Some(name), _) => name.clone(),
            (None, Some(bot)) => format!("bot #{bot}'s URL"),
            (None, None) => "-".into(),
        };
        let last = match (d.last_status, &d.last_error) {
            (_, Some(e)) => e.clone(),
            (Some(s), None) => format!("HTTP {s}"),
            (None, None) => "-".into(),
        };
        let next = match (d.state, d.next_attempt_at) {
            (DeliveryState::Pending, Some(at)) if at > now => output::clock(at),
            (DeliveryState::Pending, _) => "now".into(),
            _ => "-".into(),
        };
        t.add_row(vec![
            d.event_id.to_string(),
            d.event_type.clone(),
            to,
            format!("{:?}", d.state).to_lowercase(),
            d.attempts.to_string(),
            last,
            next,
        ]);
    }
    output::emit(t);
    output::emit(format!(
        "deliveries: {} pending ({} retrying), {} failed",
        backlog.pending, backlog.retrying, backlog.failed
    ));
    Ok(())
}

/// `berth webhooks bot-secret`.
pub async fn bot_secret(ctx: Ctx) -> Result<()> {
    let secret = with_db(async |db| webhook::secret::bot_url_secret(&db.pool).await).await?;
    if ctx.json {
        return output::json(&serde_json::json!({ "secret": secret.expose() }));
    }
    output::emit(secret.expose());
    Ok(())
}

fn types(events: &[EventType]) -> String {
    events
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
