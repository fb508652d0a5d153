// The slots table's layout (issue 14's small things): names keep their
// `-NNN`, the status column fits its widest badge, the table fits a 1280 px
// window, and in the app it scrolls with the page (one scroll area).
import { render, screen, within } from "@testing-library/react";
import { ClockProvider } from "../../shared/clock";
import { ScrollRootContext } from "../../shared/scrollRoot";
import { SlotName, splitSlotName } from "../../shared/SlotName";
import { makeSlots } from "../../test/fixtures";
import { SlotsTable } from "../SlotsTable";
import { COLUMNS, MIN_ROW_WIDTH } from "./slotsView";

describe("slot names", () => {
  it("split before the -NNN suffix, which is never truncated; the full name is the title", () => {
    expect(splitSlotName("pool-zoom-production-eu-042")).toEqual(["pool-zoom-production-eu", "-042"]);
    expect(splitSlotName("odd-name")).toEqual(["odd-name", ""]);
    render(<SlotName name="pool-zoom-production-eu-042" />);
    const suffix = screen.getByTestId("slot-name-suffix");
    expect(suffix).toHaveTextContent("-042");
    expect(suffix).toHaveClass("shrink-0");
    expect(suffix).not.toHaveClass("truncate");
    expect(screen.getByTestId("slot-name-head")).toHaveClass("truncate");
    expect(screen.getByTitle("pool-zoom-production-eu-042")).toHaveTextContent("pool-zoom-production-eu-042");
  });
});

describe("slot columns", () => {
  const px = (key: string) => Number(/(\d+)px/.exec(COLUMNS.find((c) => c.key === key)!.width)![1]);

  it("fit the widest status badge, [DEPLOYING] with its spinner", () => {
    // The badge: 10.5 px monospace (0.6 em a character), 0.12 em letter spacing,
    // 6 px padding and 1 px border each side, a 10 px spinner and a 6 px gap.
    const font = 10.5;
    const text = "[DEPLOYING]".length * (font * 0.6 + font * 0.12);
    expect(px("status")).toBeGreaterThanOrEqual(Math.ceil(text + 2 * 6 + 2 + 10 + 6));
    // Measured in WebKit (the desktop's engine) at 1280 px with the fallback monospace: 121 px.
    expect(px("status")).toBeGreaterThanOrEqual(121 + 8);
  });

  it("fit a 1280 px window beside the sidebar without a horizontal scroll", () => {
    // 1280 - sidebar 192 - page padding 48 - panel border 2 - scrollbar 10.
    expect(MIN_ROW_WIDTH).toBeLessThanOrEqual(1280 - 192 - 48 - 2 - 10);
  });
});

describe("in the app's scroll area", () => {
  it("has no scroll box of its own and still virtualises", () => {
    const root = document.createElement("div");
    Object.defineProperty(root, "clientHeight", { value: 600 });
    Object.defineProperty(root, "clientWidth", { value: 1200 });
    Object.defineProperty(root, "offsetHeight", { value: 600 });
    Object.defineProperty(root, "offsetWidth", { value: 1200 });
    document.body.append(root);
    render(
      <ScrollRootContext.Provider value={root}>
        <ClockProvider>
          <SlotsTable slots={makeSlots(5_000)} />
        </ClockProvider>
      </ScrollRootContext.Provider>,
      { container: root.appendChild(document.createElement("div")) },
    );
    const table = screen.getByTestId("slots-scroll");
    expect(table).not.toHaveClass("overflow-auto");
    expect(table.className).not.toMatch(/h-\[/);
    const rows = within(table).getAllByTestId("slot-row");
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.length).toBeLessThan(80);
  });
});
