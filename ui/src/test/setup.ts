import "@testing-library/jest-dom/vitest";
import { MotionGlobalConfig } from "motion";

// Animations finish at once in tests; assertions read data, not frames.
MotionGlobalConfig.skipAnimations = true;
// jsdom has no scrollIntoView (the palette and the row cursor scroll their selection into view).
if (!Element.prototype.scrollIntoView) Element.prototype.scrollIntoView = function () {};
// jsdom has no ResizeObserver (the command palette's list observes its size).
globalThis.ResizeObserver ??= class {
  observe() {}
  unobserve() {}
  disconnect() {}
} as unknown as typeof ResizeObserver;
