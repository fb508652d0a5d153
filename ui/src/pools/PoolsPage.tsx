import { useState } from "react";
import { useDefinitions } from "../api/hooks";
import { ErrorNotice } from "../shared/ErrorNotice";
import { PageHeader } from "../shared/PageHeader";
import { DefinitionEditor, type EditorTarget } from "./DefinitionEditor";
import { DefinitionsTable } from "./DefinitionsTable";

/** Pool definitions: the pools directory's YAML files against what is applied. */
export function PoolsPage() {
  const list = useDefinitions();
  const [target, setTarget] = useState<EditorTarget | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const selected = target?.kind === "existing" ? target.name : null;
  return (
    <div>
      <PageHeader title="Pools" subtitle={list.data ? `Definitions in ${list.data.directory}` : "Pool definitions"}>
        <button
          type="button"
          className="btn btn-primary"
          onClick={() => {
            setNotice(null);
            setTarget({ kind: "new" });
          }}
        >
          New pool
        </button>
      </PageHeader>
      <div className="grid gap-4 p-6 xl:grid-cols-[minmax(0,1fr)_minmax(0,1fr)]">
        <div className="flex flex-col gap-3">
          {list.error && <ErrorNotice error={list.error} title="Cannot read the pool definitions" />}
          {list.data && (
            <DefinitionsTable
              list={list.data}
              selected={selected}
              onSelect={(name) => {
                setNotice(null);
                setTarget({ kind: "existing", name });
              }}
            />
          )}
          {notice && (
            <p role="status" className="text-[12.5px] text-muted">
              {notice}
            </p>
          )}
        </div>
        {target && (
          <DefinitionEditor
            key={target.kind === "existing" ? target.name : "(new)"}
            target={target}
            onSaved={(name) => setTarget({ kind: "existing", name })}
            onDeleted={(note) => {
              setTarget(null);
              setNotice(note);
            }}
          />
        )}
      </div>
    </div>
  );
}
