import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import type { BotDetails, PlatformOverview, PlatformsOverview } from "../api/types";
import { ClockProvider } from "../shared/clock";
import { emitChange, mockApi, resetMockApi } from "../test/mockApi";
import { iso, queueSnapshot, settingsFixture, T0 } from "../test/fixtures";
import { renderApp, useFakeClock } from "../test/render";
import { GlobalQueueTable } from "./GlobalQueueTable";
import { InfrastructurePage } from "./InfrastructurePage";
import { capacityLabel, PlatformSection } from "./PlatformSection";

vi.mock("../api/tauri", async () => (await import("../test/mockApi")).tauriModule);

const [k8s, aws, coolify] = settingsFixture().platforms as [
  PlatformOverview["settings"],
  PlatformOverview["settings"],
  PlatformOverview["settings"],
];

function overview(): PlatformsOverview {
  return {
    // Deliberately out of priority order: the page sorts by position.
    platforms: [
      { settings: coolify, used: 0, queued: 0, health: "unknown", slots: { total: 0, idle: 0, deploying: 0, busy: 0, error: 0 }, drain: null },
      { settings: k8s, used: 30, queued: 7, health: "healthy", slots: { total: 33, idle: 2, deploying: 3, busy: 27, error: 1 }, drain: null },
      { settings: aws, used: 4, queued: 0, health: "down", slots: { total: 9, idle: 5, deploying: 0, busy: 4, error: 0 }, drain: null },
    ],
    globalQueued: 0, globalQueueTimeoutMs: 600_000,
    globalQueueTimeoutPinnedBy: "GLOBAL_QUEUE_TIMEOUT_MS",
    now: iso(T0),
  };
}

function bot(id: number): BotDetails {
  return {
    id,
    pool: "pool-zoom",
    meetingPlatform: "zoom",
    meetingUrl: "https://zoom.us/j/1",
    status: "QUEUED",
    priority: 50,
    tier: null,
    queueTimeoutMs: 300_000,
    deploymentPlatform: null,
    slotName: null,
    error: null,
    pinnedPlatform: null,
    redeployOf: null,
    joinAt: null,
    startAt: null,
    decisionTrace: [
      { platform: "k8s", decision: "full", detail: "limit 30/30", at: iso(T0) },
      { platform: "aws", decision: "unhealthy", detail: "circuit open: 5 failures", at: iso(T0 + 1) },
      { platform: null, decision: "queued", detail: "position 1", at: iso(T0 + 2) },
    ],
    createdAt: iso(T0),
    updatedAt: iso(T0),
    endedAt: null,
  };
}

describe("PlatformSection", () => {
  it("labels capacity as `K8s used/limit`, and `∞` without a limit", () => {
    const o = overview().platforms[1]!;
    expect(capacityLabel(o)).toBe("K8s 30/30");
    expect(capacityLabel({ ...o, settings: { ...o.settings, botLimit: null } })).toBe("K8s 30/∞");
  });

  it("shows health, per-status counts, and a full platform in the error tone", () => {
    render(<PlatformSection overview={overview().platforms[1]!} rank={1} />);
    const badge = screen.getByTestId("capacity-badge");
    expect(badge).toHaveTextContent("K8s 30/30");
    expect(badge.className).toContain("text-error");
    expect(screen.getByText("HEALTHY")).toHaveAttribute("data-health", "healthy");
    expect(screen.getByTestId("platform-k8s-busy")).toHaveTextContent("27");
    expect(screen.getByTestId("platform-k8s-error")).toHaveTextContent("1");
    expect(screen.getByText("30 active bots of 30")).toBeInTheDocument();
    expect(screen.getByTestId("queued-badge")).toHaveTextContent("7 QUEUED");
  });

  it("shows no queue badge on a platform nobody waits for", () => {
    render(<PlatformSection overview={overview().platforms[2]!} rank={2} />);
    expect(screen.queryByTestId("queued-badge")).toBeNull();
  });

  it("marks disabled and unlimited platforms", () => {
    const o = overview().platforms[0]!;
    render(<PlatformSection overview={{ ...o, settings: { ...o.settings, botLimit: null } }} rank={3} />);
    expect(screen.getByText("DISABLED")).toBeInTheDocument();
    expect(screen.getByText("NO LIMIT · SKIPPED")).toBeInTheDocument();
    expect(screen.getByText("UNKNOWN")).toHaveAttribute("data-health", "unknown");
  });

  it("collapses and expands its body", async () => {
    render(<PlatformSection overview={overview().platforms[2]!} rank={2} />);
    const toggle = screen.getByRole("button", { expanded: true });
    fireEvent.click(toggle);
    expect(toggle).toHaveAttribute("aria-expanded", "false");
    await waitFor(() => expect(screen.queryByTestId("platform-aws-idle")).not.toBeInTheDocument());
    fireEvent.click(toggle);
    expect(await screen.findByTestId("platform-aws-idle")).toHaveTextContent("5");
  });
});

