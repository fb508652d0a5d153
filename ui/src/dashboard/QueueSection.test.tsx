import { act, render, screen, within } from "@testing-library/react";
import { ClockProvider } from "../shared/clock";
import { queueSnapshot, T0 } from "../test/fixtures";
import { useFakeClock } from "../test/render";
import { QUEUE_BOX, QUEUE_SHOWN, QueueIdle, QueueSection } from "./QueueSection";

describe("QueueSection", () => {
  beforeEach(() => useFakeClock(T0));
  afterEach(() => vi.useRealTimers());

  it("ticks waiting time and timeout countdown, red in the last minute", () => {
    render(
      <ClockProvider>
        <QueueSection snapshot={queueSnapshot(T0)} receivedAt={T0} pool={null} />
      </ClockProvider>,
    );
    const row = screen.getByTestId("queue-entry-456");
    const timeout = within(row).getByTestId("queue-timeout");
    expect(within(row).getByTestId("queue-waiting")).toHaveTextContent("1m 30s");
    expect(timeout).toHaveTextContent("1:02");
    expect(timeout).toHaveAttribute("data-urgent", "false");

    act(() => vi.advanceTimersByTime(2_000));
    expect(timeout).toHaveTextContent("1:00");
    expect(timeout).toHaveAttribute("data-urgent", "false");

    act(() => vi.advanceTimersByTime(1_000));
    expect(within(row).getByTestId("queue-waiting")).toHaveTextContent("1m 33s");
    expect(timeout).toHaveTextContent("0:59");
    expect(timeout).toHaveAttribute("data-urgent", "true");
    expect(timeout).toHaveClass("text-error");

    act(() => vi.advanceTimersByTime(60_000));
    expect(timeout).toHaveTextContent("expired");
  });

  it("renders only the first waiting bots of 10,000 (the Infrastructure view lists them all, virtualised)", () => {
    const base = queueSnapshot(T0);
    const entries = Array.from({ length: 10_000 }, (_, i) => ({ ...base.entries[1]!, id: i + 1, botId: 1000 + i, position: i + 1 }));
    const { container } = render(
      <ClockProvider>
        <QueueSection snapshot={{ ...base, entries }} receivedAt={T0} pool={null} />
      </ClockProvider>,
    );
    expect(container.querySelectorAll("[data-testid^='queue-entry-']")).toHaveLength(QUEUE_SHOWN);
    expect(screen.getByTestId("queue-entry-1000")).toBeInTheDocument();
    expect(screen.getByTestId("queue-more")).toHaveTextContent(`${10_000 - QUEUE_SHOWN} more`);
  });

  it("shows priority, position and estimated wait (unknown when null)", () => {
    render(
      <ClockProvider>
        <QueueSection snapshot={queueSnapshot(T0)} receivedAt={T0} pool={null} />
      </ClockProvider>,
    );
    expect(screen.getByText(/Queue/)).toHaveTextContent("(2 waiting)");
    const second = screen.getByTestId("queue-entry-789");
    expect(second).toHaveTextContent("#2");
    expect(second).toHaveTextContent("100");
    expect(within(second).getByTestId("queue-estimate")).toHaveTextContent("unknown");
    expect(within(screen.getByTestId("queue-entry-456")).getByTestId("queue-estimate")).toHaveTextContent("~30s");
  });

  it("runs countdowns on the database clock when the local clock is off", () => {
    // The snapshot was taken at T0 on the server but arrived at T0 - 10 s local time.
    render(
      <ClockProvider>
        <QueueSection snapshot={queueSnapshot(T0)} receivedAt={T0 - 10_000} pool={null} />
      </ClockProvider>,
    );
    expect(within(screen.getByTestId("queue-entry-456")).getByTestId("queue-timeout")).toHaveTextContent("0:52");
  });

  it("is not rendered when the queue (for the pool) is empty", () => {
    const { container } = render(
      <ClockProvider>
        <QueueSection snapshot={queueSnapshot(T0)} receivedAt={T0} pool="pool-teams" />
      </ClockProvider>,
    );
    expect(container).toBeEmptyDOMElement();
  });

  it("keeps one box height, empty or not: the first bots shown, the rest counted", () => {
    const snap = queueSnapshot(T0);
    const many = { ...snap, entries: Array.from({ length: 7 }, (_, i) => ({ ...snap.entries[0]!, id: i + 1, botId: 500 + i, position: i + 1 })) };
    render(
      <ClockProvider>
        <QueueSection snapshot={many} receivedAt={T0} pool={null} />
        <QueueIdle />
      </ClockProvider>,
    );
    expect(screen.getAllByTestId(/^queue-entry-/)).toHaveLength(QUEUE_SHOWN);
    expect(screen.getByTestId("queue-more")).toHaveTextContent("first 3 shown, 4 more in Infrastructure");
    for (const box of [screen.getByTestId("queue-section"), screen.getByTestId("queue-empty")]) {
      for (const c of QUEUE_BOX.split(" ")) expect(box).toHaveClass(c);
    }
  });
});
