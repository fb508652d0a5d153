// Which query keys each change-feed topic makes stale: the union of every
// view's own declaration (passed to <ApiProvider>).
import { mergeInvalidations } from "./api/invalidation";
import { auditInvalidations } from "./audit/queries";
import { botsInvalidations } from "./bots/queries";
import { dashboardInvalidations } from "./dashboard/queries";
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
