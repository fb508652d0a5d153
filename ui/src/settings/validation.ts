// Reference 004's rules, checked inline before anything is saved (the core
// checks them again and refuses with `config_invalid`).

export const LIMIT_RANGE = { min: 1, max: 100_000 } as const;
export const QUEUE_TIMEOUT_RANGE = { min: 0, max: 3_600_000 } as const;
export const GLOBAL_TIMEOUT_RANGE = { min: 1_000, max: 3_600_000 } as const;

export type Parsed = { ok: true; value: number } | { ok: false; error: string };

function parseInteger(text: string, what: string, range: { min: number; max: number }, unit = ""): Parsed {
  const t = text.trim();
  const span = `${range.min.toLocaleString("en-US")} to ${range.max.toLocaleString("en-US")}${unit}`;
  if (t === "") return { ok: false, error: `${what} is required (${span}).` };
  if (!/^-?\d+$/.test(t)) return { ok: false, error: `${what} must be a whole number (${span}).` };
  const n = Number(t);
  if (n < range.min || n > range.max) return { ok: false, error: `${what} must be from ${span}.` };
  return { ok: true, value: n };
}

export const parseLimit = (t: string) => parseInteger(t, "Limit", LIMIT_RANGE);
export const parseQueueTimeout = (t: string) => parseInteger(t, "Queue timeout", QUEUE_TIMEOUT_RANGE, " ms");
export const parseGlobalTimeout = (t: string) => parseInteger(t, "Global queue timeout", GLOBAL_TIMEOUT_RANGE, " ms");
