//! Berth's desktop app: a thin Tauri 2 shell over `berth-core`.
//!
//! It starts the core (embedded database, or `DATABASE_URL`) in the
//! background, registers every command and event in one typed bridge
//! ([`bridge`]), forwards the core's change feed as the typed
//! [`events::ChangeEvent`], and stops the core gracefully on exit. The
//! TypeScript bindings (`ui/src/bindings.ts`) are generated from the same
//! bridge by the `export_bindings` test.

pub mod alerts;
pub mod api;
pub mod closing;
pub mod commands;
pub mod dto;
pub mod events;
pub mod state;
pub mod webview;

use std::path::Path;
use std::sync::Arc;

use tauri::{AppHandle, Manager, RunEvent, WindowEvent};
use tauri_specta::{collect_commands, collect_events, Event};

use crate::events::{ChangeEvent, ChangeKind};
use crate::state::Core;

/// Where the generated TypeScript bindings live, from the workspace root.
pub const BINDINGS_PATH: &str = "ui/src/bindings.ts";

const BINDINGS_HEADER: &str = "// Generated from src-tauri (berth-desktop) by `cargo test -p berth-desktop export_bindings`.\n// Do not edit by hand: CI regenerates this file and fails when it differs.\n";

/// The one place every command and event is registered.
pub fn bridge() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::<tauri::Wry>::new()
        .commands(collect_commands![
            commands::pool_stats,
            commands::list_pools,
            commands::queue_entries,
            commands::queue_stats,
            commands::history,
            commands::list_slots,
            commands::slots_by_ids,
            commands::platforms_overview,
            commands::get_settings,
            commands::save_settings,
            commands::settings_history,
            commands::settings_rules,
            commands::bot_details,
            commands::bots,
            commands::bot_timeline,
            commands::connection_status,
            commands::list_definitions,
            commands::get_definition,
            commands::pool_scaling,
            commands::validate_definition,
            commands::test_definition,
            commands::save_definition,
            commands::apply_definition,
            commands::refresh_accounts,
            commands::delete_definition,
            commands::definition_schema,
            commands::query_tables,
            commands::table_columns,
            commands::read_definition_file,
            commands::repair_definition,
            commands::deploy_bots,
            commands::schedule::upcoming_schedule,
            commands::schedule::reschedule_bot,
            commands::actions::slot_action,
            commands::actions::cancel_bot,
            commands::actions::set_bot_priority,
            commands::actions::reroute_bot,
            commands::actions::redeploy_bot,
            commands::actions::drain_platform,
            commands::actions::undrain_platform,
            commands::actions::audit_log,
            closing::answer_close,
            alerts::set_alert_kinds,
            alerts::recent_alerts,
        ])
        .events(collect_events![
            ChangeEvent,
            closing::CloseRequested,
            alerts::AlertsRaised
        ])
        // The core's limit, so the deploy form checks the same number.
        .constant("MAX_BATCH", berth_core::lifecycle::MAX_BATCH)
        // How many slot ids the UI may read at once before it reads the list.
        .constant("MAX_SLOTS_BY_IDS", berth_core::slot::MAX_BY_IDS)
        // One TypeScript type per Rust type (not separate serialize and
        // deserialize shapes): outputs are only serialized, inputs only
        // deserialized, and `Option` fields are always present (as `null`).
        .disable_serde_phases()
}

/// Writes the TypeScript bindings of [`bridge`] to `path`.
///
/// `path` is written only when its text changes: a rewrite with the same
/// text would make `ui/src` look newer than `ui/dist`, and `scripts/run.sh`
/// would rebuild the UI (and recompile the app that embeds it) for nothing.
pub fn export_bindings(path: &Path) -> Result<(), specta_typescript::Error> {
    // Exported outside `path`'s directory: a file created and removed there
    // would change the directory's mtime, which counts as a change too.
    let fresh = std::env::temp_dir().join(format!("berth-bindings-{}.ts", std::process::id()));
    bridge().export(
        specta_typescript::Typescript::default().header(BINDINGS_HEADER),
        &fresh,
    )?;
    let text = std::fs::read(&fresh);
    let _ = std::fs::remove_file(&fresh);
    let text = text?;
    if std::fs::read(path).ok().as_deref() != Some(text.as_slice()) {
        std::fs::write(path, text)?;
    }
    Ok(())
}

/// Development mode: `--dev` or `BERTH_DEV=1` (also `true`/`yes`/`on`).
pub fn dev_mode(args: impl IntoIterator<Item = String>, env: Option<String>) -> bool {
    flag("--dev", args, env)
}

/// Demo traffic (development mode only): `--demo` or `BERTH_DEMO=1`.
pub fn demo_mode(args: impl IntoIterator<Item = String>, env: Option<String>) -> bool {
    flag("--demo", args, env)
}

