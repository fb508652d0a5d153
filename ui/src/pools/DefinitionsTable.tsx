import type { DefinitionList } from "../api/types";
import { useNow } from "../shared/clock";
import { formatRelative, meetingLabel } from "../shared/format";
import { problemLocation } from "./problems";
import { StateBadge } from "./StateBadge";

/** The pools directory's definitions, then the files skipped as broken. */
export function DefinitionsTable({
  list,
  selected,
  onSelect,
}: {
  list: DefinitionList;
  selected: string | null;
  onSelect: (name: string) => void;
}) {
  const now = useNow();
  return (
    <div className="panel">
      <table className="w-full text-left text-[12.5px]" aria-label="Pool definitions">
        <thead className="border-b border-line font-mono text-[10.5px] uppercase tracking-[0.12em] text-dim">
          <tr>
            <th className="px-3 py-2 font-medium">Pool</th>
            <th className="px-3 py-2 font-medium">Meeting</th>
            <th className="px-3 py-2 font-medium">Source</th>
            <th className="px-3 py-2 text-right font-medium">Slots</th>
            <th className="px-3 py-2 font-medium" title="available / in use / completed / failed">
              Accounts
            </th>
            <th className="px-3 py-2 font-medium">Last refresh</th>
            <th className="px-3 py-2 font-medium">State</th>
          </tr>
        </thead>
        <tbody>
          {list.definitions.map((d) => {
            const name = d.summary.name;
            const a = d.accounts;
            return (
              <tr
                key={name}
                data-testid={`definition-${name}`}
                aria-selected={selected === name}
                onClick={() => onSelect(name)}
                className={`cursor-pointer border-b border-line/60 hover:bg-white/5 ${selected === name ? "bg-accent/10" : ""}`}
              >
                <td className="px-3 py-2">
                  <button
                    type="button"
                    className="text-left font-medium hover:text-accent"
                    onClick={(e) => {
                      e.stopPropagation();
                      onSelect(name);
                    }}
                  >
                    {name}
                  </button>
                  <div className="font-mono text-[10.5px] text-dim">{d.file}</div>
                </td>
                <td className="px-3 py-2">{meetingLabel(d.summary.meetingPlatform)}</td>
                <td className="px-3 py-2 font-mono">{d.summary.sourceType ?? "—"}</td>
                <td className="px-3 py-2 text-right font-mono tabular-nums">
                  {d.slots}
                  <span className="text-dim">/{d.summary.maxSize}</span>
                </td>
                <td className="px-3 py-2 font-mono tabular-nums" aria-label={a ? "accounts" : undefined}>
                  {a ? `${a.available} / ${a.inUse} / ${a.completed} / ${a.failed}` : "—"}
                </td>
                <td className="px-3 py-2 text-muted">{a ? formatRelative(d.lastRefresh, now) : "—"}</td>
                <td className="px-3 py-2">
                  <StateBadge state={d.state} />
                </td>
              </tr>
            );
          })}
          {list.definitions.length === 0 && (
            <tr>
              <td colSpan={7} className="px-3 py-6 text-center text-muted">
                No pool definitions in {list.directory}.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {list.problems.length > 0 && (
        <div className="border-t border-line px-3 py-2" aria-label="Broken files">
          <div className="panel-title mb-1 text-error">Skipped: broken files</div>
          <ul className="space-y-0.5 font-mono text-[11.5px]">
            {list.problems.map((p, i) => (
              <li key={i}>
                <span className="text-error">{problemLocation(p)}</span> <span className="text-muted">{p.message}</span>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
