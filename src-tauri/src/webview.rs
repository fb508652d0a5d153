//! The web view's engine settings, tuned for a window that stays open for
//! days showing live data: little memory, no work while nothing changes.
//!
//! Measured with `scripts/desktop-profile.sh` (issue 15): WebKitGTK's
//! defaults (accelerated compositing, which under Xvfb or without a GPU runs
//! on a software OpenGL; the web-browser cache model, sized for many pages
//! and their back-forward history) cost hundreds of megabytes in the web
//! process and CPU on every repaint. Berth shows one page of local assets.

/// Settings that must be in place before WebKit starts (environment of the
/// web process): compositing off unless the user chose otherwise. Call it
/// first thing in `main`, before any thread starts.
pub fn prepare_environment() {
    #[cfg(target_os = "linux")]
    {
        // Without accelerated compositing WebKitGTK paints into shared
        // memory with its CPU renderer: no GL context, no tile textures.
        for (key, value) in [
            ("WEBKIT_DISABLE_COMPOSITING_MODE", "1"),
            ("WEBKIT_DISABLE_DMABUF_RENDERER", "1"),
        ] {
            if std::env::var_os(key).is_none() {
                std::env::set_var(key, value);
            }
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
            use webkit2gtk::{
                CacheModel, HardwareAccelerationPolicy, SettingsExt, WebContextExt, WebViewExt,
            };
            let view = webview.inner();
            if let Some(settings) = WebViewExt::settings(&view) {
                settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
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
