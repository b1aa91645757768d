/**
 * Reading the stack configuration through the Pulumi runtime: bad input fails
 * before any resource exists, with the engine's clean RunError.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readStackConfig, sshAgentFromEnvironment } from "../../src/stack-config";
import { HOSTS, PRIVATE_KEY, REDIS_PASSWORD, presentBinaries } from "./fixtures";

const registered: string[] = [];
beforeAll(async () => {
    // readStackConfig probes the caller's agent by default; these tests pass their own.
    delete process.env.SSH_AUTH_SOCK;
    await pulumi.runtime.setMocks({
        newResource: (a) => { registered.push(a.name); return { id: a.name, state: a.inputs }; },
        call: () => ({}),
    }, "redis-sentinel", "test", false);
});

function setConfig(values: Record<string, string>, secret: string[]) {
    const prefixed = Object.fromEntries(Object.entries(values).map(([k, v]) => [`redis-sentinel:${k}`, v]));
    pulumi.runtime.setAllConfig(prefixed, secret.map((k) => `redis-sentinel:${k}`));
}

describe("readStackConfig", () => {
    it("reads a valid stack and returns the secrets as secret outputs", async () => {
        setConfig({ hosts: JSON.stringify(HOSTS), sshPrivateKey: PRIVATE_KEY, redisPassword: REDIS_PASSWORD }, ["sshPrivateKey", "redisPassword"]);
        const s = readStackConfig("/project", presentBinaries);
        expect(s.cluster.hosts.map((h) => h.name)).toEqual(["redis-1", "redis-2", "redis-3"]);
        expect(await pulumi.isSecret(s.redisPassword)).toBe(true);
        expect(await pulumi.isSecret(s.sentinelPassword)).toBe(true);
        expect(await pulumi.isSecret(s.sshPrivateKey!)).toBe(true);
    });

    it("has no sshPrivateKey on a local Docker stack (it generates its own)", () => {
        setConfig({ localDocker: JSON.stringify({ hosts: 3 }), redisPassword: REDIS_PASSWORD }, ["redisPassword"]);
        const s = readStackConfig("/project", presentBinaries);
        expect(s.sshPrivateKey).toBeUndefined();
        expect(s.cluster.localDocker).toEqual({ hosts: 3, subnet: "10.213.0.0/24", baseImage: "debian:bookworm", dockerHost: "" });
        expect(s.cluster.hosts.map((h) => `${h.name}=${h.address}/${h.role}`))
            .toEqual(["node1=10.213.0.11/master", "node2=10.213.0.12/replica", "node3=10.213.0.13/replica"]);
    });

    it("uses the Redis password for the Sentinels when sentinelPassword is the Pulumi.yaml default", async () => {
        setConfig({ hosts: JSON.stringify(HOSTS), sshPrivateKey: PRIVATE_KEY, redisPassword: REDIS_PASSWORD, sentinelPassword: "" },
            ["sshPrivateKey", "redisPassword"]);
        const s = readStackConfig("/project", presentBinaries);
        const value = await new Promise((resolve) => s.sentinelPassword.apply(resolve));
        expect(value).toBe(REDIS_PASSWORD);
        expect(await pulumi.isSecret(s.sentinelPassword)).toBe(true);
    });

    it("reads the cluster, monitor and application users' passwords the stack sets, as secrets, and leaves the others to be generated", async () => {
        setConfig({
            hosts: JSON.stringify(HOSTS), sshPrivateKey: PRIVATE_KEY, redisPassword: REDIS_PASSWORD,
            deployerPassword: "stack-deployer-0123456789", replicationPassword: "", monitorPassword: "stack-monitor-0123456789",
            aclUsers: JSON.stringify([{ name: "orders", rules: "~orders:* +@read" }]),
            aclUserPasswords: JSON.stringify({ orders: "stack-orders-0123456789" }),
        }, ["sshPrivateKey", "redisPassword", "deployerPassword", "monitorPassword", "aclUserPasswords"]);
        const s = readStackConfig("/project", presentBinaries);
        const value = (o: pulumi.Output<string>) => new Promise((resolve) => o.apply(resolve));
        expect(Object.keys(s.clusterPasswords)).toEqual(["deployerPassword"]);
        expect(await value(s.clusterPasswords.deployerPassword!)).toBe("stack-deployer-0123456789");
        expect(await pulumi.isSecret(s.clusterPasswords.deployerPassword!)).toBe(true);
        expect(await value(s.monitorPassword!)).toBe("stack-monitor-0123456789");
        expect(await pulumi.isSecret(s.monitorPassword!)).toBe(true);
        expect(Object.keys(s.userPasswords)).toEqual(["orders"]);
        expect(await value(s.userPasswords.orders)).toBe("stack-orders-0123456789");
        expect(await pulumi.isSecret(s.userPasswords.orders)).toBe(true);
    });

    it("has no monitor or application passwords when the stack has no such users", () => {
        setConfig({ hosts: JSON.stringify(HOSTS), sshPrivateKey: PRIVATE_KEY, redisPassword: REDIS_PASSWORD }, ["sshPrivateKey", "redisPassword"]);
        const s = readStackConfig("/project", presentBinaries);
        expect(s.monitorPassword).toBeUndefined();
        expect(s.userPasswords).toEqual({});
        expect(s.clusterPasswords).toEqual({});
    });

    it("fails with a RunError naming each bad key, before any resource is registered", () => {
        setConfig({ hosts: JSON.stringify(HOSTS), sshPrivateKey: PRIVATE_KEY, redisPassword: REDIS_PASSWORD, quorum: "7", redisPrt: "1" },
            ["sshPrivateKey", "redisPassword"]);
        expect(() => readStackConfig("/project", presentBinaries)).toThrow(pulumi.RunError);
        expect(() => readStackConfig("/project", presentBinaries)).toThrow(
            "invalid stack configuration:\n" +
            '  - redis-sentinel:redisPrt: unknown configuration key (did you mean "redisPort"?)\n' +
            "  - redis-sentinel:quorum: 7 is larger than the number of Sentinels (3)");
        expect(registered).toEqual([]);
    });

    it("refuses a password that was set without --secret", () => {
        setConfig({ hosts: JSON.stringify(HOSTS), sshPrivateKey: PRIVATE_KEY, redisPassword: REDIS_PASSWORD }, ["sshPrivateKey"]);
        expect(() => readStackConfig("/project", presentBinaries)).toThrow(
            "redis-sentinel:redisPassword: is stored in plain text; set it again with: pulumi config set --secret redisPassword ...");
    });
});

describe("the SSH agent the provider would dial", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "agent-probe-"));
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("is not probed when SSH_AUTH_SOCK is unset or empty", () => {
        expect(sshAgentFromEnvironment({})).toBeUndefined();
        expect(sshAgentFromEnvironment({ SSH_AUTH_SOCK: "" })).toBeUndefined();
    });

    it("answers when something listens on the socket", async () => {
        const socket = path.join(dir, "live.sock");
        const server = net.createServer((c) => c.destroy());
        await new Promise<void>((resolve) => server.listen(socket, resolve));
        try {
            expect(sshAgentFromEnvironment({ SSH_AUTH_SOCK: socket })).toEqual({ socket });
        } finally {
            server.close();
        }
    });

    it("says why a stale or missing socket does not answer", () => {
        // A stale agent: its process died and left the socket file behind.
        const stale = path.join(dir, "stale.sock");
        spawnSync(process.execPath, ["-e", "require('net').createServer().listen(process.argv[1], () => process.kill(process.pid, 'SIGKILL'))", stale]);
        expect(fs.statSync(stale).isSocket()).toBe(true);
        expect(sshAgentFromEnvironment({ SSH_AUTH_SOCK: stale })).toEqual({ socket: stale, problem: "connect ECONNREFUSED" });
        const missing = path.join(dir, "missing.sock");
        expect(sshAgentFromEnvironment({ SSH_AUTH_SOCK: missing })).toEqual({ socket: missing, problem: "connect ENOENT" });
    });

    it("fails the stack before any resource when the agent does not answer", () => {
        registered.length = 0;
        setConfig({ hosts: JSON.stringify(HOSTS), sshPrivateKey: PRIVATE_KEY, redisPassword: REDIS_PASSWORD }, ["sshPrivateKey", "redisPassword"]);
        expect(() => readStackConfig("/project", presentBinaries, { socket: "/run/agent.sock", problem: "connect ECONNREFUSED" })).toThrow(
            'SSH_AUTH_SOCK: "/run/agent.sock" does not answer (connect ECONNREFUSED)');
        expect(registered).toEqual([]);
    });
});
