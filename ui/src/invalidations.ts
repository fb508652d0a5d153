// Which query keys each change-feed topic makes stale: the union of every
// view's own declaration (passed to <ApiProvider>).
import { mergeInvalidations, type RowPatches } from "./api/invalidation";
import { auditInvalidations } from "./audit/queries";
import { botsInvalidations } from "./bots/queries";
import { dashboardInvalidations, slotRows } from "./dashboard/queries";
import { infrastructureInvalidations } from "./infrastructure/queries";
import { poolsInvalidations } from "./pools/queries";
import { settingsInvalidations } from "./settings/queries";

export const LIVE_INVALIDATIONS = mergeInvalidations(
  dashboardInvalidations,
  infrastructureInvalidations,
  settingsInvalidations,
  poolsInvalidations,
  auditInvalidations,
  botsInvalidations,
);

/** The lists patched by row when an event names what changed (passed to <ApiProvider>). */
export const LIVE_PATCHES: RowPatches = { slots: slotRows };
