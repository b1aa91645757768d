/** The cluster's own passwords the stack does not set: derived from the SSH key, per project, stack and purpose. */
import { createHmac } from "crypto";
import { describe, expect, it } from "vitest";
import { derivedPassword } from "../../src/derived-passwords";
import { PRIVATE_KEY, sshKeygen } from "./fixtures";

describe("derived passwords", () => {
    it("are HMAC-SHA256 of the project, stack and purpose keyed with the SSH key, in hex", () => {
        const p = derivedPassword(PRIVATE_KEY, "redis-sentinel", "prod", "replicationPassword");
        expect(p).toMatch(/^[0-9a-f]{64}$/);
        expect(p).toBe(createHmac("sha256", PRIVATE_KEY.trim()).update("redis-sentinel-pulumi/redis-sentinel/prod/replicationPassword").digest("hex"));
        // The same key with or without its last newline (as `pulumi config set` stores it from stdin).
        expect(PRIVATE_KEY.endsWith("\n")).toBe(true);
        expect(derivedPassword(PRIVATE_KEY.trimEnd(), "redis-sentinel", "prod", "replicationPassword")).toBe(p);
    });

    it("differ per purpose, per stack, per project and per key", () => {
        const other = sshKeygen("derive-other", ["-t", "ed25519"]).privateKey;
        const all = [
            derivedPassword(PRIVATE_KEY, "redis-sentinel", "prod", "replicationPassword"),
            derivedPassword(PRIVATE_KEY, "redis-sentinel", "prod", "deployerPassword"),
            derivedPassword(PRIVATE_KEY, "redis-sentinel", "dev", "replicationPassword"),
            derivedPassword(PRIVATE_KEY, "other-project", "prod", "replicationPassword"),
            derivedPassword(other, "redis-sentinel", "prod", "replicationPassword"),
        ];
        expect(new Set(all).size).toBe(all.length);
        // None of them shows the key.
        for (const p of all) expect(PRIVATE_KEY).not.toContain(p);
    });
});
