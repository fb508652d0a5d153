import { useMemo } from "react";
import type { DefinitionList } from "../api/types";
import { useCommands, type CommandSpec } from "../keyboard/registry";
import type { EditorTarget } from "./DefinitionEditor";

/** The palette's commands of the Pools view: new, open and deploy per definition, open a broken file. */
export function usePoolsCommands(list: DefinitionList | undefined, open: (t: EditorTarget) => void, deploy: (name: string) => void) {
  // Re-listed when `open` changes (it closes over the editor's target).
  const commands = useMemo((): CommandSpec[] => {
    const defs = list?.definitions ?? [];
    const broken = [...new Set((list?.problems ?? []).map((p) => p.file).filter((f): f is string => f !== null))];
    return [
      { id: "pools.new", group: "Pools", title: "New pool definition", keywords: ["create", "add"], run: () => open({ kind: "new" }) },
      ...defs.map(
        (d): CommandSpec => ({
          id: `pools.open.${d.summary.name}`,
          group: "Pools",
          title: `Open definition ${d.summary.name}`,
          keywords: ["edit", "pool", d.file],
          run: () => open({ kind: "existing", name: d.summary.name }),
        }),
      ),
      ...defs
        .filter((d) => d.state.state !== "notApplied")
        .map(
          (d): CommandSpec => ({
            id: `pools.deploy.${d.summary.name}`,
            group: "Pools",
            title: `Deploy bots into ${d.summary.name}`,
            keywords: ["deploy", "bots", "batch"],
            run: () => deploy(d.summary.name),
          }),
        ),
      ...broken.map(
        (file): CommandSpec => ({
          id: `pools.broken.${file}`,
          group: "Pools",
          title: `Open broken file ${file}`,
          keywords: ["repair", "fix"],
          run: () => open({ kind: "broken", file }),
        }),
      ),
    ];
  }, [list, open, deploy]);
  useCommands(commands);
}
