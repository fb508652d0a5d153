//! The desktop app's start-up refusals, run as the real binary: a bad
//! `BERTH_WEBVIEW_COMPOSITING` stops the app before it opens anything.

use std::process::{Command, Output};

/// The built app with `compositing` as `BERTH_WEBVIEW_COMPOSITING` and no
/// display (so an accepted value stops at the display check instead).
fn start(compositing: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_berth-desktop"))
        .env("BERTH_WEBVIEW_COMPOSITING", compositing)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("WEBKIT_DISABLE_COMPOSITING_MODE")
        .output()
        .expect("the app runs")
}

#[test]
fn a_bad_compositing_value_is_refused_before_the_window() {
    let out = start("sometimes");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "error[config_invalid]: BERTH_WEBVIEW_COMPOSITING: must be true or false, got \"sometimes\""
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("no display"), "{stderr}");

    // An accepted value goes on to the next check (no display here).
    for ok in ["1", "no"] {
        let out = start(ok);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{ok}: {stderr}");
        assert!(stderr.contains("no display"), "{ok}: {stderr}");
        assert!(!stderr.contains("config_invalid"), "{ok}: {stderr}");
    }
}
