/**
 * `npm run drill`'s arguments: a mode or a duration it cannot run is refused
 * with a message naming the flag, before any stack or host is touched.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "..", "..");
const drill = (...args: string[]) => {
    // No pulumi on PATH: the arguments are refused before the drill would need it.
    const r = spawnSync("node", ["scripts/run-ts.js", "scripts/drill.ts", ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, PATH: path.dirname(process.execPath) } });
    return { code: r.status, err: r.stderr };
};

describe("npm run drill arguments", () => {
    it("refuses an unknown mode, naming the modes", () => {
        expect(drill("--stack", "x", "--mode", "chaos")).toEqual({ code: 2, err: "--mode must be one of handover, failover, crash, partition, load, got chaos\n" });
    });

    it("refuses a duration that is not a whole number of seconds from 1 to 3600", () => {
        for (const bad of ["0", "1.5", "3601", "soon"]) {
            expect(drill("--stack", "x", "--mode", "partition", "--seconds", bad)).toEqual({ code: 2, err: `--seconds must be a whole number from 1 to 3600, got ${bad}\n` });
        }
    });

    it("asks for the stack", () => {
        expect(drill("--mode", "load")).toEqual({
            code: 2, err: "usage: npm run drill -- --stack NAME [--mode handover|failover|crash|partition|load] [--seconds N] [--user NAME] [--json]\n",
        });
    });
});
