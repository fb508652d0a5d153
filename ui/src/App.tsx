import { useState } from "react";
import { DashboardPage } from "./dashboard/DashboardPage";
import { HistoryPage } from "./history/HistoryPage";
import { InfrastructurePage } from "./infrastructure/InfrastructurePage";
import { PoolsPage } from "./pools/PoolsPage";
import { SettingsPage } from "./settings/SettingsPage";
import { ClosePrompt } from "./shared/ClosePrompt";
import { DatabaseBanner } from "./shared/LiveIndicator";
import { useLeaveGuard } from "./shared/unsaved";

type Tab = "dashboard" | "pools" | "infrastructure" | "history" | "settings";

const TABS: { id: Tab; label: string; icon: string }[] = [
  { id: "dashboard", label: "Pool dashboard", icon: "M3 3h7v9H3zM14 3h7v5h-7zM14 12h7v9h-7zM3 16h7v5H3z" },
  { id: "pools", label: "Pools", icon: "M4 6h16M4 6v12h16V6M8 10h8M8 14h5" },
  { id: "infrastructure", label: "Infrastructure", icon: "M4 5h16v4H4zM4 10h16v4H4zM4 15h16v4H4zM7 7h.01M7 12h.01M7 17h.01" },
  { id: "history", label: "History", icon: "M4 4v16h16M7 15l4-5 3 3 5-6" },
  { id: "settings", label: "Settings", icon: "M4 6h10M18 6h2M4 12h4M12 12h8M4 18h12M20 18h0M14 4v4M8 10v4M16 16v4" },
];

function tabFromHash(): Tab {
  const h = window.location.hash.replace(/^#\/?/, "");
  return h === "pools" || h === "infrastructure" || h === "history" || h === "settings" ? h : "dashboard";
}

export function App() {
  const [tab, setTabState] = useState<Tab>(tabFromHash);
  const { leave, dialog } = useLeaveGuard();
  const setTab = (t: Tab) => {
    if (t === tab) return;
    // Another view unmounts this one: unsaved edits would vanish.
    leave(() => {
      setTabState(t);
      window.history.replaceState(null, "", `#/${t}`);
    });
  };
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
          {TABS.map((t) => (
            <li key={t.id}>
              <button
                role="tab"
                aria-selected={tab === t.id}
                onClick={() => setTab(t.id)}
                className={`flex w-full items-center gap-2.5 border-l-2 px-3 py-2 text-left text-[13px] transition-colors ${
                  tab === t.id ? "border-accent bg-accent/10 text-fg" : "border-transparent text-muted hover:bg-white/5 hover:text-fg"
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
        <div className="mt-auto border-t border-line px-4 py-3 font-mono text-[10px] uppercase tracking-[0.16em] text-dim">
          berth · v0.1.0
        </div>
      </nav>
      <main className="flex min-w-0 flex-1 flex-col">
        <DatabaseBanner />
        <div className="min-h-0 flex-1 overflow-auto">
          {tab === "dashboard" && <DashboardPage />}
          {tab === "pools" && <PoolsPage />}
          {tab === "infrastructure" && <InfrastructurePage />}
          {tab === "history" && <HistoryPage />}
          {tab === "settings" && <SettingsPage />}
        </div>
      </main>
      {dialog}
      <ClosePrompt />
    </div>
  );
}
