// The Bots table's columns (reference 004's bots table with its "Infra"
// column, plus queue position and wait) and their grid.

/** Height of one virtualised row and of the sticky header, in pixels. */
export const ROW_HEIGHT = 32;
export const HEADER_HEIGHT = 34;

export const BOT_COLUMNS: { label: string; width: string; align?: "right" }[] = [
  { label: "Bot", width: "72px" },
  { label: "Status", width: "148px" },
  { label: "Pool", width: "minmax(90px,1fr)" },
  { label: "Meeting", width: "minmax(140px,2fr)" },
  { label: "Infra", width: "84px" },
  { label: "Slot", width: "minmax(100px,1.2fr)" },
  { label: "Queue", width: "48px", align: "right" },
  { label: "Wait", width: "64px", align: "right" },
  { label: "Prio", width: "40px", align: "right" },
  { label: "Created", width: "112px" },
  { label: "Error", width: "minmax(60px,1fr)" },
  { label: "", width: "24px" },
];

export const BOT_GRID = BOT_COLUMNS.map((c) => c.width).join(" ");
/** Every column's minimum, the gaps (6 px) and the padding (24 px). */
export const BOT_MIN_WIDTH = BOT_COLUMNS.reduce((sum, c) => sum + Number(/(\d+)px/.exec(c.width)![1]), 0) + 6 * (BOT_COLUMNS.length - 1) + 24;