fn flag(name: &str, args: impl IntoIterator<Item = String>, env: Option<String>) -> bool {
    args.into_iter().any(|a| a == name)
        || env.is_some_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        })
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,berth_core=info,berth_desktop=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Starts the core and, once it runs, forwards its feed to the window. While
/// the database cannot be reached, commands return that error and the start
/// is retried, so the app recovers by itself when the database comes back.
async fn start_core(app: AppHandle, dev: bool, demo: bool) {
    let core = app.state::<Core>();
    let mut backoff = std::time::Duration::from_secs(2);
    loop {
        match core.start(dev).await {
            Ok(berth) => {
                tracing::info!(instance = %berth.id, dev, demo, "core started");
                if demo {
                    core.start_demo(&berth);
                }
                core.watch_pools(
                    &berth,
                    &berth_core::definition::pools_dir(|k| std::env::var_os(k)),
                );
                let rx = berth.router().feed().subscribe();
                let clock = berth.router().clock().clone();
                let watcher = alerts::Watcher::new(
                    app.state::<Arc<alerts::AlertKinds>>().inner().clone(),
                    Arc::new(alerts::PluginNotifier(app.clone())),
                );
                tauri::async_runtime::spawn(alerts::run(
                    app.clone(),
                    watcher,
                    app.state::<Arc<alerts::AlertLog>>().inner().clone(),
                    berth.db().clone(),
                    clock.clone(),
                    berth.router().feed().subscribe(),
                ));
                drop(berth);
                // Whatever the window showed before (an error), reload it all.
                let _ = ChangeEvent::from(berth_core::feed::ChangeEvent::Resync).emit(&app);
                events::forward(app.clone(), rx, clock, core.feed.clone()).await;
                return;
            }
            Err(e) => {
                tracing::error!(code = %e.code, "core did not start: {}", e.message);
                let event = ChangeEvent {
                    kind: ChangeKind::Disconnected,
                    topics: Vec::new(),
                    message: Some(e.message.clone()),
                    slot_ids: None,
                };
                core.feed.saw(&event, chrono::Utc::now());
                let _ = event.emit(&app);
                let transient = matches!(
                    e.code,
                    berth_core::ErrorCode::DatabaseUnavailable
                        | berth_core::ErrorCode::EmbeddedDatabase
                );
                if !transient || core.is_stopped() {
                    return; // a configuration error does not fix itself
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(std::time::Duration::from_secs(30));
                if core.is_stopped() {
                    return;
                }
            }
        }
    }
}

/// Ctrl-C or SIGTERM quits the app without asking (also when its window
/// is hidden, serving in the background), and the core stops gracefully
/// (leadership handed over, embedded database stopped).
async fn exit_on_signal(app: AppHandle) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "SIGTERM not handled");
                let _ = tokio::signal::ctrl_c().await;
                app.exit(0);
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("stopping on signal");
    app.exit(0);
}

/// Graceful stop of the core when the app exits.
fn stop_core(app: &AppHandle) {
    let core = app.state::<Core>();
    let demo = core.take_demo();
    let Some(berth) = core.take() else {
        return;
    };
    tauri::async_runtime::block_on(async move {
        if let Some(traffic) = demo {
            traffic.stop().await;
        }
        // A command or task may still hold the core for a moment.
        let berth = unique(berth, std::time::Duration::from_secs(5)).await;
        match berth {
            Ok(berth) => {
                match tokio::time::timeout(std::time::Duration::from_secs(15), berth.shutdown())
                    .await
                {
                    Ok(Ok(())) => tracing::info!("core stopped"),
                    Ok(Err(e)) => tracing::warn!(error = %e, "core stopped with an error"),
                    Err(_) => tracing::warn!("core did not stop within 15 s"),
                }
            }
            Err(_) => tracing::warn!("core still in use at exit; its tasks are aborted"),
        }
    });
}

/// `berth` once no one else holds it (or back as `Err` after `limit`).
async fn unique(
    mut berth: Arc<berth_core::Berth>,
    limit: std::time::Duration,
) -> Result<berth_core::Berth, Arc<berth_core::Berth>> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match Arc::try_unwrap(berth) {
            Ok(b) => return Ok(b),
            Err(shared) if tokio::time::Instant::now() < deadline => {
                berth = shared;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(shared) => return Err(shared),
        }
    }
}

