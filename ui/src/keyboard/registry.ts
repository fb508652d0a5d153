// The command registry: everything the command palette can run. Static
// commands (navigation, refresh, help, and the actions on the selected row)
// are the `COMMANDS` list below; a view adds commands that need its state
// (open this pool, apply this definition) with `useCommands` while mounted.
//
// To add an action, add ONE entry to `COMMANDS` (or to a view's
// `useCommands` list), e.g. a slot action on the selected row:
//
//   {
//     id: "slot.restart",
//     group: "Slot",
//     subject: "slot", // listed (first) only while a slot row is highlighted
//     title: (c) => `Restart ${c.selection?.kind === "slot" ? c.selection.slot.slotName : "the slot"}`,
//     run: (c) => { if (c.selection?.kind === "slot") askRestart(c.selection.slot); },
//   },
import { useEffect, useId, useSyncExternalStore } from "react";
import { ACTION_COMMANDS } from "../actions/commands";
import { findBot, openBot } from "../bots/store";
import type { Slot } from "../api/types";
import { VIEWS, type View } from "../views";

/** The row the keyboard cursor (j/k) or the last Enter picked in the current view's table. */
export type Selection =
  | { kind: "slot"; slot: Slot }
  | { kind: "pool"; name: string }
  | { kind: "bot"; botId: number };

/** What a command can use when it runs. */
export interface CommandContext {
  /** The view shown now. */
  view: View;
  /**
   * Switches views (asking first when unsaved edits would be lost); `then`
   * runs only when the switch happens, just before the view mounts.
   */
  navigate: (view: View, then?: () => void) => void;
  /** Refetches every query (the header's Refresh). */
  refresh: () => void;
  /** Opens the list of shortcuts. */
  showShortcuts: () => void;
  /** The current table's highlighted row, if any. */
  selection: Selection | null;
}

export interface CommandSpec {
  /** Unique, stable: `nav.pools`, `pool.deploy.zoom`, `slot.restart`. */
  id: string;
  /** The palette's section. */
  group: string;
  /** What the palette shows and matches (a function: it may name the selection). */
  title: string | ((ctx: CommandContext) => string);
  /** More words the palette matches. */
  keywords?: string[];
  /** The keys that run it without the palette, shown next to it (`g p`). */
  shortcut?: string;
  /**
   * What the command acts on: it is listed only while a row of that kind is
   * highlighted (`ctx.selection`), and its group comes first then (Enter on
   * a row opens the palette over it).
   */
  subject?: Selection["kind"];
  /** Listed only while this holds too (default: always). */
  when?: (ctx: CommandContext) => boolean;
  /** Listed but not runnable while this returns a reason. */
  disabled?: (ctx: CommandContext) => string | null;
  run: (ctx: CommandContext) => void;
}

/** Navigation, refresh and help: always there. Actions on slots, bots and platforms go here too. */
export const COMMANDS: CommandSpec[] = [
  ...VIEWS.map(
    (v): CommandSpec => ({
      id: `nav.${v.id}`,
      group: "Navigation",
      title: `Go to ${v.label}`,
      keywords: [v.id, "view", "switch"],
      shortcut: `g ${v.key}`,
      when: (c) => c.view !== v.id,
      run: (c) => c.navigate(v.id),
    }),
  ),
  { id: "app.refresh", group: "General", title: "Refresh all data", keywords: ["reload", "refetch"], run: (c) => c.refresh() },
  { id: "app.shortcuts", group: "General", title: "Show keyboard shortcuts", keywords: ["help", "keys"], shortcut: "?", run: (c) => c.showShortcuts() },
  {
    id: "slot.copy-uuid",
    group: "Slot",
    subject: "slot",
    title: (c) => `Copy the UUID of ${c.selection?.kind === "slot" ? c.selection.slot.slotName : "the slot"}`,
    keywords: ["clipboard", "uuid"],
    run: (c) => {
      if (c.selection?.kind === "slot") void navigator.clipboard?.writeText(c.selection.slot.uuid);
    },
  },
  { id: "bots.find", group: "Bots", title: "Open bot…", keywords: ["find", "search", "id", "meeting", "url", "timeline"], shortcut: "g b /", run: () => findBot() },
  {
    id: "bot.open",
    group: "Bot",
    subject: "bot",
    title: (c) => `Open bot #${c.selection?.kind === "bot" ? c.selection.botId : ""} (its timeline)`,
    keywords: ["bot", "timeline", "history", "events"],
    run: (c) => {
      if (c.selection?.kind === "bot") openBot(c.selection.botId);
    },
  },
  // Restart, drain, undrain, delete, recover; cancel, priority, re-route, redeploy.
  ...ACTION_COMMANDS,
];

// Commands registered by mounted views, by registrant.
const mounted = new Map<string, CommandSpec[]>();
const listeners = new Set<() => void>();
let snapshot: CommandSpec[] = [];

function publish() {
  snapshot = [...mounted.values()].flat();
  for (const l of listeners) l();
}

/**
 * Registers `commands` while the caller is mounted (replaced when the list
 * changes: memoise it).
 */
export function useCommands(commands: CommandSpec[]) {
  const owner = useId();
  useEffect(() => {
    mounted.set(owner, commands);
    publish();
    return () => {
      if (mounted.get(owner) === commands) {
        mounted.delete(owner);
        publish();
      }
    };
  }, [owner, commands]);
}

function subscribe(l: () => void) {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** The static commands, then those of the mounted views. */
export function useAllCommands(): CommandSpec[] {
  const dynamic = useSyncExternalStore(subscribe, () => snapshot);
  return [...COMMANDS, ...dynamic];
}

/** Whether `c` is listed in `ctx`: its subject is highlighted (if it has one) and its `when` holds. */
export function listed(c: CommandSpec, ctx: CommandContext): boolean {
  if (c.subject && ctx.selection?.kind !== c.subject) return false;
  return c.when ? c.when(ctx) : true;
}

export function titleOf(c: CommandSpec, ctx: CommandContext): string {
  return typeof c.title === "function" ? c.title(ctx) : c.title;
}

// Asking for the palette from elsewhere (Enter on a slot: its actions).
const paletteListeners = new Set<() => void>();

/** Opens the command palette (over the current selection). */
export function openPalette() {
  for (const l of paletteListeners) l();
}

/** The palette's host listens here. */
export function onPaletteRequest(l: () => void): () => void {
  paletteListeners.add(l);
  return () => paletteListeners.delete(l);
}
