// Start-up figures: the first time the dashboard shows its numbers and its
// slots, as performance marks (`berth:numbers`, `berth:slots`) that the
// end-to-end test reads against the app's launch.
import { useEffect } from "react";

/** Marks `name` once per page, the first time `ready` is true (after the render that shows it). */
export function useFirstMark(name: string, ready: boolean) {
  useEffect(() => {
    if (ready && typeof performance !== "undefined" && performance.getEntriesByName(name, "mark").length === 0) {
      performance.mark(name);
    }
  }, [name, ready]);
}
