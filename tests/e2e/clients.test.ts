/**
 * Applications' own clients, configured from the stack's `connection` output
 * alone (placeholders filled with the passwords, as an application does from
 * its secret store): redis-py, Celery (a real worker), go-redis and ioredis.
 * Each writes continuously through a SENTINEL FAILOVER and must go on writing
 * on the new master, then read its writes back. The clients come from
 * scripts/setup.sh (harness/clients.sh); a missing one fails the test.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeErrors } from "../../src/drill";
import { ConnectionSettings } from "../../src/verify";
import {
    ClientProcess, ClientReport, IoredisWriter, SentinelAccess, Writer, clientPaths, figures, fillPasswords, pythonScript,
    sentinelFailover, settled,
} from "./client-programs";
import { Stack, TestHosts, configureCluster, freshHosts, hostEntries, waitFor } from "./lib";

const stack = new Stack("e2e-clients");
const PASSWORD = "e2e-clients-Redis-password-0123";
const SENTINEL_PASSWORD = "e2e-clients-Sentinel-password-45";
const version = process.env.REDIS_TEST_VERSION ?? "";
let th: TestHosts;
let connection: ConnectionSettings;
let access: SentinelAccess;

const filled = <K extends keyof ConnectionSettings>(k: K): ConnectionSettings[K] =>
    fillPasswords(connection[k], { redisPassword: PASSWORD, sentinelPassword: SENTINEL_PASSWORD });

/**
 * Starts a writer, waits for 50 acknowledged writes, sends SENTINEL FAILOVER,
 * waits until the writer has 50 writes acknowledged by the new master, stops it
 * and checks its report: nothing acknowledged before the failover or by the new
 * master is missing. Acknowledged writes that the old master took after the
 * failover was sent (before the Sentinels turned it into a replica) are
 * reported, not failed: a plain SENTINEL FAILOVER does not stop writes first.
 */
async function throughFailover(label: string, start: () => Writer, logs: () => string = () => ""): Promise<ClientReport> {
    const before = await settled(access, 2);
    const w = start();
    let stopped = false;
    // A writer that stalls: say how far it got, and what it (or its worker) logged.
    const explain = (e: unknown) => new Error(`${String(e)}\nprogress: ${JSON.stringify(w.progress())}\n${logs()}`);
    try {
        await waitFor(`${label} to write 50 times`, () => (w.progress().acked >= 50 ? true : undefined), 60_000, 100).catch((e) => { throw explain(e); });
        const { at, masterAfter } = await sentinelFailover(access, before);
        await waitFor(`${label} to write 50 times on the new master ${masterAfter}`,
            () => ((w.progress().byServer[masterAfter] ?? 0) >= 50 ? true : undefined), 120_000, 100).catch((e) => { throw explain(e); });
        stopped = true;
        const report = await w.stop();
        const f = figures(report, at, masterAfter);
        console.log(`measured: ${label} through SENTINEL FAILOVER: ${f.acked} writes acknowledged, ${f.onNewMaster} of them by the new master; ` +
            `first write on the new master ${f.secondsToNewMaster} s after the failover was sent, longest write pause ${f.writePauseSeconds} s; ` +
            `errors during the failover: ${describeErrors(f.errorsDuring)}; lost: ${f.lostOnOldMasterAfter} taken by the old master after the failover was sent, ` +
            `${f.lostBefore + f.lostOnNewMaster} otherwise; read back via ${report.readBack.via}`);
        expect(f.errorsBefore).toBe(0);
        expect(f.onNewMaster).toBeGreaterThanOrEqual(50);
        expect(f.lostBefore).toBe(0);
        expect(f.lostOnNewMaster).toBe(0);
        return report;
    } finally {
        if (!stopped) await w.stop().catch(() => undefined);
    }
}

describe("application clients from the connection output alone", () => {
    beforeAll(() => {
        if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error("REDIS_TEST_VERSION is not set (scripts/test-e2e.sh sets it)");
        th = freshHosts(3);
        stack.init();
        configureCluster(stack, th, hostEntries(th, 3), PASSWORD, version);
        stack.set("sentinelPassword", SENTINEL_PASSWORD, true);
        const up = stack.up();
        console.log(`measured: pulumi up (deploy) took ${up.seconds.toFixed(1)} s`);
        connection = stack.outputs().connection as ConnectionSettings;
        access = { sentinels: connection.ioredis.sentinels, masterName: connection.ioredis.name, sentinelPassword: SENTINEL_PASSWORD };
    });
    afterAll(() => stack.remove());

    it("exports every client's settings with every Sentinel and only placeholders for the passwords", () => {
        const addrs = th.hosts.slice(0, 3).map((h) => `${h.address}:26379`);
        expect(connection.goRedis.SentinelAddrs).toEqual(addrs);
        expect(connection.celery.broker_channel_error_retry).toBe(true);
        expect(connection.celery.broker_url).toBe(addrs.map((a) => `sentinel://:<redisPassword>@${a}`).join(";"));
        expect(connection.celery.broker_transport_options).toEqual({ master_name: "mymaster", sentinel_kwargs: { password: "<sentinelPassword>" } });
        expect(connection.celery.result_backend).toBe(connection.celery.broker_url);
        expect(connection.celery.result_backend_transport_options).toEqual(connection.celery.broker_transport_options);
        const text = JSON.stringify(connection);
        expect(text).not.toContain(PASSWORD);
        expect(text).not.toContain(SENTINEL_PASSWORD);
    });

    it("redis-py: master_for keeps writing through a failover, slave_for reads every write back from a replica", async () => {
        // Each test asks for its client itself: one that is not installed fails that test, naming it (never a skip).
        const paths = clientPaths();
        const report = await throughFailover("redis-py", () =>
            new ClientProcess("redis-py", paths.python, [pythonScript("redis_py_client.py")], { settings: filled("redisPy"), prefix: "clients:redis-py" }));
        expect(report.readBack.role).toBe("slave");
        expect(report.readBack.missing.length).toBeLessThan(report.acks.length);
    });

    it("Celery: tasks sent through the Sentinel broker run on a real worker before, during and after a failover", async () => {
        const paths = clientPaths();
        const settings = filled("celery");
        const worker = new ClientProcess("celery worker", paths.python, [pythonScript("celery_worker.py")], { settings, prefix: "clients:celery" });
        try {
            await worker.waitForLog(/ ready\.$/m, 120_000);
            let producer: ClientProcess | undefined;
            await throughFailover("Celery (producer and worker)", () => (producer =
                new ClientProcess("celery producer", paths.python, [pythonScript("celery_producer.py")], { settings, prefix: "clients:celery" })),
            () => `producer: ${producer?.stderrTail() ?? ""}\nworker: ${worker.stderrTail()}`);
            // The worker lived through it: still running until told to stop, then a clean warm shutdown.
            expect(worker.exitCode).toBeUndefined();
        } finally {
            const code = await worker.terminate();
            if (code !== 0) console.log(`celery worker: exit ${code}\n${worker.stderrTail()}`);
            expect(code).toBe(0);
        }
    });

    it("go-redis: a FailoverClient made from the output keeps writing through a failover", async () => {
        const paths = clientPaths();
        await throughFailover("go-redis", () =>
            new ClientProcess("go-redis", paths.goRedis, [], { settings: filled("goRedis"), prefix: "clients:go-redis" }));
    });

    it("ioredis: a client made from the output with the library's defaults keeps writing through a failover", async () => {
        await throughFailover("ioredis", () => new IoredisWriter(filled("ioredis"), "clients:ioredis"));
    });
});
