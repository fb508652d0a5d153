import { useCallback, useEffect, useState } from "react";
import { ActionDialog } from "./actions/ActionDialog";
import { AlertBell } from "./alerts/AlertBell";
import { BotsPage } from "./bots/BotsPage";
import { DashboardPage } from "./dashboard/DashboardPage";
import { HistoryPage } from "./history/HistoryPage";
import { InfrastructurePage } from "./infrastructure/InfrastructurePage";
import { KeyboardLayer } from "./keyboard/KeyboardLayer";
import { PoolsPage } from "./pools/PoolsPage";
import { SettingsPage } from "./settings/SettingsPage";
import { ClosePrompt } from "./shared/ClosePrompt";
import { DatabaseBanner } from "./shared/LiveIndicator";
import { setNavigationHost } from "./shared/navigation";
import { ScrollRootContext } from "./shared/scrollRoot";
import { initialView, useScrollMemory } from "./shared/viewMemory";
import { useLeaveGuard } from "./shared/unsaved";
import { VIEWS, type View } from "./views";

type Tab = View;

export function App() {
  // The address's view, else the one the app was left on.
  const [tab, setTabState] = useState<Tab>(initialView);
  const [scrollRoot, setScrollRoot] = useState<HTMLElement | null>(null);
  useScrollMemory(scrollRoot, tab);
  const { leave, dialog } = useLeaveGuard();
  const setTab = useCallback(
    (t: Tab, then?: () => void) => {
      if (t === tab) return;
      // Another view unmounts this one: unsaved edits would vanish.
      leave(() => {
        then?.();
        setTabState(t);
        window.history.replaceState(null, "", `#/${t}`);
      });
    },
    [tab, leave],
  );
  // A bot id's link in any view switches here (or, on the view already, just does `then`).
  useEffect(() => setNavigationHost((t, then) => (t === tab ? then?.() : setTab(t, then))), [tab, setTab]);
  return (
    <div className="flex h-full">
      <nav aria-label="Main" className="flex w-48 shrink-0 flex-col border-r border-line bg-panel">
        <div className="flex items-center gap-2.5 border-b border-line px-4 py-3.5">
          <svg viewBox="0 0 24 24" className="size-6 text-accent" aria-hidden>
            <path d="M3 17h18l-2 4H5zM6 13h12v3H6zM9 9h6v3H9zM11.25 3h1.5v6h-1.5z" fill="currentColor" />
          </svg>
          <div>
            <div className="text-[14px] font-semibold tracking-tight">Berth</div>
            <div className="font-mono text-[10px] uppercase tracking-[0.18em] text-dim">control room</div>
          </div>
        </div>
        <ul className="flex flex-col gap-0.5 p-2" role="tablist" aria-orientation="vertical">
          {VIEWS.map((t) => (
            <li key={t.id}>
              <button
                role="tab"
                aria-selected={tab === t.id}
                onClick={() => setTab(t.id)}
                title={`${t.label} (g ${t.key})`}
                className={`flex w-full items-center gap-2.5 border-l-2 px-3 py-2 text-left text-[13px] transition-colors ${
                  tab === t.id ? "border-accent bg-accent/10 text-fg" : "border-transparent text-muted hover:bg-tint/5 hover:text-fg"
                }`}
              >
                <svg viewBox="0 0 24 24" className="size-4" aria-hidden fill="none" stroke="currentColor" strokeWidth="1.7">
                  <path d={t.icon} />
                </svg>
                {t.label}
              </button>
            </li>
          ))}
        </ul>
        <div className="mt-auto p-2">
          <AlertBell />
        </div>
        <div className="border-t border-line px-4 py-3 font-mono text-[10px] uppercase tracking-[0.16em] text-dim">
          berth · v0.1.0
        </div>
      </nav>
      <main className="flex min-w-0 flex-1 flex-col">
        <DatabaseBanner />
        {/* The app's one scroll area: views (and the virtualised slots table) scroll here. */}
        <div ref={setScrollRoot} data-testid="scroll-root" className="min-h-0 flex-1 overflow-auto">
          <ScrollRootContext.Provider value={scrollRoot}>
            {tab === "dashboard" && <DashboardPage />}
            {tab === "pools" && <PoolsPage />}
            {tab === "infrastructure" && <InfrastructurePage />}
            {tab === "bots" && <BotsPage />}
            {tab === "history" && <HistoryPage />}
            {tab === "settings" && <SettingsPage />}
          </ScrollRootContext.Provider>
        </div>
      </main>
      {dialog}
      <KeyboardLayer view={tab} navigate={setTab} />
      <ActionDialog />
      <ClosePrompt />
    </div>
  );
}
