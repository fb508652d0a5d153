// Test double of src/api/tauri.ts (the single Tauri module). Components and
// hooks stay real; tests program `mockApi` and push events with `emitChange`.
import { vi } from "vitest";
import type { Api } from "../api/tauri";
import { commands } from "../bindings";
import type { AlertsRaised, ChangeEvent, CloseRequested } from "../api/types";

type Mocked<T> = { [K in keyof T]: T[K] extends (...a: infer A) => infer R ? ReturnType<typeof vi.fn<(...a: A) => R>> : never };

const pending = () => new Promise<never>(() => {});

export const mockApi = {} as Mocked<Api>;
// Every command of the generated bindings, derived (no list by hand): a
// command added in Rust is mocked (pending) here without a change.
const names = Object.keys(commands) as (keyof Api)[];

let handlers: ((e: ChangeEvent) => void)[] = [];
let closeHandlers: ((e: CloseRequested) => void)[] = [];
let alertHandlers: ((e: AlertsRaised) => void)[] = [];

/** Every command pending again, no listeners. */
export function resetMockApi() {
  for (const n of names) (mockApi as Record<string, unknown>)[n] = vi.fn(pending);
  handlers = [];
  closeHandlers = [];
  alertHandlers = [];
}

/** The shell sends a batch of alerts (its `alerts-raised` event). */
export function emitAlerts(e: AlertsRaised) {
  alertHandlers.forEach((h) => h(e));
}

/** The shell asks the window whether to close (its `close-requested` event). */
export function emitCloseRequested(e: CloseRequested) {
  closeHandlers.forEach((h) => h(e));
}
resetMockApi();

export function emitChange(e: ChangeEvent) {
  handlers.forEach((h) => h(e));
}

export const tauriModule = {
  CHANGE_EVENT: "change-event",
  api: new Proxy({} as Api, { get: (_t, k: string) => (...a: unknown[]) => (mockApi as Record<string, (...x: unknown[]) => unknown>)[k]!(...a) }),
  onChange: (h: (e: ChangeEvent) => void) => {
    handlers.push(h);
    return Promise.resolve(() => {
      handlers = handlers.filter((x) => x !== h);
    });
  },
  onAlerts: (h: (e: AlertsRaised) => void) => {
    alertHandlers.push(h);
    return Promise.resolve(() => {
      alertHandlers = alertHandlers.filter((x) => x !== h);
    });
  },
  onCloseRequested: (h: (e: CloseRequested) => void) => {
    closeHandlers.push(h);
    return Promise.resolve(() => {
      closeHandlers = closeHandlers.filter((x) => x !== h);
    });
  },
};
