/** The provider of the passwords the program makes for the cluster's own users when the stack sets none. */
import { describe, expect, it } from "vitest";
import { passwordProvider } from "../../src/components/generated-password";

describe("GeneratedPassword", () => {
    it("makes 32 random letters and digits, with a random id that is not the value", async () => {
        const made = await Promise.all(Array.from({ length: 20 }, () => passwordProvider.create!({ purpose: "replicationPassword" })));
        for (const m of made) {
            expect(m.outs.value).toMatch(/^[A-Za-z0-9]{32}$/);
            expect(m.outs.purpose).toBe("replicationPassword");
            expect(m.id).toMatch(/^[0-9a-f]{16}$/);
            expect(m.outs.value).not.toContain(m.id);
        }
        expect(new Set(made.map((m) => m.outs.value)).size).toBe(20);
        expect(new Set(made.map((m) => m.id)).size).toBe(20);
        // Nearly all of the alphabet turns up in 640 characters (none of it left out).
        expect(new Set(made.flatMap((m) => [...m.outs.value])).size).toBeGreaterThan(55);
    });

    it("keeps its password on every later run, and makes a new one only for a new purpose", async () => {
        const olds = { purpose: "deployerPassword", value: "x".repeat(32) };
        expect(await passwordProvider.diff!("id", olds, { purpose: "deployerPassword" })).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
        expect(await passwordProvider.diff!("id", olds, { purpose: "sentinelPeerPassword" }))
            .toEqual({ changes: true, replaces: ["purpose"], deleteBeforeReplace: false });
    });
});
