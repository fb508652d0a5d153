//! `berth audit`: the operator actions recorded, newest first.

use berth_core::audit::{self, AuditFilter};
use berth_core::Result;

use crate::cli::AuditArgs;
use crate::connect::with_db;
use crate::output::{self, Ctx};

/// Lists the audit log.
pub async fn run(ctx: Ctx, args: AuditArgs) -> Result<()> {
    let filter = AuditFilter {
        target_kind: args.target_kind,
        target: args.target,
        actor: args.actor,
        since: args.since,
        limit: Some(args.limit),
    };
    let rows = with_db(async |db| audit::list(&db.pool, &filter).await).await?;
    if ctx.json {
        return output::json(&rows);
    }
    if rows.is_empty() {
        output::emit("no actions recorded");
        return Ok(());
    }
    let mut t = output::table(["at", "actor", "action", "target", "reason", "detail"]);
    for r in &rows {
        t.add_row(vec![
            output::time(r.at),
            r.actor.clone(),
            r.action.clone(),
            format!("{} {}", r.target_kind.as_str(), r.target),
            output::opt(r.reason.as_ref()),
            r.detail.to_string(),
        ]);
    }
    output::emit(t);
    Ok(())
}
