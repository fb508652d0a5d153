// The in-app alert list: a bell in the sidebar counting the alerts that
// arrived since the list was last opened, and a panel listing them newest
// first (kept in memory, at most MAX_NOTICES) with a switch per alert kind.
import { useEffect, useState } from "react";
import { useSubscription } from "../api/subscription";
import { api, onAlerts } from "../api/tauri";
import type { AlertKind, AlertsRaised, Notice } from "../api/types";
import { ALERT_KINDS, loadKinds, saveKinds } from "./kinds";

export const MAX_NOTICES = 100;

const id = (n: Notice) => `${n.at}|${n.kind}|${n.key}|${n.raised}`;

/**
 * `batch` (oldest first, as the shell sends it) ahead of `list` (newest
 * first), at most `MAX_NOTICES`; a notice already listed is not listed twice
 * (a batch can arrive both live and in `recentAlerts`).
 */
export function addBatch(list: Notice[], batch: Notice[]): Notice[] {
  const seen = new Set(list.map(id));
  const fresh = batch.filter((n) => !seen.has(id(n)));
  return [...fresh.reverse(), ...list].slice(0, MAX_NOTICES);
}

function useAlertBatches(handler: (e: AlertsRaised) => void) {
  useSubscription(onAlerts, handler);
}

const time = (iso: string) => new Date(iso).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });

export function AlertBell() {
  const [notices, setNotices] = useState<Notice[]>([]);
  const [unread, setUnread] = useState(0);
  const [open, setOpen] = useState(false);
  const [kinds, setKinds] = useState<AlertKind[]>(loadKinds);
  useAlertBatches(({ notices: batch }) => {
    setNotices((list) => addBatch(list, batch));
    if (!open) setUnread((n) => Math.min(n + batch.length, MAX_NOTICES));
  });
  // The shell starts with every kind on: tell it the saved choice once, and
  // list what it sent before this window listened (the first check runs as
  // soon as the core starts; a reload loses the list too).
  useEffect(() => {
    void api.setAlertKinds(loadKinds()).catch(() => undefined);
    void api
      .recentAlerts()
      .then((recent) => setNotices((list) => addBatch(list, recent)))
      .catch(() => undefined);
  }, []);
  const toggle = (kind: AlertKind, on: boolean) => {
    const next = ALERT_KINDS.map((k) => k.kind).filter((k) => (k === kind ? on : kinds.includes(k)));
    setKinds(next);
    saveKinds(next);
    void api.setAlertKinds(next).catch(() => undefined);
  };
  const label = unread > 0 ? `Alerts (${unread} new)` : "Alerts";
  return (
    // Escape closes the panel from the bell as well as from inside it.
    <div
      className="relative"
      onKeyDown={(e) => {
        if (e.key === "Escape" && open) setOpen(false);
      }}
    >
      <button
        type="button"
        aria-label={label}
        aria-expanded={open}
        title={label}
        onClick={() => {
          setOpen((o) => !o);
          setUnread(0);
        }}
        className="flex w-full items-center gap-2.5 px-3 py-2 text-left text-[13px] text-muted hover:bg-tint/5 hover:text-fg"
      >
        <svg viewBox="0 0 24 24" className="size-4" aria-hidden fill="none" stroke="currentColor" strokeWidth="1.7">
          <path d="M6 16V11a6 6 0 0 1 12 0v5l2 2H4zM10 20a2 2 0 0 0 4 0" />
        </svg>
        Alerts
        {unread > 0 && (
          <span data-testid="alert-count" className="ml-auto rounded-full bg-accent px-1.5 font-mono text-[10px] text-bg">
            {unread}
          </span>
        )}
      </button>
      {open && <AlertPanel notices={notices} kinds={kinds} toggle={toggle} />}
    </div>
  );
}

function AlertPanel({
  notices,
  kinds,
  toggle,
}: {
  notices: Notice[];
  kinds: AlertKind[];
  toggle: (kind: AlertKind, on: boolean) => void;
}) {
  return (
    <div
      role="dialog"
      aria-label="Alerts"
      className="panel fixed bottom-12 left-2 z-40 flex max-h-[70vh] w-80 flex-col p-3 text-[13px]"
    >
      <ul aria-label="Alert list" className="min-h-0 flex-1 space-y-2 overflow-auto">
        {notices.length === 0 && <li className="text-dim">No alerts yet.</li>}
        {notices.map((n, i) => (
          <li key={`${n.at}-${n.kind}-${n.key}-${i}`} className={`border-l-2 pl-2 ${n.raised ? "border-error" : "border-idle"}`}>
            <div className="flex justify-between gap-2">
              <span className="font-medium text-fg">{n.title}</span>
              <span className="shrink-0 font-mono text-[11px] text-dim">{time(n.at)}</span>
            </div>
            <div className="text-muted">{n.body}</div>
          </li>
        ))}
      </ul>
      <fieldset className="mt-3 border-t border-line pt-2">
        <legend className="text-[11px] uppercase tracking-[0.12em] text-dim">Notify me about</legend>
        {ALERT_KINDS.map(({ kind, label: text }) => (
          <label key={kind} className="flex items-center gap-2 py-0.5">
            <input type="checkbox" checked={kinds.includes(kind)} onChange={(e) => toggle(kind, e.target.checked)} />
            {text}
          </label>
        ))}
      </fieldset>
    </div>
  );
}
