// One bot's timeline beside the Bots table: its facts, its states with
// their times and the time between them, its decision trace, the slot and
// platform, the account it leased, the actions taken on it and the bots
// it re-deploys or that re-deploy it. Escape closes it.
import { useEffect, useRef } from "react";
import { BotMenu } from "../actions/BotMenu";
import type { BotTimeline } from "../bindings";
import { TraceList } from "../infrastructure/DecisionTrace";
import { useEscapeLayer } from "../keyboard/escapeLayers";
import { useNow } from "../shared/clock";
import { formatDuration, formatTimestamp, meetingLabel, platformLabel } from "../shared/format";
import { QueryState } from "../shared/QueryState";
import { SlotName } from "../shared/SlotName";
import { StatusBadge } from "../shared/StatusBadge";
import { BotLink } from "./BotLink";
import { BotStatusBadge } from "./BotStatusBadge";
import { isFinal } from "./filter";
import { useBotTimeline } from "./queries";

export function BotTimelinePanel({ id, onClose }: { id: number; onClose: () => void }) {
  const timeline = useBotTimeline(id);
  useEscapeLayer(true, onClose);
  const heading = useRef<HTMLHeadingElement>(null);
  // Opening a bot (Enter, a click, a link) brings the keyboard here: Tab walks its links and actions.
  useEffect(() => heading.current?.focus({ preventScroll: true }), [id]);
  return (
    <aside aria-label={`Bot #${id}`} data-testid="bot-timeline" className="panel sticky top-4 flex max-h-[calc(100vh-2rem)] flex-col self-start overflow-auto">
      <div className="flex items-center gap-2 border-b border-line px-4 py-2.5">
        <h2 ref={heading} tabIndex={-1} className="panel-title outline-none focus-visible:text-fg">
          Bot #{id}
        </h2>
        {timeline.data && <BotStatusBadge status={timeline.data.bot.status} />}
        {timeline.data && <BotMenu botId={id} priority={timeline.data.bot.priority} status={timeline.data.bot.status} />}
        <button type="button" className="ml-auto text-[11px] text-dim hover:text-fg" onClick={onClose} aria-label="Close the timeline" title="Close (Esc)">
          close
        </button>
      </div>
      <QueryState
        query={timeline}
        replace
        errorTitle={`Could not load bot #${id}`}
        errorClassName="p-3"
        loading={`Loading bot #${id}…`}
        loadingClassName="px-4 py-6 text-center text-muted"
      >
        {(t) => <TimelineBody t={t} />}
      </QueryState>
    </aside>
  );
}

function Section({ title, children, testId }: { title: string; children: React.ReactNode; testId?: string }) {
  return (
    <section aria-label={title} data-testid={testId} className="flex flex-col gap-2">
      <h3 className="font-mono text-[10.5px] font-semibold uppercase tracking-[0.14em] text-dim">{title}</h3>
      {children}
    </section>
  );
}

function TimelineBody({ t }: { t: BotTimeline }) {
  return (
    <div className="flex flex-col gap-4 p-4">
      <Facts t={t} />
      <Section title="States" testId="bot-events">
        <Events t={t} />
      </Section>
      <Section title="Decision trace">
        <TraceList trace={t.trace} />
      </Section>
      <Section title="Actions" testId="bot-actions">
        <Actions t={t} />
      </Section>
    </div>
  );
}

/** One `label: value` line of the facts (none when `show` is false). */
function Fact({ label, show = true, testId, children }: { label: string; show?: boolean; testId?: string; children: React.ReactNode }) {
  if (!show) return null;
  return (
    <>
      <dt className="text-dim">{label}</dt>
      <dd className="flex min-w-0 flex-wrap items-center gap-x-2 break-all" data-testid={testId}>
        {children}
      </dd>
    </>
  );
}

