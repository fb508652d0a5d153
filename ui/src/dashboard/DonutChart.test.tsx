import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { DonutChart } from "./DonutChart";

const totals = { total: 37, idle: 12, deploying: 3, busy: 20, error: 2, maxSize: 100 };

describe("DonutChart", () => {
  it("draws one segment per status with its count and total/max in the centre", async () => {
    render(<DonutChart totals={totals} />);
    expect(screen.getByTestId("donut-center")).toHaveTextContent("37/100");
    for (const [status, n] of Object.entries({ idle: 12, deploying: 3, busy: 20, error: 2 })) {
      const seg = await screen.findByTestId(`donut-segment-${status}`);
      expect(seg).toHaveAttribute("data-count", String(n));
    }
    await waitFor(() => expect(screen.getByTestId("donut-segment-busy").getAttribute("d")).toMatch(/A/));
  });

  it("shows the exact count on hover", async () => {
    render(<DonutChart totals={totals} />);
    fireEvent.mouseEnter(await screen.findByTestId("donut-segment-busy"));
    const tip = screen.getByTestId("donut-tooltip");
    expect(tip).toHaveTextContent("[BUSY]");
    expect(tip).toHaveTextContent("20 of 37");
    fireEvent.mouseLeave(screen.getByTestId("donut-segment-busy"));
    expect(screen.queryByTestId("donut-tooltip")).not.toBeInTheDocument();
  });

  it("updates segments when the data changes", async () => {
    const { rerender } = render(<DonutChart totals={totals} />);
    rerender(<DonutChart totals={{ ...totals, error: 9, total: 44 }} />);
    expect(await screen.findByTestId("donut-segment-error")).toHaveAttribute("data-count", "9");
    expect(screen.getByTestId("donut-center")).toHaveTextContent("44/100");
  });
});
