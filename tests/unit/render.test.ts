import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { parseClusterConfig } from "../../src/config";
import {
    renderRedisConf, renderRedisUnit, renderSentinelConf, renderSentinelUnit, renderSysctl, renderThpTmpfiles,
} from "../../src/render";
import { HOSTS, raw } from "./fixtures";

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

    it("keeps secrets out of the rendered text by default", () => {
        for (const h of cfg.hosts) {
            for (const text of [renderRedisConf(cfg, h), renderSentinelConf(cfg, h)]) {
                expect(text).not.toContain("s3cret");
                expect(text).toMatch(/@@REDIS_PASSWORD@@/);
            }
        }
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
