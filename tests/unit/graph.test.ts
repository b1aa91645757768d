/**
 * The resource graph, through Pulumi's mocks: which steps exist on which host,
 * what would reach each host, the start order, and that secrets stay secret.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { parseClusterConfig } from "../../src/config";
import { RedisSentinelCluster } from "../../src/components/cluster";
import { HOSTS, HOST_KEYS, PRIVATE_KEY, REDIS_PASSWORD, raw, sshKeygen } from "./fixtures";
import { Registered, isSecret, recordGraph, registration } from "./mock-graph";

let registered: Map<string, Registered>;

beforeAll(async () => {
    registered = await recordGraph("test", (a) =>
        a.type === "command:remote:Command" && a.name.endsWith("-verify")
            ? { stdout: '{"master":{"name":"redis-1","address":"10.0.0.1","port":6379},"replicas":[],"sentinels":[],"ckquorum":"OK 3 usable Sentinels"}' }
            : {});
});

async function deploy(overrides: Record<string, string> = {}) {
    registered.clear();
    const cluster = new RedisSentinelCluster("redis", {
        config: parseClusterConfig(raw(overrides)),
        sshPrivateKey: pulumi.secret(PRIVATE_KEY),
        redisPassword: pulumi.secret(REDIS_PASSWORD),
    });
    // Let registrations settle.
    await new Promise<void>((resolve) => cluster.verified.apply(() => resolve()));
    return cluster;
}
/**
 * What a host step runs: `sh -c SCRIPT VERB` taken apart, with the named inputs
 * (and host facts) its generated header assigns.
 */
