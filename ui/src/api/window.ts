// Closing the window: the shell asks the web view first (see ClosePrompt).
import { useEffect, useLayoutEffect, useRef } from "react";
import { api, onCloseRequested } from "./tauri";
import type { CloseAnswer, CloseRequested } from "./types";

/** Calls `handler` on each close request of the window (answer it with `answerClose`). */
export function useCloseRequests(handler: (event: CloseRequested) => void) {
  const latest = useRef(handler);
  useLayoutEffect(() => {
    latest.current = handler;
  });
  useEffect(() => {
    let unlisten: (() => void) | null = null;
    let cancelled = false;
    void onCloseRequested((e) => latest.current(e)).then((fn) => {
      if (cancelled) fn();
      else unlisten = fn;
    });
    return () => {
      cancelled = true;
      unlisten?.();
    };
  }, []);
}

/** Answers the window's last close request. */
export const answerClose = (answer: CloseAnswer) => api.answerClose(answer);
