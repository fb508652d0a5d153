// The confirmation of the operator's actions (slots, bots, platforms): says
// what will happen, takes an optional reason (and force, priority or pin
// where they apply), runs the command, and lists per-slot refusals.
import { useState } from "react";
import { api } from "../api/tauri";
import type { SlotOutcome } from "../bindings";
import { usePlatformsOverview } from "../infrastructure/queries";
import { ConfirmDialog } from "../shared/ConfirmDialog";
import { platformLabel } from "../shared/format";
import {
  BOT_ACTION_LABELS,
  SLOT_ACTION_EFFECTS,
  SLOT_ACTION_LABELS,
  closeAction,
  useActionRequest,
  type ActionRequest,
} from "./store";

/** The dialog of the pending action, if any (mounted once by the app). */
export function ActionDialog() {
  const request = useActionRequest();
  // Keyed: a new request starts with an empty form.
  return request ? <ActionConfirm key={requestKey(request)} request={request} /> : null;
}

function requestKey(r: ActionRequest): string {
  if (r.kind === "slot") return `slot.${r.action}.${r.slots.map((s) => s.slotName).join(",")}`;
  if (r.kind === "bot") return `bot.${r.action}.${r.botId}`;
  return `platform.${r.action}.${r.platform}`;
}

function titleOf(r: ActionRequest): string {
  if (r.kind === "slot") {
    const what = r.slots.length === 1 ? r.slots[0]!.slotName : `${r.slots.length} slots`;
    return `${SLOT_ACTION_LABELS[r.action]} ${what}?`;
  }
  if (r.kind === "bot") return `${BOT_ACTION_LABELS[r.action]} bot #${r.botId}?`;
  return `${r.action === "drain" ? "Drain" : "Undrain"} ${r.label}?`;
}

function effectOf(r: ActionRequest): string {
  if (r.kind === "slot") return SLOT_ACTION_EFFECTS[r.action];
  if (r.kind === "platform")
    return r.action === "drain" ? "No new bots are placed on this platform; running bots finish." : "The platform takes new bots again.";
  switch (r.action) {
    case "cancel":
      return "The bot leaves the queue (an active bot is stopped and its slot released); it ends FATAL with the reason.";
    case "priority":
      return "The queued bot is re-ordered (lower priority numbers go first).";
    case "reroute":
      return "The queued bot is pinned to one platform, or its pin is cleared.";
    case "redeploy":
      return "A new bot is deployed for the same meeting, linked to this failed one.";
  }
}

interface Form {
  reason: string;
  force: boolean;
  priority: string;
  platform: string;
}

/** Runs `r` with the form's values; resolves to the per-slot outcomes of a slot action. */
async function run(r: ActionRequest, f: Form): Promise<SlotOutcome[] | null> {
  const reason = f.reason.trim() === "" ? null : f.reason.trim();
  if (r.kind === "slot")
    return api.slotAction(
      r.action,
      r.slots.map((s) => s.slotName),
      f.force,
      reason,
    );
  if (r.kind === "platform") {
    await (r.action === "drain" ? api.drainPlatform(r.platform, reason) : api.undrainPlatform(r.platform, reason));
    return null;
  }
  if (r.action === "cancel") await api.cancelBot(r.botId, reason);
  else if (r.action === "priority") await api.setBotPriority(r.botId, Number(f.priority), reason);
  else if (r.action === "reroute") await api.rerouteBot(r.botId, f.platform === "" ? null : f.platform, reason);
  else await api.redeployBot(r.botId, reason);
  return null;
}

function ActionConfirm({ request }: { request: ActionRequest }) {
  const [form, setForm] = useState<Form>({
    reason: "",
    force: false,
    priority: request.kind === "bot" && request.priority !== undefined ? String(request.priority) : "",
    platform: "",
  });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [outcomes, setOutcomes] = useState<SlotOutcome[] | null>(null);
  const invalid = request.kind === "bot" && request.action === "priority" && !/^\d+$/.test(form.priority.trim());
  if (outcomes) return <Outcomes outcomes={outcomes} />;
  const confirm = () => {
    if (invalid || busy) return;
    setBusy(true);
    setError(null);
    run(request, form).then(
      (out) => {
        if (out && out.some((o) => o.error)) setOutcomes(out);
        else closeAction();
      },
      (e: unknown) => {
        setBusy(false);
        setError(e instanceof Error ? e.message : String(e));
      },
    );
  };
  return (
    <ConfirmDialog title={titleOf(request)} confirmLabel={busy ? "Working…" : "Confirm"} onConfirm={confirm} onCancel={closeAction} busy={busy || invalid}>
      <p>{effectOf(request)}</p>
      {request.kind === "slot" && request.slots.length > 1 && (
        <p className="mt-1 truncate font-mono text-[11.5px]" title={request.slots.map((s) => s.slotName).join(", ")}>
          {request.slots.map((s) => s.slotName).join(", ")}
        </p>
      )}
      <ActionFields request={request} form={form} setForm={setForm} onSubmit={confirm} />
      {error && (
        <p role="alert" className="mt-2 text-error">
          {error}
        </p>
      )}
    </ConfirmDialog>
  );
}

