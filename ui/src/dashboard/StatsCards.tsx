import type { SlotStatus } from "../api/types";
import { Spinner } from "../shared/StatusBadge";
import { STATUS_STYLES } from "../shared/status";
import type { Totals } from "./aggregate";
import { idleExplanation, type IdleBreakdown } from "./idleReasons";

const CARD_TONE: Record<SlotStatus, string> = {
  idle: "border-t-idle",
  deploying: "border-t-deploying",
  busy: "border-t-busy",
  error: "border-t-error",
};
const HINT: Record<SlotStatus, string> = {
  idle: "ready for assignment",
  deploying: "starting up",
  busy: "running bots",
  error: "need recovery",
};

/**
 * The capacity card (slots in use of the pools' max size, what is left) and
 * one card per status. `idle` (when known) says which idle slots a waiting
 * bot can take: only those count as available, and the rest's reason shows.
 */
export function StatsCards({ totals, idle }: { totals: Totals; idle?: IdleBreakdown }) {
  const inUse = totals.busy + totals.deploying;
  const pct = totals.maxSize > 0 ? Math.min(100, (inUse / totals.maxSize) * 100) : 0;
  const available = idle ? idle.usable : totals.idle;
  const reason = idle ? idleExplanation(idle) : null;
  return (
    <div className="grid grid-cols-3 gap-3">
      <section data-testid="stat-total" aria-label="Total capacity" className="panel row-span-2 flex flex-col border-t-2 border-t-accent/80 p-4">
        <div className="flex items-center justify-between">
          <span className="panel-title">Slots in use</span>
          <span className="font-mono text-[11px] text-dim">{Math.round(pct)}%</span>
        </div>
        <div className="mt-3 font-mono text-[28px] leading-none font-semibold tabular-nums">
          <span data-testid="stat-total-in-use">{inUse}</span>
          <span className="text-[18px] text-dim"> / </span>
          <span data-testid="stat-total-max" className="text-[18px] text-muted">{totals.maxSize}</span>
        </div>
        {/* Bars without a tween: counts change every second or so under traffic. */}
        <div
          role="progressbar"
          aria-label="Capacity in use"
          aria-valuemin={0}
          aria-valuemax={totals.maxSize}
          aria-valuenow={inUse}
          className="mt-3 flex h-1.5 w-full overflow-hidden bg-tint/5"
        >
          <div className="h-full bg-busy" style={{ width: `${totals.maxSize > 0 ? Math.min(100, (totals.busy / totals.maxSize) * 100) : 0}%` }} />
          <div className="h-full bg-deploying" style={{ width: `${totals.maxSize > 0 ? Math.min(100, (totals.deploying / totals.maxSize) * 100) : 0}%` }} />
        </div>
        <div data-testid="stat-total-caption" className="mt-2 font-mono text-[11px] text-dim">
          busy + deploying slots, of {totals.maxSize} max
        </div>
        <dl className="mt-auto grid grid-cols-2 gap-x-3 gap-y-1.5 border-t border-line pt-3 font-mono text-[11px]">
          <dt className="text-dim">slots created</dt>
          <dd className="text-right tabular-nums">{totals.total}</dd>
          <dt className="text-dim" title="Slots that may still be created before the max size">
            headroom
          </dt>
          <dd className="text-right tabular-nums">{Math.max(0, totals.maxSize - totals.total)}</dd>
          <dt className="text-dim" title="Idle slots a waiting bot can take now (their platform has room)">
            available
          </dt>
          <dd data-testid="stat-available" className={`text-right tabular-nums ${available > 0 ? "text-idle" : "text-dim"}`}>
            {available}
          </dd>
        </dl>
        {/* Three lines kept for the reason, so it never moves the cards when it appears. */}
        <p data-testid="idle-reason" role="status" title={reason ?? undefined} className="mt-2 line-clamp-3 min-h-[3lh] text-[11px] leading-snug text-busy">
          {reason}
        </p>
      </section>
      {(["idle", "deploying", "busy", "error"] as const).map((status) => (
        <StatusCard key={status} status={status} value={totals[status]} total={totals.total} />
      ))}
    </div>
  );
}

function StatusCard({ status, value, total }: { status: SlotStatus; value: number; total: number }) {
  const s = STATUS_STYLES[status];
  const attention = status === "error" && value > 0;
  return (
    <section
      data-testid={`stat-${status}`}
      aria-label={s.label}
      className={`panel relative flex flex-col border-t-2 p-4 ${CARD_TONE[status]} ${attention ? "bg-error/[0.06]" : ""}`}
    >
      <div className="flex items-center justify-between">
        <span className={`badge ${s.text} border-current/30 bg-current/5`}>
          {status === "deploying" && value > 0 && <Spinner />}
          {attention && <span aria-hidden className="size-1.5 rounded-full bg-error animate-attention" />}[{s.badge}]
        </span>
        <span className="font-mono text-[11px] text-dim">{total > 0 ? `${Math.round((value / total) * 100)}%` : "—"}</span>
      </div>
      <div data-testid={`stat-${status}-value`} className={`mt-3 font-mono text-[28px] leading-none font-semibold tabular-nums ${value > 0 ? s.text : "text-dim"}`}>
        {value}
      </div>
      <div className="mt-auto pt-2 text-[11px] text-dim">{HINT[status]}</div>
      {/* A still bar (an endless sweep kept the web view repainting). */}
      {status === "deploying" && value > 0 && <div aria-hidden className="absolute inset-x-0 bottom-0 h-0.5 bg-deploying/60" />}
    </section>
  );
}
