/**
 * An existing stack upgrades in place to this code: a cluster deployed by an
 * earlier commit of this project (checked out by the test), the last one whose
 * nodes all used one password (requirepass/masterauth, no ACL users), takes
 * `pulumi up` with the current code while a Sentinel-aware writer writes. The
 * ACL users appear live: their steps are created,
 * other steps may run again, but nothing is replaced or deleted, no service
 * restarts, no acknowledged write is lost and no command fails, the master
 * stays, only the config and secrets files change, and the next `up` changes
 * nothing.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeErrors, recordWrites } from "../../src/drill";
import { ROOT, RunResult, Stack, TestHosts, configureCluster, freshHosts, hostEntries, onHost, run, waitFor } from "./lib";
import { ClusterProbe, deployedFileHashes, servicePids } from "./probe";

/** The last commit before ACL users (issue 11): every node used requirepass and masterauth. */
const BEFORE = "a601adb";
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

    it("takes the current code live: ACL users added, nothing replaced or restarted, no write lost or refused, then changes nothing", async () => {
        const pids = everyHost((i) => servicePids(i));
        const files = everyHost((i) => deployedFileHashes(i, version));
        for (const f of files) expect(f).not.toMatch(/^- /m);
        expect(probe.cli(1, "ACL USERS")).toBe("default");
        // The same stack (backend and config), now run from this checkout.
        fs.copyFileSync(path.join(oldDir, `Pulumi.${NAME}.yaml`), path.join(ROOT, `Pulumi.${NAME}.yaml`));

        const steps = stack.previewSteps();
        console.log(`measured: upgrade in place previews ${steps.length} step(s): ${steps.join(", ")}`);
        const created = steps.filter((s) => s.startsWith("create ")).map((s) => s.slice(7)).sort();
        expect(created).toEqual([
            ...everyHost((i) => [`host${i}-acl-add`, `host${i}-acl-retire`, `host${i}-auth-links`]).flat(),
        ].sort());
        for (const s of steps) expect(s).toMatch(/^(update|create) /);

        let up: RunResult | undefined;
        const w = await recordWrites(probe.target(), async () => { up = await stack.upAsync(); });
        const failed = Object.values(w.errors).reduce((a, b) => a + b, 0);
        console.log(`measured: password-only -> ACL upgrade in place (${up!.seconds.toFixed(1)} s): writes acknowledged ${w.writesAcknowledged}, ` +
            `lost ${w.writesLost}, failed commands ${failed} (${describeErrors(w.errors)}), longest write pause ${w.writePauseSeconds} s`);
        expect(up!.stdout).not.toMatch(/\b\d+ (replaced|deleted)\b/);
        expect(w.writesLost).toBe(0);
        expect(failed).toBe(0);
        expect(everyHost((i) => servicePids(i))).toEqual(pids);
        expect(await probe.masterIndex()).toBe(1);

        // What changed on the hosts: the config files (ACL users, the replication and
        // Sentinel logins) and the secrets file; no unit, binary or kernel setting.
        const changed = (before: string, after: string) => after.split("\n").filter((l) => !before.split("\n").includes(l)).map((l) => l.split(/\s+/)[1]);
        everyHost((i) => expect(changed(files[i - 1], deployedFileHashes(i, version)).sort()).toEqual([
            "/etc/redis/redis.conf", "/etc/redis/redis.conf.rendered", "/etc/redis/sentinel.conf.rendered", "/var/lib/redis-sentinel-pulumi/secrets.env",
        ]));
        for (const i of [1, 2, 3]) {
            const conf = onHost(i, "cat /etc/redis/redis.conf /etc/redis/sentinel.conf").stdout;
            expect(conf).not.toMatch(/^requirepass /m);
            expect(conf).toMatch(/^masteruser replication$/m);
            expect(conf).toMatch(/^sentinel auth-user mymaster sentinel$/m);
            expect(onHost(i, "cut -d= -f1 /var/lib/redis-sentinel-pulumi/secrets.env").stdout).not.toMatch(/^(PREVIOUS_|NEW_SECRETS)/m);
        }
        // Password-only clients keep working (the default user), and the links now use their own users.
        expect(probe.cli(1, "ACL USERS").split("\n").sort()).toEqual(["default", "deployer", "replication", "sentinel"]);
        probe.cli(1, "CLIENT KILL TYPE replica");
        await waitFor("both replicas back, logged in as replication", () => {
            const replicas = probe.cli(1, "CLIENT LIST TYPE replica").split("\n").filter((l) => l.includes("user=replication"));
            return replicas.length === 2 ? true : undefined;
        }, 30_000);

        stack.up(["--expect-no-changes"]);
        expect(everyHost((i) => servicePids(i))).toEqual(pids);
    });
});
