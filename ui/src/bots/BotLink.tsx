import type { ReactNode } from "react";
import { openBot } from "./store";

/**
 * A bot id that opens the bot in the Bots view (its timeline), from any
 * view. A button: Enter and Space work, and a row's click under it does not fire.
 */
export function BotLink({ id, children, className = "" }: { id: number; children?: ReactNode; className?: string }) {
  return (
    <button
      type="button"
      aria-label={`Open bot #${id}`}
      title={`Open bot #${id} in Bots`}
      data-bot-link={id}
      className={`font-mono text-accent hover:underline ${className}`}
      onClick={(e) => {
        e.stopPropagation();
        openBot(id);
      }}
    >
      {children ?? `#${id}`}
    </button>
  );
}
