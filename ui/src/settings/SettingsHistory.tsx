import { useSettingsHistory } from "./queries";
import { useNow } from "../shared/clock";
import { formatRelative, formatTimestamp } from "../shared/format";
import { QueryState } from "../shared/QueryState";

export function SettingsHistory() {
  const history = useSettingsHistory(20);
  const now = useNow();
  return (
    <aside aria-label="Change history" className="panel h-fit">
      <div className="border-b border-line px-4 py-2.5">
        <h2 className="panel-title">Change history</h2>
      </div>
      <QueryState query={history} errorTitle="Could not load history" errorClassName="p-3" />
      {history.data?.length === 0 && <p className="px-4 py-6 text-center text-muted">No changes recorded.</p>}
      <ol className="divide-y divide-line">
        {history.data?.map((c) => (
          <li key={c.id} className="px-4 py-2 font-mono text-[11.5px]">
            <div className="flex items-baseline justify-between gap-2">
              <span className="text-fg">
                {c.subject.replace(/^platform:/, "")}.{c.field}
              </span>
              <span className="text-[10.5px] text-dim" title={formatTimestamp(c.at)}>
                {formatRelative(c.at, now)}
              </span>
            </div>
            <div className="mt-0.5">
              <span className="text-error/80 line-through decoration-error/40">{c.oldValue ?? "null"}</span>
              <span className="text-dim"> → </span>
              <span className="text-idle">{c.newValue ?? "null"}</span>
            </div>
            <div className="text-[10.5px] text-dim">by {c.changedBy}</div>
          </li>
        ))}
      </ol>
    </aside>
  );
}
