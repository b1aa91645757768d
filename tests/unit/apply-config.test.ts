/**
 * Runs the host-side apply-config script locally against temporary files and a
 * fake redis-cli, to prove the day-2 rules: what Redis and Sentinel own at run
 * time survives every deploy, live changes go through CONFIG SET / SENTINEL SET,
 * and a change that needs a restart waits, marked, for the rolling restart.
 */
import { spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { beforeEach, describe, expect, it } from "vitest";
import { parseClusterConfig } from "../../src/config";
import { renderRedisConf, renderSentinelConf, sentinelId } from "../../src/render";
import * as verbs from "../../src/host/verbs";
import { CLUSTER_USERS } from "../../src/acl";
import { HOSTS, raw, rawTls, rawWithSecrets } from "./fixtures";
import { TEST_SECRETS, fakeCliPrelude, runScript, testContext, writeSecrets } from "./host-scripts";

let dir: string;
let cliLog: string;

beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "apply-config-"));
    cliLog = path.join(dir, "cli.log");
    writeSecrets(dir);
    // A stand-in for redis-cli: logs its arguments and the user and password it got; PONG only while "running".
    fs.writeFileSync(path.join(dir, "redis-cli"), `${fakeCliPrelude(cliLog)}
case "$*" in
  *PING*) [ -f ${JSON.stringify(path.join(dir, "running"))} ] && echo PONG ;;
  *) echo OK ;;
esac
`, { mode: 0o755 });
});

function apply(kind: "redis" | "sentinel", target: string, rendered: string, peers = "", port = kind === "redis" ? 6379 : 26379, config = cfg) {
    const script = verbs.applyConfig(testContext(dir, {}, config), { kind, target, port, self: "10.0.0.2", peers: peers.split(" ").filter((p) => p !== "") });
    return runScript(script, dir, rendered);
}
/** Stand-ins for systemctl and ss: the unit is active as PID 4242, listening on `port`. */
function activeOn(port: number) {
    fs.mkdirSync(path.join(dir, "bin"), { recursive: true });
    fs.writeFileSync(path.join(dir, "bin", "systemctl"), `#!/bin/sh
case "$1" in show) echo 4242 ;; is-active) exit 0 ;; esac
`, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "bin", "ss"), `#!/bin/sh
echo 'LISTEN 0 511 10.0.0.2:${port} 0.0.0.0:* users:(("redis-server",pid=4242,fd=6))'
echo 'LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=1,fd=3))'
`, { mode: 0o755 });
}
/** The fake redis-cli, running, answering `reply` to any command that names `word`. */
function fakeCliRefusing(word: string, reply: string) {
    fs.writeFileSync(path.join(dir, "redis-cli"), `${fakeCliPrelude(cliLog)}
case "$*" in
  *PING*) echo PONG ;;
  *${word}*) echo ${JSON.stringify(reply)} ;;
  *) echo OK ;;
esac
`, { mode: 0o755 });
}
const calls = () => (fs.existsSync(cliLog) ? fs.readFileSync(cliLog, "utf8").trim().split("\n").filter((l) => !l.includes("PING")) : []);
const running = () => fs.writeFileSync(path.join(dir, "running"), "");
const pending = () => (fs.existsSync(path.join(dir, "pending")) ? fs.readdirSync(path.join(dir, "pending")).sort() : []);

const cfg = parseClusterConfig(raw());
const cfgWith = (o: Record<string, string>) => parseClusterConfig(raw(o));
const [h1, h2] = cfg.hosts;
/** What an ACL user's line holds for a password: `#` and its sha256. */
const hash = (password: string) => `#${crypto.createHash("sha256").update(password).digest("hex")}`;
const S = TEST_SECRETS;
/** As the data nodes log the deployer in (redis.sh), and the Sentinels' default user. */
const DATA = `USER=deployer AUTH=${S.DEPLOYER_PASSWORD}`;
const SENTINEL = `USER=default AUTH=${S.SENTINEL_PASSWORD}`;