/** The reason, and the fields the action needs (force, priority, platform). */
function ActionFields({ request, form, setForm, onSubmit }: { request: ActionRequest; form: Form; setForm: (f: Form) => void; onSubmit: () => void }) {
  const held = request.kind === "slot" ? request.slots.filter((s) => s.assignedBotId !== null) : [];
  const forceable = request.kind === "slot" && (request.action === "delete" || request.action === "restart") && held.length > 0;
  return (
    <form
      className="mt-3 flex flex-col gap-2"
      onSubmit={(e) => e.preventDefault()}
      // Enter in any field confirms (a form of several fields has no implicit submission).
      onKeyDown={(e) => {
        if (e.key === "Enter" && e.target instanceof HTMLInputElement && e.target.type !== "checkbox") {
          e.preventDefault();
          onSubmit();
        }
      }}
    >
      {request.kind === "bot" && request.action === "priority" && (
        <label className="flex items-center gap-2">
          Priority
          <input
            className="input w-24"
            type="number"
            min={0}
            aria-label="Priority"
            value={form.priority}
            onChange={(e) => setForm({ ...form, priority: e.target.value })}
          />
        </label>
      )}
      {request.kind === "bot" && request.action === "reroute" && <PlatformPick value={form.platform} onChange={(platform) => setForm({ ...form, platform })} />}
      <label className="flex flex-col gap-1">
        Reason (optional)
        <input className="input" aria-label="Reason" value={form.reason} onChange={(e) => setForm({ ...form, reason: e.target.value })} />
      </label>
      {forceable && (
        <label className="flex items-start gap-2 text-error">
          <input type="checkbox" aria-label="Force" checked={form.force} onChange={(e) => setForm({ ...form, force: e.target.checked })} />
          <span>
            Force: {held.length === 1 ? `${held[0]!.slotName} holds bot #${held[0]!.assignedBotId}` : `${held.length} slots hold bots`}; forcing ends{" "}
            {held.length === 1 ? "it" : "them"} FATAL with the reason. Without force, busy slots are refused.
          </span>
        </label>
      )}
    </form>
  );
}

/** The platform to pin a queued bot to, or none (clears the pin). */
function PlatformPick({ value, onChange }: { value: string; onChange: (p: string) => void }) {
  const overview = usePlatformsOverview();
  const platforms = (overview.data?.platforms ?? []).filter((p) => p.settings.enabled);
  return (
    <label className="flex items-center gap-2">
      Pin to
      <select className="input" aria-label="Pin to platform" value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">no pin (any platform)</option>
        {platforms.map((p) => (
          <option key={p.settings.platform} value={p.settings.platform}>
            {platformLabel(p.settings.platform)}
          </option>
        ))}
      </select>
    </label>
  );
}

/** What a slot action did to each slot: the refusals with their code and message. */
function Outcomes({ outcomes }: { outcomes: SlotOutcome[] }) {
  const refused = outcomes.filter((o) => o.error);
  return (
    <ConfirmDialog title="Some slots were refused" confirmLabel="Close" onConfirm={closeAction} onCancel={closeAction}>
      <p>
        {outcomes.length - refused.length} of {outcomes.length} done; {refused.length} refused (nothing was written for them):
      </p>
      <ul aria-label="Refused slots" className="mt-2 max-h-60 overflow-auto font-mono text-[11.5px]">
        {refused.map((o) => (
          <li key={o.slot}>
            <span className="text-fg">{o.slot}</span> <span className="text-error">{o.error!.code}</span>: {o.error!.message}
          </li>
        ))}
      </ul>
    </ConfirmDialog>
  );
}
