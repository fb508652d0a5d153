import type { MeetingPlatform, PlatformKind } from "../api/types";

/** `2m 30s`, `1h 05m`, `45s`; negative values clamp to `0s`. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m ${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}

/** `mm:ss` (or `h:mm:ss`) countdown; clamps at `0:00`. */
export function formatCountdown(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** `just now`, `12s ago`, `2 min ago`, `3 h ago`, `4 d ago`. */
export function formatRelative(iso: string | null, now: number): string {
  if (!iso) return "—";
  const diff = now - Date.parse(iso);
  if (!Number.isFinite(diff)) return "—";
  if (diff < 5_000) return "just now";
  const s = Math.floor(diff / 1000);
  if (s < 60) return `${s}s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} d ago`;
}

/** `2025-12-26 14:03:07` in local time. */
export function formatTimestamp(iso: string | null): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "—";
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Milliseconds as the settings show them: `60 000 ms (1m 00s)`. */
export function formatMs(ms: number): string {
  return ms === 0 ? "0 ms" : `${ms.toLocaleString("en-US")} ms (${formatDuration(ms)})`;
}

// Keyed by the bindings' unions: a platform added in Rust without a label fails `tsc`.
const PLATFORM_LABELS: Record<PlatformKind, string> = { k8s: "K8s", aws: "AWS", coolify: "Coolify", local: "Local" };
/** A deployment platform's display name; "—" for none. */
export function platformLabel(p: PlatformKind | null | undefined): string {
  return p ? PLATFORM_LABELS[p] : "—";
}

const MEETING_LABELS: Record<MeetingPlatform, string> = {
  "google-meet": "Google Meet",
  "microsoft-teams": "Microsoft Teams",
  zoom: "Zoom",
};
/** A meeting platform's display name. */
export function meetingLabel(p: MeetingPlatform): string {
  return MEETING_LABELS[p];
}

export function truncateMiddle(s: string, keep = 8): string {
  return s.length <= keep + 1 ? s : `${s.slice(0, keep)}…`;
}

/** A `datetime-local` text (local time) as an RFC 3339 UTC time; null when empty or not a time. */
export function isoOfLocal(local: string): string | null {
  if (local.trim() === "") return null;
  const t = new Date(local);
  return Number.isNaN(t.getTime()) ? null : t.toISOString();
}
