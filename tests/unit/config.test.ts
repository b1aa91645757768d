import { describe, expect, it } from "vitest";
import { ConfigError, isIpAddress, parseClusterConfig, suggest } from "../../src/config";
import { HOSTS, HOST_KEYS, problems, raw } from "./fixtures";

const hosts = (h: unknown) => ({ hosts: JSON.stringify(h) });

describe("parseClusterConfig defaults", () => {
    it("fills every default for a minimal stack", () => {
        const c = parseClusterConfig(raw());
        expect(c.redisVersion).toBe("8.2.2");
        expect(c.redisPort).toBe(6379);
        expect(c.sentinelPort).toBe(26379);
        expect(c.masterName).toBe("mymaster");
        expect(c.quorum).toBe(2);
        expect(c.downAfterMilliseconds).toBe(5000);
        expect(c.failoverTimeout).toBe(60000);
        expect(c.parallelSyncs).toBe(1);
        expect(c.paths).toEqual({ installDir: "/opt/redis-8.2.2", configDir: "/etc/redis", dataDir: "/var/lib/redis", logDir: "/var/log/redis" });
        expect(c.serviceUser).toBe("redis");
        expect(c.persistence).toEqual({ aof: true, rdb: true, appendfsync: "everysec" });
        expect(c.maxmemory).toBe("0");
        expect(c.maxmemoryPolicy).toBe("noeviction");
        expect(c.minReplicasToWrite).toBe(1);
        expect(c.purgeDataOnDestroy).toBe(false);
        expect(c.hosts[1]).toEqual({
            name: "redis-2", address: "10.0.0.2", sshPort: 22, sshUser: "root", role: "replica",
            replicaPriority: 100, announceAddress: "10.0.0.2", hostKey: HOST_KEYS[1],
        });
        expect(c.binaries.server).toEqual({ path: "/project/binaries/redis-server", sha256: "a".repeat(64) });
    });

    it("treats the Pulumi.yaml placeholder defaults as unset", () => {
        const c = parseClusterConfig(raw({ quorum: "0", minReplicasToWrite: "-1", installDir: "", sentinelPassword: "" }));
        expect(c.quorum).toBe(2);
        expect(c.minReplicasToWrite).toBe(1);
        expect(c.paths.installDir).toBe("/opt/redis-8.2.2");
    });

    it("uses a majority of five Sentinels and a versioned install dir", () => {
        const five = [...HOSTS, { name: "redis-4", address: "10.0.0.4", hostKey: HOST_KEYS[0] }, { name: "redis-5", address: "10.0.0.5", hostKey: HOST_KEYS[1] }];
        const c = parseClusterConfig(raw({ ...hosts(five), redisVersion: "8.0.5" }));
        expect(c.quorum).toBe(3);
        expect(c.paths.installDir).toBe("/opt/redis-8.0.5");
    });
});

