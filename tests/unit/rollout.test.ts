import { describe, expect, it } from "vitest";
import { parseClusterConfig } from "../../src/config";
import { planCluster } from "../../src/plan";
import { rollOrder } from "../../src/rollout";
import { HOSTS, presentBinaries, raw } from "./fixtures";

const cfg = parseClusterConfig(raw());
const rev = (o: Record<string, string>, host = 1, files = presentBinaries) => {
    const c = parseClusterConfig(raw(o, files));
    return planCluster(c).hosts[host].restartRevision;
};

describe("rolling restart order", () => {
    it("visits every host in the replica pass, then every host in the master pass", () => {
        expect(rollOrder(cfg).map((s) => `${s.pass}:${s.host.name}`)).toEqual([
            "replicas:redis-1", "replicas:redis-2", "replicas:redis-3",
            "master:redis-1", "master:redis-2", "master:redis-3",
        ]);
    });

    it("does not depend on which host the stack calls master (Sentinel decides at run time)", () => {
        const moved = parseClusterConfig(raw({ hosts: JSON.stringify([
            { ...HOSTS[0], role: "replica" }, HOSTS[1], { ...HOSTS[2], role: "master" },
        ]) }));
        expect(rollOrder(moved).map((s) => s.host.name)).toEqual(rollOrder(cfg).map((s) => s.host.name));
    });
});

describe("what makes a restart step run", () => {
    const base = rev({});
    it("ignores changes applied live", () => {
        const live: Record<string, string>[] = [{ maxmemory: "1gb" }, { maxmemoryPolicy: "allkeys-lru" }, { quorum: "3" }, { downAfterMilliseconds: "3000" },
            { persistence: JSON.stringify({ appendfsync: "always" }) }, { minReplicasToWrite: "2" }];
        for (const o of live) {
            expect(rev(o)).toBe(base);
        }
    });
    it("follows ports, paths, binaries and extra directives", () => {
        expect(rev({ redisPort: "6380" })).not.toBe(base);
        expect(rev({ sentinelPort: "26380" })).not.toBe(base);
        expect(rev({ logDir: "/srv/log" })).not.toBe(base);
        expect(rev({ extraDirectives: JSON.stringify({ "io-threads": "2" }) })).not.toBe(base);
        expect(rev({}, 1, { sha256: (p) => (p.endsWith("redis-server") ? "c".repeat(64) : "b".repeat(64)) })).not.toBe(base);
        expect(rev({ redisVersion: "8.2.3" })).not.toBe(base);
    });
    it("ignores a host added or removed elsewhere (the Sentinels and replicas a first install writes are Sentinel's state)", () => {
        const withFourth = JSON.stringify([...HOSTS, { name: "redis-4", address: "10.0.0.4", hostKey: HOSTS[0].hostKey }]);
        const four = parseClusterConfig(raw({ hosts: withFourth }));
        // The render does change (one more known Sentinel and replica)...
        expect(planCluster(four).hosts[1].files.sentinelConf).not.toBe(planCluster(cfg).hosts[1].files.sentinelConf);
        // ...and the quorum with it (live), but nothing that needs a restart.
        expect(rev({ hosts: withFourth })).toBe(base);
    });
    it("differs per host", () => {
        expect(rev({}, 0)).not.toBe(rev({}, 1));
    });
});
