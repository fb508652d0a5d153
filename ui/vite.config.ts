/// <reference types="vitest/config" />
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";

const page = (name: string): string => fileURLToPath(new URL(name, import.meta.url));

// `vite build` produces the app the Tauri shell embeds (index.html only).
// `vite build --mode mock` also builds mock.html: the app over mocked IPC
// with fake data, for browser previews and screenshots (never shipped).
export default defineConfig(({ mode }) => ({
  plugins: [react(), tailwindcss()],
  clearScreen: false,
  server: { port: 5173, strictPort: true, host: "127.0.0.1" },
  build: {
    outDir: mode === "mock" ? "dist-mock" : "dist",
    target: "es2022",
    chunkSizeWarningLimit: 800,
    rolldownOptions: {
      input: Object.fromEntries(
        (mode === "mock" ? ["index", "mock"] : ["index"]).map((n) => [n, page(`${n}.html`)]),
      ) as Record<string, string>,
    },
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    css: false,
    restoreMocks: true,
    // The per-test limit is for hung tests, not a speed check: on a 2-core
    // machine busy compiling, a test that clicks through a dialog took over
    // vitest's default 5 s (and passed alone in under 2 s).
    testTimeout: 20_000,
  },
}));
