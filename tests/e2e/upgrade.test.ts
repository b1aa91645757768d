/**
 * An upgrade, end to end: a cluster deployed from the older Redis test binaries
 * (7.x, built by harness/build-redis.sh from Debian bookworm's source) gets the
 * newer ones (binaries/, REDIS_TEST_VERSION) by changing `redisVersion` and
 * `binariesDir`, while a Sentinel-aware writer records every acknowledged write;
 * then the data nodes move to another port the same way.
 */
import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeErrors, recordWrites } from "../../src/drill";
import { RunResult, Stack, TestHosts, configureCluster, freshHosts, hostEntries, onHost } from "./lib";
import { ClusterProbe, kv } from "./probe";

const stack = new Stack("upgrade");
const PASSWORD = "upgrade-Redis-password-0123456789";
const newVersion = process.env.REDIS_TEST_VERSION ?? "";
const oldDir = process.env.REDIS_UPGRADE_FROM_DIR ?? "";
const oldVersion = path.basename(oldDir);
let version = oldVersion;
let th: TestHosts;
const ports = { redis: 6379, sentinel: 26379 };
const probe = new ClusterProbe({ hosts: () => th, count: () => 3, version: () => version, password: PASSWORD, ports: () => ports });

describe("restart-requiring changes: an upgrade and a port", () => {
    beforeAll(() => {
        if (!/^\d+\.\d+\.\d+$/.test(newVersion)) throw new Error("REDIS_TEST_VERSION is not set (scripts/test-e2e.sh sets it)");
        if (!/^\d+\.\d+\.\d+$/.test(oldVersion) || !fs.existsSync(path.join(oldDir, "redis-server"))) {
            throw new Error("REDIS_UPGRADE_FROM_DIR does not hold older test binaries (scripts/test-e2e.sh sets it)");
        }
        if (oldVersion === newVersion) throw new Error(`the upgrade test needs two versions, got ${oldVersion} twice`);
        th = freshHosts(3);
        stack.init();
        configureCluster(stack, th, hostEntries(th, 3), PASSWORD, oldVersion);
        stack.set("binariesDir", oldDir);
        stack.up();
    });
    afterAll(() => {
        try { stack.destroy(); } finally { stack.remove(); }
    });

    it(`rolls from the older version to the newer one, replicas first, the master moved away, without losing a write`, async () => {
        for (const i of [1, 2, 3]) {
            expect(probe.runningVersion(i)).toBe(oldVersion);
            expect(probe.runningVersion(i, ports.sentinel)).toBe(oldVersion);
        }
        const master = await probe.masterIndex();
        const before = probe.pids();
        const epochBefore = probe.configEpoch(1);
        const myids = [1, 2, 3].map((i) => probe.sentinel(i, "SENTINEL MYID"));

        stack.set("redisVersion", newVersion);
        stack.set("binariesDir", "binaries");
        // Nothing is replaced or deleted: new copies of the binaries, then updates in place.
        const steps = stack.previewSteps();
        expect(steps.filter((s) => !/^(create|update|replace|create-replacement|delete-replaced) /.test(s))).toEqual([]);
        expect(steps.filter((s) => /^(replace|create-replacement|delete-replaced) /.test(s) && !/-copy-redis-(server|cli)$/.test(s))).toEqual([]);

        let up: RunResult = { stdout: "", stderr: "", code: 0, seconds: 0 };
        const w = await recordWrites(probe.target(), async () => { up = await stack.upAsync(); });
        version = newVersion;
        const pause = /write pause (\d+) ms/.exec(up.stdout)?.[1];
        console.log(`measured: upgrade ${oldVersion} -> ${newVersion}: the up took ${up.seconds} s and reported a write pause of ${pause} ms; ` +
            `the writer saw ${w.writePauseSeconds} s (from ${w.writePauseStartSeconds} s in), ${w.writesAcknowledged} acknowledged, ${w.writesLost} lost; ` +
            `its errors: ${describeErrors(w.errors)}`);
        expect(w.writesAcknowledged).toBeGreaterThan(0);
        expect(w.writesLost).toBe(0);
        expect(pause).toBeDefined();

        const after = probe.pids();
        for (const i of [1, 2, 3]) {
            expect(probe.runningVersion(i)).toBe(newVersion);
            expect(probe.runningVersion(i, ports.sentinel)).toBe(newVersion);
            expect(after[`host${i}/redis-server`]).not.toBe(before[`host${i}/redis-server`]);
            expect(after[`host${i}/redis-sentinel`]).not.toBe(before[`host${i}/redis-sentinel`]);
            // Sentinel's state survived its restart: same identity, every peer still known.
            expect(probe.sentinel(i, "SENTINEL MYID")).toBe(myids[i - 1]);
            const m = probe.sentinel(i, "SENTINEL MASTER mymaster");
            expect(kv(m, "num-slaves")).toBe("2");
            expect(kv(m, "num-other-sentinels")).toBe("2");
            expect(onHost(i, "cat /etc/systemd/system/redis-server.service").stdout).toContain(`/opt/redis-${newVersion}/bin/redis-server`);
        }
        // Replicas restarted before the master, which was moved away exactly once.
        const started = [1, 2, 3].map((i) => probe.startedAt(i));
        expect(Math.max(...started)).toBe(started[master - 1]);
        expect(await probe.masterIndex()).not.toBe(master);
        expect(probe.configEpoch(1) - epochBefore).toBe(1);
        stack.up(["--expect-no-changes"]);
    });

    it("moves the data nodes to another port one node at a time, and every Sentinel forgets the old one", async () => {
        const master = await probe.masterIndex();
        const before = probe.pids();
        stack.set("redisPort", "6380");
        let up: RunResult = { stdout: "", stderr: "", code: 0, seconds: 0 };
        const w = await recordWrites(probe.target(), async () => { up = await stack.upAsync(); });
        ports.redis = 6380;
        const pause = /write pause (\d+) ms/.exec(up.stdout)?.[1];
        console.log(`measured: port change 6379 -> 6380: the up took ${up.seconds} s and reported a write pause of ${pause} ms; ` +
            `the writer saw ${w.writePauseSeconds} s (from ${w.writePauseStartSeconds} s in), ${w.writesAcknowledged} acknowledged, ${w.writesLost} lost; ` +
            `its errors: ${describeErrors(w.errors)}`);
        expect(w.writesAcknowledged).toBeGreaterThan(0);
        expect(w.writesLost).toBe(0);
        const after = probe.pids();
        for (const i of [1, 2, 3]) {
            expect(probe.cli(i, "PING")).toBe("PONG");
            expect(onHost(i, "ss -Htln 'sport = :6379'").stdout.trim()).toBe("");
            expect(after[`host${i}/redis-server`]).not.toBe(before[`host${i}/redis-server`]);
            expect(after[`host${i}/redis-sentinel`]).toBe(before[`host${i}/redis-sentinel`]);
            // No Sentinel remembers a node at the old port: only the live ones count.
            const m = probe.sentinel(i, "SENTINEL MASTER mymaster");
            expect(kv(m, "port")).toBe("6380");
            expect(kv(m, "num-slaves")).toBe("2");
            expect(kv(m, "num-other-sentinels")).toBe("2");
            expect(probe.sentinel(i, "SENTINEL REPLICAS mymaster")).not.toMatch(/^6379$/m);
            expect(probe.sentinel(i, "SENTINEL CKQUORUM mymaster")).toMatch(/^OK/);
        }
        expect(up.stdout).toContain("forgetting the stale ones");
        expect(await probe.masterIndex()).not.toBe(master);
        stack.up(["--expect-no-changes"]);
    });
});
