import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { RolloutProgress } from "../../api/types";
import { RolloutBar, rolloutSummary } from "./RolloutBar";

const underWay: RolloutProgress = {
  pool: "roll",
  image: "bots/zoom:v2",
  total: 8,
  updated: 5,
  updating: 2,
  waitingForBots: 1,
  maxUpdating: 2,
  startedAt: "2026-12-01T10:00:00Z",
  finishedAt: null,
  lastError: null,
};

describe("RolloutBar", () => {
  it("shows the slots on the new image, those updating and those waiting for their bots", () => {
    render(<RolloutBar rollout={underWay} />);
    expect(screen.getByText("Rolling out a new image")).toBeTruthy();
    expect(screen.getByText("5 of 8 slots on bots/zoom:v2 · 2 updating (at most 2) · 1 wait for their bots")).toBeTruthy();
    expect(screen.getByRole("progressbar").getAttribute("aria-valuenow")).toBe("5");
  });

  it("says when the rollout is done, and shows the last error", () => {
    const done = { ...underWay, updated: 8, updating: 0, waitingForBots: 0, finishedAt: "2026-12-01T10:05:00Z", lastError: "k8s update_image: refused" };
    render(<RolloutBar rollout={done} />);
    expect(screen.getByText("Image rolled out")).toBeTruthy();
    expect(rolloutSummary(done)).toBe("8 of 8 slots on bots/zoom:v2 · done");
    expect(screen.getByText("Last error: k8s update_image: refused")).toBeTruthy();
  });
});