/// Runs the desktop app until it quits: its window closed (asking first
/// when that would stop work, see [`closing`]), Ctrl-C or SIGTERM.
pub fn run() {
    if let Err(e) = webview::prepare_environment() {
        eprintln!("berth-desktop: error[{}]: {e}", e.code().as_str());
        std::process::exit(1);
    }
    init_logging();
    if cfg!(target_os = "linux")
        && std::env::var_os("DISPLAY").is_none()
        && std::env::var_os("WAYLAND_DISPLAY").is_none()
    {
        eprintln!(
            "berth-desktop: no display (neither DISPLAY nor WAYLAND_DISPLAY is set).\n\
             Run it under a virtual display instead:\n  \
             xvfb-run -a -s \"-screen 0 1280x800x24\" berth-desktop\n\
             or use the headless command line: berth serve"
        );
        std::process::exit(1);
    }
    let dev = dev_mode(std::env::args().skip(1), std::env::var("BERTH_DEV").ok());
    let demo = demo_mode(std::env::args().skip(1), std::env::var("BERTH_DEMO").ok());
    if demo && !dev {
        eprintln!(
            "berth-desktop: --demo (BERTH_DEMO) needs development mode: add --dev (or BERTH_DEV=1)"
        );
        std::process::exit(2);
    }
    let bridge = bridge();
    let app = tauri::Builder::default()
        .manage(Core::default())
        .manage(closing::Closing::default())
        .manage(Arc::new(alerts::AlertKinds::default()))
        .manage(Arc::new(alerts::AlertLog::default()))
        // Native notifications, sent from Rust (alerts): the web view gets
        // no notification permission.
        .plugin(tauri_plugin_notification::init())
        .invoke_handler(bridge.invoke_handler())
        // The window and its web view paint the theme's background
        // (tauri.conf.json `backgroundColor`) before the page has loaded:
        // no white flash at start.
        // Closing the window asks first when it would stop work (see `closing`).
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                if window.label() == "main" {
                    closing::on_close_requested(window.app_handle(), api);
                }
            }
        })
        .setup(move |app| {
            bridge.mount_events(app);
            if let Some(window) = app.get_webview_window("main") {
                webview::tune(&window);
            }
            tauri::async_runtime::spawn(start_core(app.handle().clone(), dev, demo));
            tauri::async_runtime::spawn(exit_on_signal(app.handle().clone()));
            Ok(())
        })
        .build(tauri::generate_context!())
        .unwrap_or_else(|e| {
            eprintln!("berth-desktop: the window could not be created: {e}");
            std::process::exit(1);
        });
    app.run(|app, event| {
        if let RunEvent::Exit = event {
            stop_core(app);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bindings_path() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(BINDINGS_PATH)
    }

    /// Regenerates `ui/src/bindings.ts`; CI then checks it is unchanged.
    #[test]
    fn export_bindings() {
        let path = bindings_path();
        std::fs::create_dir_all(path.parent().expect("bindings have a parent directory"))
            .expect("ui/src exists or can be created");
        super::export_bindings(&path).expect("bindings export");
        // The same text again: the file is left alone (run.sh compares mtimes).
        let dir = path.parent().expect("bindings have a parent directory");
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let before = (modified(&path), modified(dir));
        super::export_bindings(&path).expect("bindings export");
        assert_eq!(
            (modified(&path), modified(dir)),
            before,
            "an unchanged export touched the file or its directory"
        );
        let text = std::fs::read_to_string(&path).expect("bindings written");
        for name in [
            "poolStats",
            "queueEntries",
            "listSlots",
            "platformsOverview",
            "saveSettings",
            "settingsHistory",
            "settingsRules",
            "botDetails",
            "botTimeline",
            "BotFilter",
            "connectionStatus",
            "changeEvent",
            "alertsRaised",
            "setAlertKinds",
            "recentAlerts",
            "CommandError",
        ] {
            assert!(text.contains(name), "bindings lack {name}");
        }
    }

    /// Regenerates `ui/src/dev/definition-schema.json`, what the mock
    /// backend (and the UI's editor tests) answer `definition_schema` with:
    /// this command's own text, so it cannot drift from the core's schema
    /// (CI checks the file is unchanged, as for the bindings). Named so that
    /// `cargo test -p berth-desktop --lib export_bindings` runs it too; the
    /// file is written only when its text changes (see `export_bindings`).
    #[test]
    fn export_bindings_definition_schema() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("ui/src/dev/definition-schema.json");
        let text = api::definitions::definition_schema().expect("the schema serialises") + "\n";
        assert!(
            text.contains("\"Berth pool definition\""),
            "not the definition's schema"
        );
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text).expect("ui/src/dev is writable");
        }
    }

    /// The same bridge always exports the same text (so the drift check is meaningful).
    #[test]
    fn bindings_export_is_deterministic() {
        let dir = std::env::temp_dir().join(format!("berth-bindings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (a, b) = (dir.join("a.ts"), dir.join("b.ts"));
        super::export_bindings(&a).expect("first export");
        super::export_bindings(&b).expect("second export");
        let same = std::fs::read(&a).expect("a") == std::fs::read(&b).expect("b");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(same, "two exports of the same bridge differ");
    }

    #[test]
    fn dev_mode_from_flag_or_environment() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(dev_mode(args(&["--dev"]), None));
        assert!(dev_mode(args(&[]), Some("1".into())));
        assert!(dev_mode(args(&[]), Some("true".into())));
        assert!(!dev_mode(args(&[]), Some("0".into())));
        assert!(!dev_mode(args(&["--other"]), None));
        assert!(!dev_mode(args(&["--demo"]), None));
    }

    #[test]
    fn demo_mode_from_flag_or_environment() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(demo_mode(args(&["--dev", "--demo"]), None));
        assert!(demo_mode(args(&[]), Some("yes".into())));
        assert!(!demo_mode(args(&["--dev"]), None));
        assert!(!demo_mode(args(&[]), Some("off".into())));
    }
}
