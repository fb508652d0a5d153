import { useMemo } from "react";
import { useQueue } from "../infrastructure/queries";
import { useDefinitions } from "../pools/queries";
import { setIntent } from "./intents";
import { useCommands, type CommandSpec } from "./registry";

/**
 * The commands about pools and waiting bots, from any view: they switch to
 * the view that does it (Pools, Infrastructure), which then does it. In
 * that view its own commands stand in for these.
 */
export function GlobalCommands() {
  const defs = useDefinitions().data?.definitions;
  const queue = useQueue().data?.entries;
  const names = (defs ?? []).map((d) => `${d.summary.name}:${d.state.state !== "notApplied"}`).join(",");
  const bots = (queue ?? []).map((e) => e.botId).join(",");
  const commands = useMemo((): CommandSpec[] => {
    const pools = names === "" ? [] : names.split(",").map((s) => ({ name: s.slice(0, s.lastIndexOf(":")), applied: s.endsWith(":true") }));
    const ids = bots === "" ? [] : bots.split(",").map(Number);
    const notPools = (c: { view: string }) => c.view !== "pools";
    return [
      ...pools.map(
        (p): CommandSpec => ({
          id: `go.open.${p.name}`,
          group: "Pools",
          title: `Open definition ${p.name}`,
          keywords: ["edit", "pool"],
          when: notPools,
          run: (c) => c.navigate("pools", () => setIntent({ view: "pools", kind: "open", name: p.name })),
        }),
      ),
      ...pools
        .filter((p) => p.applied)
        .map(
          (p): CommandSpec => ({
            id: `go.deploy.${p.name}`,
            group: "Pools",
            title: `Deploy bots into ${p.name}`,
            keywords: ["deploy", "bots", "batch"],
            when: notPools,
            run: (c) => c.navigate("pools", () => setIntent({ view: "pools", kind: "deploy", name: p.name })),
          }),
        ),
      ...ids.map(
        (id): CommandSpec => ({
          id: `go.trace.${id}`,
          group: "Queue",
          title: `Show the decision trace of bot #${id}`,
          keywords: ["queue", "routing", "waiting"],
          when: (c) => c.view !== "infrastructure",
          run: (c) => c.navigate("infrastructure", () => setIntent({ view: "infrastructure", kind: "trace", botId: id })),
        }),
      ),
    ];
  }, [names, bots]);
  useCommands(commands);
  return null;
}
