import { defineConfig } from "vitest/config";

// Unit tier: pure functions and the resource graph through mocks; no engine, no hosts.
export default defineConfig({
    test: {
        include: ["tests/unit/**/*.test.ts"],
        testTimeout: 30_000,
    },
});
