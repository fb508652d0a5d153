// Which alert kinds the operator left on: kept in localStorage (per machine
// and user, nothing secret) and sent to the shell, which shows and lists
// only those (`set_alert_kinds`).
import type { AlertKind } from "../api/types";

export const ALERT_KINDS: { kind: AlertKind; label: string }[] = [
  { kind: "exhausted", label: "Pool exhausted, bots queuing" },
  { kind: "platform_down", label: "Platform down" },
  { kind: "slots_failing", label: "Slots failing repeatedly" },
  { kind: "bots_expired", label: "Bots expired in the queue" },
];

const KEY = "berth.alertKinds";

/** The kinds left on (every kind until the operator switches one off). */
export function loadKinds(): AlertKind[] {
  try {
    const raw = localStorage.getItem(KEY);
    if (raw === null) return ALERT_KINDS.map((k) => k.kind);
    const saved: unknown = JSON.parse(raw);
    if (!Array.isArray(saved)) return ALERT_KINDS.map((k) => k.kind);
    return ALERT_KINDS.map((k) => k.kind).filter((k) => saved.includes(k));
  } catch {
    return ALERT_KINDS.map((k) => k.kind); // storage disabled or garbled: all on
  }
}

export function saveKinds(kinds: AlertKind[]) {
  try {
    localStorage.setItem(KEY, JSON.stringify(kinds));
  } catch {
    // storage full or disabled: the choice lasts this run only
  }
}
