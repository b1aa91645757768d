/**
 * The main job, end to end: real `pulumi up` of the project against three test
 * hosts, then a Sentinel-aware client (ioredis), a no-op re-run, a non-secret
 * change, a failover drill and `pulumi destroy`.
 */
import Redis from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DrillTarget, ready, runDrill, sentinelAwareClient } from "../../src/drill";
import { Stack, TestHosts, configureCluster, freshHosts, hostEntries, onHost, onHostAsync, waitFor } from "./lib";
import { servicePids } from "./probe";

const stack = new Stack("e2e");
const PASSWORD = "e2e-Redis-password-0123456789";
const SENTINEL_PASSWORD = "e2e-Sentinel-password-987654";
const version = process.env.REDIS_TEST_VERSION ?? "";
let th: TestHosts;
let sentinels: { host: string; port: number }[];

/** MainPID of every service on every host: unchanged PIDs mean nothing restarted. */
const pids = (): Record<string, string> => Object.assign({}, ...[1, 2, 3].map(servicePids));
function cli(i: number, args: string, port = 6379, pw = PASSWORD): string {
    return onHost(i, `REDISCLI_AUTH='${pw}' /opt/redis-${version}/bin/redis-cli -h 127.0.0.1 -p ${port} ${args}`).stdout.trim();
}
const role = (i: number) => /^role:(\w+)/m.exec(cli(i, "INFO replication"))?.[1];
const target = (): DrillTarget => ({ sentinels, masterName: "mymaster", password: PASSWORD, sentinelPassword: SENTINEL_PASSWORD });
const client = (roleName: "master" | "slave" = "master"): Redis => sentinelAwareClient(target(), roleName);

