// The palette's actions on the highlighted row (a slot or a queued bot): one
// entry per action, each opening the action's confirmation.
import type { SlotAction } from "../bindings";
import type { CommandContext, CommandSpec } from "../keyboard/registry";
import { BOT_ACTION_LABELS, SLOT_ACTION_LABELS, askAction, slotActionsFor, type BotAction } from "./store";

const slotOf = (c: CommandContext) => (c.selection?.kind === "slot" ? c.selection.slot : null);
const botOf = (c: CommandContext) => (c.selection?.kind === "bot" ? c.selection.botId : null);

const SLOT_ORDER: SlotAction[] = ["restart", "drain", "undrain", "delete", "recover"];

const slotCommand = (action: SlotAction): CommandSpec => ({
  id: `slot.${action}`,
  group: "Slot",
  subject: "slot",
  title: (c) => `${SLOT_ACTION_LABELS[action]} ${slotOf(c)?.slotName ?? "the slot"}`,
  keywords: ["slot", action],
  when: (c) => {
    const slot = slotOf(c);
    return slot !== null && slotActionsFor(slot).includes(action);
  },
  run: (c) => {
    const slot = slotOf(c);
    if (slot) askAction({ kind: "slot", action, slots: [slot] });
  },
});

const BOT_ORDER: BotAction[] = ["cancel", "priority", "reroute", "redeploy"];

const botCommand = (action: BotAction): CommandSpec => ({
  id: `bot.${action}`,
  group: "Bot",
  subject: "bot",
  title: (c) => `${BOT_ACTION_LABELS[action]} bot #${botOf(c) ?? ""}`,
  keywords: ["bot", action, ...(action === "reroute" ? ["pin", "platform"] : []), ...(action === "redeploy" ? ["retry", "deploy"] : [])],
  run: (c) => {
    const botId = botOf(c);
    if (botId !== null) askAction({ kind: "bot", action, botId });
  },
});

/** Every slot and bot action, for `COMMANDS`. */
export const ACTION_COMMANDS: CommandSpec[] = [...SLOT_ORDER.map(slotCommand), ...BOT_ORDER.map(botCommand)];