describe("apply-config for redis.conf", () => {
    it("installs the rendered file on first install with the secrets filled in", () => {
        const target = path.join(dir, "redis.conf");
        const r = apply("redis", target, renderRedisConf(cfg, h2));
        expect(r.code).toBe(0);
        const text = fs.readFileSync(target, "utf8");
        // Every user with its password's hash; the replication login with the password itself.
        expect(text).toContain(`user default reset on ${hash(S.REDIS_PASSWORD)} ~* &* +@all\n`);
        expect(text).toContain(`user deployer reset on ${hash(S.DEPLOYER_PASSWORD)} ~* &* +@all\n`);
        expect(text).toContain(`user replication reset on ${hash(S.REPLICATION_PASSWORD)} resetchannels -@all +psync +replconf +ping\n`);
        expect(text).toMatch(new RegExp(`^user sentinel reset on ${hash(S.SENTINEL_AUTH_PASSWORD)} resetchannels &__sentinel__:hello -@all `, "m"));
        expect(text).toContain(`masteruser replication\nmasterauth ${S.REPLICATION_PASSWORD}\n`);
        expect(text).not.toMatch(/^requirepass/m);
        expect(text).not.toMatch(/^user monitor/m);
        expect(text).toContain("replicaof 10.0.0.1 6379\n");
        expect(text).not.toContain("@@");
        expect(fs.statSync(target).mode & 0o777).toBe(0o640);
        expect(fs.readFileSync(`${target}.rendered`, "utf8")).toBe(renderRedisConf(cfg, h2));
    });

    it("lists a password's previous values after the current one while a rotation is in progress", () => {
        writeSecrets(dir, {}, ["PREVIOUS_REDIS_PASSWORD=r-old-2-0123456789ab r-old-1-0123456789ab"]);
        const target = path.join(dir, "redis.conf");
        expect(apply("redis", target, renderRedisConf(cfg, h2)).code).toBe(0);
        const text = fs.readFileSync(target, "utf8");
        expect(text).toContain(`user default reset on ${hash(S.REDIS_PASSWORD)} ${hash("r-old-2-0123456789ab")} ${hash("r-old-1-0123456789ab")} ~* &* +@all\n`);
        // The others are not rotating: their current password only.
        expect(text).toContain(`user deployer reset on ${hash(S.DEPLOYER_PASSWORD)} ~* &* +@all\n`);
        expect(text).not.toContain("r-old");
    });

    it("keeps the replicaof Sentinel wrote after a failover, and changes nothing else", () => {
        const target = path.join(dir, "redis.conf");
        apply("redis", target, renderRedisConf(cfg, h1));
        // Failover: Sentinel made the initial master a replica of redis-3 (CONFIG REWRITE).
        fs.appendFileSync(target, "# Generated by CONFIG REWRITE\nreplicaof 10.0.0.3 6379\n");
        const before = fs.readFileSync(target, "utf8");
        running();
        const r = apply("redis", target, renderRedisConf(cfg, h1));
        expect(r.code).toBe(0);
        expect(calls()).toEqual([]);
        const after = fs.readFileSync(target, "utf8");
        expect(after).toContain("replicaof 10.0.0.3 6379\n");
        const credentials = (t: string) => t.split("\n").filter((l) => /^(user|masteruser|masterauth) /.test(l));
        expect(credentials(before)).toHaveLength(6);
        expect(credentials(after)).toEqual(credentials(before));
    });

    it("drops the initial replicaof of a replica that Sentinel promoted", () => {
        const target = path.join(dir, "redis.conf");
        apply("redis", target, renderRedisConf(cfg, h2));
        // Promotion: CONFIG REWRITE removed replicaof.
        fs.writeFileSync(target, fs.readFileSync(target, "utf8").replace(/^replicaof .*\n/m, ""));
        running();
        const r = apply("redis", target, renderRedisConf(cfgWith({ maxmemory: "1gb" }), cfgWith({ maxmemory: "1gb" }).hosts[1]));
        expect(r.code).toBe(0);
        expect(fs.readFileSync(target, "utf8")).not.toMatch(/^replicaof/m);
    });

    it("applies a live-settable change with CONFIG SET and persists it", () => {
        const target = path.join(dir, "redis.conf");
        apply("redis", target, renderRedisConf(cfg, h2));
        running();
        const changed = cfgWith({ maxmemory: "512mb", maxmemoryPolicy: "allkeys-lru" });
        const r = apply("redis", target, renderRedisConf(changed, changed.hosts[1]));
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(calls()).toEqual([
            `${DATA} -h 127.0.0.1 -p 6379 CONFIG SET maxmemory 512mb`,
            `${DATA} -h 127.0.0.1 -p 6379 CONFIG SET maxmemory-policy allkeys-lru`,
        ]);
        const text = fs.readFileSync(target, "utf8");
        expect(text).toContain("maxmemory 512mb\n");
        expect(text).toContain("replicaof 10.0.0.1 6379\n");
    });

    it("writes a restart-only change of a running server and marks it for the rolling restart, without CONFIG SET", () => {
        const target = path.join(dir, "redis.conf");
        apply("redis", target, renderRedisConf(cfg, h2));
        // The server answers on the port it runs on (6379), not on the new one.
        fs.writeFileSync(path.join(dir, "redis-cli"), `${fakeCliPrelude(cliLog)}
case "$*" in
  "-h 127.0.0.1 -p 6379 PING") echo PONG ;;
  *PING*) echo "Could not connect to Redis" ;;
  *) echo OK ;;
esac
`, { mode: 0o755 });
        activeOn(6379);
        const changed = cfgWith({ redisPort: "6380", maxmemory: "100mb" });
        const r = apply("redis", target, renderRedisConf(changed, changed.hosts[1]), "", 6380);
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(r.out).toContain("redis: needs a restart for: port (done by the rolling restart step)");
        // The live-settable part still applies live; the port waits for the restart.
        expect(calls()).toEqual([`${DATA} -h 127.0.0.1 -p 6379 CONFIG SET maxmemory 100mb`]);
        expect(fs.readFileSync(target, "utf8")).toContain("port 6380\n");
        expect(pending()).toEqual(["redis-server"]);
    });

    it("marks a directive Redis calls immutable for the rolling restart", () => {
        const target = path.join(dir, "redis.conf");
        apply("redis", target, renderRedisConf(cfg, h2));
        running();
        fakeCliRefusing("io-threads", "ERR CONFIG SET failed (possibly related to argument 'io-threads') - can't set immutable config");
        const changed = cfgWith({ extraDirectives: JSON.stringify({ "io-threads": "2" }) });
        const r = apply("redis", target, renderRedisConf(changed, changed.hosts[1]));
        expect(r.code).toBe(0);
        expect(r.out).toContain("needs a restart for: io-threads");
        expect(pending()).toEqual(["redis-server"]);
    });

    it("fails on a value Redis refuses, naming it", () => {
        const target = path.join(dir, "redis.conf");
        apply("redis", target, renderRedisConf(cfg, h2));
        running();
        fs.writeFileSync(path.join(dir, "redis-cli"), `${fakeCliPrelude(cliLog)}
case "$*" in *PING*) echo PONG ;; *) echo "ERR Invalid argument" ;; esac
`, { mode: 0o755 });
        const changed = cfgWith({ extraDirectives: JSON.stringify({ "hz": "5000" }) });
        const r = apply("redis", target, renderRedisConf(changed, changed.hosts[1]));
        expect(r.code).toBe(4);
        expect(r.err).toBe("apply-config: redis on port 6379 refused hz 5000: ERR Invalid argument\n");
    });

    it("leaves every change to the rolling restart when the unit is active but not answering", () => {
        const target = path.join(dir, "redis.conf");
        apply("redis", target, renderRedisConf(cfg, h2));
        activeOn(6379); // active, but the stand-in redis-cli does not answer PING (loading, say)
        const changed = cfgWith({ maxmemory: "100mb" });
        const r = apply("redis", target, renderRedisConf(changed, changed.hosts[1]));
        expect(r.code).toBe(0);
        expect(r.out).toContain("running but not answering on port 6379");
        expect(calls()).toEqual([]);
        expect(fs.readFileSync(target, "utf8")).toContain("maxmemory 100mb\n");
        expect(pending()).toEqual(["redis-server"]);
    });

    it("writes a restart-only change when the server is stopped", () => {
        const target = path.join(dir, "redis.conf");
        apply("redis", target, renderRedisConf(cfg, h2));
        const changed = cfgWith({ redisPort: "6380" });
        expect(apply("redis", target, renderRedisConf(changed, changed.hosts[1])).code).toBe(0);
        expect(fs.readFileSync(target, "utf8")).toContain("port 6380\n");
        // Not running: it starts with the new file, nothing waits for a restart.
        expect(pending()).toEqual([]);
    });

    it("writes changed users to the file but neither applies nor restarts for them (the acl step does)", () => {
        const target = path.join(dir, "redis.conf");
        apply("redis", target, renderRedisConf(cfg, h2));
        running();
        activeOn(6379);
        // A new application user, and the monitor user: only user lines change.
        const users = parseClusterConfig(rawWithSecrets({
            aclUserPasswords: JSON.stringify({ orders: "o-pass-0123456789abc" }), monitorPassword: S.MONITOR_PASSWORD,
        }, { aclUsers: JSON.stringify([{ name: "orders", rules: "~orders:* +@read" }]) }));
        writeSecrets(dir, { USER_ORDERS_PASSWORD: "o-pass-0123456789abc" }, [], users);
        const r = apply("redis", target, renderRedisConf(users, users.hosts[1]), "", 6379, users);
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(r.out).toBe(`redis: updated ${target}\n`);
        expect(calls()).toEqual([]);
        expect(pending()).toEqual([]);
        const text = fs.readFileSync(target, "utf8");
        expect(text).toContain(`user orders reset on ${hash("o-pass-0123456789abc")} ~orders:* +@read\n`);
        expect(text).toMatch(new RegExp(`^user monitor reset on ${hash(S.MONITOR_PASSWORD)} resetchannels -@all `, "m"));
        expect(text).not.toContain("@@");
    });

    it("writes a changed password into the file without applying it, when the render is the same", () => {
        const target = path.join(dir, "redis.conf");
        apply("redis", target, renderRedisConf(cfg, h2));
        running();
        writeSecrets(dir, { REPLICATION_PASSWORD: "repl-new-0123456789a" }, [`PREVIOUS_REPLICATION_PASSWORD=${S.REPLICATION_PASSWORD}`]);
        const r = apply("redis", target, renderRedisConf(cfg, h2));
        expect(r.code).toBe(0);
        expect(calls()).toEqual([]);
        expect(pending()).toEqual([]);
        const text = fs.readFileSync(target, "utf8");
        expect(text).toContain("masterauth repl-new-0123456789a\n");
        expect(text).toContain(`user replication reset on ${hash("repl-new-0123456789a")} ${hash(S.REPLICATION_PASSWORD)} resetchannels`);
    });
});

