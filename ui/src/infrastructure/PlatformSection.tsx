import { AnimatePresence, motion } from "motion/react";
import { useMemo, useState } from "react";
import { askAction } from "../actions/store";
import { useCommands, type CommandSpec } from "../keyboard/registry";
import type { PlatformOverview } from "../api/types";
import { formatDuration, formatTimestamp } from "../shared/format";
import { HealthBadge } from "../shared/HealthBadge";
import { STATUS_STYLES } from "../shared/status";

/** `K8s 25/30`; `AWS 4/∞` when no limit is configured. */
export function capacityLabel(p: PlatformOverview): string {
  return `${p.settings.label} ${p.used}/${p.settings.botLimit ?? "∞"}`;
}

export function PlatformSection({ overview, rank }: { overview: PlatformOverview; rank: number }) {
  const [open, setOpen] = useState(true);
  const { settings, used, health, slots } = overview;
  const limit = settings.botLimit;
  const pct = limit ? Math.min(100, (used / limit) * 100) : 0;
  const full = limit !== null && used >= limit;
  const bodyId = `platform-${settings.platform}`;
  const drained = overview.drain !== null;
  usePlatformCommands(overview, open, setOpen);
  return (
    <section className={`panel ${settings.enabled ? "" : "opacity-60"}`} data-testid={`platform-${settings.platform}`}>
      <button
        type="button"
        aria-expanded={open}
        aria-controls={bodyId}
        onClick={() => setOpen((o) => !o)}
        className="flex w-full items-center gap-3 px-4 py-3 text-left hover:bg-tint/[0.02]"
      >
        <span aria-hidden className={`font-mono text-[11px] text-dim transition-transform ${open ? "rotate-90" : ""}`}>▶</span>
        <span className="font-mono text-[11px] text-dim">P{rank}</span>
        <span className="text-[14px] font-semibold">{settings.label}</span>
        <span
          data-testid="capacity-badge"
          className={`badge ${full ? "border-error/40 bg-error/10 text-error" : "border-accent/40 bg-accent/10 text-accent"}`}
        >
          {capacityLabel(overview)}
        </span>
        <HealthBadge health={health} />
        {!settings.enabled && <span className="badge border-line-2 text-muted">DISABLED</span>}
        {limit === null && <span className="badge border-busy/30 text-busy">NO LIMIT · SKIPPED</span>}
        {drained && <span className="badge border-busy/40 bg-busy/10 text-busy">DRAINED</span>}
        {overview.queued > 0 && (
          <span data-testid="queued-badge" className="badge border-deploying/40 bg-deploying/10 text-deploying" title="Requests waiting for capacity on this platform">
            {overview.queued} QUEUED
          </span>
        )}
        <span className="ml-auto font-mono text-[11px] text-dim">queue timeout {formatDuration(settings.queueTimeoutMs)}</span>
      </button>
      <DrainBar overview={overview} />
      <AnimatePresence initial={false}>
        {open && (
          <motion.div
            id={bodyId}
            initial={{ height: 0, opacity: 0 }}
            animate={{ height: "auto", opacity: 1 }}
            exit={{ height: 0, opacity: 0 }}
            transition={{ duration: 0.18 }}
            className="overflow-hidden"
          >
            <div className="border-t border-line px-4 py-3">
              <div className="mb-3 flex items-center gap-3">
                <div className="h-1.5 flex-1 bg-tint/5">
                  <div className={`h-full ${full ? "bg-error" : "bg-accent"}`} style={{ width: `${pct}%` }} />
                </div>
                <span className="font-mono text-[11px] text-muted">
                  {used} active bot{used === 1 ? "" : "s"}
                  {limit !== null ? ` of ${limit}` : ""}
                </span>
              </div>
              <div className="grid grid-cols-4 gap-3">
                {(["idle", "deploying", "busy", "error"] as const).map((s) => (
                  <div key={s} className="border border-line bg-bg/50 px-3 py-2" data-testid={`platform-${settings.platform}-${s}`}>
                    <div className={`font-mono text-[10.5px] font-semibold tracking-[0.12em] ${STATUS_STYLES[s].text}`}>
                      [{STATUS_STYLES[s].badge}]
                    </div>
                    <div className={`mt-1 font-mono text-[20px] font-semibold tabular-nums ${slots[s] > 0 ? STATUS_STYLES[s].text : "text-dim"}`}>
                      {slots[s]}
                    </div>
                  </div>
                ))}
              </div>
            </div>
          </motion.div>
        )}
      </AnimatePresence>
    </section>
  );
}

/** Who drained the platform and why (if drained), and the drain/undrain button. */
function DrainBar({ overview }: { overview: PlatformOverview }) {
  const { drain, settings } = overview;
  const action = drain ? "undrain" : "drain";
  return (
    <div className="flex items-center gap-3 border-t border-line/60 px-4 py-1.5 text-[12px]">
      <span className={drain ? "text-busy" : "text-dim"} data-testid={`drain-${settings.platform}`}>
        {drain ? `Drained by ${drain.by}${drain.reason ? `: ${drain.reason}` : ""} (${formatTimestamp(drain.at)})` : "Takes new bots"}
      </span>
      <button
        type="button"
        className="btn ml-auto"
        onClick={() => askAction({ kind: "platform", action, platform: settings.platform, label: settings.label })}
      >
        {drain ? `Undrain ${settings.label}` : `Drain ${settings.label}`}
      </button>
    </div>
  );
}

/** The palette's collapse/expand and drain/undrain of one platform. */
function usePlatformCommands(overview: PlatformOverview, open: boolean, setOpen: (f: (o: boolean) => boolean) => void) {
  const { settings } = overview;
  const drained = overview.drain !== null;
  const toggle = useMemo(
    (): CommandSpec[] => [
      { id: `platform.toggle.${settings.platform}`, group: "Infrastructure", title: `${open ? "Collapse" : "Expand"} ${settings.label}`, run: () => setOpen((o) => !o) },
      {
        id: `platform.${drained ? "undrain" : "drain"}.${settings.platform}`,
        group: "Platform",
        title: `${drained ? "Undrain" : "Drain"} ${settings.label}`,
        keywords: ["platform", "drain"],
        run: () => askAction({ kind: "platform", action: drained ? "undrain" : "drain", platform: settings.platform, label: settings.label }),
      },
    ],
    [open, setOpen, drained, settings.platform, settings.label],
  );
  useCommands(toggle);
}
