// The last line of defence: an error thrown while rendering would leave the
// window blank (React unmounts the whole tree). This shows what broke and
// offers a reload instead, and keeps the message in the page, where the
// end-to-end test's failure report reads it.
import { Component, type ReactNode } from "react";

interface State {
  error: Error | null;
}

export class CrashBoundary extends Component<{ children: ReactNode }, State> {
  state: State = { error: null };

  static getDerivedStateFromError(error: unknown): State {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    return (
      <div role="alert" data-testid="crash" className="m-6 panel flex flex-col gap-3 p-6">
        <h1 className="text-[15px] font-semibold text-error">Berth's window hit an error</h1>
        <p className="text-[13px] text-muted">The engine keeps running; reloading the window usually recovers. Please report the message below.</p>
        <pre className="max-h-80 overflow-auto whitespace-pre-wrap font-mono text-[11px] text-fg">{`${error.message}\n${error.stack ?? ""}`}</pre>
        <div>
          <button type="button" className="btn" onClick={() => window.location.reload()}>
            Reload the window
          </button>
        </div>
      </div>
    );
  }
}
