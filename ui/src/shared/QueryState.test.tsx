import { render, screen } from "@testing-library/react";
import { ApiError } from "../api/errors";
import { QueryState } from "./QueryState";

const failed = new ApiError("database_unavailable", "connection refused");
const show = (n: number) => <span>rows: {n}</span>;

describe("QueryState", () => {
  it("shows the loading text until the first answer, then the data", () => {
    const { rerender } = render(<QueryState query={{ data: undefined, error: null }} errorTitle="Could not load" loading="Loading rows…" children={show} />);
    expect(screen.getByText("Loading rows…")).toHaveClass("text-muted");
    expect(screen.queryByRole("alert")).toBeNull();
    rerender(<QueryState query={{ data: 3, error: null }} errorTitle="Could not load" loading="Loading rows…" children={show} />);
    expect(screen.getByText("rows: 3")).toBeInTheDocument();
    expect(screen.queryByText("Loading rows…")).toBeNull();
  });

  it("shows a typed error with its title instead of the loading text", () => {
    render(<QueryState query={{ data: undefined, error: failed }} errorTitle="Could not load" loading="Loading rows…" children={show} />);
    const alert = screen.getByRole("alert");
    expect(alert).toHaveTextContent("[database_unavailable]");
    expect(alert).toHaveTextContent("Could not load");
    expect(alert).toHaveTextContent("connection refused");
    expect(screen.queryByText("Loading rows…")).toBeNull();
  });

  it("keeps the last data under an error, unless the error replaces it", () => {
    const { rerender } = render(<QueryState query={{ data: 3, error: failed }} errorTitle="Could not load" children={show} />);
    expect(screen.getByRole("alert")).toBeInTheDocument();
    expect(screen.getByText("rows: 3")).toBeInTheDocument();
    rerender(<QueryState query={{ data: 3, error: failed }} errorTitle="Could not load" replace children={show} />);
    expect(screen.getByRole("alert")).toBeInTheDocument();
    expect(screen.queryByText("rows: 3")).toBeNull();
  });

  it("wraps the error in its frame, shows nothing while loading without a loading text, and shows falsy data", () => {
    const { container, rerender } = render(<QueryState query={{ data: undefined, error: failed }} errorTitle="x" errorClassName="p-3" />);
    expect(screen.getByRole("alert").parentElement).toHaveClass("p-3");
    rerender(<QueryState query={{ data: undefined, error: null }} errorTitle="x" children={show} />);
    expect(container).toBeEmptyDOMElement();
    rerender(<QueryState query={{ data: 0, error: null }} errorTitle="x" children={show} />);
    expect(screen.getByText("rows: 0")).toBeInTheDocument();
  });
});
