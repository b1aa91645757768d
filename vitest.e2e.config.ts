import { defineConfig } from "vitest/config";

// End-to-end tier: the real engine against the test hosts; files run one at a
// time because they share the hosts. Run it through scripts/test-e2e.sh.
export default defineConfig({
    test: {
        include: ["tests/e2e/**/*.test.ts"],
        fileParallelism: false,
        testTimeout: 15 * 60_000,
        hookTimeout: 5 * 60_000,
        sequence: { shuffle: false },
    },
});
