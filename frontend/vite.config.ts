import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

const root = fileURLToPath(new URL(".", import.meta.url));
const backend = process.env.PHOTOSEARCH_BACKEND ?? "http://127.0.0.1:5000";

export default defineConfig({
  root,
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
  },
  server: {
    port: 5173,
    strictPort: true,
    proxy: {
      "/api": { target: backend, changeOrigin: true },
    },
  },
  test: {
    root,
    include: ["src/**/*.test.{ts,tsx}"],
    environment: "node",
    pool: "threads",
    maxWorkers: 1,
  },
});
