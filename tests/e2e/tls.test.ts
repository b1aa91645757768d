/**
 * TLS on every link (tls.enabled), end to end: a cluster deployed with the
 * certificates harness/make-certs.sh makes (a test CA, a certificate per host
 * naming its IP), verified over TLS; ioredis through the Sentinels over TLS; the
 * plaintext ports closed; a failover over TLS; a no-op up; renewed certificates
 * applied while a client writes; client certificates required (authClients yes);
 * a running plaintext cluster switched to TLS while a client writes.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tls from "tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DrillTarget, WriteRecord, describeErrors, masterAddress, ready, recordWrites, runDrill, sentinelAwareClient } from "../../src/drill";
import { ROOT, RunResult, Stack, TestHosts, configureCluster, freshHosts, hostEntries, onHost, onHostAsync, run, waitFor } from "./lib";
import { servicePids } from "./probe";

const stack = new Stack("tls");
const PASSWORD = "tls-Redis-password-0123456789";
const SENTINEL_PASSWORD = "tls-Sentinel-password-987654";
const version = process.env.REDIS_TEST_VERSION ?? "";
// Test certificates live outside the repository and go when the run ends.
const certDir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-sentinel-tls-e2e-"));
let th: TestHosts;
let ca: string;

const pids = (): Record<string, string> => Object.assign({}, ...[1, 2, 3].map(servicePids));
/** redis-cli on host i over TLS (the deployed CA), as the default user. */
function tlsCli(i: number, args: string, port = 6379, pw = PASSWORD): string {
    return onHost(i, `REDISCLI_AUTH='${pw}' /opt/redis-${version}/bin/redis-cli --tls --cacert /etc/redis/tls-ca.crt ` +
        `-h ${th.hosts[i - 1].address} -p ${port} ${args}`).stdout.trim();
}
/** The sha256 fingerprint of the certificate the server at address:port presents. */
function servedFingerprint(address: string, port: number): Promise<string> {
    return new Promise((resolve, reject) => {
        const socket = tls.connect({ host: address, port, ca }, () => {
            resolve(socket.getPeerCertificate().fingerprint256);
            socket.end();
        });
        socket.on("error", reject);
    });
}
const target = (): DrillTarget => ({
    sentinels: th.hosts.slice(0, 3).map((h) => ({ host: h.address, port: 26379 })),
    masterName: "mymaster", password: PASSWORD, sentinelPassword: SENTINEL_PASSWORD, tls: { ca },
});

/** Prints a writer's figures as a `measured:` line and requires that it lost no acknowledged write. */
function reportWrites(what: string, record: WriteRecord): void {
    console.log(`measured: ${what}: ${record.writesAcknowledged} writes acknowledged, ` +
        `${record.writesLost} lost, longest write pause ${record.writePauseSeconds} s; errors: ${describeErrors(record.errors)}`);
    expect(record.writesLost).toBe(0);
}
/** Every data node runs the process it ran `before`; every Sentinel was restarted. */
function expectDataNodesKeptSentinelsRestarted(before: Record<string, string>): void {
    const after = pids();
    for (const i of [1, 2, 3]) {
        expect(after[`host${i}/redis-server`]).toBe(before[`host${i}/redis-server`]);
        expect(after[`host${i}/redis-sentinel`]).not.toBe(before[`host${i}/redis-sentinel`]);
    }
}
/** A Sentinel-aware ioredis client for `t` writes `key` and reads it back. */
async function writeAndReadBack(t: DrillTarget, key: string): Promise<void> {
    const w = await ready(sentinelAwareClient(t));
    try {
        await w.set(key, "yes");
        expect(await w.get(key)).toBe("yes");
    } finally {
        w.disconnect();
    }
}
/** A plaintext PING to host i's data node and Sentinel ports gets no answer. */
function expectNoPlaintext(i: number): void {
    for (const port of [6379, 26379]) {
        const plain = onHost(i, `REDISCLI_AUTH='${PASSWORD}' timeout 5 /opt/redis-${version}/bin/redis-cli -h ${th.hosts[i - 1].address} -p ${port} PING`, true);
        expect(plain.stdout + plain.stderr).not.toContain("PONG");
    }
}

