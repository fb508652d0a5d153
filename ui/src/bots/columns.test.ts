// The Bots table and an open timeline fit a 1280 px window (the app's
// default size) beside the 192 px sidebar, with the page's padding and gap:
// no sideways scroll that cuts the timeline's right edge.
import { botLayout, PANEL_WIDTH } from "./columns";

const WINDOW = 1280;
const SIDEBAR = 192; // App.tsx: w-48
const PAGE = 2 * 24 + 16; // p-6 on both sides, gap-4

it("fits the table and an open timeline in a 1280 px window", () => {
  expect(botLayout(true).minWidth + PANEL_WIDTH + PAGE).toBeLessThanOrEqual(WINDOW - SIDEBAR);
});

it("keeps every column with no timeline open, and the id, status, meeting, infra and queue beside one", () => {
  expect(botLayout(false).columns.map((c) => c.key)).toEqual([
    "id", "status", "pool", "meeting", "infra", "slot", "queue", "wait", "priority", "created", "error", "menu",
  ]);
  expect(botLayout(true).columns.map((c) => c.key)).toEqual(["id", "status", "meeting", "infra", "queue", "menu"]);
});
