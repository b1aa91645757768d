/**
 * The commands of a step that gets data on stdin read all of it (readingAllStdin,
 * asRootReadingAllStdin) and keep their own exit status: run here with the local sh.
 */
import { spawnSync } from "child_process";
import { describe, expect, it } from "vitest";
import { asRootReadingAllStdin, commandLine, readingAllStdin } from "../../src/host/script";

// More than a pipe holds: a command that stops reading early leaves the writer with EPIPE.
const DATA = "x".repeat(1024 * 1024);
/** Runs a command line as sshd would (the login shell's -c), DATA on its stdin. */
const runLine = (line: string) => spawnSync("sh", ["-c", line], { input: DATA, encoding: "utf8" });

describe("commands of a step with stdin", () => {
    it("read all of stdin after a script that reads none of it and exits early, keeping its status", () => {
        for (const status of [0, 3]) {
            const script = { verb: "acl" as const, text: `set -eu\necho before\nexit ${status}\necho never\n` };
            const bare = runLine(commandLine("root", script));
            expect(bare.error?.message).toMatch(/EPIPE/); // what the provider's write runs into
            const r = runLine(commandLine("root", readingAllStdin(script)));
            expect(r.error).toBeUndefined();
            expect(r.status).toBe(status);
            expect(r.stdout).toBe("before\n");
        }
    });

    it("leave a script that reads its stdin as it is", () => {
        const r = runLine(commandLine("root", readingAllStdin({ verb: "put-file", text: "wc -c\n" })));
        expect(r.error).toBeUndefined();
        expect(r.status).toBe(0);
        expect(r.stdout.trim()).toBe(String(DATA.length));
    });

    it("do the same for a plain command (a delete), with its status", () => {
        for (const [cmd, status] of [["true", 0], ["false && true", 1], ["exit 4", 4]] as const) {
            const r = runLine(asRootReadingAllStdin("root", cmd));
            expect(r.error).toBeUndefined();
            expect(r.status).toBe(status);
        }
        expect(asRootReadingAllStdin("deploy", "true").startsWith("sudo -n sh -c '(\ntrue\n)\n")).toBe(true);
    });
});
