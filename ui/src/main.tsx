import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { ApiProvider } from "./api/provider";
import { LIVE_INVALIDATIONS, LIVE_PATCHES } from "./invalidations";
import { ClockProvider } from "./shared/clock";
import { CrashBoundary } from "./shared/CrashBoundary";
import "./index.css";

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <CrashBoundary>
      <ApiProvider invalidations={LIVE_INVALIDATIONS} patches={LIVE_PATCHES}>
        <ClockProvider>
          <App />
        </ClockProvider>
      </ApiProvider>
    </CrashBoundary>
  </StrictMode>,
);
