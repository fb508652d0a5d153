// A row's menu stays inside the window (a row near the bottom opened it
// below the window's edge, out of reach) and is driven by the arrow keys.
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { placeMenu, RowMenu } from "./RowMenu";

const VIEW = { width: 1280, height: 800 };
const SIZE = { width: 160, height: 80 };

describe("placeMenu", () => {
  it("opens below the button when there is room", () => {
    expect(placeMenu({ top: 100, bottom: 120, left: 300 }, SIZE, VIEW)).toEqual({ top: 122, left: 300 });
  });

  it("opens above a button near the window's bottom", () => {
    // The failing case seen in the app: a queue row at y≈780 put the menu at 807..885 of 800.
    const placed = placeMenu({ top: 770, bottom: 790, left: 330 }, SIZE, VIEW);
    expect(placed).toEqual({ top: 770 - 2 - 80, left: 330 });
    expect(placed.top + SIZE.height).toBeLessThanOrEqual(VIEW.height);
  });

  it("moves left instead of leaving the window's right edge", () => {
    expect(placeMenu({ top: 10, bottom: 30, left: 1200 }, SIZE, VIEW).left).toBe(1280 - 160);
  });
});

describe("RowMenu", () => {
  it("closes when its row is reused for another target (a virtualised table scrolling)", async () => {
    const items = [{ label: "Drain", run: () => undefined }];
    const { rerender } = render(<RowMenu label="Actions for slot-001" items={items} />);
    await userEvent.setup().click(screen.getByRole("button", { name: "Actions for slot-001" }));
    expect(screen.getByRole("menu")).toBeInTheDocument();
    rerender(<RowMenu label="Actions for slot-101" items={items} />);
    expect(screen.queryByRole("menu")).not.toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Actions for slot-101" })).toHaveAttribute("aria-expanded", "false");
  });

  it("moves between items with the arrow keys, wrapping, and runs the focused one with Enter", async () => {
    const ran: string[] = [];
    const items = ["Restart", "Drain", "Delete"].map((label) => ({ label, run: () => ran.push(label) }));
    render(<RowMenu label="Actions for pool-zoom-001" items={items} />);
    await userEvent.click(screen.getByRole("button", { name: "Actions for pool-zoom-001" }));
    expect(screen.getByRole("menuitem", { name: "Restart" })).toHaveFocus();
    await userEvent.keyboard("{ArrowDown}");
    expect(screen.getByRole("menuitem", { name: "Drain" })).toHaveFocus();
    await userEvent.keyboard("{ArrowUp}{ArrowUp}");
    expect(screen.getByRole("menuitem", { name: "Delete" })).toHaveFocus();
    await userEvent.keyboard("{Enter}");
    expect(ran).toEqual(["Delete"]);
    expect(screen.queryByRole("menu")).toBeNull();
  });
});
