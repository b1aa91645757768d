/**
 * Stack configuration: the one place that knows every key, its default and what
 * makes it invalid. `parseClusterConfig` is pure (file access is injected) so
 * every bad input is unit-tested with its exact message, and nothing reaches a
 * host until the whole configuration is known to be good.
 */

import { AppUser, RESERVED_USER_NAMES } from "./acl";
import { LocalDockerConfig, localDockerHosts, parseLocalDocker } from "./local-docker-config";
import { checkHostKey, checkPrivateKey } from "./ssh-keys";
import { TlsSettings, parseTls } from "./tls";

/** Name of the Pulumi project; stack config keys are `redis-sentinel:<key>`. */
export const PROJECT = "redis-sentinel";

export type Role = "master" | "replica";

/** One machine of the cluster: a Redis data node and a Sentinel. */
export interface HostSpec {
    /** Unique short name, used in resource names and outputs. */
    readonly name: string;
    /** IP address that SSH, Redis and Sentinel use (Redis binds to it). */
    readonly address: string;
    /** SSH port. Default 22. */
    readonly sshPort: number;
    /** SSH user: root, or a user with passwordless sudo. Default "root". */
    readonly sshUser: string;
    /** Role at first install only; afterwards Sentinel owns the topology. Default "replica". */
    readonly role: Role;
    /**
     * The host's SSH public key as `ssh-keyscan -t ed25519` prints it, without the
     * host ("ssh-ed25519 AAAA..."); ed25519 or ecdsa. Required unless the stack sets
     * insecureSkipHostKeyCheck, and then unset means "not checked".
     */
    readonly hostKey?: string;
    /** replica-priority (0 = never promoted). Default 100. */
    readonly replicaPriority: number;
    /** Address other nodes and clients use (NAT / port mapping). Default: `address`. */
    readonly announceAddress: string;
    /**
     * This node's persistence: the stack's `persistence`, with each field the host's
     * `persistence` sets taken from there instead. Default: the stack's.
     */
    readonly persistence: Persistence;
}

/** Whether a node keeps data on disk: AOF or RDB on. Off, it restarts empty (only behind its start guard). */
export const keepsData = (p: Persistence) => p.aof || p.rdb;

export interface Persistence {
    /** appendonly. Default true. */
    readonly aof: boolean;
    /** RDB snapshots (`save`). Default true. */
    readonly rdb: boolean;
    /** appendfsync. Default "everysec". */
    readonly appendfsync: "always" | "everysec" | "no";
}

export interface Paths {
    /** Default `/opt/redis-<redisVersion>`. */
    readonly installDir: string;
    /** Default `/etc/redis`. */
    readonly configDir: string;
    /** Default `/var/lib/redis`. */
    readonly dataDir: string;
    /** Default `/var/log/redis`. */
    readonly logDir: string;
}

export interface BinaryFile {
    /** Local path of the prebuilt binary. */
    readonly path: string;
    /** Its sha256 (hex), checked on every host after the copy. */
    readonly sha256: string;
}

/** Who may log in to the data nodes besides the cluster's own users (acl.ts has those). */
export interface AclSettings {
    /** The `default` user logs in with redisPassword (password-only clients). Default true; false turns it off. */
    readonly defaultUser: boolean;
    /** Application users (aclUsers), each with its password in aclUserPasswords. Default none. */
    readonly users: readonly AppUser[];
    /** A read-only `monitor` user exists (monitorPassword is set). Default false. */
    readonly monitor: boolean;
    /**
     * After a rotation, the applications' old passwords (default, the Sentinels'
     * default, aclUsers) stay valid until an up with this false. Default false.
     */
    readonly keepPreviousAppPasswords: boolean;
}

/** Everything validated; secrets are not part of it (they stay Pulumi secrets). */
export interface ClusterConfig {
    readonly hosts: readonly HostSpec[];
    /** Default "8.2.2"; the pushed binaries must report it. */
    readonly redisVersion: string;
    /** Default 6379. */
    readonly redisPort: number;
    /** Default 26379. */
    readonly sentinelPort: number;
    /** Default "mymaster". */
    readonly masterName: string;
    /** Default (0 in Pulumi.yaml): a majority of the Sentinels. */
    readonly quorum: number;
    /** Default 5000. */
    readonly downAfterMilliseconds: number;
    /** Default 60000. */
    readonly failoverTimeout: number;
    /** Default 1. */
    readonly parallelSyncs: number;
    readonly paths: Paths;
    /** Default "redis". */
    readonly serviceUser: string;
    /** The stack's persistence; each host's own is HostSpec.persistence. */
    readonly persistence: Persistence;
    /** Default "0" (no limit). */
    readonly maxmemory: string;
    /** Default "noeviction". */
    readonly maxmemoryPolicy: string;
    /** Default (-1 in Pulumi.yaml): 1, or 0 when there is a single host. */
    readonly minReplicasToWrite: number;
    /**
     * Default 1 (second): a master cut off from its replicas refuses writes within
     * min-replicas-max-lag + 2 s (README "Partitions"); Redis's own default is 10.
     */
    readonly minReplicasMaxLag: number;
    /** Extra redis.conf directives, name -> value. Default none. */
    readonly extraDirectives: Readonly<Record<string, string>>;
    /** Default false: `pulumi destroy` keeps the data directory. */
    readonly purgeDataOnDestroy: boolean;
    /** Default false: every host must pin its SSH host key. */
    readonly insecureSkipHostKeyCheck: boolean;
    readonly binaries: { readonly server: BinaryFile; readonly cli: BinaryFile };
    readonly acl: AclSettings;
    /**
     * TLS on every link (tls.ts): set when `tls.enabled`; redisPort and
     * sentinelPort are then TLS ports. Default unset: plaintext.
     */
    readonly tls?: TlsSettings;
    /**
     * Set on a local Docker stack: the hosts are containers the stack makes, it
     * generates the SSH key and pins each host key it reads after boot. Default unset.
     */
    readonly localDocker?: LocalDockerConfig;
}

