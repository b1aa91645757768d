/**
 * ACL users, password rotation and the secrets scan, end to end, on three test
 * hosts: a cluster with an application user and a monitor user deploys and
 * verifies; each user can do its job and no more; every password rotates inside
 * one `pulumi up` while a Sentinel-aware writer runs (0 failed commands, 0 lost
 * writes); the applications' old passwords stay valid until
 * keepPreviousAppPasswords is turned off; a failover after all that changes
 * nothing on the next up; and no password or private key shows up anywhere it
 * must not (the scan). The SSH key rotates early, so the passwords derived
 * from it rotate too, before the stack sets its own.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Redis from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { derivedPassword } from "../../src/derived-passwords";
import { DrillTarget, describeErrors, recordWrites } from "../../src/drill";
import { ROOT, RunResult, Stack, TestHosts, configureCluster, freshHosts, hostEntries, onHost, run, waitFor } from "./lib";
import { ClusterProbe, ProbeArgs } from "./probe";

const stack = new Stack("acl");
const version = process.env.REDIS_TEST_VERSION ?? "";
const ORDERS_RULES = "~orders:* +@read +@write -@dangerous";
/** What the operator's drill needs to write its keys (README, npm run drill --user). */
const WRITER_RULES = "~drill:* +@read +@write -@dangerous";
/** The passwords the stack sets, before and after the rotation. */
const OLD = {
    redisPassword: "acl-Redis-password-0123456789",
    sentinelPassword: "acl-Sentinel-password-0123456789",
    monitorPassword: "acl-Monitor-password-0123456789",
    orders: "acl-Orders-password-0123456789",
    writer: "acl-Writer-password-0123456789",
};
const NEW = {
    redisPassword: "rot-Redis-password-9876543210",
    sentinelPassword: "rot-Sentinel-password-9876543210",
    monitorPassword: "rot-Monitor-password-9876543210",
    orders: "rot-Orders-password-9876543210",
    deployerPassword: "rot-Deployer-password-9876543210",
    replicationPassword: "rot-Replication-password-9876543210",
    sentinelAuthPassword: "rot-SentinelAuth-password-9876543210",
    sentinelPeerPassword: "rot-SentinelPeer-password-9876543210",
};
let th: TestHosts;
/** The cluster passwords the stack does not set, as derived from the SSH key: read from a host's secrets file. */
let generated: Record<string, string> = {};
/** Every derived password the hosts held, for the scan. */
/** The config key each derived host secret stands in for. */
const PURPOSE: Record<string, string> = {
    DEPLOYER_PASSWORD: "deployerPassword", REPLICATION_PASSWORD: "replicationPassword",
    SENTINEL_AUTH_PASSWORD: "sentinelAuthPassword", SENTINEL_PEER_PASSWORD: "sentinelPeerPassword",
};
const everGenerated: string[] = [];
/** The SSH key the stack logs in with after the key rotation. */
let newSshKey = "";
let newSshFingerprint = "";
/** Every CLI output of this file's pulumi runs: the scan reads them. */
const cliOutputs: string[] = [];
let current = { redis: OLD.redisPassword, sentinel: OLD.sentinelPassword };
const probeArgs: ProbeArgs = {
    hosts: () => th, count: () => 3, version: () => version,
    // read when used: the passwords change in the rotation test
    get password() { return current.redis; },
    get sentinelPassword() { return current.sentinel; },
};
const probe = new ClusterProbe(probeArgs);