// jsdom lays nothing out: the queue's virtualised rows need a viewport (as in SlotsTable.test.tsx).
const SIZES = { offsetHeight: 480, clientHeight: 480, offsetWidth: 1200, clientWidth: 1200 };
beforeAll(() => {
  for (const [k, v] of Object.entries(SIZES)) Object.defineProperty(HTMLElement.prototype, k, { configurable: true, get: () => v });
});
afterAll(() => {
  for (const k of Object.keys(SIZES)) delete (HTMLElement.prototype as unknown as Record<string, unknown>)[k];
});

describe("GlobalQueueTable", () => {
  beforeEach(() => useFakeClock(T0));
  afterEach(() => vi.useRealTimers());

  it("lists position, bot, meeting platform, queued-for and a live timeout countdown", () => {
    const onSelect = vi.fn();
    render(
      <ClockProvider>
        <GlobalQueueTable snapshot={queueSnapshot(T0)} receivedAt={T0} selected={null} onSelect={onSelect} />
      </ClockProvider>,
    );
    const rows = screen.getAllByRole("row").slice(1);
    expect(rows).toHaveLength(2);
    const first = rows[0]!;
    expect(within(first).getByText("#1")).toBeInTheDocument();
    expect(within(first).getByText("Bot #456")).toBeInTheDocument();
    expect(within(first).getByText("all (global)")).toBeInTheDocument();
    expect(within(first).getByText("1m 30s")).toBeInTheDocument();
    const timeout = first.querySelector("[data-urgent]")!;
    expect(timeout).toHaveTextContent("1:02");
    expect(timeout).toHaveAttribute("data-urgent", "false");

    act(() => vi.advanceTimersByTime(3_000));
    expect(timeout).toHaveTextContent("0:59");
    expect(timeout).toHaveAttribute("data-urgent", "true");

    fireEvent.click(within(rows[1]!).getByText("Bot #789"));
    expect(onSelect).toHaveBeenCalledWith(789);
    expect(onSelect).toHaveBeenCalledTimes(1);
  });

  it("virtualises 10,000 waiting bots: only a window of them is in the page", () => {
    const base = queueSnapshot(T0);
    const entries = Array.from({ length: 10_000 }, (_, i) => ({ ...base.entries[1]!, id: i + 1, botId: 1000 + i, position: i + 1 }));
    render(
      <ClockProvider>
        <GlobalQueueTable snapshot={{ ...base, entries }} receivedAt={T0} selected={null} onSelect={() => {}} />
      </ClockProvider>,
    );
    expect(screen.getByRole("region", { name: "Global queue" })).toHaveTextContent("(10000)");
    const rows = screen.getAllByRole("row").slice(1);
    expect(rows.length).toBeGreaterThan(480 / 32 - 1);
    expect(rows.length).toBeLessThan(60);
    expect(within(rows[0]!).getByText("Bot #1000")).toBeInTheDocument();
  });

  it("says so when nobody waits", () => {
    render(
      <ClockProvider>
        <GlobalQueueTable snapshot={{ ...queueSnapshot(T0), entries: [] }} receivedAt={T0} selected={null} onSelect={() => {}} />
      </ClockProvider>,
    );
    expect(screen.getByText("No bots waiting.")).toBeInTheDocument();
  });
});

