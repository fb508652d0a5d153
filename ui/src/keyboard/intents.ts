// What a command run from another view asks the view it switches to to do
// on arrival (open a pool, deploy into it, show a bot's trace). Set in the
// switch's callback, so a switch the user cancels (unsaved edits) leaves
// nothing behind; read by the view when it mounts, then cleared.
import { useEffect } from "react";

export type Intent =
  | { view: "pools"; kind: "open"; name: string }
  | { view: "pools"; kind: "deploy"; name: string }
  | { view: "infrastructure"; kind: "trace"; botId: number };

let pending: Intent | null = null;

export function setIntent(intent: Intent) {
  pending = intent;
}

/**
 * The intent for `view`, if one is pending. Read it in a state initialiser
 * and call `useIntentTaken` in the same component: it is cleared after the
 * mount (StrictMode runs initialisers twice; both must see it).
 */
export function peekIntent<V extends Intent["view"]>(view: V): Extract<Intent, { view: V }> | null {
  return pending?.view === view ? (pending as Extract<Intent, { view: V }>) : null;
}

/** Clears `view`'s pending intent once the view has mounted. */
export function useIntentTaken(view: Intent["view"]) {
  useEffect(() => {
    if (pending?.view === view) pending = null;
  }, [view]);
}
