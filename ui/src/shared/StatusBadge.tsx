import type { SlotStatus } from "../api/types";
import { isSlotStatus, STATUS_STYLES } from "./status";

const TONE: Record<SlotStatus, string> = {
  idle: "text-idle bg-idle/10 border-idle/30",
  deploying: "text-deploying bg-deploying/10 border-deploying/30",
  busy: "text-busy bg-busy/10 border-busy/30",
  error: "text-error bg-error/10 border-error/40",
};

/** Terminal-style `[IDLE]` badge: uppercase, monospace, letter-spaced. */
export function StatusBadge({ status, className = "" }: { status: string; className?: string }) {
  if (!isSlotStatus(status)) {
    return <span className={`badge text-muted border-line ${className}`}>[{status.toUpperCase()}]</span>;
  }
  const s = STATUS_STYLES[status];
  return (
    <span className={`badge ${TONE[status]} ${className}`} data-status={status}>
      {status === "deploying" && <Spinner />}
      {status === "error" && <span aria-hidden className="size-1.5 rounded-full bg-error animate-attention" />}
      {status === "idle" && <span aria-hidden className="size-1.5 rounded-full bg-idle" />}
      [{s.badge}]
    </span>
  );
}

/**
 * Small arc: the deploying mark. Still, like every mark that stays on screen:
 * an endless animation repaints the page many times a second (a rotating arc
 * per deploying row kept the web process busy at ~90 % of a core, idle or not).
 */
export function Spinner({ className = "size-2.5" }: { className?: string }) {
  return (
    <svg aria-hidden viewBox="0 0 16 16" className={className}>
      <circle cx="8" cy="8" r="6" fill="none" stroke="currentColor" strokeOpacity="0.25" strokeWidth="2.5" />
      <path d="M8 2 a6 6 0 0 1 6 6" fill="none" stroke="currentColor" strokeWidth="2.5" strokeLinecap="round" />
    </svg>
  );
}