/** Thrown with every problem found, one per line, each naming its key. */
export class ConfigError extends Error {
    constructor(readonly problems: readonly string[]) {
        super(`invalid stack configuration:\n  - ${problems.join("\n  - ")}`);
        this.name = "ConfigError";
    }
}

/** Reads local files for the binaries check; injected so parsing stays pure. */
export interface FileProbe {
    /** sha256 hex of the file, or undefined when it does not exist. */
    sha256(path: string): string | undefined;
}

export interface RawConfigInput {
    /** Project config without the `redis-sentinel:` prefix, values as the engine gives them (strings). */
    readonly values: Readonly<Record<string, string>>;
    /** Keys (without prefix) the engine says are secrets. */
    readonly secretKeys: readonly string[];
    /** Directory that relative `binariesDir` is resolved against. */
    readonly projectDir: string;
    readonly files: FileProbe;
    /** When certificates are judged (expiry). Default: now. */
    readonly now?: Date;
    /**
     * The SSH agent the command provider would dial: SSH_AUTH_SOCK as the CLI hands
     * it to the provider, and why it does not answer (undefined when it does).
     * Default: no SSH_AUTH_SOCK.
     */
    readonly sshAgent?: { readonly socket: string; readonly problem?: string };
}

/**
 * Every key the parser reads, with the default Pulumi.yaml declares for it
 * (undefined: required, no default; hosts [] and sshPrivateKey "" are required
 * too, unless localDocker is set, and have defaults only so that the engine lets
 * a Docker stack leave them out). Some defaults stand for "derived": quorum 0
 * is a majority, minReplicasToWrite -1 is 1 (0 for one host), installDir "" is
 * /opt/redis-<version>, sentinelPassword "" is redisPassword, the cluster users'
 * passwords "" are derived from the SSH key (derived-passwords.ts). A unit test holds
 * Pulumi.yaml to exactly this table.
 */
export const CONFIG_DEFAULTS = {
    hosts: [],
    localDocker: {},
    sshPrivateKey: "",
    sshPrivateKeyPassword: "",
    insecureSkipHostKeyCheck: false,
    redisPassword: undefined,
    sentinelPassword: "",
    deployerPassword: "",
    replicationPassword: "",
    sentinelAuthPassword: "",
    sentinelPeerPassword: "",
    monitorPassword: "",
    defaultUserEnabled: true,
    aclUsers: [],
    aclUserPasswords: {},
    keepPreviousAppPasswords: false,
    redisVersion: "8.2.2",
    redisPort: 6379,
    sentinelPort: 26379,
    masterName: "mymaster",
    quorum: 0,
    downAfterMilliseconds: 5000,
    failoverTimeout: 60000,
    parallelSyncs: 1,
    installDir: "",
    configDir: "/etc/redis",
    dataDir: "/var/lib/redis",
    logDir: "/var/log/redis",
    serviceUser: "redis",
    persistence: { aof: true, rdb: true, appendfsync: "everysec" },
    maxmemory: "0",
    maxmemoryPolicy: "noeviction",
    minReplicasToWrite: -1,
    minReplicasMaxLag: 1,
    extraDirectives: {},
    allowFewerThanThreeHosts: false,
    binariesDir: "binaries",
    purgeDataOnDestroy: false,
    tls: { enabled: false },
    tlsKeys: {},
} as const;
export type ConfigKey = keyof typeof CONFIG_DEFAULTS;
export const CONFIG_KEYS = Object.keys(CONFIG_DEFAULTS) as readonly ConfigKey[];
const D = CONFIG_DEFAULTS;

