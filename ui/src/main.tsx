import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { ApiProvider } from "./api/hooks";
import { ClockProvider } from "./shared/clock";
import "./index.css";

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <ApiProvider>
      <ClockProvider>
        <App />
      </ClockProvider>
    </ApiProvider>
  </StrictMode>,
);
