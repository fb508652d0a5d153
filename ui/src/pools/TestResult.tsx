import type { DefinitionTest, PlatformReach } from "../api/types";
import { ErrorNotice } from "../shared/ErrorNotice";
import { platformLabel } from "../shared/format";

const HEALTH_TONE: Record<string, string> = {
  healthy: "text-idle",
  degraded: "text-busy",
  down: "text-error",
  unavailable: "text-error",
  unknown: "text-muted",
};

/** One platform's reachability: its health, and why when it is not healthy. */
function Reach({ p }: { p: PlatformReach }) {
  return (
    <li data-platform={p.platform} data-health={p.health}>
      <span className="inline-block w-16 text-fg">{platformLabel(p.platform)}</span>{" "}
      <span className={`font-semibold ${HEALTH_TONE[p.health] ?? "text-muted"}`}>{p.health}</span>
      {p.health !== "healthy" && p.detail && <span className="text-muted">: {p.detail}</span>}
    </li>
  );
}

/** What testing a definition's text found: impact, platform reachability, the account source's SQL and preview. */
export function TestResult({ result }: { result: DefinitionTest }) {
  return (
    <section aria-label="Test result" className="panel space-y-2 p-3 text-[12.5px]">
      {result.problems.length > 0 && <p className="text-error">{result.problems.length} problem(s): see above.</p>}
      {result.impact && (
        <p>
          <span className="text-muted">Applying </span>
          {result.impact.text}.
        </p>
      )}
      {result.platforms.length > 0 && (
        <div>
          <p className="text-muted">Platforms, in the pool's order:</p>
          <ul aria-label="Platform reachability" className="mt-1 space-y-0.5 font-mono text-[11.5px]">
            {result.platforms.map((p) => (
              <Reach key={p.platform} p={p} />
            ))}
          </ul>
        </div>
      )}
      {result.sql && (
        <div>
          <p className="text-muted">The account source runs:</p>
          <pre aria-label="Account source SQL" className="mt-1 overflow-x-auto whitespace-pre-wrap border border-line bg-bg px-2 py-1.5 font-mono text-[11.5px] text-fg">
            {result.sql}
          </pre>
        </div>
      )}
      {result.accounts && (
        <div>
          <p>
            <span className="text-muted">Account source: </span>
            {result.accounts.count}
            {result.accounts.truncated ? "+" : ""} account{result.accounts.count === 1 ? "" : "s"} match
          </p>
          {result.accounts.sample.length > 0 && (
            <ul aria-label="Account sample" className="mt-1 space-y-0.5 font-mono text-[11.5px] text-muted">
              {result.accounts.sample.map((row, i) => (
                <li key={i}>{row}</li>
              ))}
            </ul>
          )}
        </div>
      )}
      {result.accountsError && <ErrorNotice error={result.accountsError} title="The account source could not be read" />}
      {result.impact && !result.accounts && !result.accountsError && <p className="text-muted">No account source.</p>}
    </section>
  );
}
