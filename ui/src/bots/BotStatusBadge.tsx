import type { BotStatus } from "../api/types";

// Scheduled (not started yet) muted, waiting amber, on its way blue, in the call green, failed red, over grey
// (the slots' colours: reference 000).
const TONE: Record<BotStatus, string> = {
  SCHEDULED: "text-muted bg-line/30 border-line-2",
  QUEUED: "text-busy bg-busy/10 border-busy/30",
  DEPLOYING: "text-deploying bg-deploying/10 border-deploying/30",
  JOINING_CALL: "text-deploying bg-deploying/10 border-deploying/30",
  IN_WAITING_ROOM: "text-deploying bg-deploying/10 border-deploying/30",
  IN_CALL: "text-idle bg-idle/10 border-idle/30",
  LEAVING: "text-muted border-line-2",
  CALL_ENDED: "text-muted border-line-2",
  DONE: "text-dim border-line",
  FATAL: "text-error bg-error/10 border-error/40",
};

/** A bot's status as a terminal-style `[IN_CALL]` badge. */
export function BotStatusBadge({ status, className = "" }: { status: BotStatus; className?: string }) {
  return (
    <span className={`badge ${TONE[status]} ${className}`} data-bot-status={status}>
      [{status}]
    </span>
  );
}
