import { useState } from "react";
import type { DefinitionList, DefinitionProblem, DefinitionRow } from "../api/types";
import { useRowCursor } from "../keyboard/tableCursor";
import { useNow } from "../shared/clock";
import { formatRelative, meetingLabel } from "../shared/format";
import { problemLocation } from "./problems";
import { StateBadge } from "./StateBadge";

/** Broken files' problems by file, in list order (problems without a file last, under `null`). */
export function problemsByFile(problems: DefinitionProblem[]): [string | null, DefinitionProblem[]][] {
  const groups = new Map<string | null, DefinitionProblem[]>();
  for (const p of problems) groups.set(p.file, [...(groups.get(p.file) ?? []), p]);
  return [...groups.entries()].sort(([a], [b]) => (a === null ? 1 : 0) - (b === null ? 1 : 0));
}

/** The definitions whose name, file or meeting platform contains `filter` (any case). */
export function matchingDefinitions(defs: DefinitionRow[], filter: string): DefinitionRow[] {
  const q = filter.trim().toLowerCase();
  if (q === "") return defs;
  return defs.filter((d) => [d.summary.name, d.file, meetingLabel(d.summary.meetingPlatform)].some((s) => s.toLowerCase().includes(q)));
}

/** The pools directory's definitions (filterable), then the files skipped as broken. */
export function DefinitionsTable({
  list,
  selected,
  selectedFile = null,
  onSelect,
  onOpenBroken,
  onDeploy,
}: {
  list: DefinitionList;
  selected: string | null;
  /** The broken file open in the editor, if any. */
  selectedFile?: string | null;
  onSelect: (name: string) => void;
  onOpenBroken: (file: string) => void;
  onDeploy: (name: string) => void;
}) {
  const now = useNow();
  const [filter, setFilter] = useState("");
  const defs = matchingDefinitions(list.definitions, filter);
  // j/k walk the definitions; Enter opens the highlighted one in the editor.
  const cursor = useRowCursor({
    count: defs.length,
    describe: (i) => ({ kind: "pool", name: defs[i]!.summary.name }),
    onOpen: (i) => onSelect(defs[i]!.summary.name),
  });
  return (
    <div className="panel overflow-x-auto">
      {list.definitions.length > 0 && (
        <div className="border-b border-line px-3 py-2">
          <input
            type="search"
            aria-label="Filter pools"
            placeholder="Filter pools   /"
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
            data-view-filter
            className="input max-w-xs"
          />
        </div>
      )}
      <table className="w-full text-left text-[12.5px]" aria-label="Pool definitions">
        <DefinitionsHead />
        <tbody>
          {defs.map((d, i) => (
            <DefinitionTableRow
              key={d.summary.name}
              d={d}
              selected={selected === d.summary.name}
              now={now}
              onSelect={onSelect}
              onDeploy={onDeploy}
              extra={cursor.rowProps(i)}
            />
          ))}
          {list.definitions.length > 0 && defs.length === 0 && (
            <tr>
              <td colSpan={8} className="px-3 py-6 text-center text-muted">
                No pool matches “{filter}”.
              </td>
            </tr>
          )}
          {list.definitions.length === 0 && (
            <tr>
              <td colSpan={8} className="px-3 py-6 text-center text-muted">
                No pool definitions in {list.directory}.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {list.problems.length > 0 && <BrokenFiles problems={list.problems} selectedFile={selectedFile} onOpenBroken={onOpenBroken} />}
    </div>
  );
}

/** The column headers (the last, Actions, for screen readers only). */
function DefinitionsHead() {
  return (
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
        <th className="px-3 py-2 font-medium">
          <span className="sr-only">Actions</span>
        </th>
      </tr>
    </thead>
  );
}

/** One definition: name and file, meeting, source, slots, accounts, last refresh, state, Deploy bots (once applied). */
function DefinitionTableRow({
  d,
  selected,
  now,
  onSelect,
  onDeploy,
  extra,
}: {
  d: DefinitionRow;
  selected: boolean;
  now: number;
  onSelect: (name: string) => void;
  onDeploy: (name: string) => void;
  /** The keyboard cursor's marks. */
  extra?: Record<string, string | undefined>;
}) {
  const name = d.summary.name;
  const a = d.accounts;
  return (
    <tr
      {...extra}
      key={name}
      data-testid={`definition-${name}`}
      aria-selected={selected}
      onClick={() => onSelect(name)}
      className={`cursor-pointer border-b border-line/60 hover:bg-tint/5 ${selected ? "bg-accent/10" : ""}`}
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
      <td className="px-3 py-2 text-muted">
        {a ? formatRelative(d.lastRefresh, now) : "—"}
        {d.refreshError && (
          // One line (the full message in the title): an error never makes the row taller than its two-line name cell.
          <div role="alert" className="max-w-[28ch] truncate text-[11px] text-error" title={d.refreshError.message}>
            <span className="font-mono">[{d.refreshError.code}]</span> auto-refresh failed{" "}
            {formatRelative(d.refreshError.failedAt, now)}: {d.refreshError.message}
          </div>
        )}
      </td>
      <td className="px-3 py-2">
        <StateBadge state={d.state} />
      </td>
      <td className="px-3 py-2 text-right">
        {d.state.state !== "notApplied" && (
          <button
            type="button"
            className="btn whitespace-nowrap px-2 py-0.5"
            title={`Deploy a batch of bots into ${name}`}
            onClick={(e) => {
              e.stopPropagation();
              onDeploy(name);
            }}
          >
            Deploy bots
          </button>
        )}
      </td>
    </tr>
  );
}

/** The files skipped as broken, each with its problems and (when known) a button to open it. */
function BrokenFiles({
  problems: all,
  selectedFile,
  onOpenBroken,
}: {
  problems: DefinitionProblem[];
  selectedFile: string | null;
  onOpenBroken: (file: string) => void;
}) {
  return (
    <div className="border-t border-line px-3 py-2" aria-label="Broken files">
      <div className="panel-title mb-1 text-error">Skipped: broken files</div>
      <ul className="space-y-2">
        {problemsByFile(all).map(([file, problems]) => (
          <li key={file ?? "(unknown)"} data-testid={`broken-${file ?? "unknown"}`} aria-current={file !== null && file === selectedFile ? "true" : undefined}>
            <div className="flex items-center gap-2">
              <span className="font-mono text-[12px] text-fg">{file ?? "(file unknown)"}</span>
              {file !== null && (
                <button type="button" className="btn ml-auto px-2 py-0.5" aria-label={`Open ${file}`} onClick={() => onOpenBroken(file)}>
                  Open
                </button>
              )}
            </div>
            <ul className="space-y-0.5 font-mono text-[11.5px]">
              {problems.map((p, i) => (
                <li key={i}>
                  <span className="text-error">{problemLocation(p)}</span> {p.field && <span className="text-dim">{p.field}</span>}{" "}
                  <span className="text-muted">{p.message}</span>
                </li>
              ))}
            </ul>
          </li>
        ))}
      </ul>
    </div>
  );
}
