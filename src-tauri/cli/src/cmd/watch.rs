//! `berth watch`: the change feed, one line per event, until Ctrl-C.
//!
//! Runs the feed's listener on a direct connection (no instance, no
//! adapters), so it works in production mode too and changes nothing.

use berth_core::feed::{ChangeEvent, Feed};
use berth_core::{Error, ErrorCode, Result};
use chrono::Utc;
use tokio::sync::broadcast::error::RecvError;

use crate::connect::{shutdown_signal, with_db};
use crate::output::{self, Ctx};

fn human(event: &ChangeEvent) -> String {
    match event {
        ChangeEvent::Changed { origin, topics, .. } => {
            let topics: Vec<String> = topics
                .iter()
                .map(|t| {
                    serde_json::to_value(t)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_else(|| format!("{t:?}"))
                })
                .collect();
            let short: String = origin.to_string().chars().take(8).collect();
            format!("changed  {}  (instance {short})", topics.join(", "))
        }
        ChangeEvent::Resync => {
            "resync   listening (notices may have been missed before this: reload everything)"
                .into()
        }
        ChangeEvent::Disconnected { message } => format!("disconnected  {message}"),
    }
}

/// Prints one event; `false` when stdout is gone.
fn print(ctx: Ctx, event: &ChangeEvent) -> Result<bool> {
    let now = Utc::now();
    if ctx.json {
        let mut doc = serde_json::to_value(event)
            .map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))?;
        if let Some(map) = doc.as_object_mut() {
            map.insert("at".into(), serde_json::json!(now));
        }
        return output::json_line(&doc);
    }
    let at = now.with_timezone(&chrono::Local).format("%H:%M:%S%.3f");
    Ok(output::emit(format!("{at}  {}", human(event))))
}

/// Runs the command.
pub async fn run(ctx: Ctx) -> Result<()> {
    with_db(async |db| {
        let feed = Feed::new(uuid::Uuid::new_v4(), true);
        let mut events = feed.subscribe();
        let tasks = feed.spawn(db.pool.clone());
        let signal = shutdown_signal();
        eprintln!("watching changes in {} (Ctrl-C to stop)", db.location);
        tokio::pin!(signal);
        let result = loop {
            tokio::select! {
                _ = &mut signal => break Ok(()),
                ev = events.recv() => match ev {
                    Ok(event) => match print(ctx, &event) {
                        Ok(true) => {}
                        Ok(false) => break Ok(()),
                        Err(e) => break Err(e),
                    },
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "fell behind the feed; reload everything");
                        if !print(ctx, &ChangeEvent::Resync)? {
                            break Ok(());
                        }
                    }
                    Err(RecvError::Closed) => break Ok(()),
                },
            }
        };
        for t in tasks {
            t.abort();
        }
        result
    })
    .await
}