describe("apply-config switching a running plaintext cluster to TLS", () => {
    // A minute on: the test certificates are made as the tests start, valid from that second.
    const tlsCfg = parseClusterConfig(rawTls({}, undefined, new Date(Date.now() + 60_000)));

    it("switches the data node live in one CONFIG SET: the TLS settings, then the plaintext port closed, then the TLS port on its number", () => {
        const target = path.join(dir, "redis.conf");
        apply("redis", target, renderRedisConf(cfg, h2));
        running();
        activeOn(6379);
        const r = apply("redis", target, renderRedisConf(tlsCfg, tlsCfg.hosts[1]), "", 6379, tlsCfg);
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(calls()).toEqual([`${DATA} -h 127.0.0.1 -p 6379 CONFIG SET tls-auth-clients no tls-ca-cert-file /etc/redis/tls-ca.crt ` +
            "tls-cert-file /etc/redis/tls.crt tls-key-file /etc/redis/tls.key tls-replication yes port 0 tls-port 6379"]);
        expect(r.out).toContain("redis: switched to TLS live");
        // No restart: a replica restarted onto TLS could not reach a master still on plaintext.
        expect(pending()).toEqual([]);
        const text = fs.readFileSync(target, "utf8");
        expect(text).toMatch(/^port 0$/m);
        expect(text).toMatch(/^tls-port 6379$/m);
        expect(text).toContain("replicaof 10.0.0.1 6379\n");

        // Switched: the next up with the same render changes nothing.
        fs.writeFileSync(cliLog, "");
        expect(apply("redis", target, renderRedisConf(tlsCfg, tlsCfg.hosts[1]), "", 6379, tlsCfg).code).toBe(0);
        expect(calls()).toEqual([]);
    });

    it("fails the step, naming the switch, when Redis refuses it (the file keeps the plaintext port)", () => {
        const target = path.join(dir, "redis.conf");
        apply("redis", target, renderRedisConf(cfg, h2));
        running();
        fakeCliRefusing("tls-port", "ERR CONFIG SET failed (possibly related to argument 'tls-port') - Unable to listen on this port");
        const r = apply("redis", target, renderRedisConf(tlsCfg, tlsCfg.hosts[1]), "", 6379, tlsCfg);
        expect(r.code).toBe(4);
        expect(r.err).toBe("apply-config: redis on port 6379 refused the switch to TLS (tls-auth-clients no tls-ca-cert-file /etc/redis/tls-ca.crt " +
            "tls-cert-file /etc/redis/tls.crt tls-key-file /etc/redis/tls.key tls-replication yes port 0 tls-port 6379): " +
            "ERR CONFIG SET failed (possibly related to argument 'tls-port') - Unable to listen on this port\n");
        expect(fs.readFileSync(target, "utf8")).toMatch(/^port 6379$/m);
        expect(fs.readFileSync(target, "utf8")).not.toMatch(/^tls-port/m);
    });

    it("refuses to turn TLS off on a running TLS node, for redis.conf and sentinel.conf, before anything changes", () => {
        for (const [kind, file, render] of [
            ["redis", "redis.conf", (c: typeof cfg) => renderRedisConf(c, c.hosts[1])],
            ["sentinel", "sentinel.conf", (c: typeof cfg) => renderSentinelConf(c, c.hosts[1])],
        ] as const) {
            const target = path.join(dir, file);
            apply(kind, target, render(tlsCfg), "", undefined, tlsCfg);
            running();
            const before = fs.readFileSync(target, "utf8");
            const r = apply(kind, target, render(cfg));
            expect(r.code).toBe(5);
            expect(r.err).toBe(`apply-config: refused: ${target} has tls-port, so this host runs a TLS cluster; switching a running cluster from TLS back to plaintext is not supported. ` +
                "Set tls.enabled back to true (pulumi config set --path tls.enabled true)\n");
            expect(fs.readFileSync(target, "utf8")).toBe(before);
            expect(calls()).toEqual([]);
            expect(pending()).toEqual([]);
        }
    });

    it("leaves the Sentinel's switch to the rolling restart (Sentinel cannot change its ports or TLS settings live)", () => {
        const target = path.join(dir, "sentinel.conf");
        apply("sentinel", target, renderSentinelConf(cfg, h2));
        running();
        const r = apply("sentinel", target, renderSentinelConf(tlsCfg, tlsCfg.hosts[1]), "", 26379, tlsCfg);
        expect(r.code).toBe(0);
        expect(calls()).toEqual([]);
        expect(pending()).toEqual(["redis-sentinel"]);
        expect(r.out).toMatch(/sentinel: needs a restart for: .*port .*tls-port/);
    });
});

