import { RowMenu } from "../shared/RowMenu";
import { askAction } from "./store";

/** A queued bot's actions menu: cancel, change priority (from `priority`), re-route. */
export function BotMenu({ botId, priority }: { botId: number; priority: number }) {
  return (
    <RowMenu
      label={`Actions for bot #${botId}`}
      items={[
        { label: "Change priority", run: () => askAction({ kind: "bot", action: "priority", botId, priority }) },
        { label: "Re-route", run: () => askAction({ kind: "bot", action: "reroute", botId }) },
        { label: "Cancel", danger: true, run: () => askAction({ kind: "bot", action: "cancel", botId }) },
      ]}
    />
  );
}
