import { fireEvent, render, screen } from "@testing-library/react";
import type { PoolStats } from "../api/types";
import { PoolSelector, SEGMENTED_MAX } from "./PoolSelector";

const pools = (n: number): PoolStats[] =>
  Array.from({ length: n }, (_, i) => ({
    pool: `pool-${i}`,
    meetingPlatform: "zoom",
    total: 1,
    idle: 1,
    deploying: 0,
    busy: 0,
    error: 0,
    maxSize: 10,
  }));

describe("PoolSelector", () => {
  it("is hidden for a single pool", () => {
    const { container } = render(<PoolSelector stats={pools(1)} value={null} onChange={() => {}} />);
    expect(container).toBeEmptyDOMElement();
  });

  it("uses segmented buttons for a few pools", () => {
    const onChange = vi.fn();
    render(<PoolSelector stats={pools(SEGMENTED_MAX)} value="pool-1" onChange={onChange} />);
    expect(screen.getAllByRole("radio")).toHaveLength(SEGMENTED_MAX + 1);
    expect(screen.getByRole("radio", { name: "pool-1" })).toHaveAttribute("aria-checked", "true");
    fireEvent.click(screen.getByRole("radio", { name: "All pools" }));
    expect(onChange).toHaveBeenCalledWith(null);
  });

  it("switches to a drop-down for many pools, so the header cannot overflow", () => {
    const onChange = vi.fn();
    render(<PoolSelector stats={pools(SEGMENTED_MAX + 9)} value={null} onChange={onChange} />);
    expect(screen.queryByRole("radio")).not.toBeInTheDocument();
    const select = screen.getByRole("combobox", { name: "Pool" });
    expect(select).toHaveValue("");
    expect(screen.getAllByRole("option")).toHaveLength(SEGMENTED_MAX + 10);
    fireEvent.change(select, { target: { value: "pool-7" } });
    expect(onChange).toHaveBeenLastCalledWith("pool-7");
    fireEvent.change(select, { target: { value: "" } });
    expect(onChange).toHaveBeenLastCalledWith(null);
  });
});