const record = (r: RunResult) => { cliOutputs.push(r.stdout, r.stderr); return r; };
const cliPath = () => `/opt/redis-${version}/bin/redis-cli`;
/** redis-cli on host i as USER with PASSWORD (the password on stdin, into REDISCLI_AUTH on the host). */
function as(i: number, user: string, password: string, args: string, port = 6379): string {
    const r = run(path.join(ROOT, "harness", "testhosts.sh"), ["ssh", String(i),
        `IFS= read -r p; REDISCLI_AUTH=$p ${cliPath()} -h 127.0.0.1 -p ${port} --user ${user} ${args} 2>&1`], { input: `${password}\n` });
    return r.stdout.trim();
}
/** The host secrets file of host i as a name -> value map (read as root over SSH). */
function hostSecrets(i: number): Record<string, string> {
    const out: Record<string, string> = {};
    for (const line of onHost(i, "cat /var/lib/redis-sentinel-pulumi/secrets.env").stdout.split("\n")) {
        const eq = line.indexOf("=");
        if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
    }
    return out;
}
const target = (pw = current): DrillTarget => ({
    sentinels: th.hosts.slice(0, 3).map((h) => ({ host: h.address, port: 26379 })),
    masterName: "mymaster", password: pw.redis, sentinelPassword: pw.sentinel,
});
/** Denials in the ACL LOG of host i's data node (or Sentinel) for these users: "user reason object". */
function aclDenials(i: number, users: readonly string[], port = 6379): string[] {
    const pw = port === 26379 ? current.sentinel : current.redis;
    const lines = as(i, "default", pw, "ACL LOG 128", port).split("\n");
    const out: string[] = [];
    let entry: Record<string, string> = {};
    const flush = () => { if (users.includes(entry.username)) out.push(`${entry.username} ${entry.reason} ${entry.object}`); entry = {}; };
    for (let k = 0; k + 1 < lines.length; k += 2) {
        if (lines[k] === "count") flush();
        entry[lines[k]] = lines[k + 1];
    }
    flush();
    return out;
}

