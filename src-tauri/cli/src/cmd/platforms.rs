//! `berth platforms drain|undrain P`: no new bots on a platform, or again.

use berth_core::actor::Actor;
use berth_core::platform::drain;
use berth_core::Result;

use crate::cli::PlatformActionArgs;
use crate::connect::with_berth;
use crate::output::{self, Ctx};

/// Drains (`on`) or undrains the platform.
pub async fn drain(ctx: Ctx, args: PlatformActionArgs, on: bool) -> Result<()> {
    let d = with_berth(ctx.dev, async |berth| {
        let (r, actor, reason) = (berth.router(), Actor::cli(), args.reason.as_deref());
        if on {
            drain::drain(r, &actor, args.platform, reason).await
        } else {
            drain::undrain(r, &actor, args.platform, reason).await
        }
    })
    .await?;
    if ctx.json {
        return output::json(&d);
    }
    if on {
        output::emit(format!(
            "platform {} drained: no new bots there ({} running finish)",
            d.platform, d.running
        ));
    } else {
        output::emit(format!(
            "platform {} undrained: it takes new bots again (it was drained by {} at {})",
            d.platform,
            d.drain.by,
            output::time(d.drain.at)
        ));
    }
    Ok(())
}
