import { useMemo } from "react";
import type { Settings } from "../api/types";
import { useCommands, type CommandSpec } from "../keyboard/registry";
import { ErrorNotice } from "../shared/ErrorNotice";
import { formatDuration } from "../shared/format";
import { NumberField, PinNote } from "./fields";
import { PlatformRow } from "./PlatformRow";
import { useSettingsDraft, type SettingsDraftState } from "./useSettingsDraft";
import { spanOf, type SettingsRules } from "./validation";

/** The platform settings as a form: priority order, per-platform fields, the global timeout; one save. */
export function SettingsForm({ settings, rules }: { settings: Settings; rules: SettingsRules }) {
  const d = useSettingsDraft(settings, rules);
  useSettingsCommands(d);
  return (
    <form
      aria-label="Platform settings"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        d.submit();
      }}
      className="flex flex-col gap-4"
    >
      <section className="panel">
        <div className="flex items-center justify-between border-b border-line px-4 py-2.5">
          <h2 className="panel-title">Priority order</h2>
          {d.orderPinnedBy ? (
            <PinNote variable={d.orderPinnedBy} />
          ) : (
            <span className="text-[11px] text-dim">First enabled platform with capacity is tried first</span>
          )}
        </div>
        <ol className="divide-y divide-line">
          {d.rows.map((r, i) => (
            <PlatformRow key={r.p.platform} row={r} rules={rules} index={i} count={d.rows.length} orderPinned={d.orderPinnedBy !== null} onMove={d.move} onPatch={d.patch} />
          ))}
        </ol>
      </section>

      <section className="panel px-4 py-3">
        <div className="max-w-sm">
          <NumberField
            label="Global queue timeout (ms)"
            name="Global queue timeout"
            value={d.global.text}
            pinnedBy={settings.globalQueueTimeoutPinnedBy ?? undefined}
            error={d.global.error}
            hint={d.global.parsed.ok ? `= ${formatDuration(d.global.parsed.value)} · ${spanOf(rules.globalQueueTimeoutMs)}` : `${spanOf(rules.globalQueueTimeoutMs)} ms`}
            onChange={d.setGlobal}
          />
        </div>
      </section>

      {d.saveError && <ErrorNotice error={d.saveError} title="Settings were not saved" />}
      <SaveBar draft={d} />
    </form>
  );
}

/** Save and Discard, and what stands in the way or what happened. */
function SaveBar({ draft: d }: { draft: SettingsDraftState }) {
  return (
    // Sticky at the bottom of the scroll area: Save stays in reach at 700 px of height.
    <div data-testid="settings-save-bar" className="sticky bottom-0 z-10 -mx-1 flex items-center gap-3 border-t border-line bg-bg/95 px-1 py-3 backdrop-blur">
      <button type="submit" className="btn btn-primary" disabled={d.invalid || !d.dirty || d.saving}>
        {d.saving ? "Saving…" : "Save changes"}
      </button>
      <button type="button" className="btn" disabled={d.pristine} onClick={d.discard}>
        Discard
      </button>
      {d.invalid && <span className="text-[12px] text-error">Fix the highlighted fields to save.</span>}
      {!d.invalid && d.dirty && <span className="text-[12px] text-busy">Unsaved changes</span>}
      {d.savedAt && !d.dirty && (
        <span role="status" className="text-[12px] text-idle">
          {d.savedAt}
        </span>
      )}
    </div>
  );
}

/**
 * The palette's Save and Discard, and per platform: move up or down in the
 * priority order, enable or disable (disabled with the reason when the
 * controls are: a pinned value, the end of the list).
 */
function useSettingsCommands(d: SettingsDraftState) {
  const { invalid, dirty, saving, pristine, submit, discard, rows, move, patch, orderPinnedBy } = d;
  const commands = useMemo(
    (): CommandSpec[] => [
      ...rows.flatMap((r, i): CommandSpec[] => {
        const { label, platform, pinned } = r.p;
        const orderPin = orderPinnedBy ? `pinned by ${orderPinnedBy}` : null;
        return [
          { id: `settings.up.${platform}`, group: "Settings", title: `Move ${label} up in the priority order`, disabled: () => orderPin ?? (i === 0 ? "already first" : null), run: () => move(i, -1) },
          {
            id: `settings.down.${platform}`,
            group: "Settings",
            title: `Move ${label} down in the priority order`,
            disabled: () => orderPin ?? (i === rows.length - 1 ? "already last" : null),
            run: () => move(i, 1),
          },
          {
            id: `settings.enabled.${platform}`,
            group: "Settings",
            title: `${r.enabled ? "Disable" : "Enable"} ${label}`,
            disabled: () => (pinned.enabled ? `pinned by ${pinned.enabled}` : null),
            run: () => patch(platform, { enabled: !r.enabled }),
          },
        ];
      }),
      {
        id: "settings.save",
        group: "Settings",
        title: "Save settings",
        disabled: () => (invalid ? "fix the highlighted fields" : !dirty ? "no changes" : saving ? "saving…" : null),
        run: submit,
      },
      { id: "settings.discard", group: "Settings", title: "Discard settings changes", disabled: () => (pristine ? "no changes" : null), run: discard },
    ],
    [invalid, dirty, saving, pristine, submit, discard, rows, move, patch, orderPinnedBy],
  );
  useCommands(commands);
}