describe("parseClusterConfig refuses bad input, naming the key", () => {
    const cases: [string, Record<string, string | undefined>, string][] = [
        ["no initial master", hosts(HOSTS.map((h) => ({ ...h, role: "replica" }))),
            'redis-sentinel:hosts: no host has role "master"; exactly one must be the initial master'],
        ["two masters", hosts(HOSTS.map((h, i) => ({ ...h, role: i < 2 ? "master" : "replica" }))),
            'redis-sentinel:hosts: 2 hosts have role "master" (redis-1, redis-2); exactly one must'],
        ["duplicate names", hosts([...HOSTS.slice(0, 2), { ...HOSTS[2], name: "redis-1" }]),
            'redis-sentinel:hosts[2].name: "redis-1" is also used by hosts[0]'],
        ["duplicate addresses", hosts([...HOSTS.slice(0, 2), { ...HOSTS[2], address: "10.0.0.2" }]),
            'redis-sentinel:hosts[2].address: "10.0.0.2" is also used by hosts[1]'],
        ["fewer than three hosts", hosts(HOSTS.slice(0, 2)),
            "redis-sentinel:hosts: 2 host(s) given; Sentinel needs at least 3 to fail over safely (set allowFewerThanThreeHosts=true to deploy anyway)"],
        ["quorum larger than the Sentinels", { quorum: "4" },
            "redis-sentinel:quorum: 4 is larger than the number of Sentinels (3)"],
        ["quorum not a majority", { quorum: "1" },
            "redis-sentinel:quorum: 1 is not a majority of the 3 Sentinels (at least 2)"],
        ["missing password", { redisPassword: undefined },
            "redis-sentinel:redisPassword: is required; set it with: pulumi config set --secret redisPassword ..."],
        ["missing SSH key", { sshPrivateKey: undefined },
            "redis-sentinel:sshPrivateKey: is required; set it with: pulumi config set --secret sshPrivateKey ..."],
        ["port out of range", { redisPort: "70000" },
            "redis-sentinel:redisPort: 70000 is out of range (1-65535)"],
        ["port not a number", { sentinelPort: "26379x" },
            'redis-sentinel:sentinelPort: must be an integer, got "26379x"'],
        ["same port twice", { sentinelPort: "6379" },
            "redis-sentinel:sentinelPort: must differ from redisPort (6379)"],
        ["a typo in a key", { redisPrt: "6380" },
            'redis-sentinel:redisPrt: unknown configuration key (did you mean "redisPort"?)'],
        ["a typo in a host key", hosts([{ ...HOSTS[0], sshprot: 2222 }, ...HOSTS.slice(1)]),
            'redis-sentinel:hosts[0].sshprot: unknown host key (did you mean "sshPort"?)'],
        ["a host name that is no name", hosts([{ ...HOSTS[0], name: "Redis One" }, ...HOSTS.slice(1)]),
            'redis-sentinel:hosts[0].name: must be 1-32 lowercase letters, digits or \'-\', got "Redis One"'],
        ["a hostname as address", hosts([{ ...HOSTS[0], address: "redis-1.example" }, ...HOSTS.slice(1)]),
            'redis-sentinel:hosts[0].address: must be an IP address, got "redis-1.example"'],
        ["an unknown role", hosts([{ ...HOSTS[0], role: "primary" }, ...HOSTS.slice(1)]),
            'redis-sentinel:hosts[0].role: must be "master" or "replica", got "primary"'],
        ["a bad host key", hosts([{ ...HOSTS[0], hostKey: "AAAA" }, ...HOSTS.slice(1)]),
            "redis-sentinel:hosts[0].hostKey: is not an OpenSSH public key (expected \"TYPE BASE64\", e.g. \"ssh-ed25519 AAAA...\"); pin the output of: ssh-keyscan -t ed25519 10.0.0.1 | cut -d' ' -f2-"],
        ["hosts that are not a list", { hosts: '{"name":"x"}' },
            "redis-sentinel:hosts: must be a non-empty list of hosts"],
        ["no hosts at all", { hosts: undefined },
            "redis-sentinel:hosts: is required: a list of hosts, each with name, address and role (or set localDocker to make them as Docker containers)"],
        ["the Pulumi.yaml default for hosts", { hosts: "[]" },
            "redis-sentinel:hosts: is required: a list of hosts, each with name, address and role (or set localDocker to make them as Docker containers)"],
        ["a password in plain text", { sentinelPassword: "plain-text-password-123" },
            "redis-sentinel:sentinelPassword: is stored in plain text; set it again with: pulumi config set --secret sentinelPassword ..."],
        ["a short password", { redisPassword: "short" },
            "redis-sentinel:redisPassword: must be 16-128 characters of letters, digits and !#%+,-./:=?@^_~"],
        ["a key that is no private key", { sshPrivateKey: "ssh-ed25519 AAAA" },
            "redis-sentinel:sshPrivateKey: is not a PEM/OpenSSH private key (expected a '-----BEGIN ... PRIVATE KEY-----' block)"],
        ["persistence off everywhere", { persistence: '{"aof":false,"rdb":false}' },
            "redis-sentinel:persistence: AOF and RDB are both off; a master restarted by systemd would come back empty and its replicas would wipe their copies. Keep at least one on"],
        ["a bad appendfsync", { persistence: '{"appendfsync":"sometimes"}' },
            'redis-sentinel:persistence.appendfsync: must be always, everysec or no, got "sometimes"'],
        ["a bad maxmemory", { maxmemory: "lots" },
            'redis-sentinel:maxmemory: must be bytes or a size like 256mb, got "lots"'],
        ["a bad maxmemory policy", { maxmemoryPolicy: "lru" },
            'redis-sentinel:maxmemoryPolicy: must be one of noeviction, allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lrm, volatile-lrm, got "lru"'],
        ["a managed directive in extraDirectives", { extraDirectives: '{"port":"7000"}' },
            "redis-sentinel:extraDirectives.port: is managed by the deployer; use its own configuration key instead"],
        ["min-replicas beyond the replicas", { minReplicasToWrite: "3" },
            "redis-sentinel:minReplicasToWrite: 3 is more than the number of replicas (2); the master would refuse every write"],
        ["a relative path", { dataDir: "data" },
            "redis-sentinel:dataDir: must be an absolute path of letters, digits, '.', '_', '-' and '/', got \"data\""],
        ["root as service user", { serviceUser: "root" },
            "redis-sentinel:serviceUser: must not be root"],
        ["a bad version", { redisVersion: "latest" },
            'redis-sentinel:redisVersion: must be a version like 8.2.2, got "latest"'],
        ["no replica can be promoted", hosts(HOSTS.map((h) => ({ ...h, replicaPriority: h.role === "master" ? 100 : 0 }))),
            "redis-sentinel:hosts: every replica has replicaPriority 0; Sentinel could never promote one"],
    ];
    it.each(cases)("%s", (_what, overrides, message) => {
        expect(problems(raw(overrides))).toContain(message);
    });

    it("names each missing binary", () => {
        const none = { sha256: () => undefined };
        expect(problems(raw({}, none))).toEqual([
            "redis-sentinel:binariesDir: redis-server is missing from binaries/ (put the prebuilt Redis 8.2.2 binaries redis-server and redis-cli there)",
            "redis-sentinel:binariesDir: redis-cli is missing from binaries/ (put the prebuilt Redis 8.2.2 binaries redis-server and redis-cli there)",
        ]);
    });

    it("reports every problem at once, and the error message lists them", () => {
        try {
            parseClusterConfig(raw({ redisPort: "0", quorum: "9", redisPassword: undefined }));
            expect.unreachable();
        } catch (e) {
            expect(e).toBeInstanceOf(ConfigError);
            expect((e as ConfigError).problems).toHaveLength(3);
            expect((e as Error).message).toBe([
                "invalid stack configuration:",
                "  - redis-sentinel:redisPassword: is required; set it with: pulumi config set --secret redisPassword ...",
                "  - redis-sentinel:redisPort: 0 is out of range (1-65535)",
                "  - redis-sentinel:quorum: 9 is larger than the number of Sentinels (3)",
            ].join("\n"));
        }
    });

    it("allows two hosts only when asked to", () => {
        const c = parseClusterConfig(raw({ ...hosts(HOSTS.slice(0, 2)), allowFewerThanThreeHosts: "true" }));
        expect(c.hosts).toHaveLength(2);
        expect(c.quorum).toBe(2);
    });
});

describe("helpers", () => {
    it("recognises IP addresses", () => {
        for (const ok of ["10.0.0.1", "198.18.0.11", "::1", "fe80::1", "2001:db8:0:0:0:0:0:1"]) expect(isIpAddress(ok)).toBe(true);
        for (const bad of ["256.0.0.1", "10.0.0", "host", "1:2:3:4:5:6:7:8:9", "", "01.2.3.4x"]) expect(isIpAddress(bad)).toBe(false);
    });
    it("suggests close keys only", () => {
        expect(suggest("masterNmae", ["masterName", "quorum"])).toBe("masterName");
        expect(suggest("completely-different", ["masterName", "quorum"])).toBeUndefined();
    });
});
