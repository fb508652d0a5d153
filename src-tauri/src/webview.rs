//! The web view's engine settings, tuned for a window that stays open for
//! days showing live data: little memory, no work while nothing changes.
//!
//! Measured with `scripts/desktop-profile.sh` (issue 15). Berth shows one
//! page of local assets, so WebKitGTK's web-browser cache model (sized for
//! many pages and their back-forward history) and page cache buy nothing.
//!
//! Accelerated compositing stays on: with it off (the policy `Never`, or
//! `WEBKIT_DISABLE_COMPOSITING_MODE=1`) WebKitGTK 2.50 saved memory, but the
//! end-to-end test's WebDriver hung on its first screenshot after a view
//! switch. A user may still set that variable.

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
