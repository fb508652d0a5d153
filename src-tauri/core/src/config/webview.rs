//! The desktop app's web view switch from the environment.
//!
//! WebKit reads its own variables when its processes start, so the desktop
//! shell reads this one first thing, before any thread starts, and outside
//! [`super::EnvConfig`] (which is read later, with the core). The rule is
//! still defined here, with the environment's other rules, and refused the
//! same way.

use super::var::{flag, Lookup};
use crate::error::Result;

/// The variable that keeps WebKit's accelerated compositing on.
pub const WEBVIEW_COMPOSITING: &str = "BERTH_WEBVIEW_COMPOSITING";

/// Whether the desktop web view keeps WebKit's accelerated compositing
/// (`BERTH_WEBVIEW_COMPOSITING`, a boolean as [`flag`] reads it:
/// `true/false/1/0/yes/no`, any case). Unset or blank: off. Any other value
/// is refused with `config_invalid`, naming the variable. Reads `get` only.
pub fn webview_compositing(get: &Lookup<'_>) -> Result<bool> {
    Ok(flag(get, WEBVIEW_COMPOSITING)?.unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn read(value: Option<&str>) -> Result<bool> {
        let value = value.map(str::to_string);
        webview_compositing(&move |k: &str| {
            assert_eq!(k, WEBVIEW_COMPOSITING);
            value.clone()
        })
    }

    #[test]
    fn compositing_is_a_boolean_and_off_unless_set() {
        assert!(!read(None).unwrap());
        assert!(!read(Some("  ")).unwrap());
        for on in ["1", "true", " YES "] {
            assert!(read(Some(on)).unwrap(), "{on:?}");
        }
        for off in ["0", "false", "No"] {
            assert!(!read(Some(off)).unwrap(), "{off:?}");
        }
        for bad in ["2", "on", "maybe"] {
            let e = read(Some(bad)).unwrap_err();
            assert_eq!(e.code(), ErrorCode::ConfigInvalid, "{bad:?}");
            assert!(
                e.to_string()
                    .starts_with("BERTH_WEBVIEW_COMPOSITING: must be true or false"),
                "{e}"
            );
        }
    }
}