describe("one writer of a host's config files at a time", () => {
    it("makes a refill that waited for the lock use the render it finds then, not the one there when it started", async () => {
        const target = path.join(dir, "redis.conf");
        expect(apply("redis", target, renderRedisConf(cfg, h2)).code).toBe(0);
        // A config step holds the lock (on the files' directory) while it installs a new render.
        const holder = spawn("flock", [dir, "sleep", "2"], { stdio: "ignore" });
        await new Promise((r) => setTimeout(r, 200));
        // The links step's refill starts meanwhile, and waits.
        const links = verbs.authLinks(testContext(dir), {
            replUser: CLUSTER_USERS.replication, replSecret: "REPLICATION_PASSWORD",
            sentinelUser: CLUSTER_USERS.sentinel, sentinelSecret: "SENTINEL_AUTH_PASSWORD",
            peerUser: CLUSTER_USERS.sentinelPeer, peerSecret: "SENTINEL_PEER_PASSWORD",
        });
        const refill = spawn("sh", ["-c", links.text, links.verb], { stdio: ["ignore", "pipe", "pipe"] });
        let err = "";
        refill.stderr.on("data", (d) => { err += d; });
        const done = new Promise<number | null>((r) => refill.on("close", r));
        await new Promise((r) => setTimeout(r, 300));
        // The config step's work, under its lock: the new render installed and kept.
        const changed = cfgWith({ maxmemory: "512mb" });
        fs.writeFileSync(path.join(dir, "next.rendered"), renderRedisConf(changed, changed.hosts[1]));
        expect(spawnSync("sh", ["-c", 'mv -f "$1" "$2" && sed -i "s/^maxmemory .*/maxmemory 512mb/" "$3"', "sh",
            path.join(dir, "next.rendered"), `${target}.rendered`, target]).status).toBe(0);
        holder.kill();
        expect(await done, err).toBe(0);
        // The refill kept the new render's setting, and marked nothing for a restart.
        expect(fs.readFileSync(target, "utf8")).toMatch(/^maxmemory 512mb$/m);
        expect(pending()).toEqual([]);
    }, 20_000);
});

