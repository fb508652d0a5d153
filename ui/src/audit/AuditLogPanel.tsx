// The operator actions recorded in the audit log, newest first: when, who,
// what, on what, why. Updates live (every action announces `audit`).
import { BotLink } from "../bots/BotLink";
import { QueryState } from "../shared/QueryState";
import { formatTimestamp } from "../shared/format";
import { useAuditLog } from "./queries";

const QUERY = { limit: 50 };

export function AuditLogPanel() {
  const log = useAuditLog(QUERY);
  return (
    <section aria-label="Audit log" className="panel">
      <div className="border-b border-line px-4 py-2.5">
        <h2 className="panel-title">Audit log</h2>
      </div>
      <QueryState query={log} errorTitle="Could not load the audit log" loading="Loading the audit log…" loadingClassName="px-4 py-4 text-muted">
        {(entries) =>
          entries.length === 0 ? (
            <p className="px-4 py-4 text-center text-muted">No actions recorded yet.</p>
          ) : (
            <table className="w-full font-mono text-[11.5px]">
              <thead>
                <tr className="border-b border-line text-left text-[10px] uppercase tracking-[0.14em] text-dim">
                  <th className="px-4 py-1.5 font-semibold">Time</th>
                  <th className="py-1.5 font-semibold">Actor</th>
                  <th className="py-1.5 font-semibold">Action</th>
                  <th className="py-1.5 font-semibold">Target</th>
                  <th className="py-1.5 pr-4 font-semibold">Reason</th>
                </tr>
              </thead>
              <tbody>
                {entries.map((e) => (
                  <tr key={e.id} data-testid="audit-row" className="border-b border-line/60">
                    <td className="px-4 py-1 text-muted">{formatTimestamp(e.at)}</td>
                    <td className="py-1">{e.actor}</td>
                    <td className="py-1 text-fg">{e.action}</td>
                    <td className="py-1">
                      {e.targetKind} {e.targetKind === "bot" && /^\d+$/.test(e.target) ? <BotLink id={Number(e.target)} /> : e.target}
                    </td>
                    <td className="py-1 pr-4 text-muted">{e.reason ?? "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </QueryState>
    </section>
  );
}
