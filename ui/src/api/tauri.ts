// The ONLY module that talks to Tauri (through the bindings the shell
// generates with tauri-specta). Everything else goes through `api` below, from each view's `queries.ts`.
// Commands resolve to their data or throw an `ApiError {code, message}`.
import type { UnlistenFn } from "@tauri-apps/api/event";
import { commands, events, type AlertsRaised, type ChangeEvent, type CloseRequested, type CommandError } from "../bindings";
import { toApiError } from "./errors";

type Commands = typeof commands;
type Result<T> = { status: "ok"; data: T } | { status: "error"; error: CommandError };
/** What command `K` resolves to when it succeeds. */
type Data<K extends keyof Commands> = Extract<Awaited<ReturnType<Commands[K]>>, { status: "ok" }>["data"];

/** Every command of the bindings, resolving to its data or throwing an `ApiError`. */
export type Api = { [K in keyof Commands]: (...args: Parameters<Commands[K]>) => Promise<Data<K>> };

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

/** The bindings' `commands`, each unwrapped: derived, so no command is listed by hand here. */
export const api = Object.fromEntries(
  Object.entries(commands).map(([name, command]) => [
    name,
    (...args: unknown[]) => unwrap((command as (...a: unknown[]) => Promise<Result<unknown>>)(...args)),
  ]),
) as Api;

/** Subscribes to the core's change feed; resolves to the unsubscribe function. */
export function onChange(handler: (event: ChangeEvent) => void): Promise<UnlistenFn> {
  return events.changeEvent.listen((e) => handler(e.payload));
}

/** Subscribes to the window's close requests; resolves to the unsubscribe function. */
export function onCloseRequested(handler: (event: CloseRequested) => void): Promise<UnlistenFn> {
  return events.closeRequested.listen((e) => handler(e.payload));
}

/** Subscribes to the shell's alert batches; resolves to the unsubscribe function. */
export function onAlerts(handler: (event: AlertsRaised) => void): Promise<UnlistenFn> {
  return events.alertsRaised.listen((e) => handler(e.payload));
}
