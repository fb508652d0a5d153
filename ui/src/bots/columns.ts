// The Bots table's columns (reference 004's bots table with its "Infra"
// column, plus queue position and wait) and their grid. With a bot's
// timeline open beside it, the table drops its `wide` columns (the panel
// shows them for the open bot) so table and panel fit a 1280 px window
// without a horizontal scroll (at 380 px of panel and every column, the
// page scrolled sideways and cut the panel's right edge).

/** Height of one virtualised row and of the sticky header, in pixels. */
export const ROW_HEIGHT = 32;
export const HEADER_HEIGHT = 34;
/** Width of the timeline panel beside the table. */
export const PANEL_WIDTH = 360;

export type ColumnKey = "id" | "status" | "pool" | "meeting" | "infra" | "slot" | "queue" | "wait" | "priority" | "created" | "error" | "menu";

export interface BotColumn {
  key: ColumnKey;
  label: string;
  width: string;
  align?: "right";
  /** Left out while a timeline is open. */
  wide?: boolean;
}

export const BOT_COLUMNS: BotColumn[] = [
  { key: "id", label: "Bot", width: "72px" },
  // Fits `[IN_WAITING_ROOM]`.
  { key: "status", label: "Status", width: "158px" },
  { key: "pool", label: "Pool", width: "minmax(90px,1fr)", wide: true },
  { key: "meeting", label: "Meeting", width: "minmax(110px,2fr)" },
  { key: "infra", label: "Infra", width: "84px" },
  { key: "slot", label: "Slot", width: "minmax(100px,1.2fr)", wide: true },
  { key: "queue", label: "Queue", width: "48px", align: "right" },
  { key: "wait", label: "Wait", width: "64px", align: "right", wide: true },
  // A tier's name (`critical` fits), or the priority of a bot in no tier.
  { key: "priority", label: "Tier", width: "64px", align: "right", wide: true },
  { key: "created", label: "Created", width: "112px", wide: true },
  { key: "error", label: "Error", width: "minmax(60px,1fr)", wide: true },
  { key: "menu", label: "", width: "24px" },
];

/** The columns shown, their grid template and the least width of a row (gaps 6 px, padding 24 px). */
export function botLayout(compact: boolean) {
  const columns = BOT_COLUMNS.filter((c) => !(compact && c.wide));
  const grid = columns.map((c) => c.width).join(" ");
  const minWidth = columns.reduce((sum, c) => sum + Number(/(\d+)px/.exec(c.width)![1]), 0) + 6 * (columns.length - 1) + 24;
  return { columns, grid, minWidth, shows: (key: ColumnKey) => columns.some((c) => c.key === key) };
}

export type BotLayout = ReturnType<typeof botLayout>;
