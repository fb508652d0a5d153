// Pool-definition fixtures shared by the Pools view's tests.
import type { DefinitionDetail, DefinitionRow, DefinitionSummary, Validation } from "../api/types";

/** A minimal valid definition's text. */
export const yaml = (name: string, max: number) => `name: ${name}\nmeeting_platform: zoom\nimage: bot\ntag: latest\nmax_size: ${max}\nprewarm: 0\n`;

export function summary(name: string, max = 5, sourceType: string | null = null): DefinitionSummary {
  return { name, meetingPlatform: "zoom", image: "bot", tag: "latest", maxSize: max, prewarm: 0, platforms: null, scaling: null, sourceType, refreshIntervalMs: sourceType ? 30_000 : null };
}

export function row(name: string, state: DefinitionRow["state"], extra: Partial<DefinitionRow> = {}): DefinitionRow {
  return { file: `${name}.yaml`, summary: summary(name), state, slots: 2, accounts: null, lastRefresh: null, refreshError: null, ...extra };
}

export function detail(name: string, text: string, appliedText: string | null, state: DefinitionDetail["state"]): DefinitionDetail {
  return { file: `${name}.yaml`, text, summary: summary(name), state, appliedText };
}

/** What the core's validator says, roughly: `max_size: x` is a problem, anything else valid. */
export async function validate(text: string): Promise<Validation> {
  return text.includes("max_size: x")
    ? { problems: [{ file: null, line: 5, column: 11, field: "max_size", message: 'invalid type: string "x", expected u32' }], summary: null }
    : { problems: [], summary: summary(/name: (\S+)/.exec(text)?.[1] ?? "?") };
}
