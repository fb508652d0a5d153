import { BotMenu } from "../actions/BotMenu";
import { BotLink } from "../bots/BotLink";
import type { ReactNode } from "react";
import type { QueueEntry, QueueSnapshot } from "../api/types";
import { useNow } from "../shared/clock";
import { formatCountdown, formatDuration, meetingLabel, platformLabel } from "../shared/format";

/** The last minute before a timeout is shown in red. */
export const URGENT_MS = 60_000;
/** The dashboard shows the first bots waiting (the Infrastructure view lists them all). */
export const QUEUE_SHOWN = 3;
/**
 * The queue's box has one height, empty or not (its header and `QUEUE_SHOWN`
 * rows of `QUEUE_ROW_PX`), so the table under it never jumps.
 */
export const QUEUE_BOX = "h-[181px] overflow-hidden";
const QUEUE_ROW_PX = 46;

/**
 * The first waiting bots with live waiting times and timeout countdowns.
 * Rendered only when the queue is non-empty (`QueueIdle` holds its place). `receivedAt` is when the snapshot arrived
 * (client clock): countdowns run on the database's clock, offset by it.
 */
export function QueueSection({
  snapshot,
  receivedAt,
  pool,
}: {
  snapshot: QueueSnapshot | undefined;
  receivedAt: number;
  pool: string | null;
}) {
  const now = useNow();
  if (!snapshot) return null;
  const entries = pool === null ? snapshot.entries : snapshot.entries.filter((e) => e.pool === pool);
  if (entries.length === 0) return null;
  const serverNow = now + (Date.parse(snapshot.now) - receivedAt);
  const rate = snapshot.releaseRatePerSec ?? 0;
  const more = entries.length - QUEUE_SHOWN;
  return (
    <section aria-label="Queue" className={`panel ${QUEUE_BOX}`} data-testid="queue-section">
      <div className="flex items-center justify-between border-b border-line px-4 py-2.5">
        <h2 className="panel-title">
          Queue <span className="text-busy">({entries.length} waiting)</span>
          {more > 0 && (
            <span data-testid="queue-more" className="ml-2 normal-case tracking-normal text-dim">
              first {QUEUE_SHOWN} shown, {more} more in Infrastructure (g i)
            </span>
          )}
        </h2>
        <span className="font-mono text-[11px] text-dim">
          {rate > 0 ? `${(rate * 60).toFixed(1)} releases/min` : "no releases observed yet"}
        </span>
      </div>
      <ol className="divide-y divide-line">
        {entries.slice(0, QUEUE_SHOWN).map((e) => (
          <QueueRow key={e.id} entry={e} serverNow={serverNow} />
        ))}
      </ol>
    </section>
  );
}

function QueueRow({ entry, serverNow }: { entry: QueueEntry; serverNow: number }) {
  const waiting = serverNow - Date.parse(entry.queuedAt);
  const remaining = Date.parse(entry.timeoutAt) - serverNow;
  const urgent = remaining < URGENT_MS;
  return (
    <li
      data-testid={`queue-entry-${entry.botId}`}
      className="grid grid-cols-[40px_minmax(190px,1.5fr)_repeat(5,minmax(80px,1fr))] items-center gap-3 px-4 font-mono text-[12px]"
      style={{ height: QUEUE_ROW_PX }}
    >
      <span className="text-dim">#{entry.position}</span>
      <span className="flex flex-col leading-tight">
        <span className="flex items-center gap-1">
          <BotLink id={entry.botId} className="font-semibold">
            Bot #{entry.botId}
          </BotLink>
          <BotMenu botId={entry.botId} priority={entry.priority} />
        </span>
        <span className="truncate text-[11px] text-dim">
          {meetingLabel(entry.meetingPlatform)} · {entry.pool}
        </span>
      </span>
      <Field label="priority">{entry.tier ? `${entry.priority} (${entry.tier})` : entry.priority}</Field>
      <Field label="waiting">
        <span data-testid="queue-waiting">{formatDuration(waiting)}</span>
      </Field>
      <Field label="timeout">
        <span data-testid="queue-timeout" data-urgent={urgent} className={urgent ? "font-semibold text-error" : "text-fg"}>
          {remaining <= 0 ? "expired" : formatCountdown(remaining)}
        </span>
      </Field>
      <Field label="est. wait">
        <span data-testid="queue-estimate">{entry.estimatedWaitMs === null ? "unknown" : `~${formatDuration(entry.estimatedWaitMs)}`}</span>
      </Field>
      <Field label="waiting on">{entry.waitingOn ? platformLabel(entry.waitingOn) : "global"}</Field>
    </li>
  );
}

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <span className="flex flex-col leading-tight">
      <span className="text-[10px] uppercase tracking-[0.14em] text-dim">{label}</span>
      <span className="tabular-nums">{children}</span>
    </span>
  );
}

/** The queue's place when nobody waits: the same box, so the page does not move when bots start queuing. */
export function QueueIdle() {
  return (
    <section aria-label="Queue" className={`panel flex flex-col ${QUEUE_BOX}`} data-testid="queue-empty">
      <div className="border-b border-line px-4 py-2.5">
        <h2 className="panel-title">
          Queue <span className="text-dim">(0 waiting)</span>
        </h2>
      </div>
      <p className="m-auto text-[12.5px] text-dim">No bots waiting: every request found a slot.</p>
    </section>
  );
}
