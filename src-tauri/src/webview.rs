//! The web view's engine settings, tuned for a window that stays open for
//! days showing live data: little memory, no work while nothing changes.
//!
//! Measured with `scripts/desktop-profile.sh` (issue 15). Berth shows one
//! page of local assets, so WebKitGTK's web-browser cache model (sized for
//! many pages and their back-forward history) and page cache buy nothing.
//!
//! Accelerated compositing is off by default: under Xvfb or without a GPU
//! it runs on a software OpenGL (llvmpipe). With it on, the web process took
//! 21 % of a core under demo traffic and 5 % idle (machine load ~2), against
//! 7-10 % and 1-2 % with it off (load 11-15), and ~100 MB more RSS
//! (`scripts/desktop-profile.sh`). `BERTH_WEBVIEW_COMPOSITING=1` keeps
//! WebKit's default: the end-to-end test sets it, because with
//! compositing off its WebDriver (WebKitWebDriver 2.50) hung on the first
//! screenshot after a view switch, while the page itself kept rendering.

/// Environment of the web process, read by WebKit when it starts: call first
/// thing, before any thread starts. Leaves a value the user set alone.
pub fn prepare_environment() {
    #[cfg(target_os = "linux")]
    {
        let keep = std::env::var("BERTH_WEBVIEW_COMPOSITING").is_ok_and(|v| v.trim() == "1");
        if !keep && std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
            std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
        }
    }
}

/// Applies the engine settings to `window`'s web view (its page is one local
/// document: no page cache, the document-viewer cache model, no WebGL;
/// developer extras only in debug builds).
pub fn tune(window: &tauri::WebviewWindow) {
    #[cfg(target_os = "linux")]
    {
        let result = window.with_webview(|webview| {
            use webkit2gtk::{CacheModel, SettingsExt, WebContextExt, WebViewExt};
            let view = webview.inner();
            if let Some(settings) = WebViewExt::settings(&view) {
                settings.set_enable_page_cache(false);
                settings.set_enable_webgl(false);
                settings.set_enable_developer_extras(cfg!(debug_assertions));
            }
            if let Some(context) = view.context() {
                context.set_cache_model(CacheModel::DocumentViewer);
            }
        });
        if let Err(e) = result {
            tracing::warn!(error = %e, "web view settings not applied");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = window;
}