const HOST_KEYS = ["name", "address", "sshPort", "sshUser", "role", "hostKey", "replicaPriority", "announceAddress", "persistence"];
const PERSISTENCE_KEYS = ["aof", "rdb", "appendfsync"];
/** The passwords of the cluster's own users: derived when unset, each unlike every other password. */
export const CLUSTER_PASSWORD_KEYS = ["deployerPassword", "replicationPassword", "sentinelAuthPassword", "sentinelPeerPassword"] as const;
const PASSWORD_KEYS = ["redisPassword", "sentinelPassword", ...CLUSTER_PASSWORD_KEYS, "monitorPassword"];
const SECRET_KEYS = ["sshPrivateKey", "sshPrivateKeyPassword", ...PASSWORD_KEYS, "aclUserPasswords", "tlsKeys"];
/** Passwords go into redis-cli's REDISCLI_AUTH and through `-x` on stdin; this alphabet needs no quoting anywhere. */
const PASSWORD_PATTERN = /^[A-Za-z0-9!#%+,\-.\/:=?@^_~]{16,128}$/;
const PASSWORD_RULE = "must be 16-128 characters of letters, digits and !#%+,-./:=?@^_~";
const MAXMEMORY_POLICIES = [
    "noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru",
    "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lrm", "volatile-lrm",
];
/** Directives the deployer renders itself; setting them through extraDirectives would fight it. */
const MANAGED_DIRECTIVES = [
    "bind", "port", "protected-mode", "daemonize", "supervised", "pidfile", "logfile", "dir",
    "dbfilename", "appendonly", "appendfsync", "appendfilename", "appenddirname", "save",
    "requirepass", "masterauth", "masteruser", "replicaof", "slaveof", "replica-priority",
    "replica-announce-ip", "replica-announce-port", "maxmemory", "maxmemory-policy",
    "min-replicas-to-write", "min-replicas-max-lag", "include", "user", "aclfile",
    "enable-debug-command", "enable-module-command", "loadmodule", "repl-diskless-sync-max-replicas",
];

const key = (k: string) => `${PROJECT}:${k}`;

/** Accepts dotted IPv4 and the usual IPv6 forms; hostnames are refused because Redis binds to it. */
export function isIpAddress(s: string): boolean {
    const v4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
    if (v4.test(s)) return true;
    if (!/^[0-9a-fA-F:]+$/.test(s) || !s.includes(":")) return false;
    const parts = s.split("::");
    if (parts.length > 2) return false;
    const groups = parts.flatMap((p) => (p === "" ? [] : p.split(":")));
    if (groups.some((g) => g.length === 0 || g.length > 4)) return false;
    return parts.length === 2 ? groups.length < 8 : groups.length === 8;
}

/** Parses and validates the whole configuration; throws ConfigError listing every problem. */
export function parseClusterConfig(input: RawConfigInput): ClusterConfig {
    const problems: string[] = [];
    const raw = input.values;
    const fail = (k: string, msg: string) => problems.push(`${key(k)}: ${msg}`);

    for (const k of Object.keys(raw)) {
        if (!(CONFIG_KEYS as readonly string[]).includes(k)) {
            const hint = suggest(k, CONFIG_KEYS);
            fail(k, `unknown configuration key${hint ? ` (did you mean "${hint}"?)` : ""}`);
        }
    }

    const int = (k: string, dflt: number, min: number, max: number): number => {
        const v = raw[k];
        if (v === undefined || v === "") return dflt;
        if (!/^-?\d+$/.test(v.trim())) {
            fail(k, `must be an integer, got "${v}"`);
            return dflt;
        }
        const n = Number(v.trim());
        if (n < min || n > max) fail(k, `${n} is out of range (${min}-${max})`);
        return n;
    };
    const bool = (k: string, dflt: boolean): boolean => {
        const v = raw[k];
        if (v === undefined || v === "") return dflt;
        if (v === "true" || v === "false") return v === "true";
        fail(k, `must be true or false, got "${v}"`);
        return dflt;
    };
    const str = (k: string, dflt: string, pattern?: RegExp, what?: string): string => {
        const v = raw[k];
        if (v === undefined || v === "") return dflt;
        if (pattern && !pattern.test(v)) fail(k, `${what ?? "invalid value"}, got "${v}"`);
        return v;
    };
    const absPath = (k: string, dflt: string) =>
        str(k, dflt, /^\/[A-Za-z0-9._\/-]*$/, "must be an absolute path of letters, digits, '.', '_', '-' and '/'");

    const localDocker = parseLocalDocker(raw["localDocker"], fail);
    if (localDocker) {
        // The Docker stack makes its own hosts and login key; a value here would be ignored.
        for (const k of ["hosts", "sshPrivateKey", "sshPrivateKeyPassword"]) {
            if (raw[k] !== undefined && raw[k] !== "" && raw[k] !== "[]") {
                fail(k, `is not used with localDocker (the stack makes its own hosts and SSH key); remove it with: pulumi config rm ${k}`);
            }
        }
    }
    for (const s of localDocker ? ["redisPassword"] : ["sshPrivateKey", "redisPassword"]) {
        if (raw[s] === undefined || raw[s].trim() === "") {
            fail(s, `is required; set it with: pulumi config set --secret ${s} ...`);
        }
    }
    for (const s of SECRET_KEYS) {
        // "{}" is aclUserPasswords' and tlsKeys' Pulumi.yaml default: nothing to keep secret.
        if (raw[s] !== undefined && raw[s] !== "" && raw[s].trim() !== "{}" && !input.secretKeys.includes(s)) {
            fail(s, `is stored in plain text; set it again with: pulumi config set --secret ${s} ...`);
        }
    }
    for (const s of PASSWORD_KEYS) {
        const v = raw[s];
        if (v !== undefined && v !== "" && !PASSWORD_PATTERN.test(v)) fail(s, PASSWORD_RULE);
    }
    const acl = parseAcl(raw, fail);
    if (!localDocker) checkSshCredentials(raw, fail);
    if (input.sshAgent) {
        const { socket, problem } = input.sshAgent;
        // Not a stack key: the provider reads it from its environment, which the CLI passes on.
        if (problem !== undefined) {
            problems.push(`SSH_AUTH_SOCK: "${socket}" does not answer (${problem}); the command provider dials the agent ` +
                `before every step and would fail them all. Unset it (unset SSH_AUTH_SOCK) or start the agent (eval "$(ssh-agent -s)")`);
        }
    }

    const redisVersion = str("redisVersion", D.redisVersion, /^\d+\.\d+\.\d+$/, "must be a version like 8.2.2");
    const redisPort = int("redisPort", D.redisPort, 1, 65535);
    const sentinelPort = int("sentinelPort", D.sentinelPort, 1, 65535);
    if (redisPort === sentinelPort) fail("sentinelPort", `must differ from redisPort (${redisPort})`);
    const masterName = str("masterName", D.masterName, /^[A-Za-z0-9._-]{1,64}$/, "must be 1-64 letters, digits, '.', '_' or '-'");

    const insecureSkipHostKeyCheck = bool("insecureSkipHostKeyCheck", D.insecureSkipHostKeyCheck);
    const persistence = parsePersistence(raw["persistence"], fail);
    const hosts = localDocker
        ? localDockerHosts(localDocker, persistence)
        : parseHosts(raw["hosts"], !insecureSkipHostKeyCheck, persistence, fail);
    const allowFew = bool("allowFewerThanThreeHosts", D.allowFewerThanThreeHosts);
    if (hosts.length > 0 && hosts.length < 3 && !allowFew) {
        fail("hosts", `${hosts.length} host(s) given; Sentinel needs at least 3 to fail over safely (set allowFewerThanThreeHosts=true to deploy anyway)`);
    }

    const sentinels = hosts.length;
    const majority = Math.floor(sentinels / 2) + 1;
    // 0 (the Pulumi.yaml default) means "a majority of the Sentinels".
    const quorumSet = raw["quorum"] !== undefined && raw["quorum"] !== "" && raw["quorum"] !== "0";
    const quorum = quorumSet ? int("quorum", majority, 1, 1000) : majority;
    if (quorumSet && sentinels > 0) {
        if (quorum > sentinels) fail("quorum", `${quorum} is larger than the number of Sentinels (${sentinels})`);
        else if (quorum < majority) fail("quorum", `${quorum} is not a majority of the ${sentinels} Sentinels (at least ${majority})`);
    }

    const downAfterMilliseconds = int("downAfterMilliseconds", D.downAfterMilliseconds, 100, 3_600_000);
    const failoverTimeout = int("failoverTimeout", D.failoverTimeout, 1000, 86_400_000);
    const parallelSyncs = int("parallelSyncs", D.parallelSyncs, 1, 100);

    const paths: Paths = {
        installDir: absPath("installDir", `/opt/redis-${redisVersion}`),
        configDir: absPath("configDir", D.configDir),
        dataDir: absPath("dataDir", D.dataDir),
        logDir: absPath("logDir", D.logDir),
    };
    const serviceUser = str("serviceUser", D.serviceUser, /^[a-z_][a-z0-9_-]{0,31}$/, "must be a valid Linux user name");
    if (serviceUser === "root") fail("serviceUser", "must not be root");

    checkPersistence(hosts, fail);

    const maxmemory = str("maxmemory", D.maxmemory, /^\d+(b|k|kb|m|mb|g|gb)?$/i, "must be bytes or a size like 256mb");
    const maxmemoryPolicy = str("maxmemoryPolicy", D.maxmemoryPolicy);
    if (!MAXMEMORY_POLICIES.includes(maxmemoryPolicy)) {
        fail("maxmemoryPolicy", `must be one of ${MAXMEMORY_POLICIES.join(", ")}, got "${maxmemoryPolicy}"`);
    }
    // -1 (the Pulumi.yaml default) means "1, or 0 with a single host".
    const minReplicasDefault = Math.min(1, Math.max(0, hosts.length - 1));
    const minReplicasToWrite = raw["minReplicasToWrite"] === "-1" ? minReplicasDefault : int("minReplicasToWrite", minReplicasDefault, 0, 1000);
    if (hosts.length > 0 && minReplicasToWrite > hosts.length - 1) {
        fail("minReplicasToWrite", `${minReplicasToWrite} is more than the number of replicas (${hosts.length - 1}); the master would refuse every write`);
    }
    const minReplicasMaxLag = int("minReplicasMaxLag", D.minReplicasMaxLag, 1, 3600);
    const extraDirectives = parseExtraDirectives(raw["extraDirectives"], fail);
    const purgeDataOnDestroy = bool("purgeDataOnDestroy", D.purgeDataOnDestroy);
    const tlsKeysText = raw["tlsKeys"];
    const tls = parseTls(
        parseJson(raw["tls"], "tls", fail),
        tlsKeysText === undefined || tlsKeysText.trim() === "{}" ? undefined : parseJson(tlsKeysText, "tlsKeys", fail),
        hosts, { redis: redisPort, sentinel: sentinelPort }, input.now ?? new Date(), fail);
    if (tls) {
        for (const name of Object.keys(extraDirectives)) {
            if (name.startsWith("tls-")) fail(`extraDirectives.${name}`, "is managed by the deployer with tls.enabled; use the tls key instead");
        }
    }

    const binariesDir = str("binariesDir", D.binariesDir);
    const binDir = binariesDir.startsWith("/") ? binariesDir : `${input.projectDir}/${binariesDir}`;
    const binary = (name: string): BinaryFile => {
        const path = `${binDir}/${name}`;
        const sha256 = input.files.sha256(path);
        if (sha256 === undefined) {
            fail("binariesDir", `${name} is missing from ${binariesDir}/ (put the prebuilt Redis ${redisVersion} binaries redis-server and redis-cli there)`);
        }
        return { path, sha256: sha256 ?? "" };
    };
    const binaries = { server: binary("redis-server"), cli: binary("redis-cli") };

    if (problems.length > 0) throw new ConfigError(problems);
    return {
        hosts, redisVersion, redisPort, sentinelPort, masterName, quorum, downAfterMilliseconds,
        failoverTimeout, parallelSyncs, paths, serviceUser, persistence, maxmemory, maxmemoryPolicy,
        minReplicasToWrite, minReplicasMaxLag, extraDirectives, purgeDataOnDestroy, insecureSkipHostKeyCheck, binaries, acl,
        ...(tls ? { tls } : {}),
        ...(localDocker ? { localDocker } : {}),
    };
}

type Fail = (k: string, msg: string) => void;

/** The command that prints a host's ed25519 key in the form `hostKey` takes. */
const keyscan = (address: string) => `ssh-keyscan -t ed25519 ${isIpAddress(address) ? address : "ADDRESS"} | cut -d' ' -f2-`;

/** A host key pin the provider can use: parses, and is ed25519 or ecdsa. */
function checkHostKeyPin(pin: unknown, k: string, address: string, fail: Fail): void {
    const how = `pin the output of: ${keyscan(address)}`;
    if (typeof pin !== "string") {
        fail(k, `must be a string like "ssh-ed25519 AAAA...", got ${JSON.stringify(pin)}`);
        return;
    }
    const problem = checkHostKey(pin);
    if (problem?.kind === "invalid") fail(k, `is not an OpenSSH public key (${problem.reason}); ${how}`);
    if (problem?.kind === "rsa") {
        fail(k, "is an ssh-rsa key: the command provider would accept only SHA-1 RSA signatures from the host, " +
            `which OpenSSH 8.8 and later refuse to make, so every step would fail. Pin its ed25519 or ecdsa key instead; ${how}`);
    }
    if (problem?.kind === "unsupported") fail(k, `is a ${problem.type} key; pin the host's ed25519 or ecdsa key instead; ${how}`);
}

/** sshPrivateKey and sshPrivateKeyPassword, checked the way the provider will parse them. */
function checkSshCredentials(raw: Readonly<Record<string, string>>, fail: Fail): void {
    const key = raw["sshPrivateKey"];
    if (key === undefined || key.trim() === "") return; // reported as required
    const passphrase = raw["sshPrivateKeyPassword"] === undefined || raw["sshPrivateKeyPassword"] === "" ? undefined : raw["sshPrivateKeyPassword"];
    const problem = checkPrivateKey(key, passphrase);
    switch (problem?.kind) {
        case undefined:
            return;
        case "not-a-key":
            fail("sshPrivateKey", "is not a PEM/OpenSSH private key (expected a '-----BEGIN ... PRIVATE KEY-----' block)");
            return;
        case "invalid":
        case "unsupported":
            fail("sshPrivateKey", `cannot be used: ${problem.reason}`);
            return;
        case "needs-passphrase":
            fail("sshPrivateKey", "is encrypted with a passphrase; set it with: pulumi config set --secret sshPrivateKeyPassword ...");
            return;
        case "wrong-passphrase":
            fail("sshPrivateKeyPassword", "does not decrypt sshPrivateKey");
            return;
        case "not-encrypted":
            fail("sshPrivateKeyPassword", "is set, but sshPrivateKey is not encrypted, and the command provider refuses a passphrase " +
                "for a plain key; remove it with: pulumi config rm sshPrivateKeyPassword");
            return;
    }
}

function parseJson(text: string | undefined, k: string, fail: Fail): unknown {
    if (text === undefined || text === "") return undefined;
    try {
        return JSON.parse(text);
    } catch {
        fail(k, "is not valid structured config (set it in Pulumi.<stack>.yaml or with `pulumi config set --path`)");
        return undefined;
    }
}

/**
 * A node without persistence restarts empty. Its start guard (host/sh/bin/start-guard.sh)
 * never lets it serve as master then: it starts as a replica of the master the
 * Sentinels name, which must be a node that kept its data. So some node must
 * keep data and be one Sentinel may promote; and every node keeping none would
 * leave a cluster that restarts as a whole (a power cut) with no data at all.
 */
function checkPersistence(hosts: readonly HostSpec[], fail: Fail): void {
    if (hosts.every((h) => keepsData(h.persistence))) return;
    if (hosts.every((h) => !keepsData(h.persistence))) {
        fail("persistence", "AOF and RDB are off on every host; a node restarted empty must find its data on another node. " +
            "Keep them on for at least one host (a host's persistence overrides this one)");
    } else if (!hosts.some((h) => keepsData(h.persistence) && h.replicaPriority > 0)) {
        fail("hosts", "every host that keeps AOF or RDB has replicaPriority 0; a node without persistence restarted empty " +
            "waits for Sentinel to promote a node that holds data, and Sentinel could promote none");
    }
}

/**
 * `requirePins`: every host must have a hostKey (insecureSkipHostKeyCheck is off).
 * `persistence`: the stack's, which each host's own `persistence` fields override.
 */
function parseHosts(text: string | undefined, requirePins: boolean, persistence: Persistence, fail: Fail): HostSpec[] {
    // Unset is the Pulumi.yaml default [] (a default, so that a local Docker stack may leave it out).
    if (text === undefined || text === "" || text.trim() === "[]") {
        fail("hosts", "is required: a list of hosts, each with name, address and role (or set localDocker to make them as Docker containers)");
        return [];
    }
    const value = parseJson(text, "hosts", fail);
    if (value === undefined) return [];
    if (!Array.isArray(value) || value.length === 0) {
        fail("hosts", "must be a non-empty list of hosts");
        return [];
    }
    const hosts: HostSpec[] = [];
    value.forEach((h: unknown, i: number) => {
        const at = `hosts[${i}]`;
        if (typeof h !== "object" || h === null || Array.isArray(h)) {
            fail(at, "must be an object with name, address and role");
            return;
        }
        const o = h as Record<string, unknown>;
        for (const k of Object.keys(o)) {
            if (!HOST_KEYS.includes(k)) {
                const hint = suggest(k, HOST_KEYS);
                fail(`${at}.${k}`, `unknown host key${hint ? ` (did you mean "${hint}"?)` : ""}`);
            }
        }
        const name = typeof o.name === "string" ? o.name : "";
        if (!/^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/.test(name)) {
            fail(`${at}.name`, `must be 1-32 lowercase letters, digits or '-', got ${JSON.stringify(o.name ?? null)}`);
        }
        const address = typeof o.address === "string" ? o.address : "";
        if (!isIpAddress(address)) fail(`${at}.address`, `must be an IP address, got ${JSON.stringify(o.address ?? null)}`);
        const announce = o.announceAddress === undefined ? address : o.announceAddress;
        if (typeof announce !== "string" || !isIpAddress(announce)) {
            fail(`${at}.announceAddress`, `must be an IP address, got ${JSON.stringify(announce)}`);
        }
        const role = o.role === undefined ? "replica" : o.role;
        if (role !== "master" && role !== "replica") fail(`${at}.role`, `must be "master" or "replica", got ${JSON.stringify(role)}`);
        const sshPort = intField(o.sshPort, 22, 1, 65535, `${at}.sshPort`, fail);
        const sshUser = o.sshUser === undefined ? "root" : o.sshUser;
        if (typeof sshUser !== "string" || !/^[a-z_][a-z0-9_.-]{0,31}$/.test(sshUser)) {
            fail(`${at}.sshUser`, `must be a valid user name, got ${JSON.stringify(sshUser)}`);
        }
        const hostKey = o.hostKey;
        if (hostKey !== undefined) checkHostKeyPin(hostKey, `${at}.hostKey`, address, fail);
        else if (requirePins) {
            fail(`${at}.hostKey`, `is required: pin the host's SSH key (${keyscan(address)}), ` +
                "or set insecureSkipHostKeyCheck=true to deploy without checking host keys");
        }
        const replicaPriority = intField(o.replicaPriority, 100, 0, 1_000_000, `${at}.replicaPriority`, fail);
        const own = o.persistence === undefined ? persistence : persistenceFields(o.persistence, `${at}.persistence`, persistence, fail);
        hosts.push({
            name, address, sshPort, role: role as Role, replicaPriority, persistence: own,
            sshUser: String(sshUser), announceAddress: String(announce),
            ...(typeof hostKey === "string" ? { hostKey } : {}),
        });
    });

    const masters = hosts.filter((h) => h.role === "master");
    if (hosts.length === value.length) {
        if (masters.length === 0) fail("hosts", 'no host has role "master"; exactly one must be the initial master');
        if (masters.length > 1) fail("hosts", `${masters.length} hosts have role "master" (${masters.map((m) => m.name).join(", ")}); exactly one must`);
    }
    const dup = (field: "name" | "address" | "announceAddress") => {
        const seen = new Map<string, number>();
        hosts.forEach((h, i) => {
            const v = h[field];
            if (v === "") return;
            if (seen.has(v)) fail(`hosts[${i}].${field}`, `"${v}" is also used by hosts[${seen.get(v)}]`);
            else seen.set(v, i);
        });
    };
    dup("name");
    dup("address");
    dup("announceAddress");
    if (hosts.length > 0 && hosts.every((h) => h.replicaPriority === 0 || h.role === "master") && hosts.length > 1) {
        fail("hosts", "every replica has replicaPriority 0; Sentinel could never promote one");
    }
    return hosts;
}

function intField(v: unknown, dflt: number, min: number, max: number, k: string, fail: Fail): number {
    if (v === undefined) return dflt;
    if (typeof v !== "number" || !Number.isInteger(v)) {
        fail(k, `must be an integer, got ${JSON.stringify(v)}`);
        return dflt;
    }
    if (v < min || v > max) fail(k, `${v} is out of range (${min}-${max})`);
    return v;
}

function parsePersistence(text: string | undefined, fail: Fail): Persistence {
    const value = parseJson(text, "persistence", fail);
    return value === undefined ? D.persistence : persistenceFields(value, "persistence", D.persistence, fail);
}

/** `{aof, rdb, appendfsync}` at key `at`; a field left out is the one of `dflt`. */
function persistenceFields(value: unknown, at: string, dflt: Persistence, fail: Fail): Persistence {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        fail(at, "must be an object like {aof: true, rdb: true, appendfsync: everysec}");
        return dflt;
    }
    const o = value as Record<string, unknown>;
    for (const k of Object.keys(o)) {
        if (!PERSISTENCE_KEYS.includes(k)) fail(`${at}.${k}`, "unknown key (expected aof, rdb or appendfsync)");
    }
    const flag = (k: "aof" | "rdb"): boolean => {
        if (o[k] === undefined) return dflt[k];
        if (typeof o[k] !== "boolean") fail(`${at}.${k}`, `must be true or false, got ${JSON.stringify(o[k])}`);
        return o[k] === true;
    };
    const fsync = o.appendfsync ?? dflt.appendfsync;
    if (fsync !== "always" && fsync !== "everysec" && fsync !== "no") {
        fail(`${at}.appendfsync`, `must be always, everysec or no, got ${JSON.stringify(fsync)}`);
    }
    return { aof: flag("aof"), rdb: flag("rdb"), appendfsync: fsync as Persistence["appendfsync"] };
}

