// The command palette (Ctrl/Cmd+K). Built on `cmdk` (its arrow-key
// selection, sorting and listbox semantics) with a predictable word match
// instead of its fuzzy one; the commands come from the registry (registry.ts).
import { Command } from "cmdk";
import { useEffect, useRef } from "react";
import { trapTab } from "../shared/focusTrap";
import { listed, titleOf, useAllCommands, type CommandContext, type CommandSpec } from "./registry";

/** The commands `ctx` lists, by group in first-seen order; the groups acting on the highlighted row first. */
export function groupCommands(commands: CommandSpec[], ctx: CommandContext): [string, CommandSpec[]][] {
  const groups = new Map<string, CommandSpec[]>();
  const onSelection = new Set<string>();
  for (const c of commands) {
    if (!listed(c, ctx)) continue;
    groups.set(c.group, [...(groups.get(c.group) ?? []), c]);
    if (c.subject) onSelection.add(c.group);
  }
  const all = [...groups.entries()];
  return [...all.filter(([g]) => onSelection.has(g)), ...all.filter(([g]) => !onSelection.has(g))];
}

/**
 * How well `search` matches a command (`keywords[0]` is its title, the rest
 * its keywords): the title starting with it first, then containing it, then
 * every word of it found in the title or keywords; 0 hides it.
 */
export function matchScore(_id: string, search: string, keywords: string[] = []): number {
  const q = search.trim().toLowerCase();
  if (q === "") return 1;
  const title = (keywords[0] ?? "").toLowerCase();
  if (title.startsWith(q)) return 1;
  if (title.includes(q)) return 0.8;
  const hay = keywords.join(" ").toLowerCase();
  return q.split(/\s+/).every((w) => hay.includes(w)) ? 0.5 : 0;
}

export function CommandPalette({ ctx, onClose }: { ctx: CommandContext; onClose: () => void }) {
  const commands = useAllCommands();
  // Focus goes back where it was when the palette closes.
  const before = useRef<Element | null>(null);
  useEffect(() => {
    before.current = document.activeElement;
    return () => {
      const el = before.current;
      if (el instanceof HTMLElement && el.isConnected) el.focus();
    };
  }, []);
  const run = (c: CommandSpec) => {
    onClose();
    c.run(ctx);
  };
  return (
    <div
      className="fixed inset-0 z-[60] flex items-start justify-center bg-black/50 pt-[12vh]"
      onMouseDown={(e) => e.target === e.currentTarget && onClose()}
      onKeyDown={(e) => {
        trapTab(e, e.currentTarget);
        if (e.key === "Escape") {
          e.preventDefault();
          onClose();
        }
      }}
    >
      <div role="dialog" aria-modal="true" aria-label="Command palette" className="panel w-[560px] max-w-[92vw] shadow-2xl">
        <Command label="Commands" vimBindings={false} loop filter={matchScore}>
          <Command.Input autoFocus placeholder="Type a command or a view…" className="w-full border-b border-line bg-transparent px-4 py-3 text-[14px] outline-none placeholder:text-dim" />
          <Command.List className="max-h-[50vh] overflow-y-auto p-1">
            <Command.Empty className="px-3 py-6 text-center text-muted">No command matches.</Command.Empty>
            {groupCommands(commands, ctx).map(([group, list]) => (
              <Command.Group key={group} heading={group} className="palette-group">
                {list.map((c) => {
                  const title = titleOf(c, ctx);
                  const reason = c.disabled?.(ctx) ?? null;
                  return (
                    <Command.Item
                      key={c.id}
                      value={c.id}
                      keywords={[title, ...(c.keywords ?? [])]}
                      disabled={reason !== null}
                      onSelect={() => run(c)}
                      className="palette-item flex cursor-pointer items-center gap-3 px-3 py-2 text-[13px]"
                    >
                      <span className="min-w-0 flex-1 truncate">{title}</span>
                      {reason && <span className="text-[11px] text-dim">{reason}</span>}
                      {c.shortcut && <kbd className="kbd">{c.shortcut}</kbd>}
                    </Command.Item>
                  );
                })}
              </Command.Group>
            ))}
          </Command.List>
        </Command>
      </div>
    </div>
  );
}
