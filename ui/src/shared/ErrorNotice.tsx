import { toApiError } from "../api/errors";

/** A command's typed error: its code in mono, then its message. */
export function ErrorNotice({ error, title = "Request failed" }: { error: unknown; title?: string }) {
  if (!error) return null;
  const { code, message } = toApiError(error);
  return (
    <div role="alert" className="flex items-start gap-3 border border-error/40 bg-error/10 px-3 py-2 text-sm text-error">
      <span className="font-mono text-xs uppercase tracking-wider mt-0.5">[{code}]</span>
      <div>
        <div className="font-medium">{title}</div>
        <div className="text-error/80">{message}</div>
      </div>
    </div>
  );
}
