// The answer to the window's close requests (issue 11, item 23): closing
// at once when nothing would be lost, else saying what closing stops (bots
// queued that nobody else would dispatch, scheduled bots nobody else would
// start, the embedded database, unsaved edits) and offering to keep dispatching in the background, or to cancel.
import { useState } from "react";
import { answerClose, useCloseRequests } from "../api/window";
import type { CloseAnswer, CloseImpact } from "../api/types";
import { ConfirmDialog } from "./ConfirmDialog";
import { unsavedLabels } from "./unsaved";

interface Question {
  impact: CloseImpact | null;
  unsaved: string[];
}

const bots = (n: number) => `${n.toLocaleString("en-US")} ${n === 1 ? "bot is" : "bots are"}`;

/** Whether closing now loses anything: work nobody else dispatches or starts, or unsaved edits. */
export function closeLoses(impact: CloseImpact | null, unsaved: string[]): boolean {
  return (impact?.stopsDispatching ?? false) || (impact?.stopsStarting ?? false) || unsaved.length > 0;
}

export function ClosePrompt() {
  const [question, setQuestion] = useState<Question | null>(null);
  const answer = (a: CloseAnswer) => {
    if (a !== "asking") setQuestion(null);
    // The shell quits by itself if the window never answers; an error here changes nothing.
    void answerClose(a).catch(() => undefined);
  };
  useCloseRequests(({ impact }) => {
    const unsaved = unsavedLabels();
    if (!closeLoses(impact, unsaved)) {
      answer("quit");
      return;
    }
    answer("asking");
    setQuestion({ impact, unsaved });
  });
  if (!question) return null;
  const { impact, unsaved } = question;
  const stops = impact?.stopsDispatching ?? false;
  return (
    <ConfirmDialog
      title="Close Berth?"
      confirmLabel="Quit"
      onConfirm={() => answer("quit")}
      onCancel={() => answer("cancel")}
      extra={
        stops && (
          <button type="button" className="btn" onClick={() => answer("background")}>
            Keep dispatching in the background
          </button>
        )
      }
    >
      <div className="space-y-2" data-testid="close-impact">
        {stops && impact && (
          <p>
            <strong className="text-fg">{bots(impact.queued)} queued</strong> and no other Berth instance is running: closing stops dispatching
            them. They stay queued until Berth runs again, and fail when their queue timeout passes.
          </p>
        )}
        {impact?.stopsStarting && (
          <p>
            <strong className="text-fg">{bots(impact.scheduled)} scheduled</strong> and no other Berth instance is running: none is started while
            Berth is closed, and one whose start passes meanwhile joins late, when Berth runs again.
            {stops && " Background mode does not wait for them."}
          </p>
        )}
        {impact && impact.active > 0 && impact.otherInstances === 0 && (
          <p>
            {bots(impact.active)} deploying or running: {impact.active === 1 ? "it goes on, but nothing records its end" : "they go on, but nothing records their end"}{" "}
            until Berth runs again.
          </p>
        )}
        {impact?.embeddedDatabase === "stops" && <p>The embedded database stops too.</p>}
        {impact?.embeddedDatabase === "keepsRunning" && <p>The embedded database keeps running for the other clients that use it.</p>}
        {unsaved.length > 0 && <p>Unsaved changes in {unsaved.join(", ")} are lost.</p>}
        {stops && (
          <p className="text-dim">
            In the background the window closes and Berth keeps dispatching until no bot is queued, then exits. Starting Berth again takes
            over; Ctrl-C or SIGTERM stops it at once.
          </p>
        )}
      </div>
    </ConfirmDialog>
  );
}
