import { ConfirmDialog } from "../../shared/ConfirmDialog";
import { ErrorNotice } from "../../shared/ErrorNotice";

/** Asks before the query builder replaces a hand-written `accounts.query`. */
export function ConfirmBuilderDialog({ onConfirm, onCancel }: { onConfirm: () => void; onCancel: () => void }) {
  return (
    <ConfirmDialog title="Replace the hand-written query?" confirmLabel="Use the query builder" onConfirm={onConfirm} onCancel={onCancel}>
      <p>
        This pool's accounts come from a hand-written <code className="font-mono">accounts.query</code>. The query builder writes{" "}
        <code className="font-mono">accounts.builder</code> instead and removes the query (its SELECT and parameters) as soon as you edit
        the builder's form. The pool config and the rest of the file stay as written; nothing is saved until you press Save.
      </p>
    </ConfirmDialog>
  );
}

/** Asks before deleting a definition; a refused delete's error shows in the dialog. */
export function ConfirmDeleteDialog({
  name,
  file,
  busy,
  error,
  onConfirm,
  onCancel,
}: {
  name: string;
  file: string | null;
  busy: boolean;
  error: unknown;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  return (
    <ConfirmDialog title={`Delete ${name}?`} confirmLabel="Delete definition" busy={busy} onConfirm={onConfirm} onCancel={onCancel}>
      <p>
        Removes {file ?? "its file"} from the pools directory and retires the pool: it takes no new bots and its idle slots are removed; its history stays.
        Refused while slots are busy or deploying.
      </p>
      {error ? (
        <div className="mt-2">
          <ErrorNotice error={error} title="Not deleted" />
        </div>
      ) : null}
    </ConfirmDialog>
  );
}
