import type { ReactNode } from "react";
import { useRefreshAll } from "../api/provider";
import { LiveIndicator } from "./LiveIndicator";

export function PageHeader({ title, subtitle, children }: { title: string; subtitle: string; children?: ReactNode }) {
  return (
    <header className="flex flex-wrap items-start justify-between gap-4 border-b border-line px-6 pb-4 pt-5">
      <div>
        <h1 className="text-[20px] font-semibold tracking-tight">{title}</h1>
        <p className="mt-0.5 text-[13px] text-muted">{subtitle}</p>
      </div>
      <div className="flex items-center gap-3">
        {children}
        <LiveIndicator />
        <RefreshButton />
      </div>
    </header>
  );
}

export function RefreshButton() {
  const { refresh, refreshing } = useRefreshAll();
  return (
    <button type="button" className="btn" onClick={() => void refresh()} aria-label="Refresh" aria-busy={refreshing}>
      <svg
        viewBox="0 0 24 24"
        className={`size-3.5 ${refreshing ? "animate-spin" : ""}`}
        fill="none"
        stroke="currentColor"
        strokeWidth="2"
        aria-hidden
      >
        <path d="M20 11a8 8 0 1 0-2.3 5.7M20 4v7h-7" />
      </svg>
      Refresh
    </button>
  );
}