/** Where it is and was: pool, meeting, platform (and pin), slot, account, queue, error, redeploys. */
function Facts({ t }: { t: BotTimeline }) {
  const { bot, slot, account } = t;
  return (
    <dl className="grid grid-cols-[96px_1fr] gap-y-1 font-mono text-[11.5px]">
      <Fact label="pool">{bot.pool}</Fact>
      <Fact label="meeting">
        {meetingLabel(bot.meetingPlatform)} <span className="text-muted">{bot.meetingUrl}</span>
      </Fact>
      <Fact label="name" show={bot.displayName !== null}>
        {bot.displayName}
      </Fact>
      <Fact label="platform" testId="bot-platform">
        {platformLabel(slot?.platform ?? bot.deploymentPlatform)}
        {bot.pinnedPlatform && <span className="text-busy">pinned to {platformLabel(bot.pinnedPlatform)}</span>}
      </Fact>
      <Fact label="slot" testId="bot-slot">
        {slot ? <SlotName name={slot.name} /> : (bot.slotName ?? "—")}
        {slot && <StatusBadge status={slot.status} />}
      </Fact>
      <Fact label="account" testId="bot-account">
        {account ? `${account.label} (${String(account.id)})` : "—"}
        {account?.leasedAt && <span className="text-muted">leased {formatTimestamp(account.leasedAt)}</span>}
        {account && <span className={account.held ? "text-idle" : "text-dim"}>{account.held ? "held" : "returned"}</span>}
      </Fact>
      <Fact label="priority">{bot.priority}</Fact>
      <Fact label="ended" show={bot.endedAt !== null}>
        {formatTimestamp(bot.endedAt)}
      </Fact>
      <Fact label="queue" show={bot.queuePosition !== null}>
        #{bot.queuePosition}
      </Fact>
      <Fact label="wait" show={bot.waitMs !== null}>
        {formatDuration(bot.waitMs ?? 0)}
      </Fact>
      <Fact label="error" show={bot.error !== null}>
        <span className="text-error">{bot.error}</span>
      </Fact>
      <Fact label="re-deploys" show={t.redeployOf !== null}>
        {t.redeployOf !== null && <BotLink id={t.redeployOf} />}
      </Fact>
      <Fact label="deployed again as" show={t.redeployedAs.length > 0}>
        {t.redeployedAs.map((id) => (
          <BotLink key={id} id={id} />
        ))}
      </Fact>
    </dl>
  );
}

/** The audit log's rows about this bot, newest first: what, who, when, why. */
function Actions({ t }: { t: BotTimeline }) {
  if (t.actions.length === 0) return <p className="text-muted">No action taken on this bot.</p>;
  return (
    <ul className="flex flex-col gap-1.5 font-mono text-[11.5px]">
      {t.actions.map((a) => (
        <li key={a.id} data-testid="bot-action">
          <span className="text-fg">{a.action}</span> <span className="text-muted">by {a.actor}</span> <span className="text-dim">{formatTimestamp(a.at)}</span>
          {a.reason && <div className="text-[12px] text-muted">“{a.reason}”</div>}
        </li>
      ))}
    </ul>
  );
}

/** The states in order, each with its time and how long it lasted (the last: until now, unless final). */
function Events({ t }: { t: BotTimeline }) {
  const now = useNow();
  const { events } = t;
  if (events.length === 0) return <p className="text-muted">No state recorded.</p>;
  return (
    <ol className="relative border-l border-line-2 pl-4">
      {events.map((e, i) => {
        const next = events[i + 1];
        const lasted = next ? Date.parse(next.at) - Date.parse(e.at) : isFinal(e.status) ? null : now - Date.parse(e.at);
        return (
          <li key={i} className="relative mb-2.5 last:mb-0" data-testid="bot-event" data-status={e.status} data-at={e.at}>
            <span aria-hidden className="absolute -left-[21px] top-1.5 size-2 rounded-full border border-line-2 bg-panel-2" />
            <div className="flex items-baseline gap-2 font-mono text-[11.5px]">
              <BotStatusBadge status={e.status} />
              <span className="text-[10.5px] text-dim">{formatTimestamp(e.at)}</span>
              {lasted !== null && (
                <span className="ml-auto text-[10.5px] text-muted" title={next ? "until the next state" : "so far"}>
                  {next ? "" : "for "}
                  {formatDuration(lasted)}
                </span>
              )}
            </div>
            {e.detail && <div className="text-[12px] text-muted">{e.detail}</div>}
          </li>
        );
      })}
    </ol>
  );
}
