// The form mode's edits, applied to the YAML text itself: each common field
// is a top-level `key: value` line, replaced in place (its trailing comment
// kept) or appended. Everything else in the file stays as written.
import { exhaustive, type MeetingPlatform } from "../api/types";

export const FORM_FIELDS = ["name", "meeting_platform", "image", "tag", "max_size", "prewarm"] as const;
export type FormField = (typeof FORM_FIELDS)[number];

/** Every meeting platform (checked exhaustive against the core's union). */
export const MEETING_PLATFORMS = exhaustive<MeetingPlatform>()(["google-meet", "microsoft-teams", "zoom"]);

const PLAIN = /^[A-Za-z0-9][A-Za-z0-9._/@+-]*$/;

/** A YAML scalar for `value`: numbers and plain words as written, anything else double-quoted. */
export function yamlScalar(value: string): string {
  if (/^\d+$/.test(value)) return value;
  if (PLAIN.test(value) && !/^(true|false|null|yes|no|on|off|~)$/i.test(value)) return value;
  return JSON.stringify(value);
}

/** `text` with top-level `key` set to `value` (a YAML scalar). */
export function setTopLevelField(text: string, key: FormField, value: string): string {
  const line = new RegExp(`^${key}:(?:\\s*)(.*?)(\\s+#.*)?$`);
  const lines = text.split("\n");
  const scalar = yamlScalar(value);
  const i = lines.findIndex((l) => line.test(l));
  if (i >= 0) {
    const m = line.exec(lines[i]!)!;
    lines[i] = `${key}: ${scalar}${m[2] ?? ""}`;
    return lines.join("\n");
  }
  const body = text.length === 0 || text.endsWith("\n") ? text : `${text}\n`;
  return `${body}${key}: ${scalar}\n`;
}

/** A starting point for a new pool. */
export const NEW_DEFINITION = `name: new-pool
meeting_platform: zoom
image: ghcr.io/example/bot
tag: latest
max_size: 10
prewarm: 0
`;
