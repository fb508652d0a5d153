import { PageHeader } from "../shared/PageHeader";
import { QueryState } from "../shared/QueryState";
import { useSettings, useSettingsRules } from "./queries";
import { SettingsForm } from "./SettingsForm";
import { SettingsHistory } from "./SettingsHistory";
import { TiersPanel } from "./tiers/TiersPanel";

export function SettingsPage() {
  const settings = useSettings();
  // The core's ranges, fetched once: the form checks by the rules the save is checked by.
  const rules = useSettingsRules();
  return (
    <div className="flex flex-col">
      <PageHeader title="Platform settings" subtitle="Priority order, limits, queue timeouts and priority tiers — saved to the shared database, live on every instance" />
      {/* One column below 1280 px (a 1024 px window leaves the form too narrow beside the history). */}
      <div data-testid="settings-layout" className="grid grid-cols-1 gap-4 p-6 xl:grid-cols-[minmax(0,1fr)_360px]">
        <div className="min-w-0">
          <QueryState query={rules} errorTitle="Could not load the settings rules" />
          <QueryState query={settings} errorTitle="Could not load settings" loading="Loading settings…">
            {(s) =>
              rules.data ? (
                <div className="flex flex-col gap-4">
                  <SettingsForm settings={s} rules={rules.data} />
                  <TiersPanel tiers={s.tiers} rules={rules.data} />
                </div>
              ) : null
            }
          </QueryState>
        </div>
        <SettingsHistory />
      </div>
    </div>
  );
}
