/**
 * The host boundary: every verb's script is self-contained (each variable it
 * reads is a named input, a host fact from layout.ts, or set by the script),
 * and the facts are stated once, in TypeScript, never repeated in the shell.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { parseClusterConfig } from "../../src/config";
import { AUTH_DIRECTIVES, RESTART_DIRECTIVES, SENTINEL_LIVE_OPTIONS, TIMEOUTS, hostContext, secretNames } from "../../src/host/layout";
import { HostScript, commandLine, hostScript, shq } from "../../src/host/script";
import * as verbs from "../../src/host/verbs";
import { raw } from "./fixtures";
import { runScript, secretsText, testContext } from "./host-scripts";

const cfg = parseClusterConfig(raw());
const ctx = hostContext(cfg);
const verifyInputs: verbs.VerifyInputs = {
    nodes: [], verifyTimeout: 90, userLogins: "data default REDIS_PASSWORD", dryRuns: "replication deny GET k",
    internalDataUsers: ["deployer"], internalSentinelUsers: ["sentinel-peer"],
};
const all: HostScript[] = [
    verbs.prepare(ctx, { dataDir: "/d", logDir: "/l", stageDir: "/s", sshUser: "root" }),
    verbs.putFile(ctx, { dest: "/f", owner: "root", mode: "0644", action: "none" }),
    verbs.putSecrets(ctx),
    verbs.installBinaries(ctx, { stagedServer: "/a", stagedCli: "/b", serverSha256: "x", cliSha256: "y", installDir: "/o", installedServer: "/o/s", installedCli: "/o/c", installedSentinel: "/o/t", redisVersion: "8.2.2" }),
    verbs.applyConfig(ctx, { kind: "redis", target: "/t", port: 6379, self: "10.0.0.1", peers: [] }),
    verbs.service(ctx, { unit: "redis-server", who: "data", port: 6379 }),
    verbs.restart(ctx, { pass: "replicas", revision: "r" }),
    verbs.handover(ctx),
    verbs.leave(ctx, { peers: [] }),
    verbs.tidy(ctx, { peers: [], revision: "r" }),
    verbs.verify(ctx, verifyInputs),
    verbs.acl(ctx, { phase: "add", dataUsers: "user default reset on @@REDIS_PASSWORD:HASHES@@ +@all", sentinelUsers: "" }),
    verbs.acl(ctx, { phase: "retire", dataUsers: "", sentinelUsers: "", keepPrevious: "yes" }),
    verbs.authLinks(ctx, {
        replUser: "replication", replSecret: "REPLICATION_PASSWORD", sentinelUser: "sentinel", sentinelSecret: "SENTINEL_AUTH_PASSWORD",
        peerUser: "sentinel-peer", peerSecret: "SENTINEL_PEER_PASSWORD",
    }),
    verbs.isolate(ctx, { peers: ["10.0.0.2", "fd00::3"], partitionSeconds: 20 }),
    verbs.heal(ctx),
    verbs.drillWriter(ctx, { writerUser: "default", writerSecret: "REDIS_PASSWORD", keyPrefix: "drill:p:h1", keyTtl: 3600, maxSeconds: 300 }),
    verbs.drillLoad(ctx, { writerUser: "default", writerSecret: "REDIS_PASSWORD", keyPrefix: "drill:l", loadKeys: 10, loadKeyTtl: 60, valueBytes: 8, loadSeconds: 1 }),
    verbs.installGuard(ctx, { dropIn: "/etc/systemd/system/redis-server.service.d/start-guard.conf", dropInText: "[Service]\n" }),
    verbs.startGuard(ctx, { self: "10.0.0.1", sentinels: ["10.0.0.1:26379", "10.0.0.2:26379"] }),
    verbs.putTls(ctx, { tlsCa: "CA", tlsCert: "CERT", caFile: "/e/ca", certFile: "/e/c", keyFile: "/e/k", cliWrapper: "#!/bin/sh\n" }),
    verbs.tlsSwitched(ctx, { revision: "r" }),
];

/** Upper-case variables the script reads, less those it assigns (NAME=, read NAME, for NAME, export NAME). */
function unassigned(text: string): string[] {
    const code = text.split("\n").filter((l) => !/^\s*#/.test(l)).join("\n");
    const read = new Set([...code.matchAll(/\$\{?([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]));
    const set = new Set([
        ...[...code.matchAll(/(?:^|[\s;(])([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]),
        ...[...code.matchAll(/\b(?:read -r|for|export)\s+([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]),
    ]);
    return [...read].filter((v) => !set.has(v) && !v.startsWith("SECRET_") && !["PATH", "LC_ALL"].includes(v)).sort();
}

describe("host scripts", () => {
    it("are all checked here: one of each verb (sh/bin)", () => {
        const bin = fs.readdirSync(path.join(__dirname, "../../src/host/sh/bin")).map((f) => f.replace(/\.sh$/, ""));
        expect([...new Set(all.map((s) => s.verb))].sort()).toEqual(bin.sort());
    });

    it.each(all.map((s) => [s.verb, s] as const))("%s reads only variables its header or itself sets", (_verb, script) => {
        expect(unassigned(script.text)).toEqual([]);
    });

    it("take their inputs by name: the command line passes no argument but the verb's name ($0)", () => {
        for (const s of all) {
            expect(commandLine("root", s)).toBe(`sh -c ${shq(s.text)} '${s.verb}'`);
            expect(commandLine("deploy", s)).toBe(`sudo -n sh -c ${shq(s.text)} '${s.verb}'`);
        }
    });

    it("state no host fact of layout.ts in the shell", () => {
        const dir = path.join(__dirname, "../../src/host/sh");
        const shell = ["lib", "bin"].flatMap((d) => fs.readdirSync(path.join(dir, d)).map((f) => fs.readFileSync(path.join(dir, d, f), "utf8"))).join("\n")
            .split("\n").filter((l) => !/^\s*#/.test(l)).join("\n");
        for (const fact of ["bin/redis-", "redis.conf", "sentinel.conf", ".rendered", "redis-server.service", "redis-sentinel.service", "/var/lib/redis-sentinel-pulumi", "secrets.env", "@@", "mymaster",
            ...secretNames(cfg), ...SENTINEL_LIVE_OPTIONS.filter((o) => o !== "quorum"), "appenddirname",
            ...AUTH_DIRECTIVES.filter((d) => d.includes(" ")), "deployer", "sentinel-peer"]) {
            expect(shell, fact).not.toContain(fact);
        }
        expect(RESTART_DIRECTIVES).toContain("port");
        expect(RESTART_DIRECTIVES).not.toContain("requirepass");
        expect(RESTART_DIRECTIVES).not.toContain("masterauth");
        expect(secretNames(cfg)).toEqual(["REDIS_PASSWORD", "SENTINEL_PASSWORD", "DEPLOYER_PASSWORD", "REPLICATION_PASSWORD", "SENTINEL_AUTH_PASSWORD", "SENTINEL_PEER_PASSWORD"]);
        for (const t of Object.values(TIMEOUTS)) expect(shell).not.toMatch(new RegExp(`(deadline_in|timeout) ${t}\\b`));
    });
});

describe("the secrets a host holds", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "host-secrets-"));

    /** The complete file without the line of `name`. */
    const without = (name: string) => secretsText().split("\n").filter((l) => !l.startsWith(`${name}=`)).join("\n");

    it("are stored only when every secret of the cluster is there, naming the missing one", () => {
        for (const name of secretNames(cfg)) {
            const r = runScript(verbs.putSecrets(testContext(dir)), dir, without(name));
            expect(r.code, name).toBe(2);
            expect(r.err).toBe(`put-secrets: ${name} is required\n`);
            expect(fs.existsSync(path.join(dir, "secrets.env"))).toBe(false);
        }
    });

    it("are refused by a step when the file lacks one, naming the file and the secret", () => {
        fs.writeFileSync(path.join(dir, "secrets.env"), without("DEPLOYER_PASSWORD"));
        const r = runScript(verbs.verify(testContext(dir), { ...verifyInputs, verifyTimeout: 1 }), dir, without("SENTINEL_PEER_PASSWORD"));
        expect(r.code).toBe(2);
        expect(r.err).toBe("- does not hold SENTINEL_PEER_PASSWORD\n");
        const s = runScript(verbs.service(testContext(dir), { unit: "redis-server", who: "data", port: 6379 }), dir);
        expect(s.code).toBe(2);
        expect(s.err).toBe(`${path.join(dir, "secrets.env")} does not hold DEPLOYER_PASSWORD\n`);
    });

    it("an input that would shadow a host fact is refused when the script is made", () => {
        expect(() => hostScript("prepare", ctx, { pendingDir: "/elsewhere" })).toThrow("prepare: input pendingDir would shadow a host fact");
    });
});
