import type { BotStatus } from "../bindings";
import { RowMenu } from "../shared/RowMenu";
import { askAction, botActionsFor, type BotAction } from "./store";

const LABELS: Record<BotAction, string> = { priority: "Change priority", reroute: "Re-route", cancel: "Cancel", redeploy: "Deploy again" };

/**
 * A bot's actions menu for its `status` (default: queued, as the queue
 * shows them): change priority (from `priority`), re-route, cancel; deploy
 * again a failed one. Nothing for a finished bot.
 */
export function BotMenu({ botId, priority, status = "QUEUED" }: { botId: number; priority: number; status?: BotStatus }) {
  const actions = botActionsFor(status);
  if (actions.length === 0) return null;
  return (
    <RowMenu
      label={`Actions for bot #${botId}`}
      items={actions.map((action) => ({
        label: LABELS[action],
        danger: action === "cancel",
        run: () => askAction(action === "priority" ? { kind: "bot", action, botId, priority } : { kind: "bot", action, botId }),
      }))}
    />
  );
}
