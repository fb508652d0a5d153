import { SLOT_STATUSES, type SlotStatus } from "../api/types";

export interface StatusStyle {
  label: string;
  badge: string;
  /** Hex colour for charts (same palette as the CSS theme). */
  color: string;
  text: string;
  bg: string;
  border: string;
}

// reference 000: idle = chart-2 (green), deploying = accent (blue),
// busy = chart-3 (amber), error = destructive (red).
export const STATUS_STYLES: Record<SlotStatus, StatusStyle> = {
  idle: { label: "Idle", badge: "IDLE", color: "#34d399", text: "text-idle", bg: "bg-idle", border: "border-idle" },
  deploying: { label: "Deploying", badge: "DEPLOYING", color: "#60a5fa", text: "text-deploying", bg: "bg-deploying", border: "border-deploying" },
  busy: { label: "Busy", badge: "BUSY", color: "#fbbf24", text: "text-busy", bg: "bg-busy", border: "border-busy" },
  error: { label: "Error", badge: "ERROR", color: "#f87171", text: "text-error", bg: "bg-error", border: "border-error" },
};

export function isSlotStatus(s: string): s is SlotStatus {
  return (SLOT_STATUSES as readonly string[]).includes(s);
}
