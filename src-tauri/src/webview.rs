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
//! (`scripts/desktop-profile.sh`). `BERTH_WEBVIEW_COMPOSITING` on keeps
//! WebKit's default (a boolean; the rule is the core's,
//! [`berth_core::config::webview_compositing`]). The end-to-end test runs
//! with it off: WebKitGTK 2.50's WebDriver answers a screenshot only after
//! the page paints a frame, so its screenshots keep the page painting
//! (`tests/e2e/driver.rs`, `capture`).
//!
//! OpenGL cannot be kept out: WebKitGTK 2.50 needs an EGL display in the
//! app and in the web process (it aborts with "Could not create surfaceless
//! EGL display" without one), and without a GPU mesa's only driver
//! (`swrast_dri.so`, llvmpipe) loads libLLVM, ~42 MB resident in each of
//! the two (shared pages). `WEBKIT_DISABLE_DMABUF_RENDERER`,
//! `WEBKIT_SKIA_ENABLE_CPU_RENDERING`, `GDK_GL=disable` and
//! `EGL_PLATFORM=surfaceless` each left it loaded, so none is set.

/// Environment of the web process, read by WebKit when it starts: call first
/// thing, before any thread starts. Leaves a value the user set alone.
///
/// Errors: `config_invalid` when `BERTH_WEBVIEW_COMPOSITING` is not a
/// boolean ([`berth_core::config::webview_compositing`]); nothing is set then.
pub fn prepare_environment() -> berth_core::error::Result<()> {
    let compositing = berth_core::config::webview_compositing(&berth_core::config::var::process)?;
    #[cfg(target_os = "linux")]
    {
        if !compositing && std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
            std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
        }
        // JavaScriptCore's optimising tiers (DFG, and FTL above it) buy
        // little for a page that re-renders a few rows on each change, and
        // cost compiler threads and code memory. 3 min of demo traffic
        // (debug app, `desktop-profile.sh --quick`): web process 218 MB RSS
        // / 149 MB PSS with them, 206 / 137 without; CPU 4-8 % of a core
        // either way (noisy: the machine's load differed). Without any JIT
        // (`JSC_useJIT=false`) it was 194 / 126, but the baseline JIT is
        // kept for the 10,000-row views and typing.
        if std::env::var_os("JSC_useDFGJIT").is_none() {
            std::env::set_var("JSC_useDFGJIT", "false");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = compositing;
    Ok(())
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
