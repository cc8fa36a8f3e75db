/// <reference types="vitest/config" />
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The build lands inside the Python package (chalicelib/ui/), so `make serve` and the Chalice
// app on Lambda serve it: GET / -> index.html, GET /assets/{name} -> the hashed files.
const outDir = fileURLToPath(new URL("../chalicelib/ui", import.meta.url));
// `npm run dev` proxies the API to a running aihub (make serve), by default on port 8000.
const gateway = process.env.AIHUB_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  // Relative asset URLs: the page also works under an API Gateway stage prefix (/prod/).
  base: "./",
  build: {
    outDir,
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    proxy: Object.fromEntries(["/v1", "/admin", "/health"].map((p) => [p, { target: gateway, changeOrigin: true }])),
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
