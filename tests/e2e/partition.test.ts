/**
 * A master cut off by a network partition, and the defaults that bound what it
 * costs: the operator's `npm run drill -- --mode partition` against a cluster
 * deployed with the defaults (min-replicas-to-write 1, min-replicas-max-lag 1),
 * with writers beside the master and elsewhere; `--mode load`, the other side of
 * that bound (a busy master with healthy replicas never refuses a write); and a
 * drill killed in the middle, whose cut removes itself.
 */
import { spawn } from "child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseClusterConfig } from "../../src/config";
import { LoadReport } from "../../src/load-drill";
import { PartitionReport } from "../../src/partition-drill";
import { ROOT, Stack, TestHosts, configureCluster, freshHosts, hostEntries, onHost, runAsync, sleep, waitFor } from "./lib";
import { raw } from "../unit/fixtures";

const stack = new Stack("e2e-partition");
const PASSWORD = "e2e-Partition-password-0123456789";
const version = process.env.REDIS_TEST_VERSION ?? "";
let th: TestHosts;
/** The default this test proves the bound of (Pulumi.yaml, config.ts). */
const LAG = parseClusterConfig(raw()).minReplicasMaxLag;

function cli(i: number, args: string): string {
    return onHost(i, `REDISCLI_AUTH='${PASSWORD}' /opt/redis-${version}/bin/redis-cli -h 127.0.0.1 ${args}`).stdout.replace(/\r/g, "").trim();
}
/** The operator's drill, run without blocking this worker (a minute-long block misses vitest's RPC deadline). */
const drill = async (mode: string, seconds: number) =>
    JSON.parse((await runAsync("node", ["scripts/run-ts.js", "scripts/drill.ts", "--stack", stack.name, "--mode", mode, "--seconds", String(seconds), "--json"]))
        .stdout.trim().split("\n").pop()!);

/** One master, and every other node its replica with the link up: the roles as the nodes themselves say. */
function onePrimaryAllReplicating(): string | undefined {
    const info = [1, 2, 3].map((i) => cli(i, "INFO replication"));
    const masters = info.map((s, k) => (/^role:master$/m.test(s) ? k : -1)).filter((k) => k >= 0);
    if (masters.length !== 1) return undefined;
    const addr = th.hosts[masters[0]].address;
    const ok = info.every((s, k) => k === masters[0] || (/^role:slave$/m.test(s) && new RegExp(`^master_host:${addr.replace(/\./g, "\\.")}$`, "m").test(s) && /^master_link_status:up$/m.test(s)));
    return ok ? addr : undefined;
}

