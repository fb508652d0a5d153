//! `berth secret set <platform>`: store a platform's API token in the OS
//! keychain, read from standard input. The token is never echoed.

use berth_core::error::{Error, ErrorCode};
use berth_core::meeting::PlatformKind;
use berth_core::platform::secret;
use berth_core::Result;

use crate::output::{self, Ctx};

/// Runs the command.
pub fn set(ctx: Ctx, platform: PlatformKind) -> Result<()> {
    if platform != PlatformKind::Coolify {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            format!("{platform} takes no API token from the keychain; only coolify does"),
        ));
    }
    secret::store_from(platform, &mut std::io::stdin().lock())?;
    if ctx.json {
        return output::json(&serde_json::json!({ "stored": platform.as_str() }));
    }
    output::emit(format!(
        "stored the {platform} API token in the OS keychain (service \"{}\", entry \"{platform}\")",
        secret::KEYCHAIN_SERVICE
    ));
    Ok(())
}
