// The development mock backend's contract, derived from the generated
// bindings: one handler per command of `commands`, with the command's own
// parameters and success type. A command missing from a mock, or answering
// with the wrong shape, is a compile error; nothing dispatches on strings
// written by hand.
import type { commands } from "../bindings";
import type { ErrorCode } from "../api/types";

type Commands = typeof commands;

/** What command `K` resolves to when it succeeds. */
export type CommandData<K extends keyof Commands> = Extract<Awaited<ReturnType<Commands[K]>>, { status: "ok" }>["data"];

/** A backend for every command of the bindings (the names the UI calls). */
export type MockBackend = { [K in keyof Commands]: (...args: Parameters<Commands[K]>) => CommandData<K> };

/** Fails a command the way the shell does: a `{code, message}` rejection. */
export function fail(code: ErrorCode, message: string): never {
  throw { code, message };
}

/** The bindings' camelCase name of a Tauri command (`list_slots` → `listSlots`). */
export function commandName(cmd: string): string {
  return cmd.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function isCommand(backend: MockBackend, name: string): name is keyof MockBackend {
  return Object.prototype.hasOwnProperty.call(backend, name);
}

/**
 * Answers one IPC call with `backend`. The bindings invoke
 * `cmd(a, b)` as `invoke("cmd", { a, b })`, so the payload's values in
 * order are the handler's arguments. An unknown command is `not_found`.
 */
export function dispatch(backend: MockBackend, cmd: string, payload: unknown): unknown {
  const name = commandName(cmd);
  if (!isCommand(backend, name)) return fail("not_found", `mock: unknown command ${cmd}`);
  const args = Object.values((payload ?? {}) as Record<string, unknown>);
  return (backend[name] as (...a: unknown[]) => unknown)(...args);
}