describe("partition: a cut-off master stops acknowledging within the bound", () => {
    beforeAll(() => {
        if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error("REDIS_TEST_VERSION is not set (scripts/test-e2e.sh sets it)");
        th = freshHosts(3);
        stack.init();
        configureCluster(stack, th, hostEntries(th, 3), PASSWORD, version);
        stack.up();
    });
    afterAll(() => stack.remove());

    it("deploys with min-replicas-to-write 1 and min-replicas-max-lag 1", () => {
        expect(LAG).toBe(1);
        for (const i of [1, 2, 3]) {
            expect(cli(i, "CONFIG GET min-replicas-max-lag").split("\n")[1]).toBe(String(LAG));
            expect(cli(i, "CONFIG GET min-replicas-to-write").split("\n")[1]).toBe("1");
        }
    });

    it("refuses no write of a writer at full speed while the replicas are healthy (load drill)", async () => {
        const r = await drill("load", 20) as LoadReport;
        console.log(`measured: load drill: ${r.writes} writes in ${r.seconds.toFixed(1)} s (${Math.round(r.writesPerSecond)}/s), ` +
            `${r.noReplicas} NOREPLICAS, errors ${JSON.stringify(r.errors)}, replicas' largest lag ${JSON.stringify(r.maxLagSeconds)}`);
        expect(r.writes).toBeGreaterThan(100_000);
        expect(r.errors).toEqual({});
        expect(Object.keys(r.maxLagSeconds)).toHaveLength(2);
    });

    it("loses at most the writes of min-replicas-max-lag + 2 s when the master's host is cut off, heals, and the next up changes nothing", async () => {
        const r = await drill("partition", 15) as PartitionReport;
        const beside = r.writers.find((w) => w.besideOldMaster)!;
        const elsewhere = r.writers.find((w) => !w.besideOldMaster)!;
        const bound = Math.ceil(beside.peakRatePerSecond * (LAG + 2));
        console.log(`measured: partition drill (15 s, min-replicas-max-lag ${LAG}): the old master acknowledged for ${r.oldMasterAcknowledgedForSeconds.toFixed(2)} s ` +
            `(${r.acknowledgedAfterCutByOldMaster} writes) after the cut; new master after ${r.secondsToNewMaster} s; healed ${r.secondsToHealed.toFixed(1)} s after the cut ended; ` +
            `beside: ${beside.acknowledged} acknowledged, ${beside.lost} lost (bound ${bound} at a peak of ${beside.peakRatePerSecond}/s), errors ${JSON.stringify(beside.errors)}; ` +
            `elsewhere: ${elsewhere.acknowledged} acknowledged, ${elsewhere.lost} lost, longest pause ${elsewhere.longestPauseSeconds.toFixed(2)} s`);
        expect(r.masterAfter).not.toBe(r.masterBefore);
        expect(r.secondsToNewMaster).not.toBeNull();
        expect(r.tool).toBe("nft");
        // The bound: min-replicas-max-lag + 2 s of the writer's own peak rate (README "Partitions").
        expect(r.oldMasterAcknowledgedForSeconds).toBeLessThanOrEqual(LAG + 2);
        expect(beside.lost).toBeLessThanOrEqual(bound);
        // It did refuse: the writes beside it failed with NOREPLICAS once the bound ran out.
        expect(beside.errors.NOREPLICAS).toBeGreaterThan(0);
        expect(elsewhere.lost).toBe(0);
        expect(onePrimaryAllReplicating()).toBe(r.masterAfter.split(":")[0]);
        expect(onHost(1, "nft list tables").stdout + onHost(2, "nft list tables").stdout + onHost(3, "nft list tables").stdout).not.toContain("redis_drill_partition");
        stack.up(["--expect-no-changes"]);
    });

    it("a drill killed during the cut leaves no cut behind: the rules remove themselves, the writers stop, the cluster heals", async () => {
        const child = spawn("node", ["scripts/run-ts.js", "scripts/drill.ts", "--stack", stack.name, "--mode", "partition", "--seconds", "8"],
            { cwd: ROOT, detached: true, stdio: ["ignore", "ignore", "pipe"] });
        let err = "";
        child.stderr!.on("data", (d) => { err += d; });
        const cutHost = await waitFor("the drill's cut", () => {
            const m = /cutting (host\d)/.exec(err);
            return m ? Number(m[1].slice(4)) : undefined;
        }, 120_000, 100);
        await waitFor("the rules on the master's host", () => (onHost(cutHost, "nft list tables").stdout.includes("redis_drill_partition") ? true : undefined), 10_000, 100);
        const killedAt = Date.now();
        process.kill(-child.pid!, "SIGKILL");
        expect(onHost(cutHost, "systemctl list-timers --all --no-legend redis-drill-heal.timer").stdout).toContain("redis-drill-heal.timer");
        await waitFor("the rules gone by themselves", () => (onHost(cutHost, "nft list tables").stdout.includes("redis_drill_partition") ? undefined : true), 20_000, 250);
        console.log(`measured: killed drill: the cut removed itself ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the drill was killed (8 s cut)`);
        // The hosts' writers end with the drill's SSH sessions ($0 of their shell is the verb).
        const writers = (i: number) => onHost(i, "for p in /proc/[0-9]*; do [ \"$(tr '\\0' '\\n' < $p/cmdline 2>/dev/null | tail -n1)\" = drill-writer ] && ps -o pid=,stat=,etime=,args= -p ${p#/proc/} | cut -c1-80; done; true").stdout.trim();
        await waitFor("no drill writer left on any host", () => {
            const left = [1, 2, 3].map((i) => writers(i)).filter((w) => w !== "");
            if (left.length) console.log(`drill writers still running ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill: ${left.join(" | ")}`);
            return left.length ? undefined : true;
        }, 20_000, 1000);
        expect(onHost(cutHost, "ls /var/lib/redis-sentinel-pulumi/drill-heal.sh 2>/dev/null || echo none").stdout.trim()).toBe("none");
        await waitFor("one master, every node replicating", () => onePrimaryAllReplicating(), 120_000, 1000);
        await sleep(1000);
        stack.up(["--expect-no-changes"]);
    });
});
