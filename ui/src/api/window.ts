// Closing the window: the shell asks the web view first (see ClosePrompt).
import { useSubscription } from "./subscription";
import { api, onCloseRequested } from "./tauri";
import type { CloseAnswer, CloseRequested } from "./types";

/** Calls `handler` on each close request of the window (answer it with `answerClose`). */
export function useCloseRequests(handler: (event: CloseRequested) => void) {
  useSubscription(onCloseRequested, handler);
}

/** Answers the window's last close request. */
export const answerClose = (answer: CloseAnswer) => api.answerClose(answer);
