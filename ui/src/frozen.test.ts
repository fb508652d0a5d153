// The desktop app runs with Tauri's `freezePrototype`: `Object.prototype` is
// frozen before the UI's modules are evaluated, and a library that assigns
// to an inherited read-only property (d3-color's `prototype.constructor =`)
// throws while the bundle loads and leaves the window blank. This file (its
// own worker, so the freeze stays here) loads the whole app's module graph
// after the same freeze.
import { expect, it } from "vitest";

it("the app's modules load with Object.prototype frozen", async () => {
  Object.freeze(Object.prototype);
  const app = await import("./App");
  expect(typeof app.App).toBe("function");
  const history = await import("./history/HistoryPage");
  expect(typeof history.HistoryPage).toBe("function");
  // Loaded on demand by the pools view.
  const editor = await import("./pools/yaml/CodeEditor");
  expect(typeof editor.default).toBe("function");
});
