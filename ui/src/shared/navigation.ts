// Switching views from anywhere (a bot id's link in any table): the app
// registers how it switches (asking first when unsaved edits would be lost);
// `then` runs only when the switch happens (or at once when the view is
// already shown), just before the view renders.
import type { View } from "../views";

type Navigate = (view: View, then?: () => void) => void;

let host: Navigate | null = null;

/** The app's shell registers its view switch here; returns the unregister function. */
export function setNavigationHost(navigate: Navigate): () => void {
  host = navigate;
  return () => {
    if (host === navigate) host = null;
  };
}

/** Shows `view` (then runs `then`); without an app shell (a view alone in a test) runs `then` only. */
export function navigateTo(view: View, then?: () => void) {
  if (host) host(view, then);
  else then?.();
}
