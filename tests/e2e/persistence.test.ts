/**
 * A master without persistence (issue 12), end to end: the initial master keeps
 * no data on disk, its replicas keep AOF and RDB. Its redis-server is killed
 * (kill -9) and systemd restarts it at once; its start guard holds the start
 * until the Sentinels have failed it over, then starts it as a replica. No
 * replica loses its data, every write acknowledged and replicated before the
 * kill is on every node, and the next `pulumi up` changes nothing.
 *
 * Then the same kill with the guard taken away (and production's 5 s
 * down-after-milliseconds): the master is back, empty, before the Sentinels
 * notice, and its replicas resync from it and lose everything, although every
 * Sentinel has master-reboot-down-after-period set. That is what the guard is for.
 * Last, a day-2 up turns persistence back on, live.
 */
import Redis from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DrillTarget, masterAddress, runDrill } from "../../src/drill";
import { Stack, TestHosts, configureCluster, freshHosts, hostEntries, onHost, onHostAsync, sleep, waitFor } from "./lib";
import { ClusterProbe } from "./probe";

const stack = new Stack("persist");
const PASSWORD = "persist-Redis-password-0123456789";
const version = process.env.REDIS_TEST_VERSION ?? "";
const DROP_IN = "/etc/systemd/system/redis-server.service.d/start-guard.conf";
const KEYS = 2000;
let th: TestHosts;

const probe = new ClusterProbe({ hosts: () => th, count: () => 3, version: () => version, password: PASSWORD });
const target = (): DrillTarget => probe.target();
const cli = (i: number, args: string) => probe.cli(i, args);
const replication = (i: number) => cli(i, "INFO replication");
const field = (info: string, k: string) => new RegExp(`^${k}:(\\S+)`, "m").exec(info)?.[1];
const address = (i: number) => th.hosts[i - 1].address;

/** A client of one node (no Sentinel), as an application reading a replica would be. */
async function onNode<T>(i: number, fn: (r: Redis) => Promise<T>): Promise<T> {
    const r = new Redis({ host: address(i), port: 6379, password: PASSWORD, maxRetriesPerRequest: 1, lazyConnect: true });
    try {
        await r.connect();
        return await fn(r);
    } finally {
        r.disconnect();
    }
}

/** Writes KEYS keys `prefix:i` on the master the Sentinels name and waits until both replicas have them (WAIT). */
async function writeReplicated(prefix: string): Promise<void> {
    const [host] = (await masterAddress(target())).split(":");
    const i = th.hosts.findIndex((h) => h.address === host) + 1;
    await onNode(i, async (r) => {
        const p = r.pipeline();
        for (let k = 0; k < KEYS; k++) p.set(`${prefix}:${k}`, String(k));
        await p.exec();
        expect(await r.call("WAIT", "2", "10000")).toBe(2);
    });
}

/** How many of the KEYS keys `prefix:i` node i holds. */
const present = (i: number, prefix: string) => onNode(i, async (r) => {
    let n = 0;
    for (let k = 0; k < KEYS; k += 500) {
        const keys = Array.from({ length: Math.min(500, KEYS - k) }, (_, j) => `${prefix}:${k + j}`);
        n += (await r.mget(...keys)).filter((v) => v !== null).length;
    }
    return n;
});

/** kill -9 of host i's redis-server: systemd restarts it (Restart=always). */
const killRedis = (i: number) => onHostAsync(i, "kill -9 $(systemctl show -p MainPID --value redis-server)");
const hostSeconds = (i: number) => Number(onHost(i, "date +%s").stdout.trim());
/** The start guard's journal lines on host i since `since` (epoch seconds). */
const guardLog = (i: number, since: number) =>
    onHost(i, `journalctl -u redis-server --since @${since} -o cat --no-pager | grep '^start-guard:' || true`).stdout.trim().split("\n").filter(Boolean);

