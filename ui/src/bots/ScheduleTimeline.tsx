// The schedule (issue 16): upcoming scheduled bots on a timeline of
// 15-minute windows, each showing the capacity booked against the capacity
// there is, and the next bots to start.
import { useState } from "react";
import type { ScheduledBot, Upcoming, WindowLoad } from "../bindings";
import { ErrorNotice } from "../shared/ErrorNotice";
import { formatTimestamp, isoOfLocal } from "../shared/format";
import { QueryState } from "../shared/QueryState";
import { BotLink } from "./BotLink";
import { useRescheduleBot, useUpcomingSchedule } from "./queries";

/** How far ahead the timeline looks. */
export const SCHEDULE_HOURS = 24;
/** How many upcoming bots are listed under the timeline. */
const LISTED = 8;

/** `09:15`: a window's start, local time. */
const hhmm = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

/** How full a window is: booked over capacity, 0 to 1 (a window without capacity reads full when anything is booked). */
export function fill(w: WindowLoad): number {
  if (w.capacity <= 0) return w.booked > 0 ? 1 : 0;
  return Math.min(1, w.booked / w.capacity);
}

export function ScheduleTimeline() {
  const query = useUpcomingSchedule(SCHEDULE_HOURS);
  return (
    <section aria-label="Schedule" className="panel flex flex-col">
      <div className="flex items-center justify-between border-b border-line px-4 py-2.5">
        <h2 className="panel-title">Schedule (next {SCHEDULE_HOURS} h)</h2>
        <span className="text-[11px] text-dim">capacity booked per 15 min</span>
      </div>
      <QueryState query={query} errorTitle="Could not load the schedule" errorClassName="p-3" loading="Loading the schedule…" loadingClassName="p-3 text-muted">
        {(u) => <ScheduleBody upcoming={u} />}
      </QueryState>
    </section>
  );
}

function ScheduleBody({ upcoming }: { upcoming: Upcoming }) {
  const peak = upcoming.windows.reduce((m, w) => Math.max(m, w.booked), 0);
  const capacity = upcoming.windows[0]?.capacity ?? 0;
  return (
    <div className="flex flex-col gap-2 p-3">
      <p className="text-[12px] text-muted" data-testid="schedule-summary">
        {upcoming.bots.length === 0 ? "No scheduled bots." : `${upcoming.bots.length} scheduled; at most ${peak} of ${capacity} booked at once.`}
      </p>
      <div role="list" aria-label="Windows" className="flex h-12 items-end gap-px">
        {upcoming.windows.map((w) => (
          <div
            key={w.from}
            role="listitem"
            title={`${hhmm(w.from)}–${hhmm(w.to)}: ${w.booked} of ${w.capacity} booked`}
            aria-label={`${hhmm(w.from)}: ${w.booked} of ${w.capacity} booked`}
            className={`min-w-[2px] flex-1 ${fill(w) >= 1 ? "bg-error" : w.booked > 0 ? "bg-busy" : "bg-line"}`}
            style={{ height: `${Math.max(4, fill(w) * 100)}%` }}
          />
        ))}
      </div>
      {upcoming.bots.length > 0 && (
        <ul aria-label="Upcoming bots" className="space-y-0.5 text-[12px]">
          {upcoming.bots.slice(0, LISTED).map((b) => (
            <UpcomingBot key={b.botId} bot={b} />
          ))}
        </ul>
      )}
    </div>
  );
}

/** One upcoming bot: when it joins and starts, and a form to move its join time. */
function UpcomingBot({ bot: b }: { bot: ScheduledBot }) {
  const [moving, setMoving] = useState(false);
  const [to, setTo] = useState("");
  const move = useRescheduleBot();
  const joinAt = isoOfLocal(to);
  return (
    <li className="flex flex-col gap-1">
      <div className="flex items-center gap-2">
        <BotLink id={b.botId} />
        <span className="text-muted">{b.pool}</span>
        <span>joins {b.joinAt ? formatTimestamp(b.joinAt) : "—"}</span>
        <span className="text-dim">starts {formatTimestamp(b.startAt)}</span>
        {!b.booked && <span className="text-busy">not booked</span>}
        {b.joinAt && !moving && (
          <button type="button" className="btn ml-auto" aria-label={`Move bot #${b.botId}`} onClick={() => setMoving(true)}>
            Move
          </button>
        )}
      </div>
      {moving && (
        <form
          className="flex items-center gap-2"
          aria-label={`Move bot #${b.botId}`}
          onSubmit={(e) => {
            e.preventDefault();
            if (joinAt) move.mutate({ id: b.botId, joinAt }, { onSuccess: () => setMoving(false) });
          }}
        >
          <input className="input" type="datetime-local" aria-label="New join time" value={to} onChange={(e) => setTo(e.target.value)} />
          <button type="submit" className="btn btn-primary" disabled={joinAt === null || move.isPending}>
            Save
          </button>
          <button type="button" className="btn" onClick={() => setMoving(false)}>
            Cancel
          </button>
        </form>
      )}
      {move.error && <ErrorNotice error={move.error} title="Not moved" />}
    </li>
  );
}
