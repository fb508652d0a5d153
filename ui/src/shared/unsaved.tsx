// Unsaved edits: a view with edits that are not saved registers them while
// it shows them, and leaving it (another view, another pool, closing the
// window) asks first instead of discarding them without a word.
import { useCallback, useId, useLayoutEffect, useState, type ReactNode } from "react";
import { ConfirmDialog } from "./ConfirmDialog";

/** What has unsaved edits now, by registrant. Only mounted views register. */
const unsaved = new Map<string, string>();

/**
 * Registers `label` (what holds the edits, e.g. "Settings") while `dirty`.
 * Registered in a layout effect, so a click that follows the edit (the
 * edit's blur flushes first) already sees it.
 */
export function useUnsavedChanges(label: string, dirty: boolean) {
  const id = useId();
  useLayoutEffect(() => {
    if (!dirty) return;
    unsaved.set(id, label);
    return () => {
      unsaved.delete(id);
    };
  }, [id, label, dirty]);
}

/** What has unsaved edits, in registration order. */
export function unsavedLabels(): string[] {
  return [...unsaved.values()];
}

/**
 * `leave(action)` runs `action` at once when nothing has unsaved edits, and
 * otherwise only after the user chose to discard them in `dialog` (render
 * it). Cancelling keeps the view and its edits.
 */
export function useLeaveGuard(): { leave: (action: () => void) => void; dialog: ReactNode } {
  const [pending, setPending] = useState<{ action: () => void; labels: string[] } | null>(null);
  const leave = useCallback((action: () => void) => {
    const labels = unsavedLabels();
    if (labels.length === 0) action();
    else setPending({ action, labels });
  }, []);
  const dialog = pending && (
    <ConfirmDialog
      title="Discard unsaved changes?"
      confirmLabel="Discard changes"
      onCancel={() => setPending(null)}
      onConfirm={() => {
        setPending(null);
        pending.action();
      }}
    >
      <p>
        Unsaved changes in {pending.labels.join(", ")} are lost if you leave now. Cancel to go back and save them.
      </p>
    </ConfirmDialog>
  );
  return { leave, dialog };
}
