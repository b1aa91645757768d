/** The provider of the passwords the program makes for the cluster's own users the stack does not set. */
import { describe, expect, it } from "vitest";
import { passwordsProvider } from "../../src/components/generated-passwords";

const PURPOSES = ["deployerPassword", "replicationPassword", "sentinelAuthPassword", "sentinelPeerPassword"];

describe("GeneratedPasswords", () => {
    it("makes 32 random letters and digits per purpose, with a random id that is none of them", async () => {
        const made = await Promise.all(Array.from({ length: 5 }, () => passwordsProvider.create!({ purposes: PURPOSES })));
        const values = made.flatMap((m) => Object.values(m.outs.values as Record<string, string>));
        for (const m of made) {
            expect(Object.keys(m.outs.values)).toEqual(PURPOSES);
            expect(m.outs.purposes).toEqual(PURPOSES);
            expect(m.id).toMatch(/^[0-9a-f]{16}$/);
            for (const v of Object.values(m.outs.values as Record<string, string>)) expect(v).not.toContain(m.id);
        }
        for (const v of values) expect(v).toMatch(/^[A-Za-z0-9]{32}$/);
        expect(new Set(values).size).toBe(20);
        expect(new Set(made.map((m) => m.id)).size).toBe(5);
        // Nearly all of the alphabet turns up in 640 characters (none of it left out).
        expect(new Set(values.flatMap((v) => [...v])).size).toBeGreaterThan(55);
    });

    it("keeps every password on later runs; a purpose added or dropped is an update that keeps the others", async () => {
        const olds = { purposes: ["deployerPassword", "replicationPassword"], values: { deployerPassword: "d".repeat(32), replicationPassword: "r".repeat(32) } };
        expect(await passwordsProvider.diff!("id", olds, { purposes: ["replicationPassword", "deployerPassword"] }))
            .toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
        expect(await passwordsProvider.diff!("id", olds, { purposes: ["replicationPassword"] }))
            .toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
        const updated = await passwordsProvider.update!("id", olds, { purposes: ["replicationPassword", "sentinelPeerPassword"] });
        expect(updated.outs!.values.replicationPassword).toBe("r".repeat(32));
        expect(updated.outs!.values.sentinelPeerPassword).toMatch(/^[A-Za-z0-9]{32}$/);
        expect(updated.outs!.values).not.toHaveProperty("deployerPassword");
    });
});
