/**
 * The resource graph, through Pulumi's mocks: which steps exist on which host,
 * what would reach each host, the start order, and that secrets stay secret.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { dataDryRuns, dataUsers, sentinelUsers, userLine } from "../../src/acl";
import { RawConfigInput, parseClusterConfig } from "../../src/config";
import { RedisSentinelCluster, RedisSentinelClusterArgs } from "../../src/components/cluster";
import { derivedPassword } from "../../src/derived-passwords";
import { shq } from "../../src/host/script";
import { HOSTS, HOST_KEYS, PRIVATE_KEY, REDIS_PASSWORD, raw, rawTls, rawWithSecrets, sshKeygen, testCerts } from "./fixtures";
import { Registered, isSecret, recordGraph, registration, settled } from "./mock-graph";

let registered: Map<string, Registered>;

/** The password the cluster derives for a purpose from the deploy key (project redis-sentinel, stack test). */
const generated = (purpose: string) => derivedPassword(PRIVATE_KEY, "redis-sentinel", "test", purpose);
const GENERATED = ["deployerPassword", "replicationPassword", "sentinelAuthPassword", "sentinelPeerPassword"];

beforeAll(async () => {
    registered = await recordGraph("test", (a) =>
        a.type === "command:remote:Command" && a.name.endsWith("-verify")
            ? { stdout: '{"master":{"name":"redis-1","address":"10.0.0.1","port":6379},"replicas":[],"sentinels":[],"ckquorum":"OK 3 usable Sentinels"}' }
            : {});
});

async function deploy(overrides: Record<string, string> = {}, args: Partial<RedisSentinelClusterArgs> = {}, input: RawConfigInput = raw(overrides)) {
    registered.clear();
    const cluster = new RedisSentinelCluster("redis", {
        config: parseClusterConfig(input),
        sshPrivateKey: pulumi.secret(PRIVATE_KEY),
        redisPassword: pulumi.secret(REDIS_PASSWORD),
        ...args,
    });
    await new Promise<void>((resolve) => cluster.verified.apply(() => resolve()));
    // The retire steps register once the verification has.
    await settled();
    return cluster;
}
const HOST_NAMES = ["redis-1", "redis-2", "redis-3"];
/** The steps each host has. */
const HOST_STEPS = 18;
const snapshot = () => new Map([...registered].map(([k, v]) => [k, JSON.stringify(v.inputs)]));
const changedSince = (before: Map<string, string>) =>
    [...registered].filter(([k, v]) => before.get(k) !== JSON.stringify(v.inputs)).map(([k]) => k).sort();
/**
 * What a host step runs: `sh -c SCRIPT VERB` taken apart, with the named inputs
 * (and host facts) its generated header assigns.
 */
