import { render, screen } from "@testing-library/react";
import { botRows } from "../test/bots";
import { BotsTable } from "./BotsTable";
import { ROW_HEIGHT } from "./columns";

// jsdom has no layout: give the scroll box a size (as in SlotsTable.test).
const SIZES = { offsetHeight: 480, clientHeight: 480, offsetWidth: 1200, clientWidth: 1200 };
beforeAll(() => {
  for (const [k, v] of Object.entries(SIZES)) Object.defineProperty(HTMLElement.prototype, k, { configurable: true, get: () => v });
});
afterAll(() => {
  for (const k of Object.keys(SIZES)) delete (HTMLElement.prototype as unknown as Record<string, unknown>)[k];
});

describe("BotsTable", () => {
  it("virtualises 10,000 bots: only a window of them is in the DOM", () => {
    const onNearEnd = vi.fn();
    render(
      <BotsTable rows={botRows(10_000, 20_000)} openId={null} onOpen={() => {}} onNearEnd={onNearEnd} onBackAtTop={() => {}} loadingMore={false} empty="none" />,
    );
    const rows = screen.getAllByTestId("bot-row");
    expect(rows.length).toBeGreaterThan(480 / ROW_HEIGHT - 1);
    expect(rows.length).toBeLessThan(60);
    expect(rows[0]).toHaveAttribute("data-bot-id", "20000");
    expect(screen.getByRole("table", { name: "Bots" })).toHaveAttribute("aria-rowcount", "10001");
    // Far from the end: no next page asked for.
    expect(onNearEnd).not.toHaveBeenCalled();
  });
});
