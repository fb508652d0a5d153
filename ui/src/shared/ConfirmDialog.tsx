import { useEffect, useRef, type ReactNode } from "react";
import { trapTab } from "./focusTrap";

/** A small modal confirmation; Escape or Cancel closes it; Tab stays inside it. */
export function ConfirmDialog({
  title,
  children,
  confirmLabel,
  onConfirm,
  onCancel,
  busy = false,
  extra,
}: {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  onConfirm: () => void;
  onCancel: () => void;
  busy?: boolean;
  /** Another action between Cancel and the confirmation. */
  extra?: ReactNode;
}) {
  const cancel = useRef<HTMLButtonElement>(null);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => cancel.current?.focus(), []);
  return (
    <div
      className="fixed inset-0 z-50 flex items-center justify-center bg-black/60"
      onKeyDown={(e) => {
        if (e.key === "Escape") onCancel();
        trapTab(e, box.current);
      }}
    >
      <div ref={box} role="dialog" aria-modal="true" aria-labelledby="confirm-title" className="panel w-[420px] max-w-[90vw] p-4">
        <h2 id="confirm-title" className="text-[14px] font-semibold">
          {title}
        </h2>
        <div className="mt-2 text-[13px] text-muted">{children}</div>
        <div className="mt-4 flex justify-end gap-2">
          <button ref={cancel} type="button" className="btn" onClick={onCancel}>
            Cancel
          </button>
          {extra}
          <button type="button" className="btn btn-primary" onClick={onConfirm} disabled={busy}>
            {confirmLabel}
          </button>
        </div>
      </div>
    </div>
  );
}
