// The settings form's field pieces: a field's label, an environment pin and a numeric field.
import type { ReactNode } from "react";

/** A field's small upper-case label. */
export function FieldLabel({ children }: { children: ReactNode }) {
  return <div className="font-mono text-[10.5px] uppercase tracking-[0.14em] text-dim">{children}</div>;
}

/** Read-only here: the environment variable `variable` sets this value. */
export function PinNote({ variable }: { variable: string }) {
  return (
    <div
      className="mt-1 flex items-center gap-1 truncate whitespace-nowrap font-mono text-[10.5px] text-busy"
      title={`Set by the environment variable ${variable}: read-only here`}
    >
      <svg viewBox="0 0 16 16" className="size-3 shrink-0" fill="currentColor" aria-label="pinned by">
        <path d="M5 7V5a3 3 0 0 1 6 0v2h1v7H4V7zm1.5 0h3V5a1.5 1.5 0 0 0-3 0z" />
      </svg>
      <span className="font-semibold">{variable}</span>
    </div>
  );
}

/** A numeric text field with its hint, its validation error or its pin. */
export function NumberField({
  label,
  name,
  value,
  placeholder,
  pinnedBy,
  error,
  hint,
  onChange,
}: {
  label: string;
  name: string;
  value: string;
  placeholder?: string;
  pinnedBy?: string;
  error: string | null;
  hint: string;
  onChange: (v: string) => void;
}) {
  const id = name.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  return (
    <div>
      <label htmlFor={id}>
        <FieldLabel>{label}</FieldLabel>
      </label>
      <input
        id={id}
        aria-label={name}
        inputMode="numeric"
        className={`input mt-1 ${error ? "border-error focus:border-error" : ""}`}
        value={value}
        placeholder={placeholder}
        readOnly={Boolean(pinnedBy)}
        aria-readonly={Boolean(pinnedBy)}
        aria-invalid={error !== null}
        aria-describedby={`${id}-msg`}
        onChange={(e) => onChange(e.target.value)}
      />
      <div id={`${id}-msg`}>
        {pinnedBy ? (
          <PinNote variable={pinnedBy} />
        ) : error ? (
          <div role="alert" className="mt-1 text-[11.5px] text-error">
            {error}
          </div>
        ) : (
          <div className="mt-1 font-mono text-[10.5px] text-dim">{hint}</div>
        )}
      </div>
    </div>
  );
}
