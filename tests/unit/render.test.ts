import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { parseClusterConfig } from "../../src/config";
import {
    renderRedisConf, renderRedisUnit, renderSentinelConf, renderSentinelUnit, renderStartGuardDropIn, renderSysctl, renderThpTmpfiles,
} from "../../src/render";
import { HOSTS, REDIS_PASSWORD, raw, rawWithSecrets } from "./fixtures";

const GOLDEN = path.join(__dirname, "golden");

/** Compares with tests/unit/golden/NAME; UPDATE_GOLDEN=1 rewrites the file instead. */
function golden(name: string, text: string) {
    const file = path.join(GOLDEN, name);
    if (process.env.UPDATE_GOLDEN === "1") fs.writeFileSync(file, text);
    expect(text).toBe(fs.readFileSync(file, "utf8"));
}

const cfg = parseClusterConfig(raw({
    extraDirectives: JSON.stringify({ "tcp-backlog": "1024" }),
    maxmemory: "256mb",
    maxmemoryPolicy: "allkeys-lru",
}));
const [master, replica] = cfg.hosts;

describe("rendering", () => {
    it("renders the master's redis.conf without replicaof", () => golden("redis-master.conf", renderRedisConf(cfg, master)));
    it("renders a replica's redis.conf with replicaof the initial master", () => golden("redis-replica.conf", renderRedisConf(cfg, replica)));
    it("renders sentinel.conf monitoring the initial master", () => golden("sentinel.conf", renderSentinelConf(cfg, replica)));
    it("renders the data node unit", () => golden("redis-server.service", renderRedisUnit(cfg, master)));
    it("renders the Sentinel unit", () => golden("redis-sentinel.service", renderSentinelUnit(cfg, master)));
    it("renders kernel tuning", () => {
        golden("sysctl.conf", renderSysctl());
        golden("thp.tmpfiles.conf", renderThpTmpfiles());
    });

    it("keeps secrets and their hashes out of the rendered text: placeholders the host fills", () => {
        for (const h of cfg.hosts) {
            const redis = renderRedisConf(cfg, h);
            const sentinel = renderSentinelConf(cfg, h);
            for (const text of [redis, sentinel]) {
                expect(text).not.toContain(REDIS_PASSWORD);
                expect(text).not.toMatch(/#[0-9a-f]{64}/);
                expect(text).not.toMatch(/^requirepass/m);
                expect(text).not.toMatch(/^(masterauth|sentinel auth-pass mymaster|sentinel sentinel-pass) (?!@@[A-Z_]+@@$)/m);
                // A password itself only where a node logs in to another; users get hashes.
                for (const line of text.split("\n").filter((l) => /@@[A-Z_]+@@/.test(l))) {
                    expect(line).toMatch(/^(masterauth|sentinel auth-pass mymaster|sentinel sentinel-pass) @@[A-Z_]+@@$/);
                }
            }
            expect(redis).toContain("user default reset on @@REDIS_PASSWORD:HASHES@@ ~* &* +@all\n");
            expect(redis).toContain("masteruser replication\nmasterauth @@REPLICATION_PASSWORD@@\n");
            expect(sentinel).toContain("user default reset on @@SENTINEL_PASSWORD:HASHES@@ ~* &* +@all\n");
            expect(sentinel).toContain("sentinel auth-user mymaster sentinel\nsentinel auth-pass mymaster @@SENTINEL_AUTH_PASSWORD@@\n");
            expect(sentinel).toContain("sentinel sentinel-user sentinel-peer\nsentinel sentinel-pass @@SENTINEL_PEER_PASSWORD@@\n");
        }
    });

    it("renders the stack's users: the default user off when disabled, the monitor and application users", () => {
        const c = parseClusterConfig(rawWithSecrets({
            monitorPassword: "m-pass-0123456789abc",
            aclUserPasswords: JSON.stringify({ orders: "o-pass-0123456789abc", "app-2": "a-pass-0123456789abc" }),
        }, {
            defaultUserEnabled: "false",
            aclUsers: JSON.stringify([{ name: "orders", rules: "~orders:* +@read +@write -@dangerous" }, { name: "app-2", rules: "~app2:* +get" }]),
        }));
        const users = renderRedisConf(c, c.hosts[1]).split("\n").filter((l) => l.startsWith("user "));
        // The deployer first, the default user last: an upgraded node is reached as `default` until the deployer exists.
        expect(users).toEqual([
            "user deployer reset on @@DEPLOYER_PASSWORD:HASHES@@ ~* &* +@all",
            "user replication reset on @@REPLICATION_PASSWORD:HASHES@@ resetchannels -@all +psync +replconf +ping",
            expect.stringMatching(/^user sentinel reset on @@SENTINEL_AUTH_PASSWORD:HASHES@@ resetchannels &__sentinel__:hello -@all /),
            "user monitor reset on @@MONITOR_PASSWORD:HASHES@@ resetchannels -@all +ping +info +client|list +slowlog|get +slowlog|len +latency|latest +latency|histogram +memory|stats +dbsize",
            "user orders reset on @@USER_ORDERS_PASSWORD:HASHES@@ ~orders:* +@read +@write -@dangerous",
            "user app-2 reset on @@USER_APP_2_PASSWORD:HASHES@@ ~app2:* +get",
            "user default reset off -@all",
        ]);
        // The Sentinels' users do not depend on the data nodes' ones.
        expect(renderSentinelConf(c, c.hosts[1])).toBe(renderSentinelConf(cfg, cfg.hosts[1]));
    });

    it("puts no password on any unit command line", () => {
        for (const text of [renderRedisUnit(cfg, master), renderSentinelUnit(cfg, master)]) {
            const exec = text.split("\n").filter((l) => l.startsWith("ExecStart"));
            expect(exec).toHaveLength(1);
            expect(exec[0]).not.toMatch(/pass|auth|@@/i);
        }
    });

    it("is pure: the same input renders the same text", () => {
        expect(renderRedisConf(cfg, replica)).toBe(renderRedisConf(cfg, replica));
    });

    it("turns persistence off as asked", () => {
        const c = parseClusterConfig(raw({ persistence: JSON.stringify({ aof: false, rdb: true }) }));
        const text = renderRedisConf(c, c.hosts[0]);
        expect(text).toContain("appendonly no\n");
        expect(text).toContain("save 3600 1 300 100 60 10000\n");
        const noRdb = parseClusterConfig(raw({ persistence: JSON.stringify({ aof: true, rdb: false }) }));
        expect(renderRedisConf(noRdb, noRdb.hosts[0])).toContain('save ""\n');
    });

    it("renders each host's own persistence; a node without it gets the start guard's drop-in, every Sentinel the reboot period", () => {
        const c = parseClusterConfig(raw({ hosts: JSON.stringify([
            { ...HOSTS[0], persistence: { aof: false, rdb: false } }, { ...HOSTS[1], persistence: { appendfsync: "always" } }, HOSTS[2],
        ]) }));
        const off = renderRedisConf(c, c.hosts[0]);
        expect(off).toContain('save ""\nappendonly no\n');
        expect(renderRedisConf(c, c.hosts[1])).toContain("save 3600 1 300 100 60 10000\nappendonly yes\n");
        expect(renderRedisConf(c, c.hosts[1])).toContain("appendfsync always\n");
        expect(renderRedisConf(c, c.hosts[2])).toContain("appendfsync everysec\n");
        golden("redis-server-guard.conf", renderStartGuardDropIn(c.hosts[0]));
        // down-after-milliseconds (5000 here); 0 (off) while every node keeps its data.
        for (const h of c.hosts) expect(renderSentinelConf(c, h)).toContain("sentinel master-reboot-down-after-period mymaster 5000\n");
        expect(renderSentinelConf(cfg, replica)).toContain("sentinel master-reboot-down-after-period mymaster 0\n");
        // The unit itself is the same as a node that keeps its data: the drop-in adds the guard.
        expect(renderRedisUnit(c, c.hosts[0])).toBe(renderRedisUnit(cfg, master));
    });

    it("announces the NAT address when one is given", () => {
        const c = parseClusterConfig(raw({ hosts: JSON.stringify([
            { ...HOSTS[0], name: "a", announceAddress: "203.0.113.1" },
            { ...HOSTS[1], name: "b", announceAddress: "203.0.113.2" },
            { ...HOSTS[2], name: "c", announceAddress: "203.0.113.3" },
        ]) }));
        expect(renderRedisConf(c, c.hosts[1])).toContain("replicaof 203.0.113.1 6379\n");
        expect(renderRedisConf(c, c.hosts[1])).toContain("replica-announce-ip 203.0.113.2\n");
        expect(renderSentinelConf(c, c.hosts[2])).toContain("sentinel announce-ip 203.0.113.3\n");
        expect(renderSentinelConf(c, c.hosts[2])).toContain("sentinel monitor mymaster 203.0.113.1 6379 2\n");
    });
});