function parseExtraDirectives(text: string | undefined, fail: Fail): Record<string, string> {
    const value = parseJson(text, "extraDirectives", fail);
    if (value === undefined) return {};
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        fail("extraDirectives", 'must be a map of redis.conf directive to value, like {"tcp-keepalive": "300"}');
        return {};
    }
    const out: Record<string, string> = {};
    for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
        const at = `extraDirectives.${name}`;
        if (!/^[a-z][a-z0-9-]*$/.test(name)) fail(at, "is not a redis.conf directive name");
        else if (name === "rename-command") {
            fail(at, "is refused: renamed commands break Sentinel, replication and the deployer's own steps; " +
                "restrict what applications may run with ACL rules instead (aclUsers[].rules, e.g. \"-@dangerous\", and defaultUserEnabled=false)");
        } else if (MANAGED_DIRECTIVES.includes(name)) fail(at, "is managed by the deployer; use its own configuration key instead");
        if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
            fail(at, "must be a string, number or boolean");
            continue;
        }
        const s = String(v);
        if (/[\r\n"'\\]/.test(s) || s.trim() === "") fail(at, "must be a non-empty single line without quotes or backslashes");
        out[name] = s;
    }
    return out;
}

const APP_USER_KEYS = ["name", "rules"];
/** Rule words the deployer sets itself: passwords and on/off come from the stack's secrets. */
// Redis compares these words ignoring case (NOPASS is nopass).
const PASSWORD_RULES = /^(>|<|#|!|nopass$|resetpass$|reset$|on$|off$)/i;

/**
 * aclUsers, aclUserPasswords, defaultUserEnabled, monitorPassword and
 * keepPreviousAppPasswords; and that the cluster users' passwords are unlike every other.
 */
function parseAcl(raw: Readonly<Record<string, string>>, fail: Fail): AclSettings {
    const defaultUser = raw["defaultUserEnabled"] === undefined || raw["defaultUserEnabled"] === "" ? true : raw["defaultUserEnabled"] === "true";
    if (!["", "true", "false", undefined].includes(raw["defaultUserEnabled"])) {
        fail("defaultUserEnabled", `must be true or false, got "${raw["defaultUserEnabled"]}"`);
    }
    const keep = raw["keepPreviousAppPasswords"];
    if (![undefined, "", "true", "false"].includes(keep)) fail("keepPreviousAppPasswords", `must be true or false, got "${keep}"`);

    const users: AppUser[] = [];
    const list = parseJson(raw["aclUsers"], "aclUsers", fail);
    if (list !== undefined && !Array.isArray(list)) fail("aclUsers", 'must be a list of users like [{name: "orders", rules: "~orders:* +@read +@write"}]');
    (Array.isArray(list) ? list : []).forEach((u: unknown, i: number) => {
        const at = `aclUsers[${i}]`;
        if (typeof u !== "object" || u === null || Array.isArray(u)) {
            fail(at, "must be an object with name and rules");
            return;
        }
        const o = u as Record<string, unknown>;
        for (const k of Object.keys(o)) if (!APP_USER_KEYS.includes(k)) fail(`${at}.${k}`, "unknown key (expected name or rules)");
        const name = typeof o.name === "string" ? o.name : "";
        if (!/^[a-z][a-z0-9-]{0,31}$/.test(name)) fail(`${at}.name`, `must be 1-32 lowercase letters, digits or '-', starting with a letter, got ${JSON.stringify(o.name ?? null)}`);
        else if (RESERVED_USER_NAMES.includes(name)) fail(`${at}.name`, `"${name}" is one of the cluster's own users (${RESERVED_USER_NAMES.join(", ")}); choose another name`);
        else if (users.some((x) => x.name === name)) fail(`${at}.name`, `"${name}" is listed twice`);
        const rules = typeof o.rules === "string" ? o.rules.trim() : "";
        const passwordWords = rules.split(/\s+/).filter((w) => PASSWORD_RULES.test(w));
        if (rules === "") fail(`${at}.rules`, 'is required: ACL rules such as "~orders:* +@read +@write -@dangerous"');
        else if (passwordWords.length > 0) {
            fail(`${at}.rules`, `must not set passwords or on/off (${passwordWords.join(" ")}): the password is aclUserPasswords.${name || "<name>"}, and the deployer turns the user on`);
        } else if (!/^[A-Za-z0-9~&%*+\-@|:_.,?\[\]^{}\/ ]+$/.test(rules)) fail(`${at}.rules`, "must be ACL rules on one line, without quotes, backslashes or '$'");
        users.push({ name, rules });
    });

    const pwText = raw["aclUserPasswords"];
    const pwValue = pwText === undefined || pwText === "" || pwText.trim() === "{}" ? {} : parseJson(pwText, "aclUserPasswords", fail);
    const passwords: Record<string, unknown> = typeof pwValue === "object" && pwValue !== null && !Array.isArray(pwValue) ? pwValue as Record<string, unknown> : {};
    if (pwValue !== undefined && passwords !== pwValue) fail("aclUserPasswords", "must be a map of user name to password (pulumi config set --secret --path aclUserPasswords.NAME ...)");
    const named = new Set<string>();
    for (const u of users) {
        // A bad, reserved or repeated name is reported once, by its own rule.
        if (!/^[a-z][a-z0-9-]{0,31}$/.test(u.name) || RESERVED_USER_NAMES.includes(u.name) || named.has(u.name)) continue;
        named.add(u.name);
        const pw = passwords[u.name];
        if (pw === undefined) fail(`aclUserPasswords.${u.name}`, `is required for aclUsers user "${u.name}"; set it with: pulumi config set --secret --path aclUserPasswords.${u.name} ...`);
        else if (typeof pw !== "string" || !PASSWORD_PATTERN.test(pw)) fail(`aclUserPasswords.${u.name}`, PASSWORD_RULE);
    }
    for (const name of Object.keys(passwords)) {
        if (!users.some((u) => u.name === name)) fail(`aclUserPasswords.${name}`, `has no user "${name}" in aclUsers; remove it with: pulumi config rm --path aclUserPasswords.${name}`);
    }
    if (!defaultUser && users.length === 0) {
        fail("defaultUserEnabled", "is false and aclUsers is empty: no application could log in to the data nodes; add aclUsers or keep the default user");
    }

    // A cluster user's password opens more (replication: a copy of every key;
    // sentinel: failovers) or other doors than any application's: never shared.
    const sentinelPassword = raw["sentinelPassword"] || raw["redisPassword"];
    const others: [string, string | undefined][] = [
        ["redisPassword", raw["redisPassword"]], ["sentinelPassword", sentinelPassword],
        ...PASSWORD_KEYS.slice(2).map((k): [string, string | undefined] => [k, raw[k]]),
        ...users.map((u): [string, string | undefined] => [`aclUserPasswords.${u.name}`, typeof passwords[u.name] === "string" ? passwords[u.name] as string : undefined]),
    ];
    for (const k of [...CLUSTER_PASSWORD_KEYS, "monitorPassword"]) {
        const v = raw[k];
        if (v === undefined || v === "") continue;
        const same = others.filter(([o, ov]) => o !== k && ov === v).map(([o]) => o);
        if (same.length > 0) fail(k, `must differ from ${same.join(" and ")}: each of the cluster's users has a password of its own`);
    }
    return { defaultUser, users, monitor: raw["monitorPassword"] !== undefined && raw["monitorPassword"] !== "", keepPreviousAppPasswords: keep === "true" };
}

/** The closest known key within edit distance 2, for "did you mean". */
export function suggest(word: string, known: readonly string[]): string | undefined {
    let best: string | undefined;
    let bestD = 3;
    for (const k of known) {
        const d = distance(word.toLowerCase(), k.toLowerCase());
        if (d < bestD) {
            bestD = d;
            best = k;
        }
    }
    return best;
}

function distance(a: string, b: string): number {
    const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) dp[0][j] = j;
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            dp[i][j] = Math.min(dp[i - 1][j] + 1, dp[i][j - 1] + 1, dp[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
    }
    return dp[a.length][b.length];
}

/**
 * What every `up` of a stack with unchecked host keys says: the hosts whose SSH
 * identity nobody checks (empty when every host is pinned).
 */
export function hostKeyWarnings(cfg: ClusterConfig): string[] {
    // The Docker stack pins every container's key as it reads it after boot.
    if (cfg.localDocker) return [];
    const unpinned = cfg.hosts.filter((h) => h.hostKey === undefined).map((h) => `${h.name} (${h.address})`);
    if (unpinned.length === 0) return [];
    return [`insecureSkipHostKeyCheck is true and ${unpinned.join(", ")} ${unpinned.length === 1 ? "has" : "have"} no hostKey: ` +
        "their SSH host keys are not checked, so whoever answers at those addresses receives the stack's passwords"];
}

/** The initial master (validation guarantees exactly one). */
export function initialMaster(cfg: ClusterConfig): HostSpec {
    const m = cfg.hosts.find((h) => h.role === "master");
    if (!m) throw new Error("no initial master");
    return m;
}
