import { act, fireEvent, render, screen, within } from "@testing-library/react";
import { ClockProvider } from "../shared/clock";
import { makeSlots } from "../test/fixtures";
import { ROW_HEIGHT, SlotsTable } from "./SlotsTable";

// jsdom has no layout: give the scroll element a size, as TanStack Virtual's docs suggest.
const VIEWPORT = 480;
// (virtual-core reads clientHeight/clientWidth; older versions offsetHeight/offsetWidth.)
const SIZES = { offsetHeight: VIEWPORT, clientHeight: VIEWPORT, offsetWidth: 1200, clientWidth: 1200 };
const saved = new Map<string, PropertyDescriptor | undefined>();
beforeAll(() => {
  for (const [k, v] of Object.entries(SIZES)) {
    saved.set(k, Object.getOwnPropertyDescriptor(HTMLElement.prototype, k) ?? Object.getOwnPropertyDescriptor(Element.prototype, k));
    Object.defineProperty(HTMLElement.prototype, k, { configurable: true, get: () => v });
  }
});
afterAll(() => {
  for (const k of Object.keys(SIZES)) delete (HTMLElement.prototype as unknown as Record<string, unknown>)[k];
});

function renderTable(n: number) {
  return render(
    <ClockProvider>
      <SlotsTable slots={makeSlots(n)} />
    </ClockProvider>,
  );
}
const rows = () => screen.getAllByTestId("slot-row");
// Cell 0 is the row's checkbox and actions menu; cell 1 the name.
const names = () => rows().map((r) => within(r).getAllByRole("cell")[1]!.textContent);

describe("SlotsTable", () => {
  it("virtualises 10,000 rows: only a window of them is in the DOM", () => {
    renderTable(10_000);
    expect(screen.getByTestId("slots-count")).toHaveTextContent("(10000)");
    const n = rows().length;
    expect(n).toBeGreaterThan(VIEWPORT / ROW_HEIGHT - 1);
    expect(n).toBeLessThan(60);
    expect(names()[0]).toBe("pool-zoom-00001");
  });

  it("reuses its row elements when a fast scroll jumps a whole window (text changes, no rows built)", () => {
    renderTable(10_000);
    const before = rows();
    const scroller = screen.getByTestId("slots-scroll");
    act(() => {
      scroller.scrollTop = 100 * ROW_HEIGHT;
      scroller.dispatchEvent(new Event("scroll"));
    });
    const after = rows();
    expect(names()).toContain("pool-zoom-00101");
    expect(names()).not.toContain("pool-zoom-00001");
    // The same elements, each showing another slot.
    expect(new Set([...before, ...after]).size).toBe(Math.max(before.length, after.length));
  });

  it("filters by several statuses at once", () => {
    renderTable(40);
    fireEvent.click(screen.getByRole("button", { name: /Status:/ }));
    const group = screen.getByRole("group", { name: "Status filter" });
    const boxes = within(group).getAllByRole("checkbox");
    fireEvent.click(boxes[3]!); // error
    expect(screen.getByTestId("slots-count")).toHaveTextContent("(10 of 40)");
    expect(rows().every((r) => within(r).getByText("[ERROR]"))).toBe(true);
    fireEvent.click(boxes[0]!); // + idle
    expect(screen.getByTestId("slots-count")).toHaveTextContent("(20 of 40)");
    const statuses = new Set(rows().map((r) => r.querySelector("[data-status]")!.getAttribute("data-status")));
    expect(statuses).toEqual(new Set(["idle", "error"]));
    expect(screen.getByRole("button", { name: /Status:/ })).toHaveTextContent("Idle, Error");
    fireEvent.click(within(group).getByRole("button", { name: "Show all statuses" }));
    expect(screen.getByTestId("slots-count")).toHaveTextContent("(40)");
  });

  it("sorts by a column, toggling direction", () => {
    renderTable(40);
    const header = screen.getByRole("columnheader", { name: /Slot name/ });
    expect(header).toHaveAttribute("aria-sort", "ascending");
    fireEvent.click(within(header).getByRole("button"));
    expect(header).toHaveAttribute("aria-sort", "descending");
    expect(names()[0]).toBe("pool-zoom-00040");

    const recovery = screen.getByRole("columnheader", { name: /Recov/ });
    fireEvent.click(within(recovery).getByRole("button"));
    fireEvent.click(within(recovery).getByRole("button"));
    expect(recovery).toHaveAttribute("aria-sort", "descending");
    expect(rows()[0]!.querySelector("[data-status]")).toHaveAttribute("data-status", "error");

    const bot = screen.getByRole("columnheader", { name: /Bot/ });
    fireEvent.click(within(bot).getByRole("button"));
    expect(within(rows()[0]!).getAllByRole("cell")[3]).toHaveTextContent("#1002");
  });

  it("shows a truncated UUID with the full one on hover and a copy button", async () => {
    const writeText = vi.fn(() => Promise.resolve());
    Object.defineProperty(navigator, "clipboard", { configurable: true, value: { writeText } });
    renderTable(3);
    const full = makeSlots(1)[0]!.uuid;
    const cell = screen.getByTitle(full);
    expect(cell.textContent).toBe(`${full.slice(0, 8)}…`);
    fireEvent.click(screen.getByRole("button", { name: `Copy UUID ${full}` }));
    expect(writeText).toHaveBeenCalledWith(full);
    expect(await screen.findByRole("button", { name: `Copy UUID ${full}` })).toHaveTextContent("✓");
  });
});
