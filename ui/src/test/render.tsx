import { QueryClient } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { ApiProvider } from "../api/provider";
import { LIVE_INVALIDATIONS, LIVE_PATCHES } from "../invalidations";
import { ClockProvider } from "../shared/clock";

export function testClient() {
  return new QueryClient({ defaultOptions: { queries: { retry: false, refetchOnWindowFocus: false } } });
}

/** Renders with the real providers (API module mocked by the test file). */
export function renderApp(ui: ReactElement, client = testClient()) {
  return {
    client,
    ...render(
      <ApiProvider client={client} invalidations={LIVE_INVALIDATIONS} patches={LIVE_PATCHES}>
        <ClockProvider>{ui}</ClockProvider>
      </ApiProvider>,
    ),
  };
}

/** Fake only what the clock and the LIVE logic use; promises and React Query's scheduler stay real. */
export function useFakeClock(at: number) {
  vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "Date"] });
  vi.setSystemTime(at);
}
