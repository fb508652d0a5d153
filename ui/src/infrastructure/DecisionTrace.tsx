import { askAction } from "../actions/store";
import { BotLink } from "../bots/BotLink";
import type { BotDetails, TraceEntry } from "../api/types";
import { formatTimestamp, meetingLabel, platformLabel } from "../shared/format";
import { QueryState } from "../shared/QueryState";
import { SlotName } from "../shared/SlotName";
import { useBotDetails } from "./queries";

const DECISION_TONE: Record<string, string> = {
  deployed: "text-idle",
  queued: "text-busy",
  waiting: "text-busy",
  // Waits in the global queue for an account to return or a refresh.
  noAccount: "text-busy",
  full: "text-busy",
  poolFull: "text-busy",
  failed: "text-error",
  expired: "text-error",
  unhealthy: "text-error",
  unavailable: "text-error",
  // Deploys there failed lately: waits out the platform's backoff.
  backingOff: "text-busy",
  // Its router stopped before settling it; another instance took it over.
  interrupted: "text-busy",
  // Stands for entries dropped from the middle of a long trace.
  omitted: "text-dim",
};

/** A decision in words: `noAccount` → `no account`, `poolFull` → `pool full`. */
export function decisionLabel(decision: string): string {
  return decision.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
}

export function DecisionTrace({ botId, onClose }: { botId: number | null; onClose: () => void }) {
  const details = useBotDetails(botId);
  return (
    <aside aria-label="Decision trace" className="panel flex h-fit flex-col">
      <div className="flex items-center justify-between border-b border-line px-4 py-2.5">
        <h2 className="panel-title">Decision trace</h2>
        {botId !== null && (
          <button type="button" className="text-[11px] text-dim hover:text-fg" onClick={onClose}>
            close
          </button>
        )}
      </div>
      {botId === null ? (
        <p className="px-4 py-6 text-center text-muted">Select a queued bot.</p>
      ) : (
        <QueryState
          query={details}
          replace
          errorTitle={`Could not load bot #${botId}`}
          errorClassName="p-3"
          loading={`Loading bot #${botId}…`}
          loadingClassName="px-4 py-6 text-center text-muted"
        >
          {(bot) => <BotTrace bot={bot} />}
        </QueryState>
      )}
    </aside>
  );
}

/** One bot's facts and its routing decisions. */
function BotTrace({ bot }: { bot: BotDetails }) {
  return (
    <div className="flex flex-col gap-3 p-4">
      <dl className="grid grid-cols-[96px_1fr] gap-y-1 font-mono text-[11.5px]">
        <dt className="text-dim">bot</dt>
        <dd>
          <BotLink id={bot.id} />
        </dd>
        <dt className="text-dim">status</dt>
        <dd>{bot.status}</dd>
        <dt className="text-dim">pool</dt>
        <dd>{bot.pool}</dd>
        <dt className="text-dim">meeting</dt>
        <dd>{meetingLabel(bot.meetingPlatform)}</dd>
        <dt className="text-dim">platform</dt>
        <dd>{platformLabel(bot.deploymentPlatform)}</dd>
        <dt className="text-dim">slot</dt>
        <dd className="min-w-0">{bot.slotName ? <SlotName name={bot.slotName} /> : "—"}</dd>
        {bot.status === "FATAL" && (
          <>
            <dt className="text-dim">action</dt>
            <dd>
              <button type="button" className="btn" onClick={() => askAction({ kind: "bot", action: "redeploy", botId: bot.id })}>
                Deploy again
              </button>
            </dd>
          </>
        )}
        {bot.error && (
          <>
            <dt className="text-dim">error</dt>
            <dd className="text-error">{bot.error}</dd>
          </>
        )}
      </dl>
      <TraceList trace={bot.decisionTrace} />
    </div>
  );
}

/** A bot's routing decisions in order: what, where, when, why (the infrastructure view and a bot's timeline). */
export function TraceList({ trace }: { trace: TraceEntry[] }) {
  return (
    <ol className="relative border-l border-line-2 pl-4" data-testid="trace">
      {trace.length === 0 && <li className="text-muted">No routing decisions yet.</li>}
      {trace.map((t, i) => (
        <li key={i} className="relative mb-3 last:mb-0">
          <span aria-hidden className="absolute -left-[21px] top-1 size-2 rounded-full border border-line-2 bg-panel-2" />
          <div className="flex items-baseline gap-2 font-mono text-[11.5px]">
            <span className={`font-semibold ${DECISION_TONE[t.decision] ?? "text-fg"}`} data-decision={t.decision}>
              {decisionLabel(t.decision)}
            </span>
            <span className="text-muted">{t.platform ? platformLabel(t.platform) : "queue"}</span>
            <span className="ml-auto text-[10.5px] text-dim">{formatTimestamp(t.at).slice(11)}</span>
          </div>
          {t.detail && <div className="text-[12px] text-muted">{t.detail}</div>}
        </li>
      ))}
    </ol>
  );
}
