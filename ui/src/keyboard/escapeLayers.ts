// Panels Escape closes (a bot's timeline): the last one opened closes first,
// before Escape clears a table's row highlight. Dialogs (aria-modal) and
// menus take their own Escape before this.
import { useEffect, useLayoutEffect, useRef } from "react";

const layers: { close: () => void }[] = [];

/** While `open` and mounted, Escape runs `onClose` (the latest callback). */
export function useEscapeLayer(open: boolean, onClose: () => void) {
  const latest = useRef(onClose);
  useLayoutEffect(() => {
    latest.current = onClose;
  });
  useEffect(() => {
    if (!open) return;
    const layer = { close: () => latest.current() };
    layers.push(layer);
    return () => {
      layers.splice(layers.indexOf(layer), 1);
    };
  }, [open]);
}

/** Closes the panel opened last; false when none is open. */
export function closeTopLayer(): boolean {
  const top = layers[layers.length - 1];
  if (!top) return false;
  top.close();
  return true;
}
