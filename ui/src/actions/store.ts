// The action the operator asked for and has not yet confirmed or dismissed.
// Menus, bulk bars and palette commands call `askAction`; the one
// `ActionDialog` (mounted by the app) asks for confirmation and runs it.
import { useSyncExternalStore } from "react";
import type { BotStatus, PlatformKind, SlotAction } from "../bindings";
import type { Slot } from "../api/types";

export type BotAction = "cancel" | "priority" | "reroute" | "redeploy";

export type ActionRequest =
  | { kind: "slot"; action: SlotAction; slots: Slot[] }
  | { kind: "bot"; action: BotAction; botId: number; priority?: number }
  | { kind: "platform"; action: "drain" | "undrain"; platform: PlatformKind; label: string };

let current: ActionRequest | null = null;
const listeners = new Set<() => void>();

/** Opens the confirmation of `request` (replacing any open one). */
export function askAction(request: ActionRequest) {
  set(request);
}

/** Closes the confirmation. */
export function closeAction() {
  set(null);
}

function set(request: ActionRequest | null) {
  current = request;
  listeners.forEach((l) => l());
}

/** The action waiting for confirmation, if any. */
export function useActionRequest(): ActionRequest | null {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => current,
  );
}

/** Which slot actions apply to `slot` (recover only to a slot in `error`; drain or undrain by its state). */
export function slotActionsFor(slot: Slot): SlotAction[] {
  const list: SlotAction[] = ["restart", slot.draining ? "undrain" : "drain", "delete"];
  if (slot.status === "error") list.push("recover");
  return list;
}

/**
 * Which bot actions apply to a bot in `status`: a queued bot can change
 * priority, be re-routed or cancelled; a scheduled or running one only
 * cancelled; a failed one deployed again; a finished one nothing.
 */
export function botActionsFor(status: BotStatus): BotAction[] {
  if (status === "QUEUED") return ["priority", "reroute", "cancel"];
  if (status === "SCHEDULED") return ["cancel"];
  if (status === "FATAL") return ["redeploy"];
  if (status === "DONE") return [];
  return ["cancel"];
}

export const SLOT_ACTION_LABELS: Record<SlotAction, string> = {
  restart: "Restart",
  drain: "Drain",
  undrain: "Undrain",
  delete: "Delete",
  recover: "Recover now",
};

export const SLOT_ACTION_EFFECTS: Record<SlotAction, string> = {
  restart: "Stops the workload and brings the slot back to idle.",
  drain: "The slot takes no new bot and is removed once idle.",
  undrain: "The slot takes bots again.",
  delete: "Deletes the slot and its platform resource.",
  recover: "Retries the recovery of the slot now.",
};

export const BOT_ACTION_LABELS: Record<BotAction, string> = {
  cancel: "Cancel",
  priority: "Change priority of",
  reroute: "Re-route",
  redeploy: "Deploy again",
};
