import type { Ref } from "react";
import { MAX_BATCH, MAX_STAGGER_S, type DeployFormValues } from "./useDeployForm";

/** The deploy form's inputs: the pool (read only), meeting URL, count, priority, join time, what a full window gets, stagger. */
export function DeployFields({
  pool,
  values,
  onChange,
  countInvalid,
  urlRef,
}: {
  pool: string;
  values: DeployFormValues;
  onChange: (field: keyof DeployFormValues, value: string) => void;
  countInvalid: boolean;
  /** The meeting URL input, focused when the dialog opens. */
  urlRef: Ref<HTMLInputElement>;
}) {
  return (
    <>
      <label className="flex flex-col gap-1 text-[12px] text-muted">
        Pool
        <input className="input" value={pool} readOnly />
      </label>
      <label className="flex flex-col gap-1 text-[12px] text-muted">
        Meeting URL
        <input
          ref={urlRef}
          className="input"
          type="url"
          placeholder="https://zoom.us/j/…"
          value={values.meetingUrl}
          onChange={(e) => onChange("meetingUrl", e.target.value)}
        />
      </label>
      <div className="grid grid-cols-2 gap-3">
        <label className="flex flex-col gap-1 text-[12px] text-muted">
          Count
          <input
            className="input"
            type="number"
            min={1}
            max={MAX_BATCH}
            value={values.count}
            aria-invalid={countInvalid || undefined}
            onChange={(e) => onChange("count", e.target.value)}
          />
        </label>
        <label className="flex flex-col gap-1 text-[12px] text-muted">
          Priority (optional)
          <input className="input" type="number" placeholder="pool default" value={values.priority} onChange={(e) => onChange("priority", e.target.value)} />
        </label>
      </div>
      <ScheduleFields values={values} onChange={onChange} />
    </>
  );
}

/** When the bots join (scheduled: started their deploy time ahead), what a full window gets, and the stagger between starts. */
function ScheduleFields({ values, onChange }: { values: DeployFormValues; onChange: (field: keyof DeployFormValues, value: string) => void }) {
  return (
    <div className="grid grid-cols-3 gap-3">
      <label className="flex flex-col gap-1 text-[12px] text-muted">
        Join at (optional)
        <input className="input" type="datetime-local" value={values.joinAt} onChange={(e) => onChange("joinAt", e.target.value)} />
      </label>
      <label className="flex flex-col gap-1 text-[12px] text-muted">
        If the window is full
        <select className="input" value={values.ifFull} disabled={values.joinAt === ""} onChange={(e) => onChange("ifFull", e.target.value)}>
          <option value="refuse">Refuse</option>
          <option value="queue">Queue at join time</option>
        </select>
      </label>
      <label className="flex flex-col gap-1 text-[12px] text-muted">
        Stagger (s, optional)
        <input className="input" type="number" min={0} max={MAX_STAGGER_S} placeholder="all at once" value={values.staggerS} onChange={(e) => onChange("staggerS", e.target.value)} />
      </label>
    </div>
  );
}