function hostScriptOf(commandLine: string): { verb: string; text: string; vars: Record<string, string> } {
    // The verification's command line ends with a comment: what makes it run again.
    const m = /^(?:sudo -n )?sh -c '(.*)' '([a-z-]+)'(?: # revision \S+ hosts [0-9a-f]{12})?$/s.exec(commandLine);
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
            for (const step of ["prepare", "sysctl", "thp", "secrets", "copy-redis-server", "copy-redis-cli", "install", "redis-config", "redis-unit", "redis-service",
                "acl-add", "auth-links", "restart", "restart-master", "acl-retire"]) {
                expect(cmd(`${h}-${step}`).parent).toBe(h);
            }
            for (const step of ["sentinel-config", "sentinel-unit", "sentinel-service"]) {
                expect(cmd(`${h}-${step}`).parent).toBe(`${h}-sentinel`);
            }
            expect(cmd(h).parent).toBe("redis");
        }
        expect(cmd("redis-verify").parent).toBe("redis");
        // The cluster's own passwords are derived, not kept by a resource of their own.
        expect([...registered.values()].filter((r) => r.type.startsWith("pulumi-nodejs:dynamic"))).toEqual([]);
    });

    it("puts every file first, then rolls, then starts the initial master, the replicas and the Sentinels, then verifies", async () => {
        await deploy();
        // The services, after the rolling restart: the initial master first, the
        // replicas after it, each Sentinel once every data node runs.
        expect(cmd("redis-1-redis-service").deps).toEqual(expect.arrayContaining(["redis-1-redis-config", "redis-1-redis-unit", "redis-3-restart-master"]));
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
        // the replica pass on every host before the master pass.
        expect(cmd("redis-1-restart").deps).toEqual(expect.arrayContaining(
            ["redis-3-sentinel-config", "redis-2-redis-config", "redis-1-install", "redis-3-redis-unit", "redis-2-sentinel-unit"]));
        const chain = ["redis-1-restart", "redis-2-restart", "redis-3-restart", "redis-1-restart-master", "redis-2-restart-master", "redis-3-restart-master"];
        for (let i = 1; i < chain.length; i++) expect(cmd(chain[i]).deps).toEqual([chain[i - 1]]);
        expect(cmd("redis-2-restart").parent).toBe("redis-2");
        // A restart step runs nothing when it is created (a host installed by this up
        // has nothing pending), only when what it restarts for changes: no create, and
        // the restart script as its update.
        for (const step of chain) expect(cmd(step).inputs.create).toBeUndefined();
        expect(hostScriptOf(cmd("redis-2-restart").inputs.update)).toMatchObject({ verb: "restart", vars: { PASS: "replicas" } });
        expect(hostScriptOf(cmd("redis-2-restart-master").inputs.update)).toMatchObject({ verb: "restart", vars: { PASS: "master" } });
        // Then, from the initial master's host, stale Sentinel entries are forgotten
        // (beside the services), and the verification waits for both.
        expect(cmd("redis-1-forget-stale").deps).toEqual(["redis-3-restart-master"]);
        const tidy = hostScriptOf(cmd("redis-1-forget-stale").inputs.create);
        expect(tidy.verb).toBe("tidy");
        expect(tidy.vars.PEERS).toBe("10.0.0.1:26379 10.0.0.2:26379 10.0.0.3:26379");
        expect(tidy.vars.REVISION).toMatch(/^[0-9a-f]{16}$/);
        expect([...cmd("redis-verify").deps].sort()).toEqual(["redis-1-forget-stale",
            ...HOST_NAMES.flatMap((h) => [`${h}-redis-service`, `${h}-sentinel-service`])].sort());
    });

    it("sets the users on every host before any link uses a new password, and retires old passwords after the verification", async () => {
        await deploy();
        const steps = (step: string) => HOST_NAMES.map((h) => `${h}-${step}`);
        for (const h of HOST_NAMES) {
            // Each host's users once its secrets and redis-cli are there, beside its config steps.
            expect([...cmd(`${h}-acl-add`).deps].sort()).toEqual([`${h}-install`, `${h}-secrets`]);
            // The links switch only once every host has the new passwords.
            expect(cmd(`${h}-auth-links`).deps).toEqual(expect.arrayContaining(steps("acl-add")));
            expect(cmd(`${h}-acl-retire`).deps).toContain("redis-verify");
            expect(cmd(`${h}-acl-retire`).parent).toBe(h);
        }
        // Every link switched before the first restart (the others follow it in a chain).
        expect(cmd("redis-1-restart").deps).toEqual(expect.arrayContaining(steps("auth-links")));
        const add = hostScriptOf(cmd("redis-2-acl-add").inputs.update);
        const retire = hostScriptOf(cmd("redis-2-acl-retire").inputs.update);
        const cfg = parseClusterConfig(raw());
        const expected = {
            DATA_USERS: dataUsers(cfg).map(userLine).join("\n"), SENTINEL_USERS: sentinelUsers().map(userLine).join("\n"), KEEP_PREVIOUS: "no",
        };
        expect(add).toMatchObject({ verb: "acl", vars: { PHASE: "add", FIRST_RUN: "no", ...expected } });
        expect(retire).toMatchObject({ verb: "acl", vars: { PHASE: "retire", FIRST_RUN: "no", ...expected } });
        expect(expected.DATA_USERS.split("\n").map((l) => l.split(" ")[1])).toEqual(["deployer", "replication", "sentinel", "default"]);
        const links = {
            REPL_USER: "replication", REPL_SECRET: "REPLICATION_PASSWORD", SENTINEL_USER: "sentinel", SENTINEL_SECRET: "SENTINEL_AUTH_PASSWORD",
            PEER_USER: "sentinel-peer", PEER_SECRET: "SENTINEL_PEER_PASSWORD",
        };
        expect(hostScriptOf(cmd("redis-2-auth-links").inputs.update)).toMatchObject({ verb: "auth-links", vars: { ...links, FIRST_RUN: "no" } });
        // Their first run is the same script with FIRST_RUN=yes: it does the work only
        // on a host that ran before these steps existed (acl.sh, auth-links.sh).
        expect(hostScriptOf(cmd("redis-2-acl-add").inputs.create)).toMatchObject({ verb: "acl", vars: { PHASE: "add", FIRST_RUN: "yes", ...expected } });
        expect(hostScriptOf(cmd("redis-2-acl-retire").inputs.create)).toMatchObject({ verb: "acl", vars: { PHASE: "retire", FIRST_RUN: "yes", ...expected } });
        expect(hostScriptOf(cmd("redis-2-auth-links").inputs.create)).toMatchObject({ verb: "auth-links", vars: { ...links, FIRST_RUN: "yes" } });
        // The verification proves every user's login and rules.
        expect(hostScriptOf(cmd("redis-verify").inputs.create).vars).toMatchObject({
            USER_LOGINS: [
                "data deployer DEPLOYER_PASSWORD", "data replication REPLICATION_PASSWORD", "data sentinel SENTINEL_AUTH_PASSWORD",
                "data default REDIS_PASSWORD", "sentinel default SENTINEL_PASSWORD", "sentinel sentinel-peer SENTINEL_PEER_PASSWORD",
            ].join("\n"),
            DRY_RUNS: dataDryRuns(cfg).map((d) => `${d.user} ${d.allowed ? "allow" : "deny"} ${d.command}`).join("\n"),
            INTERNAL_DATA_USERS: "deployer replication sentinel",
            INTERNAL_SENTINEL_USERS: "sentinel-peer",
        });
    });

    it("keeps the applications' previous passwords at the retire step only when the stack asks to, and changes nothing else", async () => {
        await deploy();
        const before = snapshot();
        await deploy({ keepPreviousAppPasswords: "true" });
        expect(changedSince(before)).toEqual(HOST_NAMES.map((h) => `${h}-acl-retire`));
        for (const h of HOST_NAMES) {
            expect(hostScriptOf(cmd(`${h}-acl-retire`).inputs.update).vars.KEEP_PREVIOUS).toBe("yes");
            expect(hostScriptOf(cmd(`${h}-acl-add`).inputs.update).vars.KEEP_PREVIOUS).toBe("no");
        }
    });

    it("sends each host its own rendered file on stdin, with placeholders instead of passwords", async () => {
        await deploy();
        const conf = cmd("redis-2-redis-config").inputs;
        expect(conf.stdin).toContain("replicaof 10.0.0.1 6379\n");
        expect(conf.stdin).toContain("user default reset on @@REDIS_PASSWORD:HASHES@@ ~* &* +@all\n");
        expect(conf.stdin).toContain("masteruser replication\nmasterauth @@REPLICATION_PASSWORD@@\n");
        expect(conf.stdin).not.toMatch(/^requirepass/m);
        expect(conf.create).toMatch(/^sh -c '/);
        expect(cmd("redis-1-redis-config").inputs.stdin).not.toMatch(/^replicaof/m);
        expect(cmd("redis-3-sentinel-config").inputs.stdin).toContain("sentinel monitor mymaster 10.0.0.1 6379 2\n");
        expect(cmd("redis-2-copy-redis-server").inputs.remotePath).toBe(`/var/lib/redis-sentinel-pulumi/stage/redis-server-${"a".repeat(16)}`);
        expect(hostScriptOf(cmd("redis-2-install").inputs.create).vars).toMatchObject({
            SERVER_SHA256: "a".repeat(64), CLI_SHA256: "b".repeat(64), INSTALL_DIR: "/opt/redis-8.2.2", REDIS_VERSION: "8.2.2",
        });
        expect(cmd("redis-2").type).toBe("redis-sentinel:index:DataNode");
    });

    it("has every command of a step that gets stdin read all of it (else the provider may fail it with EOF)", async () => {
        await deploy();
        let checked = 0;
        for (const r of registered.values()) {
            if (!r.type.startsWith("command:remote:Command") || r.inputs.stdin === undefined) continue;
            for (const field of ["create", "update", "delete"]) {
                const line: string | undefined = r.inputs[field];
                if (line === undefined) continue;
                checked++;
                // `sh -c '(...)\ns=$?\ncat >/dev/null\nexit "$s"\n'`, then the verb or the verification's revision comment.
                const m = /^(?:sudo -n )?sh -c '(.*)' '[a-z-]+'(?: # revision \S+ hosts [0-9a-f]{12})?$/s.exec(line) ??
                    /^(?:sudo -n )?sh -c '(.*)'$/s.exec(line);
                expect(m, `${r.name} ${field}`).not.toBeNull();
                const text = m![1].replace(/'"'"'/g, "'");
                expect(text.startsWith("(\n"), `${r.name} ${field}`).toBe(true);
                expect(text.endsWith(")\ns=$?\ncat >/dev/null\nexit \"$s\"\n"), `${r.name} ${field}`).toBe(true);
            }
        }
        expect(checked).toBeGreaterThan(3 * 10);
        // A step without stdin runs its commands as they are.
        expect(cmd("redis-1-sentinel-service").inputs.delete).toBe("systemctl disable --now 'redis-sentinel' 2>/dev/null || true");
    });

    it("keeps passwords and the SSH key secret and out of every command line", async () => {
        await deploy();
        const passwords = [REDIS_PASSWORD, ...GENERATED.map(generated)];
        const hashes = passwords.map((p) => crypto.createHash("sha256").update(p).digest("hex"));
        let commands = 0;
        for (const r of registered.values()) {
            if (!r.type.startsWith("command:")) continue;
            commands++;
            // The connection (it holds the key) is a secret as a whole.
            expect(isSecret(r.inputs.connection)).toBe(true);
            expect(r.inputs.connection.value.privateKey).toBe(PRIVATE_KEY);
            for (const field of ["create", "delete", "update"]) {
                const text = JSON.stringify(r.inputs[field] ?? "");
                for (const secret of [...passwords, ...hashes]) expect(text, `${r.name} ${field}`).not.toContain(secret);
                expect(text).not.toContain(PRIVATE_KEY.split("\n")[1]);
            }
            // stdin carries a password only as a secret, and never a hash.
            const stdin = JSON.stringify(r.inputs.stdin ?? "");
            if (passwords.some((p) => stdin.includes(p))) expect(isSecret(r.inputs.stdin), r.name).toBe(true);
            for (const h of hashes) expect(stdin).not.toContain(h);
        }
        expect(commands).toBe(3 * HOST_STEPS + 2 + 3); // per host, cluster-wide (forget-stale, verify), SSH checks
        const secrets = cmd("redis-1-secrets").inputs.stdin;
        expect(isSecret(secrets)).toBe(true);
        expect(secrets.value).toBe([
            `REDIS_PASSWORD=${REDIS_PASSWORD}`, `SENTINEL_PASSWORD=${REDIS_PASSWORD}`,
            `DEPLOYER_PASSWORD=${generated("deployerPassword")}`, `REPLICATION_PASSWORD=${generated("replicationPassword")}`,
            `SENTINEL_AUTH_PASSWORD=${generated("sentinelAuthPassword")}`, `SENTINEL_PEER_PASSWORD=${generated("sentinelPeerPassword")}`,
        ].map((l) => `${l}\n`).join(""));
        // Every step that logs in to a node gets the same secret file on stdin.
        for (const step of ["redis-verify", ...HOST_NAMES.flatMap((h) => [`${h}-secrets`, `${h}-acl-add`, `${h}-auth-links`, `${h}-acl-retire`])]) {
            expect(isSecret(cmd(step).inputs.stdin), step).toBe(true);
            expect(cmd(step).inputs.stdin.value, step).toBe(secrets.value);
        }
    });

    it("puts the passwords the stack sets in the secrets file, generating only the others", async () => {
        const users = rawWithSecrets({
            deployerPassword: "stack-deployer-0123456789", monitorPassword: "stack-monitor-0123456789",
            aclUserPasswords: JSON.stringify({ orders: "stack-orders-0123456789" }),
        }, { aclUsers: JSON.stringify([{ name: "orders", rules: "~orders:* +@read" }]) });
        await deploy({}, {
            sentinelPassword: pulumi.secret("stack-sentinel-0123456789"),
            clusterPasswords: { deployerPassword: pulumi.secret("stack-deployer-0123456789") },
            monitorPassword: pulumi.secret("stack-monitor-0123456789"),
            userPasswords: { orders: pulumi.secret("stack-orders-0123456789") },
        }, users);
        const secrets = cmd("redis-2-secrets").inputs.stdin;
        expect(isSecret(secrets)).toBe(true);
        expect(secrets.value).toBe([
            `REDIS_PASSWORD=${REDIS_PASSWORD}`, "SENTINEL_PASSWORD=stack-sentinel-0123456789",
            "DEPLOYER_PASSWORD=stack-deployer-0123456789", `REPLICATION_PASSWORD=${generated("replicationPassword")}`,
            `SENTINEL_AUTH_PASSWORD=${generated("sentinelAuthPassword")}`, `SENTINEL_PEER_PASSWORD=${generated("sentinelPeerPassword")}`,
            "MONITOR_PASSWORD=stack-monitor-0123456789", "USER_ORDERS_PASSWORD=stack-orders-0123456789",
        ].map((l) => `${l}\n`).join(""));
        // The monitor and application users are set and proven like the others.
        expect(hostScriptOf(cmd("redis-2-acl-add").inputs.update).vars.DATA_USERS.split("\n").map((l) => l.split(" ")[1]))
            .toEqual(["deployer", "replication", "sentinel", "monitor", "orders", "default"]);
        expect(hostScriptOf(cmd("redis-verify").inputs.create).vars.USER_LOGINS).toContain("data monitor MONITOR_PASSWORD\ndata orders USER_ORDERS_PASSWORD\n");
        for (const r of registered.values()) {
            for (const field of ["create", "delete", "update"]) {
                for (const p of ["stack-sentinel", "stack-deployer", "stack-monitor", "stack-orders"]) expect(JSON.stringify(r.inputs[field] ?? "")).not.toContain(p);
            }
        }
    });

    it("refuses a configuration whose users' passwords were not handed to it", async () => {
        const users = rawWithSecrets({ aclUserPasswords: JSON.stringify({ orders: "stack-orders-0123456789" }) },
            { aclUsers: JSON.stringify([{ name: "orders", rules: "~orders:* +@read" }]) });
        expect(() => new RedisSentinelCluster("redis", {
            config: parseClusterConfig(users), sshPrivateKey: pulumi.secret(PRIVATE_KEY), redisPassword: pulumi.secret(REDIS_PASSWORD),
        })).toThrow("RedisSentinelCluster: userPasswords.orders is required by the configuration");
        expect(() => new RedisSentinelCluster("redis", {
            config: parseClusterConfig(rawWithSecrets({ monitorPassword: "stack-monitor-0123456789" })),
            sshPrivateKey: pulumi.secret(PRIVATE_KEY), redisPassword: pulumi.secret(REDIS_PASSWORD),
        })).toThrow("RedisSentinelCluster: monitorPassword is required by the configuration");
        // What was registered before the throw does not reach the next test's graph.
        await settled();
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
        expect(gated).toBe(3 * HOST_STEPS + 2);
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
        await settled();
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
        const before = snapshot();
        await deploy({ maxmemory: "512mb" });
        expect(changedSince(before)).toEqual(["redis-1-redis-config", "redis-2-redis-config", "redis-3-redis-config", "redis-verify"]);
    });

    it("changes only the secrets, user and link steps, the verification and the retire steps when redisPassword changes", async () => {
        await deploy();
        const before = snapshot();
        const rotated = "s3cret-Redis-password-0002";
        await deploy({ redisPassword: rotated }, { redisPassword: pulumi.secret(rotated) });
        expect(changedSince(before)).toEqual([
            ...HOST_NAMES.flatMap((h) => [`${h}-acl-add`, `${h}-acl-retire`, `${h}-auth-links`, `${h}-secrets`]), "redis-verify",
        ].sort());
        expect(cmd("redis-1-secrets").inputs.stdin.value).toContain(`REDIS_PASSWORD=${rotated}\n`);
    });

    it("changes the config, user and retire steps and the verification, not the secrets or links, when an application user's rules change", async () => {
        const withRules = (rules: string) => rawWithSecrets({ aclUserPasswords: JSON.stringify({ orders: "stack-orders-0123456789" }) },
            { aclUsers: JSON.stringify([{ name: "orders", rules }]) });
        const args = { userPasswords: { orders: pulumi.secret("stack-orders-0123456789") } };
        await deploy({}, args, withRules("~orders:* +@read"));
        const before = snapshot();
        await deploy({}, args, withRules("~orders:* +@read +@write"));
        const changed = changedSince(before);
        // The rendered files carry the user lines too.
        expect(changed).toEqual([
            ...HOST_NAMES.flatMap((h) => [`${h}-acl-add`, `${h}-acl-retire`, `${h}-redis-config`]), "redis-verify",
        ].sort());
    });

    it("re-runs every step on a rebuilt host (pinned again) and the verification, nothing on the other hosts", async () => {
        await deploy();
        const before = snapshot();
        const rebuilt = sshKeygen("graph-rebuilt-host", ["-t", "ed25519"]).publicKey;
        await deploy({ hosts: JSON.stringify([HOSTS[0], { ...HOSTS[1], hostKey: rebuilt }, HOSTS[2]]) });
        const changed = changedSince(before);
        expect(changed).toContain("redis-verify");
        expect(changed).toContain("redis-ssh-check-redis-2");
        const steps = (prefix: string) => [...registered.values()].filter((r) => r.type.startsWith("command:") && r.name.startsWith(prefix)).map((r) => r.name).sort();
        expect(changed.filter((k) => k.startsWith("redis-2-"))).toEqual(steps("redis-2-"));
        expect(changed.filter((k) => k.startsWith("redis-1-") || k.startsWith("redis-3-"))).toEqual([]);
        expect(cmd("redis-verify").inputs.create).toMatch(/ # revision \S+ hosts [0-9a-f]{12}$/);
    });

    it("changes the config and restart steps when the port changes", async () => {
        await deploy();
        const before = snapshot();
        await deploy({ redisPort: "6380" });
        const changed = changedSince(before);
        // redis-service and sentinel-service change too: their wait-for-PING uses the port.
        for (const h of ["redis-1", "redis-2", "redis-3"]) {
            expect(changed).toEqual(expect.arrayContaining([`${h}-redis-config`, `${h}-sentinel-config`, `${h}-restart`, `${h}-restart-master`]));
            expect(changed).not.toContain(`${h}-redis-unit`);
            expect(changed).not.toContain(`${h}-install`);
        }
        expect(changed).toContain("redis-1-forget-stale");
    });

    it("turns persistence off on one host live: its start guard step (before its service and the roll), its redis config, every Sentinel's config; no restart", async () => {
        await deploy();
        expect(registered.has("redis-1-start-guard")).toBe(false);
        const before = snapshot();
        await deploy({ hosts: JSON.stringify([{ ...HOSTS[0], persistence: { aof: false, rdb: false } }, HOSTS[1], HOSTS[2]]) });
        expect(changedSince(before)).toEqual([
            "redis-1-redis-config", "redis-1-sentinel-config", "redis-1-start-guard",
            "redis-2-sentinel-config", "redis-3-sentinel-config", "redis-verify",
        ]);
        const guard = cmd("redis-1-start-guard");
        expect(guard.parent).toBe("redis-1");
        expect(guard.deps).toContain("redis-1-prepare");
        expect(cmd("redis-1-redis-service").deps).toContain("redis-1-start-guard");
        // The roll's first step waits for every file of every host.
        expect(cmd("redis-1-restart").deps).toContain("redis-1-start-guard");
        const install = hostScriptOf(guard.inputs.create);
        expect(install.verb).toBe("install-guard");
        expect(install.vars.DROP_IN).toBe("/etc/systemd/system/redis-server.service.d/start-guard.conf");
        expect(install.vars.DROP_IN_TEXT).toContain("ExecStartPre=+/var/lib/redis-sentinel-pulumi/start-guard\n");
        // The guard itself is stdin: a file systemd runs, which asks every Sentinel (its own host's too).
        const script: string = guard.inputs.stdin;
        expect(script.startsWith("#!/bin/sh\n# start-guard (redis-sentinel-pulumi)\n")).toBe(true);
        expect(script).toContain("SELF='10.0.0.1'\nSENTINELS='10.0.0.1:26379 10.0.0.2:26379 10.0.0.3:26379'\n");
        expect(script).not.toContain(REDIS_PASSWORD);
        // The step gets its script on stdin, so its delete reads all of it too (readingAllStdin).
        expect(guard.inputs.delete).toBe(`sh -c ${shq("(\nrm -f '/var/lib/redis-sentinel-pulumi/start-guard' '/var/lib/redis-sentinel-pulumi/redis-server.started' " +
            "'/var/lib/redis-sentinel-pulumi/allow-empty-master' '/etc/systemd/system/redis-server.service.d/start-guard.conf' && systemctl daemon-reload\n" +
            ")\ns=$?\ncat >/dev/null\nexit \"$s\"\n")}`);
        for (const h of HOST_NAMES) {
            expect(cmd(`${h}-sentinel-config`).inputs.stdin).toContain("sentinel master-reboot-down-after-period mymaster 5000\n");
        }
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

    it("with TLS, puts each host's certificates and key (a secret on stdin, on no command line) before any step that runs redis-cli", async () => {
        const { keys } = testCerts();
        await deploy({}, { tlsKeys: Object.fromEntries(Object.entries(keys).map(([h, k]) => [h, pulumi.secret(k)])) }, rawTls());
        for (const h of HOSTS) {
            const tls = registration(registered, `${h.name}-tls`);
            expect(isSecret(tls.inputs.stdin)).toBe(true);
            expect(JSON.stringify(tls.inputs.create)).not.toContain(keys[h.name].split("\n")[1]);
            expect(tls.deps).toEqual(expect.arrayContaining([`${h.name}-prepare`, `${h.name}-install`]));
            for (const after of [`${h.name}-redis-config`, `${h.name}-sentinel-config`, `${h.name}-acl-add`]) {
                expect(registration(registered, after).deps).toContain(`${h.name}-tls`);
            }
            // The users' step never talks to the data node while its config step may swap its port (a switch from plaintext).
            expect(registration(registered, `${h.name}-acl-add`).deps).toContain(`${h.name}-redis-config`);
        }
        // The end of a switch from plaintext: on every host, once the cluster is verified over TLS, and again whenever the verification runs.
        const verifyRevision = (String(registration(registered, "redis-verify").inputs.create).match(/# revision (\S+)/) ?? [])[1];
        // One host after the other (each replica's link is made again in turn).
        HOSTS.forEach((h, i) => {
            const done = registration(registered, `${h.name}-tls-switched`);
            expect(done.deps).toEqual([i === 0 ? "redis-verify" : `${HOSTS[i - 1].name}-tls-switched`]);
            expect(hostScriptOf(done.inputs.create)).toMatchObject({ verb: "tls-switched", vars: { REVISION: verifyRevision } });
        });
        await deploy();
        expect([...registered.keys()].filter((n) => n.endsWith("-tls") || n.endsWith("-tls-switched"))).toEqual([]);
    });
});
