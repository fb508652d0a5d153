// The ONLY module that talks to Tauri (through the bindings the shell
// generates with tauri-specta). Everything else goes through `./hooks`.
// Commands resolve to their data or throw an `ApiError {code, message}`.
import type { UnlistenFn } from "@tauri-apps/api/event";
import { commands, events, type ChangeEvent, type CloseRequested, type CommandError } from "../bindings";
import { toApiError } from "./errors";

type Result<T> = { status: "ok"; data: T } | { status: "error"; error: CommandError };

async function unwrap<T>(result: Promise<Result<T>>): Promise<T> {
  let r: Result<T>;
  try {
    r = await result;
  } catch (e) {
    throw toApiError(e);
  }
  if (r.status === "error") throw toApiError(r.error);
  return r.data;
}

export const api = {
  poolStats: () => unwrap(commands.poolStats()),
  listPools: () => unwrap(commands.listPools()),
  queueEntries: () => unwrap(commands.queueEntries()),
  queueStats: () => unwrap(commands.queueStats()),
  listSlots: (...a: Parameters<typeof commands.listSlots>) => unwrap(commands.listSlots(...a)),
  platformsOverview: () => unwrap(commands.platformsOverview()),
  getSettings: () => unwrap(commands.getSettings()),
  saveSettings: (...a: Parameters<typeof commands.saveSettings>) => unwrap(commands.saveSettings(...a)),
  settingsHistory: (...a: Parameters<typeof commands.settingsHistory>) => unwrap(commands.settingsHistory(...a)),
  settingsRules: () =>
    commands.settingsRules().catch((e: unknown) => {
      throw toApiError(e);
    }),
  botDetails: (...a: Parameters<typeof commands.botDetails>) => unwrap(commands.botDetails(...a)),
  connectionStatus: () => unwrap(commands.connectionStatus()),
  listDefinitions: () => unwrap(commands.listDefinitions()),
  getDefinition: (...a: Parameters<typeof commands.getDefinition>) => unwrap(commands.getDefinition(...a)),
  validateDefinition: (...a: Parameters<typeof commands.validateDefinition>) => unwrap(commands.validateDefinition(...a)),
  testDefinition: (...a: Parameters<typeof commands.testDefinition>) => unwrap(commands.testDefinition(...a)),
  saveDefinition: (...a: Parameters<typeof commands.saveDefinition>) => unwrap(commands.saveDefinition(...a)),
  applyDefinition: (...a: Parameters<typeof commands.applyDefinition>) => unwrap(commands.applyDefinition(...a)),
  refreshAccounts: (...a: Parameters<typeof commands.refreshAccounts>) => unwrap(commands.refreshAccounts(...a)),
  deleteDefinition: (...a: Parameters<typeof commands.deleteDefinition>) => unwrap(commands.deleteDefinition(...a)),
  definitionSchema: () => unwrap(commands.definitionSchema()),
  queryTables: () => unwrap(commands.queryTables()),
  tableColumns: (...a: Parameters<typeof commands.tableColumns>) => unwrap(commands.tableColumns(...a)),
  readDefinitionFile: (...a: Parameters<typeof commands.readDefinitionFile>) => unwrap(commands.readDefinitionFile(...a)),
  repairDefinition: (...a: Parameters<typeof commands.repairDefinition>) => unwrap(commands.repairDefinition(...a)),
  deployBots: (...a: Parameters<typeof commands.deployBots>) => unwrap(commands.deployBots(...a)),
  answerClose: (...a: Parameters<typeof commands.answerClose>) => unwrap(commands.answerClose(...a)),
};

export type Api = typeof api;

/** Subscribes to the core's change feed; resolves to the unsubscribe function. */
export function onChange(handler: (event: ChangeEvent) => void): Promise<UnlistenFn> {
  return events.changeEvent.listen((e) => handler(e.payload));
}

/** Subscribes to the window's close requests; resolves to the unsubscribe function. */
export function onCloseRequested(handler: (event: CloseRequested) => void): Promise<UnlistenFn> {
  return events.closeRequested.listen((e) => handler(e.payload));
}