function hostScriptOf(commandLine: string): { verb: string; text: string; vars: Record<string, string> } {
    const m = /^(?:sudo -n )?sh -c '(.*)' '([a-z-]+)'$/s.exec(commandLine);
    if (!m) throw new Error(`not a host script: ${commandLine.slice(0, 80)}`);
    const text = m[1].replace(/'"'"'/g, "'");
    const vars: Record<string, string> = {};
    for (const [, k, v] of text.matchAll(/^([A-Z][A-Z0-9_]*)='((?:[^']|'"'"')*)'$/gm)) vars[k] = v.replace(/'"'"'/g, "'");
    return { verb: m[2], text, vars };
}
/** The connection as the provider would get it: a secret, because it holds the key. */
const connection = (name: string) => {
    const c = cmd(name).inputs.connection;
    expect(isSecret(c)).toBe(true);
    return c.value;
};
const cmd = (name: string) => registration(registered, name);

describe("resource graph", () => {
    it("creates every step on every host, named after the host and parented to its component", async () => {
        await deploy();
        for (const h of ["redis-1", "redis-2", "redis-3"]) {
            for (const step of ["prepare", "sysctl", "thp", "secrets", "copy-redis-server", "copy-redis-cli", "install", "redis-config", "redis-unit", "redis-service"]) {
                expect(cmd(`${h}-${step}`).parent).toBe(h);
            }
            for (const step of ["sentinel-config", "sentinel-unit", "sentinel-service"]) {
                expect(cmd(`${h}-${step}`).parent).toBe(`${h}-sentinel`);
            }
            expect(cmd(h).parent).toBe("redis");
        }
        expect(cmd("redis-verify").parent).toBe("redis");
    });

    it("starts the initial master first, then replicas, then Sentinels, then verifies", async () => {
        await deploy();
        expect(cmd("redis-1-redis-service").deps).not.toContain("redis-2-redis-service");
        expect(cmd("redis-2-redis-service").deps).toContain("redis-1-redis-service");
        expect(cmd("redis-3-redis-service").deps).toContain("redis-1-redis-service");
        for (const h of ["redis-1", "redis-2", "redis-3"]) {
            expect(cmd(`${h}-sentinel-service`).deps).toEqual(expect.arrayContaining(
                ["redis-1-redis-service", "redis-2-redis-service", "redis-3-redis-service", `${h}-sentinel-config`, `${h}-sentinel-unit`]));
            expect(cmd(`${h}-install`).deps).toEqual(expect.arrayContaining([`${h}-copy-redis-server`, `${h}-copy-redis-cli`]));
            expect(cmd(`${h}-redis-config`).deps).toEqual(expect.arrayContaining([`${h}-install`, `${h}-secrets`]));
        }
        // The rolling restart: every file in place first, then one host at a time,
        // the replica pass on every host before the master pass; then the verification.
        expect(cmd("redis-1-restart").deps).toEqual(expect.arrayContaining(
            ["redis-3-sentinel-service", "redis-2-redis-config", "redis-1-install", "redis-3-redis-unit"]));
        const chain = ["redis-1-restart", "redis-2-restart", "redis-3-restart", "redis-1-restart-master", "redis-2-restart-master", "redis-3-restart-master"];
        for (let i = 1; i < chain.length; i++) expect(cmd(chain[i]).deps).toEqual([chain[i - 1]]);
        expect(cmd("redis-2-restart").parent).toBe("redis-2");
        expect(hostScriptOf(cmd("redis-2-restart").inputs.create)).toMatchObject({ verb: "restart", vars: { PASS: "replicas" } });
        expect(hostScriptOf(cmd("redis-2-restart-master").inputs.create)).toMatchObject({ verb: "restart", vars: { PASS: "master" } });
        // Then, from the initial master's host, stale Sentinel entries are forgotten.
        expect(cmd("redis-1-forget-stale").deps).toEqual(["redis-3-restart-master"]);
        const tidy = hostScriptOf(cmd("redis-1-forget-stale").inputs.create);
        expect(tidy.verb).toBe("tidy");
        expect(tidy.vars.PEERS).toBe("10.0.0.1:26379 10.0.0.2:26379 10.0.0.3:26379");
        expect(tidy.vars.REVISION).toMatch(/^[0-9a-f]{16}$/);
        expect(cmd("redis-verify").deps).toEqual(["redis-1-forget-stale"]);
    });

    it("sends each host its own rendered file on stdin, with placeholders instead of passwords", async () => {
        await deploy();
        const conf = cmd("redis-2-redis-config").inputs;
        expect(conf.stdin).toContain("replicaof 10.0.0.1 6379\n");
        expect(conf.stdin).toContain("requirepass @@REDIS_PASSWORD@@\n");
        expect(conf.create).toMatch(/^sh -c '/);
        expect(cmd("redis-1-redis-config").inputs.stdin).not.toMatch(/^replicaof/m);
        expect(cmd("redis-3-sentinel-config").inputs.stdin).toContain("sentinel monitor mymaster 10.0.0.1 6379 2\n");
        expect(cmd("redis-2-copy-redis-server").inputs.remotePath).toBe(`/var/lib/redis-sentinel-pulumi/stage/redis-server-${"a".repeat(16)}`);
        expect(hostScriptOf(cmd("redis-2-install").inputs.create).vars).toMatchObject({
            SERVER_SHA256: "a".repeat(64), CLI_SHA256: "b".repeat(64), INSTALL_DIR: "/opt/redis-8.2.2", REDIS_VERSION: "8.2.2",
        });
        expect(cmd("redis-2").type).toBe("redis-sentinel:index:DataNode");
    });

    it("keeps passwords and the SSH key secret and out of every command line", async () => {
        await deploy();
        let commands = 0;
        for (const r of registered.values()) {
            if (!r.type.startsWith("command:")) continue;
            commands++;
            // The connection (it holds the key) is a secret as a whole.
            expect(isSecret(r.inputs.connection)).toBe(true);
            expect(r.inputs.connection.value.privateKey).toBe(PRIVATE_KEY);
            for (const field of ["create", "delete", "update"]) {
                expect(JSON.stringify(r.inputs[field] ?? "")).not.toContain(REDIS_PASSWORD);
                expect(JSON.stringify(r.inputs[field] ?? "")).not.toContain(PRIVATE_KEY.split("\n")[1]);
            }
            // stdin carries a password only as a secret.
            if (JSON.stringify(r.inputs.stdin ?? "").includes(REDIS_PASSWORD)) expect(isSecret(r.inputs.stdin)).toBe(true);
        }
        expect(commands).toBe(3 * 15 + 2 + 3); // per host, cluster-wide (forget-stale, verify), SSH checks
        const secrets = cmd("redis-1-secrets").inputs.stdin;
        expect(isSecret(secrets)).toBe(true);
        expect(secrets.value).toBe(`REDIS_PASSWORD=${REDIS_PASSWORD}\nSENTINEL_PASSWORD=${REDIS_PASSWORD}\n`);
        expect(isSecret(cmd("redis-verify").inputs.stdin)).toBe(true);
    });

    it("checks every host's SSH identity and login before anything is put on any host", async () => {
        await deploy();
        const checks = ["redis-ssh-check-redis-1", "redis-ssh-check-redis-2", "redis-ssh-check-redis-3"];
        for (const [i, c] of checks.entries()) {
            expect(cmd(c).parent).toBe("redis");
            expect(cmd(c).inputs.create).toBe("true");
            expect(cmd(c).deps).toEqual([]);
            expect(connection(c).hostKey).toBe(HOST_KEYS[i]);
        }
        const closure = (name: string, seen = new Set<string>()): Set<string> => {
            for (const d of registered.get(name)?.deps ?? []) if (!seen.has(d)) closure(d, seen.add(d));
            return seen;
        };
        let gated = 0;
        for (const r of registered.values()) {
            if (!r.type.startsWith("command:") || checks.includes(r.name)) continue;
            expect([...closure(r.name)], r.name).toEqual(expect.arrayContaining(checks));
            gated++;
        }
        expect(gated).toBe(3 * 15 + 2);
    });

    it("hands the key's passphrase to the provider only when the stack has one, as a secret", async () => {
        await deploy();
        expect(connection("redis-1-prepare")).not.toHaveProperty("privateKeyPassword");
        registered.clear();
        const encrypted = sshKeygen("graph-encrypted", ["-t", "ed25519"], "graph passphrase");
        const cluster = new RedisSentinelCluster("redis", {
            config: parseClusterConfig(raw({ sshPrivateKey: encrypted.privateKey, sshPrivateKeyPassword: "graph passphrase" })),
            sshPrivateKey: pulumi.secret(encrypted.privateKey),
            sshPrivateKeyPassword: pulumi.secret("graph passphrase"),
            redisPassword: pulumi.secret(REDIS_PASSWORD),
        });
        await new Promise<void>((resolve) => cluster.verified.apply(() => resolve()));
        for (const step of ["redis-ssh-check-redis-2", "redis-2-prepare", "redis-2-copy-redis-server", "redis-verify"]) {
            expect(connection(step).privateKeyPassword).toBe("graph passphrase");
        }
        for (const r of registered.values()) {
            for (const field of ["create", "delete", "update", "stdin"]) expect(JSON.stringify(r.inputs[field] ?? "")).not.toContain("graph passphrase");
        }
    });

    it("runs through sudo for a non-root SSH user", async () => {
        await deploy({ hosts: JSON.stringify([
            { ...HOSTS[0], sshUser: "deploy", sshPort: 2222 },
            { ...HOSTS[1], sshUser: "deploy" },
            HOSTS[2],
        ]) });
        expect(cmd("redis-1-prepare").inputs.create).toMatch(/^sudo -n sh -c '/);
        expect(cmd("redis-1-install").inputs.delete).toBe("sudo -n sh -c 'rm -rf -- '\"'\"'/opt/redis-8.2.2'\"'\"''");
        expect(connection("redis-1-prepare").user).toBe("deploy");
        expect(connection("redis-1-prepare").port).toBe(2222);
        expect(cmd("redis-3-prepare").inputs.create).toMatch(/^sh -c '/);
    });

    it("pins each host's key, and leaves it unchecked only where the stack opts out", async () => {
        await deploy({ insecureSkipHostKeyCheck: "true", hosts: JSON.stringify([
            { name: "redis-1", address: "10.0.0.1", role: "master", hostKey: HOST_KEYS[0] },
            { name: "redis-2", address: "10.0.0.2" }, { name: "redis-3", address: "10.0.0.3" },
        ]) });
        expect(connection("redis-1-install").hostKey).toBe(HOST_KEYS[0]);
        expect(connection("redis-2-install").hostKey).toBeUndefined();
    });

    it("changes only the config steps and the verification when maxmemory changes", async () => {
        await deploy();
        const before = new Map([...registered].map(([k, v]) => [k, JSON.stringify(v.inputs)]));
        await deploy({ maxmemory: "512mb" });
        const changed = [...registered].filter(([k, v]) => before.get(k) !== JSON.stringify(v.inputs)).map(([k]) => k).sort();
        expect(changed).toEqual(["redis-1-redis-config", "redis-2-redis-config", "redis-3-redis-config", "redis-verify"]);
    });

    it("re-runs every step on a rebuilt host (pinned again) and the verification, nothing on the other hosts", async () => {
        await deploy();
        const before = new Map([...registered].map(([k, v]) => [k, JSON.stringify(v.inputs)]));
        const rebuilt = sshKeygen("graph-rebuilt-host", ["-t", "ed25519"]).publicKey;
        await deploy({ hosts: JSON.stringify([HOSTS[0], { ...HOSTS[1], hostKey: rebuilt }, HOSTS[2]]) });
        const changed = [...registered].filter(([k, v]) => before.get(k) !== JSON.stringify(v.inputs)).map(([k]) => k).sort();
        expect(changed).toContain("redis-verify");
        expect(changed).toContain("redis-ssh-check-redis-2");
        const steps = (prefix: string) => [...registered.values()].filter((r) => r.type.startsWith("command:") && r.name.startsWith(prefix)).map((r) => r.name).sort();
        expect(changed.filter((k) => k.startsWith("redis-2-"))).toEqual(steps("redis-2-"));
        expect(changed.filter((k) => k.startsWith("redis-1-") || k.startsWith("redis-3-"))).toEqual([]);
        expect(cmd("redis-verify").inputs.create).toMatch(/ # revision \S+ hosts [0-9a-f]{12}$/);
    });

    it("changes the config and restart steps when the port changes", async () => {
        await deploy();
        const before = new Map([...registered].map(([k, v]) => [k, JSON.stringify(v.inputs)]));
        await deploy({ redisPort: "6380" });
        const changed = [...registered].filter(([k, v]) => before.get(k) !== JSON.stringify(v.inputs)).map(([k]) => k).sort();
        // redis-service and sentinel-service change too: their wait-for-PING uses the port.
        for (const h of ["redis-1", "redis-2", "redis-3"]) {
            expect(changed).toEqual(expect.arrayContaining([`${h}-redis-config`, `${h}-sentinel-config`, `${h}-restart`, `${h}-restart-master`]));
            expect(changed).not.toContain(`${h}-redis-unit`);
            expect(changed).not.toContain(`${h}-install`);
        }
        expect(changed).toContain("redis-1-forget-stale");
    });

    it("keeps the data directory on destroy unless asked to purge it", async () => {
        await deploy();
        expect(cmd("redis-1-prepare").inputs.delete).toBeUndefined();
        // Destroying a data node hands its role over and has the other Sentinels forget it.
        expect(hostScriptOf(cmd("redis-1-redis-service").inputs.delete)).toMatchObject({ verb: "leave", vars: { PEERS: "10.0.0.2:26379 10.0.0.3:26379" } });
        expect(cmd("redis-1-sentinel-service").inputs.delete).toBe("systemctl disable --now 'redis-sentinel' 2>/dev/null || true");
        await deploy({ purgeDataOnDestroy: "true" });
        expect(cmd("redis-1-prepare").inputs.delete).toBe("rm -rf -- '/var/lib/redis'");
    });
});