describe("ACL users, password rotation and the secrets scan", () => {
    beforeAll(() => {
        th = freshHosts(3);
        if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error("REDIS_TEST_VERSION is not set (scripts/test-e2e.sh sets it)");
        stack.init();
        configureCluster(stack, th, hostEntries(th, 3), OLD.redisPassword, version);
        stack.set("sentinelPassword", OLD.sentinelPassword, true);
        stack.set("monitorPassword", OLD.monitorPassword, true);
        stack.setObject("aclUsers", [{ name: "orders", rules: ORDERS_RULES }, { name: "writer", rules: WRITER_RULES }]);
        stack.pulumi(["config", "set", "--secret", "--path", "aclUserPasswords.orders"], { input: OLD.orders });
        stack.pulumi(["config", "set", "--secret", "--path", "aclUserPasswords.writer"], { input: OLD.writer });
    });
    afterAll(() => {
        try { stack.destroy(); } finally { stack.remove(); }
    });

    it("deploys a cluster whose users each do their job and no more", async () => {
        const up = record(stack.up());
        console.log(`measured: first pulumi up with ACL users took ${up.seconds.toFixed(1)} s`);
        const out = stack.outputs();
        expect(out.sentinelQuorum).toMatch(/^OK 3 usable Sentinels/);
        expect(out.applicationUsers).toEqual([
            { name: "default", rules: "~* &* +@all", password: "<redisPassword>" },
            { name: "orders", rules: ORDERS_RULES, password: "<aclUserPasswords.orders>" },
            { name: "writer", rules: WRITER_RULES, password: "<aclUserPasswords.writer>" },
        ]);
        generated = hostSecrets(1);
        everGenerated.push(...Object.values(generated));
        for (const k of ["DEPLOYER_PASSWORD", "REPLICATION_PASSWORD", "SENTINEL_AUTH_PASSWORD", "SENTINEL_PEER_PASSWORD"]) {
            expect(generated[k], k).toBe(derivedPassword(fs.readFileSync(th.key, "utf8"), "redis-sentinel", stack.name, PURPOSE[k]));
            expect(hostSecrets(2)[k]).toBe(generated[k]);
        }
        // The cluster's own traffic was never denied (the verification checks it too).
        for (const i of [1, 2, 3]) {
            expect(aclDenials(i, ["deployer", "replication", "sentinel"])).toEqual([]);
            expect(aclDenials(i, ["sentinel-peer"], 26379)).toEqual([]);
        }

        // replication: its job (PING; PSYNC is the replicas' own, checked by their link) and no data.
        expect(as(1, "replication", generated.REPLICATION_PASSWORD, "PING")).toBe("PONG");
        expect(as(1, "replication", generated.REPLICATION_PASSWORD, "SET orders:1 x")).toMatch(/^NOPERM/);
        expect(as(1, "replication", generated.REPLICATION_PASSWORD, "GET orders:1")).toMatch(/^NOPERM/);
        for (const i of [2, 3]) expect(as(i, "default", OLD.redisPassword, "INFO replication")).toMatch(/master_link_status:up/);
        // sentinel: what Sentinel sends, not data or configuration.
        expect(as(1, "sentinel", generated.SENTINEL_AUTH_PASSWORD, "ROLE")).toMatch(/^master/);
        expect(as(1, "sentinel", generated.SENTINEL_AUTH_PASSWORD, "GET orders:1")).toMatch(/^NOPERM/);
        expect(as(1, "sentinel", generated.SENTINEL_AUTH_PASSWORD, "CONFIG SET maxmemory 1")).toMatch(/^NOPERM/);
        // The application user: its keys, not others', and nothing dangerous.
        expect(as(1, "orders", OLD.orders, "SET orders:1 x")).toBe("OK");
        expect(as(1, "orders", OLD.orders, "SET billing:1 x")).toMatch(/^NOPERM/);
        expect(as(1, "orders", OLD.orders, "CONFIG SET maxmemory 1")).toMatch(/^NOPERM/);
        expect(as(1, "orders", OLD.orders, "FLUSHALL")).toMatch(/^NOPERM/);
        // monitor: reads state, not keys and not configuration (CONFIG GET would show masterauth).
        expect(as(1, "monitor", OLD.monitorPassword, "INFO server")).toMatch(/redis_version:/);
        expect(as(1, "monitor", OLD.monitorPassword, "GET orders:1")).toMatch(/^NOPERM/);
        expect(as(1, "monitor", OLD.monitorPassword, "CONFIG GET masterauth")).toMatch(/^NOPERM/);
        // default keeps working for password-only clients; a wrong password does not.
        expect(as(2, "default", OLD.redisPassword, "GET orders:1")).toBe("x");
        expect(as(1, "default", "not-the-password-0123456789", "PING")).toMatch(/WRONGPASS|AUTH failed/);

        // ioredis through the Sentinels as the application user.
        const c = new Redis({
            sentinels: [...target().sentinels], name: "mymaster", username: "orders", password: OLD.orders,
            sentinelPassword: OLD.sentinelPassword, maxRetriesPerRequest: 1,
        });
        try {
            await c.set("orders:ioredis", "via-sentinel");
            expect(await c.get("orders:ioredis")).toBe("via-sentinel");
            await expect(c.set("billing:ioredis", "x")).rejects.toThrow(/NOPERM/);
        } finally {
            c.disconnect();
        }
        // The same test user denials just made are in the log, under the users that made them.
        expect(aclDenials(1, ["replication"]).length).toBeGreaterThan(0);
        for (const i of [1, 2, 3]) as(i, "default", OLD.redisPassword, "ACL LOG RESET");
    });

    it("rotates the SSH key: the steps log in with the new one, the derived passwords rotate with it, nothing restarts", async () => {
        const before = generated;
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acl-ssh-"));
        try {
            run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", path.join(dir, "key")]);
            newSshKey = fs.readFileSync(path.join(dir, "key"), "utf8");
            const pub = fs.readFileSync(path.join(dir, "key.pub"), "utf8");
            newSshFingerprint = run("ssh-keygen", ["-l", "-f", path.join(dir, "key.pub")]).stdout.split(/\s+/)[1];
            // As README "Rotating the SSH key" says: the new public key beside the old one first.
            for (const i of [1, 2, 3]) run(path.join(ROOT, "harness", "testhosts.sh"), ["ssh", String(i), "cat >> /root/.ssh/authorized_keys"], { input: pub });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
        const pids = probe.pids();
        const master = await probe.masterIndex();
        stack.set("sshPrivateKey", newSshKey, true);
        const up = record(stack.up());
        console.log(`measured: SSH key rotation up took ${up.seconds.toFixed(1)} s (${/~ (\d+) updated/.exec(up.stdout)?.[1] ?? 0} steps ran again)`);
        expect(up.stdout).not.toMatch(/\b\d+ (created|replaced|deleted)\b/);
        expect(up.stdout).toMatch(/rotating: /);
        expect(probe.pids()).toEqual(pids);
        expect(await probe.masterIndex()).toBe(master);
        // sshd says which key each login used: the steps used the new one on every host.
        for (const i of [1, 2, 3]) {
            expect(onHost(i, "journalctl --no-pager -o cat -u ssh -u sshd 2>/dev/null | grep 'Accepted publickey' || true").stdout).toContain(newSshFingerprint);
        }
        // The cluster's own passwords the stack does not set follow the key: rotated, live.
        generated = hostSecrets(1);
        everGenerated.push(...Object.values(generated));
        const users: [string, string, number][] = [
            ["deployer", "DEPLOYER_PASSWORD", 6379], ["replication", "REPLICATION_PASSWORD", 6379],
            ["sentinel", "SENTINEL_AUTH_PASSWORD", 6379], ["sentinel-peer", "SENTINEL_PEER_PASSWORD", 26379],
        ];
        for (const [user, k, port] of users) {
            expect(generated[k], k).toBe(derivedPassword(newSshKey, "redis-sentinel", stack.name, PURPOSE[k]));
            expect(generated[k], k).not.toBe(before[k]);
            for (const i of [1, 2, 3]) {
                expect(as(i, user, generated[k], "PING", port)).toBe("PONG");
                expect(as(i, user, before[k], "PING", port)).toMatch(/WRONGPASS|AUTH failed/);
            }
        }
        // Those refused logins were this test's own.
        for (const i of [1, 2, 3]) {
            as(i, "deployer", generated.DEPLOYER_PASSWORD, "ACL LOG RESET");
            as(i, "default", OLD.sentinelPassword, "ACL LOG RESET", 26379);
        }
        record(stack.up(["--expect-no-changes"]));
    });


    it("rotates every password inside one up with a writer running: 0 failed commands, 0 lost writes", async () => {
        const pidsBefore = probe.pids();
        stack.set("keepPreviousAppPasswords", "true");
        for (const k of ["redisPassword", "sentinelPassword", "monitorPassword", "deployerPassword", "replicationPassword", "sentinelAuthPassword", "sentinelPeerPassword"] as const) {
            stack.set(k, NEW[k], true);
        }
        stack.pulumi(["config", "set", "--secret", "--path", "aclUserPasswords.orders"], { input: NEW.orders });

        // The writer logged in with the old application passwords, as a running application is.
        let upRun: RunResult | undefined;
        const w = await recordWrites(target(), async () => {
            // The provider's own logs too (--logflow -v=8; at -v=9 the engine traces RPC payloads, secrets included).
            upRun = await stack.upAsync(["--logflow", "--logtostderr", "-v=8"]);
        });
        record(upRun!);
        const failed = Object.values(w.errors).reduce((a, b) => a + b, 0);
        console.log(`measured: rotation of every password in one up (${upRun!.seconds.toFixed(1)} s): writes acknowledged ${w.writesAcknowledged}, ` +
            `lost ${w.writesLost}, failed commands ${failed} (${describeErrors(w.errors)}), longest write pause ${w.writePauseSeconds} s`);
        expect(w.writesAcknowledged).toBeGreaterThan(100);
        expect(w.writesLost).toBe(0);
        expect(failed).toBe(0);
        expect(probe.pids()).toEqual(pidsBefore); // nothing restarted
        expect(upRun!.stdout).toMatch(/rotating: /);

        // The new passwords work; the cluster's own old ones do not; the applications' old ones still do.
        current = { redis: NEW.redisPassword, sentinel: NEW.sentinelPassword };
        for (const i of [1, 2, 3]) {
            expect(as(i, "deployer", NEW.deployerPassword, "PING")).toBe("PONG");
            expect(as(i, "deployer", generated.DEPLOYER_PASSWORD, "PING")).toMatch(/WRONGPASS|AUTH failed/);
            expect(as(i, "replication", generated.REPLICATION_PASSWORD, "PING")).toMatch(/WRONGPASS|AUTH failed/);
            expect(as(i, "sentinel-peer", generated.SENTINEL_PEER_PASSWORD, "PING", 26379)).toMatch(/WRONGPASS|AUTH failed/);
            expect(as(i, "default", OLD.redisPassword, "PING")).toBe("PONG");
            expect(as(i, "default", NEW.redisPassword, "PING")).toBe("PONG");
            expect(as(i, "orders", OLD.orders, "EXISTS orders:1")).toMatch(/^\d$/);
            expect(as(i, "default", OLD.sentinelPassword, "PING", 26379)).toBe("PONG");
            const secrets = onHost(i, "cut -d= -f1 /var/lib/redis-sentinel-pulumi/secrets.env").stdout;
            expect(secrets).toMatch(/^PREVIOUS_REDIS_PASSWORD$/m);
            expect(secrets).not.toMatch(/^PREVIOUS_(DEPLOYER|REPLICATION|SENTINEL_AUTH|SENTINEL_PEER)_PASSWORD$/m);
        }
        // Those refused logins were this test's; what follows must add none of the cluster's own.
        for (const i of [1, 2, 3]) {
            as(i, "deployer", NEW.deployerPassword, "ACL LOG RESET");
            as(i, "default", NEW.sentinelPassword, "ACL LOG RESET", 26379);
        }
        // The links use the new passwords once they reconnect: force it, and they come back.
        as(1, "deployer", NEW.deployerPassword, "CLIENT KILL TYPE replica");
        for (const i of [2, 3]) {
            await waitFor(`host${i} replicating again`, () => /master_link_status:up/.test(as(i, "deployer", NEW.deployerPassword, "INFO replication")) ? true : undefined, 30_000);
        }
        for (const i of [1, 2, 3]) as(i, "deployer", NEW.deployerPassword, "CLIENT KILL USER sentinel");
        await waitFor("the Sentinels back on every data node", () => /^OK 3 usable/.test(as(1, "default", NEW.sentinelPassword, "SENTINEL CKQUORUM mymaster", 26379)) ? true : undefined, 30_000);
        for (const i of [1, 2, 3]) {
            expect(aclDenials(i, ["deployer", "replication", "sentinel"])).toEqual([]);
            expect(aclDenials(i, ["sentinel-peer"], 26379)).toEqual([]);
        }
        record(stack.up(["--expect-no-changes"]));
    });

    it("retires the applications' old passwords once keepPreviousAppPasswords is off", () => {
        stack.set("keepPreviousAppPasswords", "false");
        expect(stack.previewSteps()).toEqual(["update host1-acl-retire", "update host2-acl-retire", "update host3-acl-retire"]);
        record(stack.up());
        for (const i of [1, 2, 3]) {
            expect(as(i, "default", OLD.redisPassword, "PING")).toMatch(/WRONGPASS|AUTH failed/);
            expect(as(i, "orders", OLD.orders, "PING")).toMatch(/WRONGPASS|AUTH failed/);
            expect(as(i, "default", OLD.sentinelPassword, "PING", 26379)).toMatch(/WRONGPASS|AUTH failed/);
            expect(as(i, "default", NEW.redisPassword, "PING")).toBe("PONG");
            expect(onHost(i, "cut -d= -f1 /var/lib/redis-sentinel-pulumi/secrets.env").stdout).not.toMatch(/^(PREVIOUS_|NEW_SECRETS)/m);
            // Only the current hashes are left in the files (one per user).
            expect(onHost(i, "grep '^user default ' /etc/redis/redis.conf").stdout.match(/#[0-9a-f]{64}/g)).toHaveLength(1);
        }
    });

    it("fails over after all that, and the next up changes nothing", async () => {
        const before = await probe.masterIndex();
        expect(as(2, "default", NEW.sentinelPassword, "SENTINEL FAILOVER mymaster", 26379)).toBe("OK");
        await waitFor("a new master", async () => (await probe.masterIndex()) !== before ? true : undefined, 60_000, 1000);
        await waitFor("every Sentinel agreeing, with the old master as a replica", () =>
            [1, 2, 3].every((i) => /^OK 3 usable/.test(as(i, "default", NEW.sentinelPassword, "SENTINEL CKQUORUM mymaster", 26379))) &&
            /role:slave[\s\S]*master_link_status:up/.test(as(before, "deployer", NEW.deployerPassword, "INFO replication")) ? true : undefined, 60_000, 1000);
        record(stack.up(["--expect-no-changes"]));
        for (const i of [1, 2, 3]) {
            expect(aclDenials(i, ["deployer", "replication", "sentinel"])).toEqual([]);
            expect(aclDenials(i, ["sentinel-peer"], 26379)).toEqual([]);
        }
    });

    it("runs the operator's drill as an application user, and removes a user the stack no longer lists", () => {
        const out = record(run("npm", ["run", "--silent", "drill", "--", "--stack", stack.name, "--mode", "handover", "--user", "writer"],
            { timeoutMs: 5 * 60_000 })).stdout;
        console.log(`measured: npm run drill --mode handover --user writer:\n${out}`);
        expect(out).toMatch(/acknowledged writes lost: +0$/m);
        expect(Number(/writes acknowledged: +(\d+)/.exec(out)?.[1])).toBeGreaterThan(0);

        // The writer user goes from the stack: its ACL user goes from every node.
        stack.setObject("aclUsers", [{ name: "orders", rules: ORDERS_RULES }]);
        stack.pulumi(["config", "rm", "--path", "aclUserPasswords.writer"]);
        const up = record(stack.up());
        expect(up.stdout).toMatch(/deleted user writer/);
        for (const i of [1, 2, 3]) {
            expect(as(i, "deployer", NEW.deployerPassword, "ACL USERS").split("\n").sort()).toEqual(["default", "deployer", "monitor", "orders", "replication", "sentinel"]);
            expect(onHost(i, "grep -c '^user writer ' /etc/redis/redis.conf || true").stdout.trim()).toBe("0");
        }
    });

    it("leaks no password or private key: state, CLI and provider output, processes, journal, logs, readable files", () => {
        const secrets = [...new Set([
            ...Object.values(OLD), ...Object.values(NEW),
            ...everGenerated,
        ])];
        // The SSH private keys, old and new: every base64 line of a key's body is long enough to be unique.
        const keyLines = [fs.readFileSync(th.key, "utf8"), newSshKey].flatMap((k) => k.split("\n").filter((l) => /^[A-Za-z0-9+/=]{40,}$/.test(l)));
        expect(keyLines.length).toBeGreaterThan(4);
        const patterns = [...secrets, ...keyLines];
        const label = (p: string) => (keyLines.includes(p) ? "a line of an SSH private key" : `password ${p.slice(0, 8)}...`);
        const found = (where: string, text: string) => patterns.filter((p) => text.includes(p)).map((p) => `${where}: ${label(p)}`);

        const leaks: string[] = [];
        leaks.push(...found("pulumi stack export", stack.pulumi(["stack", "export"]).stdout));
        cliOutputs.forEach((o, k) => leaks.push(...found(`CLI output ${k}`, o)));
        // On each host: process arguments and environments, the journal, /var/log, and
        // every file the unprivileged user nobody can read (the service user is redis).
        const scan = [
            "set -u; IFS= read -r _; f=$(mktemp); cat > \"$f\"; chmod 0644 \"$f\"",
            "for p in /proc/[0-9]*; do for k in cmdline environ; do tr '\\0' '\\n' < $p/$k 2>/dev/null | grep -qFf \"$f\" && echo \"$p/$k\"; done; done",
            "journalctl --no-pager -o cat 2>/dev/null | grep -qFf \"$f\" && echo journal",
            "grep -rlFf \"$f\" /var/log 2>/dev/null",
            "runuser -u nobody -- grep -rlFf \"$f\" / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev --exclude-dir=run/sentinel-testhosts 2>/dev/null | grep -v \"^$f$\"",
            "rm -f \"$f\"; true",
        ].join("\n");
        const scanHost = (i: number, what: readonly string[]) => run(path.join(ROOT, "harness", "testhosts.sh"), ["ssh", String(i), scan],
            { input: `-\n${what.join("\n")}\n` }).stdout.split("\n").filter((l) => l.trim() !== "");
        for (const i of [1, 2, 3]) leaks.push(...scanHost(i, patterns).map((where) => `host${i}: ${where}`));

        // A control, so the scan is known to see what it looks for: a canary on host 3
        // in a world-readable file, a running process's arguments and environment, and
        // the journal; a scan for it alone must report each of those.
        const CANARY = "canary-0f1e2d3c4b5a69788796a5b4c3d2e1f0";
        run(path.join(ROOT, "harness", "testhosts.sh"), ["ssh", "3",
            "IFS= read -r c; umask 022; printf '%s\\n' \"$c\" > /var/tmp/scan-canary; logger -t scan-canary \"$c\"; " +
            "systemd-run --quiet --unit scan-canary --setenv=CANARY_ENV=\"$c\" sh -c 'sleep 120; :' \"$c\""], { input: `${CANARY}\n` });
        try {
            const seen = scanHost(3, [CANARY]);
            expect(seen.some((l) => /^\/proc\/\d+\/cmdline$/.test(l)), seen.join(", ")).toBe(true);
            expect(seen.some((l) => /^\/proc\/\d+\/environ$/.test(l)), seen.join(", ")).toBe(true);
            expect(seen, seen.join(", ")).toContain("journal");
            expect(seen, seen.join(", ")).toContain("/var/tmp/scan-canary");
        } finally {
            onHost(3, "systemctl stop scan-canary; rm -f /var/tmp/scan-canary; true");
        }
        console.log(`measured: secrets scan: ${patterns.length} patterns (${secrets.length} passwords, ${keyLines.length} key lines), ` +
            `${cliOutputs.length / 2} pulumi runs' output, stack export, 3 hosts: ${leaks.length} leak(s)`);
        expect(leaks).toEqual([]);
    });
});