describe("InfrastructurePage", () => {
  beforeEach(() => {
    resetMockApi();
    mockApi.platformsOverview.mockResolvedValue(overview());
    mockApi.queueEntries.mockResolvedValue(queueSnapshot(Date.now()));
    mockApi.queueStats.mockResolvedValue({ length: 2, oldestQueuedAt: iso(T0), avgWaitMs: 12_000, releasesPerMinute: 3, now: iso(T0) });
    mockApi.botDetails.mockImplementation((id: number) => Promise.resolve(bot(id)));
  });

  it("orders platform sections by priority and shows the pinned global timeout", async () => {
    renderApp(<InfrastructurePage />);
    await screen.findByTestId("platform-k8s");
    const order = Array.from(document.querySelectorAll("section[data-testid^='platform-']")).map((s) => s.getAttribute("data-testid"));
    expect(order).toEqual(["platform-k8s", "platform-aws", "platform-coolify"]);
    expect(screen.getByText(/pinned by GLOBAL_QUEUE_TIMEOUT_MS/)).toBeInTheDocument();
    expect(screen.getByTestId("queue-badge")).toHaveTextContent("Queue: 2 bots waiting");
  });

  it("shows a bot's decision trace on selection, with the unhealthy skip and its reason", async () => {
    renderApp(<InfrastructurePage />);
    fireEvent.click(await screen.findByText("Bot #456"));
    const trace = await screen.findByTestId("trace");
    expect(mockApi.botDetails).toHaveBeenCalledWith(456);
    const steps = within(trace).getAllByRole("listitem");
    expect(steps.map((s) => s.querySelector("span.font-semibold")?.textContent)).toEqual(["full", "unhealthy", "queued"]);
    expect(within(trace).getByText("circuit open: 5 failures")).toBeInTheDocument();
    fireEvent.click(screen.getByRole("button", { name: "close" }));
    expect(screen.getByText("Select a queued bot.")).toBeInTheDocument();
  });

  it("shows a bot waiting for an account in the waiting tone, in words", async () => {
    const waiting = bot(456);
    waiting.decisionTrace = [
      { platform: "k8s", decision: "poolFull", detail: "pool max size 40 reached", at: iso(T0) },
      { platform: null, decision: "noAccount", detail: "no account available in pool-zoom (3 in use, 9 completed, 1 failed); waiting for one to return or a refresh", at: iso(T0 + 1) },
      { platform: "k8s", decision: "waiting", detail: "waited 60 s for capacity", at: iso(T0 + 2) },
    ];
    mockApi.botDetails.mockResolvedValue(waiting);
    renderApp(<InfrastructurePage />);
    fireEvent.click(await screen.findByText("Bot #456"));
    const trace = await screen.findByTestId("trace");
    const labels = within(trace).getAllByRole("listitem").map((s) => s.querySelector("[data-decision]")!);
    expect(labels.map((l) => l.textContent)).toEqual(["pool full", "no account", "waiting"]);
    expect(labels[1]).toHaveAttribute("data-decision", "noAccount");
    expect(labels[1]!.className).toContain("text-busy");
    expect(labels[1]!.className).toBe(labels[2]!.className);
    expect(within(trace).getByText(/no account available in pool-zoom .*waiting for one to return or a refresh/)).toBeInTheDocument();
  });

  it("shows backoff, a take-over and an omission in words, each in its tone", async () => {
    const retried = bot(456);
    retried.decisionTrace = [
      { platform: "k8s", decision: "failed", detail: "k8s start: refused", at: iso(T0) },
      { platform: null, decision: "omitted", detail: "12 entries omitted", at: iso(T0 + 1) },
      { platform: "k8s", decision: "backingOff", detail: "3 failed deploys; next try in 4 s", at: iso(T0 + 2) },
      { platform: null, decision: "interrupted", detail: "its router stopped; taken over", at: iso(T0 + 3) },
    ];
    mockApi.botDetails.mockResolvedValue(retried);
    renderApp(<InfrastructurePage />);
    fireEvent.click(await screen.findByText("Bot #456"));
    const trace = await screen.findByTestId("trace");
    const labels = within(trace).getAllByRole("listitem").map((s) => s.querySelector("[data-decision]")!);
    expect(labels.map((l) => l.textContent)).toEqual(["failed", "omitted", "backing off", "interrupted"]);
    expect(labels[1]!.className).toContain("text-dim");
    expect(labels[2]!.className).toContain("text-busy");
    expect(labels[3]!.className).toContain("text-busy");
  });

  it("refetches platforms on a `platforms` event, not on unrelated topics", async () => {
    renderApp(<InfrastructurePage />);
    await screen.findByTestId("platform-aws");
    const calls = mockApi.platformsOverview.mock.calls.length;
    act(() => emitChange({ kind: "changed", topics: ["pools"], message: null, slotIds: null }));
    const next = overview();
    next.platforms[2] = { ...next.platforms[2]!, health: "healthy" };
    mockApi.platformsOverview.mockResolvedValue(next);
    act(() => emitChange({ kind: "changed", topics: ["platforms"], message: null, slotIds: null }));
    await waitFor(() => expect(within(screen.getByTestId("platform-aws")).getByText("HEALTHY")).toBeInTheDocument());
    expect(mockApi.platformsOverview.mock.calls.length).toBe(calls + 1);
  });

  it("surfaces a typed error", async () => {
    mockApi.platformsOverview.mockRejectedValue({ code: "database_unavailable", message: "db gone" });
    renderApp(<InfrastructurePage />);
    expect(await screen.findByText("db gone")).toBeInTheDocument();
    expect(screen.getByText("[database_unavailable]")).toBeInTheDocument();
  });
});
