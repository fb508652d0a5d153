//! `berth serve`: a headless instance until Ctrl-C or SIGTERM, hosting the
//! HTTP API when `--listen` (`BERTH_API_ADDR`) is given.

use berth_api::{Api, ApiState, TlsFiles};
use berth_core::{Berth, Result};
use serde_json::json;

use crate::cli::ServeArgs;
use crate::connect::shutdown_signal;
use crate::output::{self, Ctx};

/// Runs the command.
pub async fn run(ctx: Ctx, args: ServeArgs) -> Result<()> {
    // Listening before "started" is printed: whoever waits for that line
    // may send SIGTERM at once, and it must stop us gracefully.
    let signal = shutdown_signal();
    let builder = Berth::from_env(ctx.dev)?.background(true);
    let database = builder.location().unwrap_or_default();
    let berth = builder.start().await?;
    let api = match bind_api(&berth, &args).await {
        Ok(api) => api,
        Err(e) => {
            berth.shutdown().await?;
            return Err(e);
        }
    };
    let listening = api
        .as_ref()
        .map(|a| format!("{}://{}", a.scheme(), a.local_addr()));
    let mode = if ctx.dev {
        "development mode: simulated platforms"
    } else {
        "production mode"
    };
    if ctx.json {
        output::json_line(&json!({
            "event": "started", "instance": berth.id, "dev": ctx.dev, "database": database,
            "api": listening,
        }))?;
    } else {
        output::emit(format!(
            "berth serve: instance {} ({mode}); database: {database}; Ctrl-C or SIGTERM stops it",
            berth.id
        ));
        if let Some(url) = &listening {
            output::emit(format!("berth serve: HTTP API on {url}"));
        }
    }
    let (signalled, stop_api) = tokio::sync::oneshot::channel::<()>();
    let serving = api.map(|api| {
        tokio::spawn(api.run(async move {
            let _ = stop_api.await;
        }))
    });
    let signal = signal.await;
    tracing::info!(signal, "shutting down");
    // The API first: no new request reaches an instance that is stopping.
    let _ = signalled.send(());
    if let Some(task) = serving {
        match task.await {
            Ok(Err(e)) => tracing::warn!(error = %e, "API: stopped with an error"),
            Err(e) => tracing::warn!(error = %e, "API: task failed"),
            Ok(Ok(())) => {}
        }
    }
    let id = berth.id;
    berth.shutdown().await?;
    if ctx.json {
        output::json_line(&json!({ "event": "stopped", "instance": id, "signal": signal }))?;
    } else {
        output::emit(format!("berth serve: instance {id} stopped ({signal})"));
    }
    Ok(())
}

/// The API bound to `--listen` (with TLS from `--tls-cert`/`--tls-key`),
/// or `None` when not asked for.
async fn bind_api(berth: &Berth, args: &ServeArgs) -> Result<Option<Api>> {
    let Some(addr) = args.listen else {
        return Ok(None);
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    };
    let state = ApiState::for_instance(berth);
    Ok(Some(Api::bind(state, addr, tls.as_ref()).await?))
}
