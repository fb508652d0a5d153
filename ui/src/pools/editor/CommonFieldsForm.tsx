import { meetingLabel } from "../../shared/format";
import { FORM_FIELDS, MEETING_PLATFORMS, type FormField } from "../yamlForm";

const FIELD_LABELS: Record<FormField, string> = {
  name: "Name",
  meeting_platform: "Meeting platform",
  image: "Image",
  tag: "Tag",
  max_size: "Max size",
  prewarm: "Prewarm",
};

/** The form mode: the common top-level fields, each written into its line of the YAML. */
export function CommonFieldsForm({ form, onField }: { form: Record<FormField, string>; onField: (key: FormField, value: string) => void }) {
  return (
    <div className="panel grid grid-cols-2 gap-3 p-3" role="form" aria-label="Common fields">
      {FORM_FIELDS.map((key) => (
        <label key={key} className="flex flex-col gap-1 text-[12px] text-muted">
          {FIELD_LABELS[key]}
          {key === "meeting_platform" ? (
            <select className="input" value={form[key]} onChange={(e) => onField(key, e.target.value)}>
              {MEETING_PLATFORMS.map((m) => (
                <option key={m} value={m}>
                  {meetingLabel(m)}
                </option>
              ))}
            </select>
          ) : (
            <input
              className="input"
              value={form[key]}
              inputMode={key === "max_size" || key === "prewarm" ? "numeric" : undefined}
              onChange={(e) => onField(key, e.target.value)}
            />
          )}
        </label>
      ))}
      <p className="col-span-2 text-[11.5px] text-dim">The form edits these lines of the YAML; everything else stays as written.</p>
    </div>
  );
}
