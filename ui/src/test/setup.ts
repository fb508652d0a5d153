import "@testing-library/jest-dom/vitest";
import { MotionGlobalConfig } from "motion";

// Animations finish at once in tests; assertions read data, not frames.
MotionGlobalConfig.skipAnimations = true;

// jsdom lays nothing out and has no Range rectangles; CodeMirror (the YAML
// editor) measures with them. Empty rectangles: the editor works, the tests
// read its state, not its geometry.
if (!Range.prototype.getClientRects) {
  const empty = () => ({ x: 0, y: 0, width: 0, height: 0, top: 0, left: 0, right: 0, bottom: 0, toJSON: () => ({}) }) as DOMRect;
  Range.prototype.getBoundingClientRect = empty;
  Range.prototype.getClientRects = () => ({ length: 0, item: () => null, [Symbol.iterator]: [][Symbol.iterator] }) as unknown as DOMRectList;
}
// jsdom has no scrollIntoView (the palette and the row cursor scroll their selection into view).
if (!Element.prototype.scrollIntoView) Element.prototype.scrollIntoView = function () {};
// jsdom has no ResizeObserver (the command palette's list observes its size).
globalThis.ResizeObserver ??= class {
  observe() {}
  unobserve() {}
  disconnect() {}
} as unknown as typeof ResizeObserver;
