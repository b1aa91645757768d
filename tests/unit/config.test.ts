import { describe, expect, it } from "vitest";
import { ConfigError, isIpAddress, parseClusterConfig, suggest } from "../../src/config";
import { HOSTS, HOST_KEYS, REDIS_PASSWORD, problems, raw, rawWithSecrets } from "./fixtures";

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
            persistence: { aof: true, rdb: true, appendfsync: "everysec" },
        });
        expect(c.binaries.server).toEqual({ path: "/project/binaries/redis-server", sha256: "a".repeat(64) });
        expect(c.acl).toEqual({ defaultUser: true, users: [], monitor: false, keepPreviousAppPasswords: false });
    });

    it("reads the ACL settings, the Pulumi.yaml defaults being unset", () => {
        const defaults = parseClusterConfig(raw({
            defaultUserEnabled: "true", aclUsers: "[]", aclUserPasswords: "{}", keepPreviousAppPasswords: "false", monitorPassword: "",
            deployerPassword: "", replicationPassword: "", sentinelAuthPassword: "", sentinelPeerPassword: "",
        }));
        expect(defaults.acl).toEqual({ defaultUser: true, users: [], monitor: false, keepPreviousAppPasswords: false });
        const c = parseClusterConfig(rawWithSecrets({
            monitorPassword: "m-pass-0123456789abc", deployerPassword: "d-pass-0123456789abc",
            aclUserPasswords: JSON.stringify({ orders: "o-pass-0123456789abc", "web-2": "w-pass-0123456789abc" }),
        }, {
            defaultUserEnabled: "false", keepPreviousAppPasswords: "true",
            aclUsers: JSON.stringify([{ name: "orders", rules: " ~orders:* +@read +@write -@dangerous " }, { name: "web-2", rules: "~web:* +get" }]),
        }));
        expect(c.acl).toEqual({
            defaultUser: false, monitor: true, keepPreviousAppPasswords: true,
            users: [{ name: "orders", rules: "~orders:* +@read +@write -@dangerous" }, { name: "web-2", rules: "~web:* +get" }],
        });
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

describe("per-host persistence", () => {
    it("takes each field a host sets from the host, the others from the stack", () => {
        const c = parseClusterConfig(raw({
            persistence: JSON.stringify({ appendfsync: "always" }),
            ...hosts([{ ...HOSTS[0], persistence: { aof: false, rdb: false } }, { ...HOSTS[1], persistence: { rdb: false } }, HOSTS[2]]),
        }));
        expect(c.persistence).toEqual({ aof: true, rdb: true, appendfsync: "always" });
        expect(c.hosts.map((h) => h.persistence)).toEqual([
            { aof: false, rdb: false, appendfsync: "always" },
            { aof: true, rdb: false, appendfsync: "always" },
            { aof: true, rdb: true, appendfsync: "always" },
        ]);
    });

    it("allows persistence off on some nodes (they start behind the start guard) and on the stack, when a host keeps its own on", () => {
        expect(problems(raw(hosts([{ ...HOSTS[0], persistence: { aof: false, rdb: false } }, ...HOSTS.slice(1)])))).toEqual([]);
        const c = parseClusterConfig(raw({
            persistence: JSON.stringify({ aof: false, rdb: false }),
            ...hosts([HOSTS[0], { ...HOSTS[1], persistence: { aof: true } }, HOSTS[2]]),
        }));
        expect(c.hosts.map((h) => h.persistence.aof || h.persistence.rdb)).toEqual([false, true, false]);
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
            "redis-sentinel:persistence: AOF and RDB are off on every host; a node restarted empty must find its data on another node. Keep them on for at least one host (a host's persistence overrides this one)"],
        ["persistence off on every host, each by its own setting", hosts(HOSTS.map((h) => ({ ...h, persistence: { aof: false, rdb: false } }))),
            "redis-sentinel:persistence: AOF and RDB are off on every host; a node restarted empty must find its data on another node. Keep them on for at least one host (a host's persistence overrides this one)"],
        ["data only on hosts Sentinel never promotes", hosts([
            { ...HOSTS[0], persistence: { aof: false, rdb: false } }, { ...HOSTS[1], replicaPriority: 0 }, { ...HOSTS[2], persistence: { aof: false, rdb: false } },
        ]), "redis-sentinel:hosts: every host that keeps AOF or RDB has replicaPriority 0; a node without persistence restarted empty waits for Sentinel to promote a node that holds data, and Sentinel could promote none"],
        ["a host's persistence flag that is no boolean", hosts([HOSTS[0], { ...HOSTS[1], persistence: { aof: "no" } }, HOSTS[2]]),
            'redis-sentinel:hosts[1].persistence.aof: must be true or false, got "no"'],
        ["a typo in a host's persistence", hosts([{ ...HOSTS[0], persistence: { fsync: "always" } }, ...HOSTS.slice(1)]),
            "redis-sentinel:hosts[0].persistence.fsync: unknown key (expected aof, rdb or appendfsync)"],
        ["a host's persistence that is no object", hosts([{ ...HOSTS[0], persistence: "off" }, ...HOSTS.slice(1)]),
            "redis-sentinel:hosts[0].persistence: must be an object like {aof: true, rdb: true, appendfsync: everysec}"],
        ["a host's bad appendfsync", hosts([...HOSTS.slice(0, 2), { ...HOSTS[2], persistence: { appendfsync: "never" } }]),
            'redis-sentinel:hosts[2].persistence.appendfsync: must be always, everysec or no, got "never"'],
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

    const users = (...list: unknown[]) => ({ aclUsers: JSON.stringify(list) });
    const passwords = (p: Record<string, string>) => ({ aclUserPasswords: JSON.stringify(p) });
    const OWN = "each of the cluster's users has a password of its own";
    /** [what, secrets (set with --secret), other keys, the exact problems] */
    const aclCases: [string, Record<string, string>, Record<string, string>, string[]][] = [
        ["a cluster password equal to redisPassword (which sentinelPassword defaults to)", { deployerPassword: REDIS_PASSWORD }, {},
            [`redis-sentinel:deployerPassword: must differ from redisPassword and sentinelPassword: ${OWN}`]],
        ["a cluster password equal to sentinelPassword", { sentinelPassword: "s-pass-0123456789abcd", sentinelPeerPassword: "s-pass-0123456789abcd" }, {},
            [`redis-sentinel:sentinelPeerPassword: must differ from sentinelPassword: ${OWN}`]],
        ["two cluster passwords alike", { replicationPassword: "x-pass-0123456789abcd", sentinelAuthPassword: "x-pass-0123456789abcd" }, {}, [
            `redis-sentinel:replicationPassword: must differ from sentinelAuthPassword: ${OWN}`,
            `redis-sentinel:sentinelAuthPassword: must differ from replicationPassword: ${OWN}`,
        ]],
        ["the monitor password equal to an application user's", { monitorPassword: "o-pass-0123456789abc", ...passwords({ orders: "o-pass-0123456789abc" }) },
            users({ name: "orders", rules: "~orders:* +@read" }),
            [`redis-sentinel:monitorPassword: must differ from aclUserPasswords.orders: ${OWN}`]],
        ["a short cluster password", { deployerPassword: "short" }, {},
            ["redis-sentinel:deployerPassword: must be 16-128 characters of letters, digits and !#%+,-./:=?@^_~"]],
        ["a cluster password with a space", { sentinelPeerPassword: "two words 0123456789" }, {},
            ["redis-sentinel:sentinelPeerPassword: must be 16-128 characters of letters, digits and !#%+,-./:=?@^_~"]],
        ["an application user with a reserved name", passwords({ replication: "o-pass-0123456789abc" }), users({ name: "replication", rules: "+@read" }),
            ['redis-sentinel:aclUsers[0].name: "replication" is one of the cluster\'s own users (default, deployer, replication, sentinel, sentinel-peer, monitor); choose another name']],
        ["the default user as an application user", passwords({ default: "o-pass-0123456789abc" }), users({ name: "default", rules: "+@read" }),
            ['redis-sentinel:aclUsers[0].name: "default" is one of the cluster\'s own users (default, deployer, replication, sentinel, sentinel-peer, monitor); choose another name']],
        ["an application user listed twice", passwords({ orders: "o-pass-0123456789abc" }),
            users({ name: "orders", rules: "+@read" }, { name: "orders", rules: "+@write" }),
            ['redis-sentinel:aclUsers[1].name: "orders" is listed twice']],
        ["an application user name that is no name", passwords({ Orders: "o-pass-0123456789abc" }), users({ name: "Orders", rules: "+@read" }),
            ["redis-sentinel:aclUsers[0].name: must be 1-32 lowercase letters, digits or '-', starting with a letter, got \"Orders\""]],
        ["rules that set a password", passwords({ orders: "o-pass-0123456789abc" }), users({ name: "orders", rules: "~orders:* >x +@read" }),
            ["redis-sentinel:aclUsers[0].rules: must not set passwords or on/off (>x): the password is aclUserPasswords.orders, and the deployer turns the user on"]],
        ["rules that make a user passwordless", passwords({ orders: "o-pass-0123456789abc" }), users({ name: "orders", rules: "~orders:* nopass +@read" }),
            ["redis-sentinel:aclUsers[0].rules: must not set passwords or on/off (nopass): the password is aclUserPasswords.orders, and the deployer turns the user on"]],
        ["rules that turn a user on, and set a hash", passwords({ orders: "o-pass-0123456789abc" }), users({ name: "orders", rules: `on ~orders:* #${"a".repeat(64)} +@read` }),
            [`redis-sentinel:aclUsers[0].rules: must not set passwords or on/off (on #${"a".repeat(64)}): the password is aclUserPasswords.orders, and the deployer turns the user on`]],
        ["rules with a quote", passwords({ orders: "o-pass-0123456789abc" }), users({ name: "orders", rules: "~orders:* \"+@read\"" }),
            ["redis-sentinel:aclUsers[0].rules: must be ACL rules on one line, without quotes, backslashes or '$'"]],
        ["no rules", passwords({ orders: "o-pass-0123456789abc" }), users({ name: "orders" }),
            ['redis-sentinel:aclUsers[0].rules: is required: ACL rules such as "~orders:* +@read +@write -@dangerous"']],
        ["an unknown key of an application user", passwords({ orders: "o-pass-0123456789abc" }), users({ name: "orders", rules: "+@read", password: "x" }),
            ["redis-sentinel:aclUsers[0].password: unknown key (expected name or rules)"]],
        ["an application user without a password", {}, users({ name: "orders", rules: "+@read" }),
            ['redis-sentinel:aclUserPasswords.orders: is required for aclUsers user "orders"; set it with: pulumi config set --secret --path aclUserPasswords.orders ...']],
        ["a password without its application user", passwords({ orders: "o-pass-0123456789abc", billing: "b-pass-0123456789abc" }), users({ name: "orders", rules: "+@read" }),
            ['redis-sentinel:aclUserPasswords.billing: has no user "billing" in aclUsers; remove it with: pulumi config rm --path aclUserPasswords.billing']],
        ["a short application password", passwords({ orders: "short" }), users({ name: "orders", rules: "+@read" }),
            ["redis-sentinel:aclUserPasswords.orders: must be 16-128 characters of letters, digits and !#%+,-./:=?@^_~"]],
        ["the default user off without application users", {}, { defaultUserEnabled: "false" },
            ["redis-sentinel:defaultUserEnabled: is false and aclUsers is empty: no application could log in to the data nodes; add aclUsers or keep the default user"]],
        ["aclUsers that is no list", {}, { aclUsers: '{"name":"orders"}' },
            ['redis-sentinel:aclUsers: must be a list of users like [{name: "orders", rules: "~orders:* +@read +@write"}]']],
        ["a bad keepPreviousAppPasswords", {}, { keepPreviousAppPasswords: "yes" },
            ['redis-sentinel:keepPreviousAppPasswords: must be true or false, got "yes"']],
    ];
    it.each(aclCases)("%s", (_what, secrets, overrides, expected) => {
        expect(problems(rawWithSecrets(secrets, overrides))).toEqual(expected);
    });

    // Redis reads these rule words ignoring case: NOPASS is nopass.
    it.each(["NOPASS", "On", "OFF", "ResetPass", "Reset"])("refuses the password or on/off rule %s whatever its case", (word) => {
        expect(problems(rawWithSecrets(passwords({ orders: "o-pass-0123456789abc" }), users({ name: "orders", rules: `~orders:* ${word} +@read` })))).toEqual([
            `redis-sentinel:aclUsers[0].rules: must not set passwords or on/off (${word}): the password is aclUserPasswords.orders, and the deployer turns the user on`,
        ]);
    });

    it("takes the reset rules that leave passwords alone, in any case", () => {
        const rules = "resetkeys ~orders:* ResetChannels &orders RESETKEYS ~orders:* +@read";
        const c = parseClusterConfig(rawWithSecrets(passwords({ orders: "o-pass-0123456789abc" }), users({ name: "orders", rules })));
        expect(c.acl.users).toEqual([{ name: "orders", rules }]);
    });

    it.each([
        ["a name that is no name", { name: "Orders", rules: "+@read" }, '"Orders"'],
        ["no name", { rules: "+@read" }, "null"],
    ])("reports an application user with %s once, not also as a missing password", (_what, user, got) => {
        expect(problems(rawWithSecrets({}, users(user)))).toEqual([
            `redis-sentinel:aclUsers[0].name: must be 1-32 lowercase letters, digits or '-', starting with a letter, got ${got}`,
        ]);
    });

    it.each(["deployerPassword", "replicationPassword", "sentinelAuthPassword", "sentinelPeerPassword", "monitorPassword"])(
        "refuses %s stored in plain text", (k) => {
            expect(problems(raw({ [k]: "plain-text-password-123" }))).toEqual([
                `redis-sentinel:${k}: is stored in plain text; set it again with: pulumi config set --secret ${k} ...`,
            ]);
        });

    it("refuses application passwords stored in plain text", () => {
        expect(problems(raw({ ...users({ name: "orders", rules: "+@read" }), ...passwords({ orders: "o-pass-0123456789abc" }) }))).toEqual([
            "redis-sentinel:aclUserPasswords: is stored in plain text; set it again with: pulumi config set --secret aclUserPasswords ...",
        ]);
    });

    it("refuses rename-command in extraDirectives, pointing to ACL rules", () => {
        expect(problems(raw({ extraDirectives: JSON.stringify({ "rename-command": "CONFIG CONFIG-9f2e" }) }))).toEqual([
            "redis-sentinel:extraDirectives.rename-command: is refused: renamed commands break Sentinel, replication and the deployer's own steps; " +
            "restrict what applications may run with ACL rules instead (aclUsers[].rules, e.g. \"-@dangerous\", and defaultUserEnabled=false)",
        ]);
    });

    it.each(["user", "aclfile", "masteruser", "requirepass"])("refuses %s in extraDirectives: the deployer manages the users", (d) => {
        expect(problems(raw({ extraDirectives: JSON.stringify({ [d]: "x" }) }))).toEqual([
            `redis-sentinel:extraDirectives.${d}: is managed by the deployer; use its own configuration key instead`,
        ]);
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
