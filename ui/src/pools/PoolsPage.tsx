import { useState } from "react";
import { peekIntent, useIntentTaken } from "../keyboard/intents";
import { usePoolsCommands } from "./poolsCommands";
import { useDefinitions } from "./queries";
import { PageHeader } from "../shared/PageHeader";
import { QueryState } from "../shared/QueryState";
import { useLeaveGuard } from "../shared/unsaved";
import { DefinitionEditor, editorKey, type EditorTarget } from "./DefinitionEditor";
import { DefinitionsTable } from "./DefinitionsTable";
import { DeployBotsDialog } from "./DeployBotsDialog";

/** Pool definitions: the pools directory's YAML files against what is applied. */
export function PoolsPage() {
  const list = useDefinitions();
  // A command run from another view may have asked to open a pool or deploy into it.
  const [intent] = useState(() => peekIntent("pools"));
  useIntentTaken("pools");
  const [target, setTarget] = useState<EditorTarget | null>(intent?.kind === "open" ? { kind: "existing", name: intent.name } : null);
  const [notice, setNotice] = useState<string | null>(null);
  const [deploying, setDeploying] = useState<string | null>(intent?.kind === "deploy" ? intent.name : null);
  const selected = target?.kind === "existing" ? target.name : null;
  const { leave, dialog } = useLeaveGuard();
  const open = (t: EditorTarget) => {
    if (target && editorKey(target) === editorKey(t)) return;
    // Another target replaces the editor: its unsaved edits would vanish.
    leave(() => {
      setNotice(null);
      setTarget(t);
    });
  };
  usePoolsCommands(list.data, open, setDeploying);
  const deployRow = deploying !== null ? list.data?.definitions.find((d) => d.summary.name === deploying) : undefined;
  return (
    <div>
      <PageHeader title="Pools" subtitle={list.data ? `Definitions in ${list.data.directory}` : "Pool definitions"}>
        <button type="button" className="btn btn-primary" onClick={() => open({ kind: "new" })}>
          New pool
        </button>
      </PageHeader>
      <div className="grid gap-4 p-6 2xl:grid-cols-[minmax(0,1fr)_minmax(0,1fr)]">
        <div className="flex flex-col gap-3">
          <QueryState query={list} errorTitle="Cannot read the pool definitions">
            {(data) => (
              <DefinitionsTable
                list={data}
                selected={selected}
                selectedFile={target?.kind === "broken" ? target.file : null}
                onSelect={(name) => open({ kind: "existing", name })}
                onOpenBroken={(file) => open({ kind: "broken", file })}
                onDeploy={setDeploying}
              />
            )}
          </QueryState>
          {notice && (
            <p role="status" className="text-[12.5px] text-muted">
              {notice}
            </p>
          )}
        </div>
        {target && (
          <DefinitionEditor
            key={editorKey(target)}
            target={target}
            onSaved={(name, note) => {
              setTarget({ kind: "existing", name });
              setNotice(note ?? null);
            }}
            onDeleted={(note) => {
              setTarget(null);
              setNotice(note);
            }}
            onDeploy={setDeploying}
          />
        )}
      </div>
      {deploying !== null && (
        <DeployBotsDialog
          key={deploying}
          pool={deploying}
          lastRefresh={deployRow?.lastRefresh ?? null}
          refreshIntervalMs={deployRow?.summary.refreshIntervalMs ?? null}
          onClose={() => setDeploying(null)}
        />
      )}
      {dialog}
    </div>
  );
}