describe("a master without persistence", () => {
    beforeAll(() => {
        th = freshHosts(3);
        if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error("REDIS_TEST_VERSION is not set (the e2e tier sets it)");
        stack.init();
        const hosts = hostEntries(th, 3).map((h, i) => (i === 0 ? { ...h, persistence: { aof: false, rdb: false } } : h));
        configureCluster(stack, th, hosts, PASSWORD, version);
        stack.up();
    });
    afterAll(() => {
        try { stack.destroy(); } finally { stack.remove(); }
    });

    it("runs without persistence on host1 only, behind its start guard, with every Sentinel's reboot period set", () => {
        expect(cli(1, "CONFIG GET appendonly").split("\n")[1]).toBe("no");
        // save "": the reply's value is empty.
        expect(cli(1, "CONFIG GET save")).toBe("save");
        for (const i of [2, 3]) expect(cli(i, "CONFIG GET appendonly").split("\n")[1]).toBe("yes");
        expect(onHost(1, `cat ${DROP_IN}`).stdout).toContain("ExecStartPre=+/var/lib/redis-sentinel-pulumi/start-guard");
        for (const i of [2, 3]) expect(onHost(i, `test -e ${DROP_IN} && echo yes || echo no`).stdout.trim()).toBe("no");
        // The first start of a fresh install: no Sentinel ran yet, so it started as master.
        expect(guardLog(1, 0)).toEqual(["start-guard: first start of this node (no Sentinel answers yet): starting as master"]);
        // The stack's down-after-milliseconds (2000 in the e2e stacks), as each Sentinel holds it: SENTINEL MASTER
        // does not show it, and Sentinel writes it to its file only when it is not 0 (its default).
        for (const i of [1, 2, 3]) {
            expect(probe.sentinel(i, "SENTINEL FLUSHCONFIG")).toBe("OK");
            expect(onHost(i, "grep '^sentinel master-reboot-down-after-period' /etc/redis/sentinel.conf").stdout).toBe("sentinel master-reboot-down-after-period mymaster 2000\n");
        }
        expect(field(replication(1), "role")).toBe("master");
    });

    it("is killed and restarted at once by systemd; its guard holds it until the failover, no replica loses its data", async () => {
        expect(await probe.masterIndex()).toBe(1);
        const prefix = `persist:${Date.now()}`;
        await writeReplicated(prefix);
        const restartsBefore = Number(onHost(1, "systemctl show -p NRestarts --value redis-server").stdout.trim());
        const since = hostSeconds(1);
        const killedAt = Date.now();
        const report = await runDrill(target(), async () => { await killRedis(1); });
        const newMaster = th.hosts.findIndex((h) => `${h.address}:6379` === report.masterAfter) + 1;
        expect([2, 3]).toContain(newMaster);
        await waitFor("host1 back as a replica of the new master", () => {
            const info = replication(1);
            return field(info, "role") === "slave" && field(info, "master_link_status") === "up" && field(info, "master_host") === address(newMaster) ? true : undefined;
        }, 120_000, 250);
        const backAfter = (Date.now() - killedAt) / 1000;
        // systemd restarted it (no one else did), and the guard held that start until the failover.
        expect(Number(onHost(1, "systemctl show -p NRestarts --value redis-server").stdout.trim())).toBe(restartsBefore + 1);
        const log = guardLog(1, since);
        expect(log[0]).toBe("start-guard: holding the start: this node has no data (persistence off) and the Sentinels still name it as master; " +
            "waiting up to 60s for them to fail it over");
        const followed = new RegExp(`^start-guard: the Sentinels name ${address(newMaster).replace(/\./g, "\\.")}:6379 as master: starting as its replica .*held the start for (\\d+) ms$`).exec(log[1]);
        expect(followed, log.join("\n")).not.toBeNull();
        console.log(`measured: kill -9 of the master without persistence: the guard held its restart for ${followed![1]} ms (it said), ` +
            `client on the new master after ${report.secondsToNewMaster} s, write pause ${report.writePauseSeconds} s, host1 a replica in sync after ${backAfter.toFixed(1)} s; ` +
            `writer: ${report.writesAcknowledged} acknowledged, ${report.writesLost} lost (a kill loses what was not replicated yet: reported, not asserted)`);
        // Every write acknowledged and replicated before the kill, on every node.
        for (const i of [1, 2, 3]) expect(await present(i, prefix), `host${i}`).toBe(KEYS);
        // One master (not host1), every other node replicating from it.
        const roles = [1, 2, 3].map((i) => field(replication(i), "role"));
        expect(roles.filter((r) => r === "master")).toHaveLength(1);
        expect(roles[newMaster - 1]).toBe("master");
        for (const i of [1, 2, 3].filter((x) => x !== newMaster)) {
            const info = replication(i);
            expect(field(info, "master_host")).toBe(address(newMaster));
            expect(field(info, "master_link_status")).toBe("up");
        }
        stack.up(["--expect-no-changes"]);
        await onNode(newMaster, (r) => r.del(...Array.from({ length: KEYS }, (_, k) => `${prefix}:${k}`)));
    });

    it("without the guard, the same kill wipes every replica (master-reboot-down-after-period does not prevent it)", async () => {
        // host1 master again: the other replica may not be promoted for a moment.
        const current = await probe.masterIndex();
        const other = [2, 3].find((i) => i !== current)!;
        cli(other, "CONFIG SET replica-priority 0");
        // Sentinel reads a replica's priority from its INFO, every 10 s.
        await sleep(11_000);
        expect(probe.sentinel(1, "SENTINEL FAILOVER mymaster")).toBe("OK");
        await waitFor("host1 promoted", async () => ((await probe.masterIndex()) === 1 && field(replication(1), "role") === "master" ? true : undefined), 60_000);
        await waitFor("both replicas following host1", () =>
            ([2, 3].every((i) => field(replication(i), "master_host") === address(1) && field(replication(i), "master_link_status") === "up") ? true : undefined), 60_000);
        cli(other, "CONFIG SET replica-priority 100");
        // Production's down-after-milliseconds (5 s): the 2 s restart wins the race.
        for (const i of [1, 2, 3]) probe.sentinel(i, "SENTINEL SET mymaster down-after-milliseconds 5000");
        onHost(1, `rm -f ${DROP_IN} && systemctl daemon-reload`);
        const prefix = `unguarded:${Date.now()}`;
        await writeReplicated(prefix);
        for (const i of [2, 3]) expect(await present(i, prefix)).toBe(KEYS);
        await killRedis(1);
        await waitFor("the replicas resynced from the empty master", async () =>
            (field(replication(1), "role") === "master" && (await present(2, prefix)) === 0 && (await present(3, prefix)) === 0 ? true : undefined), 60_000, 250);
        console.log(`measured: without the guard, a kill -9 of the master without persistence left the replicas with 0 of ${KEYS} replicated keys`);
        expect(await probe.masterIndex()).toBe(1);
    });

    it("turns persistence back on with a day-2 up: applied live, the guard and the reboot period gone, nothing restarted", () => {
        const before = probe.pids();
        stack.setObject("hosts", hostEntries(th, 3));
        const up = stack.up();
        expect(up.stdout).toContain("host1-start-guard");
        expect(probe.pids()).toEqual(before);
        expect(cli(1, "CONFIG GET appendonly").split("\n")[1]).toBe("yes");
        expect(onHost(1, "ls /var/lib/redis-sentinel-pulumi").stdout).not.toMatch(/start-guard|redis-server\.started/);
        // Set live on each Sentinel (its log says so), which then has none in its file.
        for (const i of [1, 2, 3]) {
            expect(onHost(i, "grep -c '+set master mymaster .* master-reboot-down-after-period 0$' /var/log/redis/redis-sentinel.log").stdout.trim()).toBe("1");
            expect(probe.sentinel(i, "SENTINEL FLUSHCONFIG")).toBe("OK");
            expect(onHost(i, "grep -c '^sentinel master-reboot-down-after-period' /etc/redis/sentinel.conf", true).stdout.trim()).toBe("0");
        }
        stack.up(["--expect-no-changes"]);
    });
});
