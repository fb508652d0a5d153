// Both themes are complete and readable: every colour of the dark theme
// (`@theme`) has a light value under `prefers-color-scheme: light`, and the
// text colours contrast with the grounds they sit on (WCAG 2 ratios).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

// Vitest runs in ui/.
const css = readFileSync(resolve(process.cwd(), "src/index.css"), "utf8");

function colours(block: string): Record<string, string> {
  return Object.fromEntries([...block.matchAll(/--color-([\w-]+):\s*(#[0-9a-f]{6})/gi)].map((m) => [m[1]!, m[2]!.toLowerCase()]));
}
const dark = colours(/@theme\s*{([\s\S]*?)\n}/.exec(css)![1]!);
const lightBlock = /@media \(prefers-color-scheme: light\)\s*{([\s\S]*)}\s*$/.exec(css)![1]!;
const light = colours(lightBlock);

function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}
const contrast = (a: string, b: string) => {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x! + 0.05) / (y! + 0.05);
};

describe("themes", () => {
  it("the light theme overrides every colour and switches native controls to light", () => {
    expect(Object.keys(dark).length).toBeGreaterThan(10);
    expect(Object.keys(light).sort()).toEqual(Object.keys(dark).sort());
    expect(lightBlock).toMatch(/color-scheme:\s*light/);
    expect(css).toMatch(/:root\s*{\s*color-scheme:\s*dark;\s*}/);
  });

  // Body text 7:1, secondary text and status colours 4.5:1, the dimmest labels 3:1.
  const needs: [string, number][] = [
    ["fg", 7],
    ["muted", 4.5],
    ["accent", 4.5],
    ["idle", 4.5],
    ["deploying", 4.5],
    ["busy", 4.5],
    ["error", 4.5],
    ["dim", 3],
  ];
  for (const [name, theme] of [
    ["dark", dark],
    ["light", light],
  ] as const) {
    it(`${name} theme: text contrasts with the page and the panels`, () => {
      for (const [colour, min] of needs) {
        for (const ground of ["bg", "panel", "panel-2"]) {
          expect({ colour, ground, ratio: contrast(theme[colour]!, theme[ground]!) >= min }).toEqual({ colour, ground, ratio: true });
        }
      }
    });
  }

  it("outlines keyboard focus everywhere, and no shared control style hides it", () => {
    expect(css).toMatch(/:focus-visible\s*{\s*outline:\s*2px solid var\(--color-accent\)/);
    const components = /@layer components\s*{([\s\S]*?)\n}/.exec(css)![1]!;
    expect(components).not.toMatch(/outline-none|outline-hidden|outline:\s*none/);
  });
});
