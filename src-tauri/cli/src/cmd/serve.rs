//! `berth serve`: a headless instance until Ctrl-C or SIGTERM.

use berth_core::{Berth, Result};
use serde_json::json;

use crate::connect::shutdown_signal;
use crate::output::{self, Ctx};

/// Runs the command.
pub async fn run(ctx: Ctx) -> Result<()> {
    let builder = Berth::from_env(ctx.dev)?.background(true);
    let database = builder.location().unwrap_or_default();
    let berth = builder.start().await?;
    let mode = if ctx.dev {
        "development mode: simulated platforms"
    } else {
        "production mode"
    };
    if ctx.json {
        output::json_line(&json!({
            "event": "started", "instance": berth.id, "dev": ctx.dev, "database": database,
        }))?;
    } else {
        output::emit(format!(
            "berth serve: instance {} ({mode}); database: {database}; Ctrl-C or SIGTERM stops it",
            berth.id
        ));
    }
    let signal = shutdown_signal().await;
    tracing::info!(signal, "shutting down");
    let id = berth.id;
    berth.shutdown().await?;
    if ctx.json {
        output::json_line(&json!({ "event": "stopped", "instance": id, "signal": signal }))?;
    } else {
        output::emit(format!("berth serve: instance {id} stopped ({signal})"));
    }
    Ok(())
}