describe("main job: a verified Redis Sentinel cluster", () => {
    beforeAll(() => {
        th = freshHosts(3);
        if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error("REDIS_TEST_VERSION is not set (scripts/test-e2e.sh sets it)");
        sentinels = th.hosts.slice(0, 3).map((h) => ({ host: h.address, port: 26379 }));
        stack.init();
        configureCluster(stack, th, hostEntries(th, 3).map((h, i) => ({
            ...h,
            // host2 is reached as a non-root user with passwordless sudo
            ...(i === 1 ? { sshUser: "deploy" } : {}),
        })), PASSWORD, version);
        stack.set("sentinelPassword", SENTINEL_PASSWORD, true);
    });
    afterAll(() => stack.remove());

    it("deploys and verifies master, replicas and Sentinels with real pulumi up", () => {
        const up = stack.up();
        console.log(`measured: first pulumi up (deploy) took ${up.seconds.toFixed(1)} s`);
        const out = stack.outputs();
        expect(out.masterName).toBe("mymaster");
        expect(out.currentMaster).toEqual({ name: "host1", address: th.hosts[0].address, port: 6379 });
        expect(out.replicas.map((r: any) => r.name).sort()).toEqual(["host2", "host3"]);
        expect(out.sentinels).toHaveLength(3);
        expect(out.sentinelQuorum).toMatch(/^OK 3 usable Sentinels/);
        expect(out.connection.ioredis.sentinels).toEqual(sentinels);
        expect(out.connection.goRedis.SentinelAddrs).toEqual(sentinels.map((s) => `${s.host}:${s.port}`));
        expect(JSON.stringify(out)).not.toContain(PASSWORD);
        // The files on the host: owner, mode and no secret in the units.
        expect(onHost(2, "stat -c '%U %a' /etc/redis/redis.conf /etc/redis/sentinel.conf").stdout.trim().split("\n")).toEqual(["redis 640", "redis 640"]);
        expect(onHost(1, "cat /etc/systemd/system/redis-server.service /etc/systemd/system/redis-sentinel.service").stdout).not.toContain(PASSWORD);
        expect(onHost(1, "ps -eo args").stdout).not.toContain(PASSWORD);
        expect(onHost(3, `/opt/redis-${version}/bin/redis-server --version`).stdout).toContain(`v=${version}`);
    });

    it("lets ioredis find the master through the Sentinels, write, and read from a replica", async () => {
        const w = client("master");
        const r = client("slave");
        try {
            await Promise.all([ready(w), ready(r)]);
            await w.set("e2e:greeting", "hello");
            expect(Number(await w.call("WAIT", "2", "2000"))).toBe(2);
            expect(await r.get("e2e:greeting")).toBe("hello");
            const replicaRole = (await r.call("ROLE")) as unknown[];
            expect(replicaRole[0]).toBe("slave");
        } finally {
            w.disconnect();
            r.disconnect();
        }
    });

    it("changes nothing and restarts nothing on a second pulumi up", () => {
        const before = pids();
        const again = stack.up(["--expect-no-changes"]);
        console.log(`measured: no-op pulumi up took ${again.seconds.toFixed(1)} s`);
        expect(again.stdout).not.toMatch(/\b\d+ (created|updated|replaced|deleted)\b/);
        expect(pids()).toEqual(before);
    });

    it("previews a non-secret change as exactly the expected updates, then applies it live", () => {
        const before = pids();
        stack.set("maxmemory", "256mb");
        expect(stack.previewSteps()).toEqual([
            "update host1-redis-config", "update host2-redis-config", "update host3-redis-config", "update redis-verify",
        ]);
        const preview = stack.pulumi(["preview", "--diff", "--color", "never"]).stdout;
        expect(preview).toContain("maxmemory 256mb");
        expect(preview).not.toContain(PASSWORD);
        stack.up();
        for (const i of [1, 2, 3]) {
            expect(cli(i, "CONFIG GET maxmemory").split("\n")[1]).toBe("268435456");
            expect(onHost(i, "grep '^maxmemory ' /etc/redis/redis.conf").stdout.trim()).toBe("maxmemory 256mb");
        }
        expect(pids()).toEqual(before);
    });

    it("fails over when the master stops, keeps ioredis writing, and takes the old master back as a replica", async () => {
        const report = await runDrill(target(), async (master) => {
            expect(master).toBe(`${th.hosts[0].address}:6379`);
            await onHostAsync(1, "systemctl stop redis-server");
        });
        console.log(`measured: failover after stopping the master: client on the new master after ${report.secondsToNewMaster} s, ` +
            `write pause ${report.writePauseSeconds} s, ${report.writesAcknowledged} writes acknowledged, ${report.writesLost} lost`);
        expect([`${th.hosts[1].address}:6379`, `${th.hosts[2].address}:6379`]).toContain(report.masterAfter);
        expect(report.writesLost).toBe(0);
        const newMaster = report.masterAfter.split(":")[0];

        onHost(1, "systemctl start redis-server");
        await waitFor("the old master back as a replica", () => {
            const info = cli(1, "INFO replication");
            return /^role:slave/m.test(info) && /^master_link_status:up/m.test(info) && info.includes(`master_host:${newMaster}`) ? true : undefined;
        }, 90_000, 1000);
        expect(role(1)).toBe("slave");
    });

    it("changes nothing after the failover: the master stays where Sentinel put it", () => {
        const masterBefore = cli(3, "SENTINEL get-master-addr-by-name mymaster", 26379, SENTINEL_PASSWORD).split("\n")[0];
        const before = pids();
        stack.up(["--expect-no-changes"]);
        expect(pids()).toEqual(before);
        expect(cli(3, "SENTINEL get-master-addr-by-name mymaster", 26379, SENTINEL_PASSWORD).split("\n")[0]).toBe(masterBefore);
    });

    it("stops and removes the services on destroy and keeps the data directory", () => {
        stack.destroy();
        for (const i of [1, 2, 3]) {
            const state = onHost(i, "systemctl is-active redis-server redis-sentinel", true).stdout.trim().split("\n");
            expect(state.every((s) => s !== "active")).toBe(true);
            expect(onHost(i, "ls /etc/systemd/system/redis-server.service", true).code).not.toBe(0);
            expect(onHost(i, `ls /opt/redis-${version}`, true).code).not.toBe(0);
            expect(onHost(i, "ls /var/lib/redis/appendonlydir").stdout).toMatch(/appendonly\.aof/);
        }
    });
});