describe("apply-config for sentinel.conf", () => {
    const sentinelState = [
        "sentinel myid 6f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c",
        "sentinel config-epoch mymaster 3",
        "sentinel leader-epoch mymaster 3",
        "sentinel current-epoch 3",
        "sentinel known-replica mymaster 10.0.0.1 6379",
        "sentinel known-replica mymaster 10.0.0.2 6379",
        "sentinel known-sentinel mymaster 10.0.0.1 26379 0123456789012345678901234567890123456789",
    ];

    /** What a running Sentinel makes of the file after a failover to redis-3. */
    function afterFailover(target: string) {
        const text = fs.readFileSync(target, "utf8").replace("sentinel monitor mymaster 10.0.0.1 6379 2", "sentinel monitor mymaster 10.0.0.3 6379 2");
        fs.writeFileSync(target, `${text}# Generated by CONFIG REWRITE\n${sentinelState.join("\n")}\n`);
    }

    it("keeps myid, epochs, known nodes and the current master on a re-run", () => {
        const target = path.join(dir, "sentinel.conf");
        apply("sentinel", target, renderSentinelConf(cfg, h2));
        afterFailover(target);
        running();
        const r = apply("sentinel", target, renderSentinelConf(cfg, h2));
        expect(r.code).toBe(0);
        expect(calls()).toEqual([]);
        const text = fs.readFileSync(target, "utf8");
        expect(text).toContain("sentinel monitor mymaster 10.0.0.3 6379 2\n");
        for (const line of sentinelState) expect(text).toContain(`${line}\n`);
        expect(text).toContain(`user default reset on ${hash(S.SENTINEL_PASSWORD)} ~* &* +@all\n`);
        expect(text).toMatch(new RegExp(`^user sentinel-peer reset on ${hash(S.SENTINEL_PEER_PASSWORD)} resetchannels &__sentinel__:hello -@all `, "m"));
        expect(text).toContain(`sentinel sentinel-user sentinel-peer\nsentinel sentinel-pass ${S.SENTINEL_PEER_PASSWORD}\n`);
        expect(text).toContain(`sentinel auth-user mymaster sentinel\nsentinel auth-pass mymaster ${S.SENTINEL_AUTH_PASSWORD}\n`);
        expect(text).not.toMatch(/^requirepass/m);
        expect(text).not.toContain("@@");
    });

    it("changes per-master settings with SENTINEL SET and keeps Sentinel's state", () => {
        const target = path.join(dir, "sentinel.conf");
        apply("sentinel", target, renderSentinelConf(cfg, h2));
        afterFailover(target);
        running();
        const changed = cfgWith({ downAfterMilliseconds: "3000", quorum: "3" });
        const r = apply("sentinel", target, renderSentinelConf(changed, changed.hosts[1]));
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(calls().sort()).toEqual([
            `${SENTINEL} -h 127.0.0.1 -p 26379 SENTINEL SET mymaster down-after-milliseconds 3000`,
            `${SENTINEL} -h 127.0.0.1 -p 26379 SENTINEL SET mymaster quorum 3`,
        ]);
        const text = fs.readFileSync(target, "utf8");
        expect(text).toContain("sentinel monitor mymaster 10.0.0.3 6379 3\n");
        expect(text).toContain("sentinel down-after-milliseconds mymaster 3000\n");
        for (const line of sentinelState) expect(text).toContain(`${line}\n`);
    });

    /** The state lines of a sentinel.conf: its id and the nodes it knows. */
    const stateLines = (text: string) => text.split("\n").filter((l) => /^sentinel (myid|known-sentinel|known-replica) /.test(l));

    it("writes its id and the cluster's other Sentinels and replicas at a first install, so they know each other from the start", () => {
        const target = path.join(dir, "sentinel.conf");
        expect(apply("sentinel", target, renderSentinelConf(cfg, h2)).code).toBe(0);
        const ids = cfg.hosts.map((h) => sentinelId(cfg, h));
        expect(new Set(ids).size).toBe(3);
        expect(ids.every((id) => /^[0-9a-f]{40}$/.test(id))).toBe(true);
        expect(stateLines(fs.readFileSync(target, "utf8"))).toEqual([
            `sentinel myid ${ids[1]}`,
            `sentinel known-sentinel mymaster 10.0.0.1 26379 ${ids[0]}`,
            `sentinel known-sentinel mymaster 10.0.0.3 26379 ${ids[2]}`,
            "sentinel known-replica mymaster 10.0.0.2 6379",
            "sentinel known-replica mymaster 10.0.0.3 6379",
        ]);
        // The other hosts' renders name this Sentinel by the id it now has.
        expect(renderSentinelConf(cfg, h1)).toContain(`sentinel known-sentinel mymaster 10.0.0.2 26379 ${ids[1]}\n`);
    });

    it("keeps only its id when it joins a running cluster: the others' ids are theirs, learnt by hello", () => {
        // A peer Sentinel that answers: the cluster runs, with redis-3 as its master.
        fs.writeFileSync(path.join(dir, "redis-cli"), `${fakeCliPrelude(cliLog)}
case "$*" in
  *get-master-addr-by-name*) printf '10.0.0.3\\n6379\\n' ;;
  *) echo OK ;;
esac
`, { mode: 0o755 });
        const target = path.join(dir, "sentinel.conf");
        const r = apply("sentinel", target, renderSentinelConf(cfg, h2), "10.0.0.1:26379");
        expect(r.code, r.err).toBe(0);
        expect(r.out).toContain("sentinel: joining the running cluster, whose master is 10.0.0.3 6379");
        const text = fs.readFileSync(target, "utf8");
        expect(text).toContain("sentinel monitor mymaster 10.0.0.3 6379 2\n");
        expect(stateLines(text)).toEqual([`sentinel myid ${sentinelId(cfg, h2)}`]);
    });

    it("never writes the render's state over a running Sentinel's, and never restarts for it (a cluster from before the first-install state)", () => {
        const target = path.join(dir, "sentinel.conf");
        apply("sentinel", target, renderSentinelConf(cfg, h2));
        // As an older version left it: Sentinel's own id and state, no rendered state lines.
        const older = fs.readFileSync(target, "utf8").split("\n").filter((l) => !/^sentinel (myid|known-)/.test(l)).join("\n");
        fs.writeFileSync(target, `${older}${sentinelState.join("\n")}\n`);
        fs.writeFileSync(`${target}.rendered`, renderSentinelConf(cfg, h2).split("\n").filter((l) => !/^sentinel (myid|known-)/.test(l)).join("\n"));
        running();
        // A host added: every render now names one more Sentinel and replica.
        const four = parseClusterConfig(raw({ hosts: JSON.stringify([...HOSTS, { name: "redis-4", address: "10.0.0.4", hostKey: HOSTS[0].hostKey }]) }));
        const r = apply("sentinel", target, renderSentinelConf(four, four.hosts[1]), "", 26379, four);
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        // Only the quorum of four (a majority: 3) changes, live.
        expect(calls()).toEqual([`${SENTINEL} -h 127.0.0.1 -p 26379 SENTINEL SET mymaster quorum 3`]);
        expect(pending()).toEqual([]);
        expect(stateLines(fs.readFileSync(target, "utf8"))).toEqual(stateLines(sentinelState.join("\n")));
    });

    it("never moves the monitored master back to the stack's initial master", () => {
        const target = path.join(dir, "sentinel.conf");
        apply("sentinel", target, renderSentinelConf(cfg, h2));
        afterFailover(target);
        running();
        // The operator edits the stack's initial roles: topology still belongs to Sentinel.
        const moved = parseClusterConfig(raw({ hosts: JSON.stringify([
            { ...HOSTS[0], role: "replica" }, { ...HOSTS[1], role: "master" }, HOSTS[2],
        ]) }));
        expect(apply("sentinel", target, renderSentinelConf(moved, moved.hosts[1])).code).toBe(0);
        expect(calls()).toEqual([]);
        expect(fs.readFileSync(target, "utf8")).toContain("sentinel monitor mymaster 10.0.0.3 6379 2\n");
    });

    it("marks a port change of a running Sentinel for the rolling restart and keeps its state", () => {
        const target = path.join(dir, "sentinel.conf");
        apply("sentinel", target, renderSentinelConf(cfg, h2));
        afterFailover(target);
        running();
        const changed = cfgWith({ sentinelPort: "26380" });
        const r = apply("sentinel", target, renderSentinelConf(changed, changed.hosts[1]));
        expect(r.code).toBe(0);
        expect(r.out).toContain("sentinel: needs a restart for: port sentinel announce-port (done by the rolling restart step)");
        expect(pending()).toEqual(["redis-sentinel"]);
        const text = fs.readFileSync(target, "utf8");
        expect(text).toContain("port 26380\n");
        for (const line of sentinelState) expect(text).toContain(`${line}\n`);
    });
});
