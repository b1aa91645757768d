/**
 * An existing stack upgrades in place to this code: a cluster deployed by an
 * earlier commit of this project (checked out by the test) takes `pulumi up`
 * with the current code. Steps whose command text changed may run again, but
 * nothing is created, replaced or deleted, no service restarts, no file on a
 * host changes, the master stays, and the next `up` changes nothing.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, Stack, TestHosts, configureCluster, freshHosts, hostEntries, run } from "./lib";
import { ClusterProbe, deployedFileHashes, servicePids } from "./probe";

/** The last commit before the host boundary moved to src/host (verbs, named inputs) and src/components. */
const BEFORE = "148c1c8";
const NAME = "inplace";
const PASSWORD = "inplace-Redis-password-0123456789";
const version = process.env.REDIS_TEST_VERSION ?? "";
let th: TestHosts;
let oldDir = "";
const oldStack = () => new Stack(NAME, oldDir);
const stack = new Stack(NAME);
const probe = new ClusterProbe({ hosts: () => th, count: () => 3, version: () => version, password: PASSWORD });
const everyHost = <T>(f: (i: number) => T): T[] => [1, 2, 3].map(f);

describe("an existing stack upgrades in place", () => {
    beforeAll(() => {
        th = freshHosts(3);
        if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error("REDIS_TEST_VERSION is not set (scripts/test-e2e.sh sets it)");
        // Never skipped: a clone without that commit fails here, saying so.
        const has = run("git", ["-C", ROOT, "cat-file", "-e", `${BEFORE}^{commit}`], { allowFail: true });
        if (has.code !== 0) throw new Error(`commit ${BEFORE} is not in this clone's history; the upgrade test needs it (clone without --depth)`);
        oldDir = fs.mkdtempSync(path.join(os.tmpdir(), "inplace-"));
        run("sh", ["-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", ROOT, BEFORE, oldDir]);
        fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(oldDir, "node_modules"));
    });
    afterAll(() => {
        try { stack.destroy(); } finally {
            stack.remove();
            oldStack().remove();
            fs.rmSync(oldDir, { recursive: true, force: true });
        }
    });

    it("deploys with the earlier code", async () => {
        const old = oldStack();
        old.init();
        configureCluster(old, th, hostEntries(th, 3), PASSWORD, version);
        old.set("binariesDir", path.join(ROOT, "binaries"));
        old.up();
        expect(await probe.masterIndex()).toBe(1);
    });

    it("takes the current code with nothing replaced, restarted or changed on a host, then changes nothing", async () => {
        const pids = everyHost((i) => servicePids(i));
        const files = everyHost((i) => deployedFileHashes(i, version));
        for (const f of files) expect(f).not.toMatch(/^- /m);
        // The same stack (backend and config), now run from this checkout.
        fs.copyFileSync(path.join(oldDir, `Pulumi.${NAME}.yaml`), path.join(ROOT, `Pulumi.${NAME}.yaml`));

        const steps = stack.previewSteps();
        console.log(`measured: upgrade in place previews ${steps.length} step(s): ${steps.join(", ")}`);
        for (const s of steps) expect(s).toMatch(/^update /);

        const up = stack.up();
        expect(up.stdout).not.toMatch(/\b\d+ (created|replaced|deleted)\b/);
        expect(everyHost((i) => servicePids(i))).toEqual(pids);
        expect(everyHost((i) => deployedFileHashes(i, version))).toEqual(files);
        expect(await probe.masterIndex()).toBe(1);

        stack.up(["--expect-no-changes"]);
        expect(everyHost((i) => servicePids(i))).toEqual(pids);
    });
});