describe("TLS on every link", () => {
    beforeAll(() => {
        th = freshHosts(3);
        if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error("REDIS_TEST_VERSION is not set (scripts/test-e2e.sh sets it)");
        const ips = th.hosts.slice(0, 3).map((h) => h.address);
        run(path.join(ROOT, "harness", "make-certs.sh"), [certDir, ...ips]);
        ca = fs.readFileSync(path.join(certDir, "ca.crt"), "utf8");
        stack.init();
        const hosts = hostEntries(th, 3);
        configureCluster(stack, th, hosts, PASSWORD, version);
        stack.set("sentinelPassword", SENTINEL_PASSWORD, true);
        stack.setObject("tls", {
            enabled: true,
            caCert: ca,
            certs: Object.fromEntries(hosts.map((h) => [h.name, fs.readFileSync(path.join(certDir, `${h.address}.crt`), "utf8")])),
        });
        for (const h of hosts) {
            stack.pulumi(["config", "set", "--secret", "--path", `tlsKeys.${h.name}`], { input: fs.readFileSync(path.join(certDir, `${h.address}.key`), "utf8") });
        }
    });
    afterAll(() => {
        stack.remove();
        fs.rmSync(certDir, { recursive: true, force: true });
    });

    it("deploys and verifies a TLS cluster; the key is the service user's, mode 0600, and in no state or command line", () => {
        const up = stack.up();
        console.log(`measured: first pulumi up of a TLS cluster took ${up.seconds.toFixed(1)} s`);
        const out = stack.outputs();
        expect(out.currentMaster).toEqual({ name: "host1", address: th.hosts[0].address, port: 6379 });
        expect(out.replicas.map((r: any) => r.name).sort()).toEqual(["host2", "host3"]);
        expect(out.sentinelQuorum).toMatch(/^OK 3 usable Sentinels/);
        expect(out.connection.ioredis).toMatchObject({ enableTLSForSentinelMode: true, tls: { ca: expect.stringContaining("tls.caCert") } });
        expect(out.connection.celery.broker_use_ssl).toMatchObject({ ssl_cert_reqs: "required" });
        expect(onHost(2, "stat -c '%n %U %a' /etc/redis/tls.key /etc/redis/tls.crt /etc/redis/tls-ca.crt").stdout.trim().split("\n"))
            .toEqual(["/etc/redis/tls.key redis 600", "/etc/redis/tls.crt redis 644", "/etc/redis/tls-ca.crt redis 644"]);
        const keyBody = fs.readFileSync(path.join(certDir, `${th.hosts[1].address}.key`), "utf8").split("\n")[1];
        expect(keyBody.length).toBeGreaterThan(20);
        expect(stack.pulumi(["stack", "export"]).stdout).not.toContain(keyBody);
        expect(onHost(2, "ps -eo args").stdout).not.toContain(keyBody);
        // Replication and the Sentinels' links are TLS: the master counts its replicas over TLS.
        expect(tlsCli(1, "INFO replication")).toMatch(/^connected_slaves:2/m);
        expect(tlsCli(1, "CONFIG GET tls-replication")).toContain("yes");
    });

    it("lets ioredis find the master through the Sentinels over TLS, write, and read from a replica", async () => {
        const w = sentinelAwareClient(target(), "master");
        const r = sentinelAwareClient(target(), "slave");
        try {
            await Promise.all([ready(w), ready(r)]);
            await w.set("tls:greeting", "hello");
            expect(Number(await w.call("WAIT", "2", "2000"))).toBe(2);
            expect(await r.get("tls:greeting")).toBe("hello");
            expect(((await r.call("ROLE")) as unknown[])[0]).toBe("slave");
        } finally {
            w.disconnect();
            r.disconnect();
        }
    });

    it("closes the plaintext ports: only the TLS ports listen, and a plaintext PING gets no answer", () => {
        for (const i of [1, 2, 3]) {
            const ports = onHost(i, "ss -Htln | awk '{ n = split($4, a, \":\"); print a[n] }' | sort -nu").stdout.trim().split("\n");
            expect(ports.filter((p) => p !== "22")).toEqual(["6379", "26379"]);
            expectNoPlaintext(i);
        }
        expect(tlsCli(2, "PING")).toBe("PONG");
        expect(tlsCli(2, "PING", 26379, SENTINEL_PASSWORD)).toBe("PONG");
    });

    it("changes nothing and restarts nothing on a second pulumi up", () => {
        const before = pids();
        stack.up(["--expect-no-changes"]);
        expect(pids()).toEqual(before);
    });

    it("runs the operator's handover drill over TLS (npm run drill), losing no acknowledged write", () => {
        const out = run("npm", ["run", "--silent", "drill", "--", "--stack", stack.name, "--mode", "handover"], { timeoutMs: 5 * 60_000 }).stdout;
        console.log(`measured: npm run drill --mode handover over TLS:\n${out}`);
        expect(out).toMatch(/acknowledged writes lost: +0$/m);
        expect(Number(/writes acknowledged: +(\d+)/.exec(out)?.[1])).toBeGreaterThan(0);
    });

    it("fails over over TLS when the master stops, losing no acknowledged write", async () => {
        let stopped = 0;
        const report = await runDrill(target(), async (master) => {
            stopped = th.hosts.findIndex((h) => `${h.address}:6379` === master) + 1;
            expect(stopped).toBeGreaterThan(0);
            await onHostAsync(stopped, "systemctl stop redis-server");
        });
        console.log(`measured: failover over TLS after stopping the master: client on the new master after ${report.secondsToNewMaster} s, ` +
            `write pause ${report.writePauseSeconds} s, ${report.writesAcknowledged} writes acknowledged, ${report.writesLost} lost`);
        expect(report.masterAfter).not.toBe(report.masterBefore);
        expect(report.writesLost).toBe(0);
        const newMaster = report.masterAfter.split(":")[0];
        onHost(stopped, "systemctl start redis-server");
        await waitFor("the old master back as a replica over TLS", () => {
            const info = tlsCli(stopped, "INFO replication");
            return /^role:slave/m.test(info) && /^master_link_status:up/m.test(info) && info.includes(`master_host:${newMaster}`) ? true : undefined;
        }, 90_000, 1000);
    });

    it("applies renewed certificates and keys while a client writes: data nodes live (no restart), Sentinels one at a time", async () => {
        const hosts = hostEntries(th, 3);
        // Same CA, a new certificate and key per host.
        run(path.join(ROOT, "harness", "make-certs.sh"), [certDir, ...hosts.map((h) => h.address)]);
        for (const h of hosts) {
            stack.pulumi(["config", "set", "--path", `tls.certs.${h.name}`], { input: fs.readFileSync(path.join(certDir, `${h.address}.crt`), "utf8") });
            stack.pulumi(["config", "set", "--secret", "--path", `tlsKeys.${h.name}`], { input: fs.readFileSync(path.join(certDir, `${h.address}.key`), "utf8") });
        }
        const before = pids();
        let seconds = 0;
        const record = await recordWrites(target(), async () => { seconds = (await stack.upAsync()).seconds; });
        reportWrites(`certificate renewal (pulumi up ${seconds.toFixed(1)} s) with a writer`, record);
        expectDataNodesKeptSentinelsRestarted(before);
        for (const i of [1, 2, 3]) {
            const want = new crypto.X509Certificate(fs.readFileSync(path.join(certDir, `${th.hosts[i - 1].address}.crt`))).fingerprint256;
            expect(await servedFingerprint(th.hosts[i - 1].address, 6379)).toBe(want);
            expect(await servedFingerprint(th.hosts[i - 1].address, 26379)).toBe(want);
        }
        await writeAndReadBack(target(), "tls:renewed");
        stack.up(["--expect-no-changes"]);
    });

    it("asks clients for a certificate with authClients yes: one without is refused, ioredis with one writes", async () => {
        stack.pulumi(["config", "set", "--path", "tls.authClients", "yes"]);
        stack.up();
        const noCert = onHost(2, `REDISCLI_AUTH='${PASSWORD}' timeout 5 /opt/redis-${version}/bin/redis-cli --tls --cacert /etc/redis/tls-ca.crt ` +
            `-h ${th.hosts[1].address} -p 6379 PING`, true);
        expect(noCert.stdout + noCert.stderr).not.toContain("PONG");
        const withCert = (port: number, pw: string) => onHost(2, `REDISCLI_AUTH='${pw}' /opt/redis-${version}/bin/redis-cli --tls ` +
            `--cacert /etc/redis/tls-ca.crt --cert /etc/redis/tls.crt --key /etc/redis/tls.key -h ${th.hosts[1].address} -p ${port} PING`).stdout.trim();
        expect(withCert(6379, PASSWORD)).toBe("PONG");
        expect(withCert(26379, SENTINEL_PASSWORD)).toBe("PONG");
        const address = th.hosts[0].address;
        const clientCert = { ca, cert: fs.readFileSync(path.join(certDir, `${address}.crt`), "utf8"), key: fs.readFileSync(path.join(certDir, `${address}.key`), "utf8") };
        await writeAndReadBack({ ...target(), tls: clientCert }, "tls:mutual");
        stack.up(["--expect-no-changes"]);
    });

    it("switches a running plaintext cluster to TLS while a client writes: no data node restarted, the master kept, no acknowledged write lost", async () => {
        stack.destroy();
        th = freshHosts(3);
        configureCluster(stack, th, hostEntries(th, 3), PASSWORD, version);
        stack.pulumi(["config", "set", "--path", "--type", "bool", "tls.enabled", "false"]);
        stack.pulumi(["config", "set", "--path", "tls.authClients", "no"]);
        stack.up();
        const plainTarget: DrillTarget = { ...target(), tls: undefined };
        const masterBefore = await masterAddress(plainTarget);
        const masterHost = th.hosts.findIndex((h) => `${h.address}:6379` === masterBefore) + 1;
        const replicaLinks = (list: string) => [...list.matchAll(/^id=(\d+) addr=(\S+)/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
        const linksBefore = replicaLinks(onHost(masterHost, `REDISCLI_AUTH='${PASSWORD}' /opt/redis-${version}/bin/redis-cli -h 127.0.0.1 -p 6379 CLIENT LIST TYPE replica`).stdout);
        expect(linksBefore).toHaveLength(2);
        const before = pids();

        // The writer connected in plaintext before the switch; the check afterwards reads over TLS.
        stack.pulumi(["config", "set", "--path", "--type", "bool", "tls.enabled", "true"]);
        let up: RunResult | undefined;
        const record = await recordWrites(plainTarget, async () => { up = await stack.upAsync(); }, { checkWith: target() });
        reportWrites(`switch to TLS (pulumi up ${up!.seconds.toFixed(1)} s) with a writer connected before it`, record);
        // Data nodes switched live (same processes), Sentinels restarted one at a time, the master where it was.
        expectDataNodesKeptSentinelsRestarted(before);
        for (const i of [1, 2, 3]) {
            expect(onHost(i, "test -e /var/lib/redis-sentinel-pulumi/tls-switching", true).code).not.toBe(0);
            expectNoPlaintext(i);
            const replication = tlsCli(i, "INFO replication");
            if (!replication.includes("role:master")) expect(replication).toMatch(/^master_link_status:up/m);
        }
        expect(await masterAddress(target())).toBe(masterBefore);
        // Replication too: both replicas' links were made again after the master listened on TLS only (new connections).
        const linksAfter = replicaLinks(tlsCli(masterHost, "CLIENT LIST TYPE replica", 6379).replace(/\r/g, ""));
        expect(linksAfter).toHaveLength(2);
        for (const link of linksAfter) expect(linksBefore).not.toContain(link);
        await writeAndReadBack(target(), "tls:switched");
        stack.up(["--expect-no-changes"]);
    });
});
