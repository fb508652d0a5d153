import { SLOT_STATUSES, type SlotStatus } from "../api/types";

export interface StatusStyle {
  label: string;
  badge: string;
  /** Colour for charts: the theme's CSS variable (it follows the light or dark theme). */
  color: string;
  text: string;
  bg: string;
  border: string;
}

// reference 000: idle = chart-2 (green), deploying = accent (blue),
// busy = chart-3 (amber), error = destructive (red).
export const STATUS_STYLES: Record<SlotStatus, StatusStyle> = {
  idle: { label: "Idle", badge: "IDLE", color: "var(--color-idle)", text: "text-idle", bg: "bg-idle", border: "border-idle" },
  deploying: { label: "Deploying", badge: "DEPLOYING", color: "var(--color-deploying)", text: "text-deploying", bg: "bg-deploying", border: "border-deploying" },
  busy: { label: "Busy", badge: "BUSY", color: "var(--color-busy)", text: "text-busy", bg: "bg-busy", border: "border-busy" },
  error: { label: "Error", badge: "ERROR", color: "var(--color-error)", text: "text-error", bg: "bg-error", border: "border-error" },
};

export function isSlotStatus(s: string): s is SlotStatus {
  return (SLOT_STATUSES as readonly string[]).includes(s);
}
