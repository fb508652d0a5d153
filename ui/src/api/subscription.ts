// A React hook over one of the shell's event subscriptions (`onAlerts`,
// `onCloseRequested`): subscribes once on mount, always calls the latest
// handler, and unsubscribes on unmount, even when unmounted before the
// subscription resolved.
import { useEffect, useLayoutEffect, useRef } from "react";

export function useSubscription<E>(
  subscribe: (handler: (event: E) => void) => Promise<() => void>,
  handler: (event: E) => void,
) {
  const latest = useRef(handler);
  useLayoutEffect(() => {
    latest.current = handler;
  });
  useEffect(() => {
    let unlisten: (() => void) | null = null;
    let cancelled = false;
    void subscribe((e) => latest.current(e)).then((fn) => {
      if (cancelled) fn();
      else unlisten = fn;
    });
    return () => {
      cancelled = true;
      unlisten?.();
    };
  }, [subscribe]);
}
