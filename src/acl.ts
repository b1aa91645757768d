/**
 * The ACL users of a cluster, decided once from the validated configuration:
 * who exists on the data nodes and on the Sentinels, with which rules, which
 * host secret holds each one's password, and what the verification proves each
 * can and cannot do. Pure; rendering (redis.conf, sentinel.conf), the acl step
 * and the verification all read it, so a user is defined in one place.
 */
import { ClusterConfig } from "./config";
import { CLUSTER_PASSWORD_SECRETS as PW, MONITOR_SECRET, hashesPlaceholder, userSecret } from "./host/secrets";

/** The users the cluster itself runs on (names fixed: they are not the applications'). */
export const CLUSTER_USERS = {
    /** The deployer's own administrative user on the data nodes (host steps, verification). */
    deployer: "deployer",
    /** Replicas authenticate to their master as this user (masteruser/masterauth). */
    replication: "replication",
    /** Sentinels authenticate to the data nodes as this user (sentinel auth-user/auth-pass). */
    sentinel: "sentinel",
    /** Sentinels authenticate to each other as this user (sentinel sentinel-user/sentinel-pass). */
    sentinelPeer: "sentinel-peer",
    /** The optional read-only monitoring user (INFO, latency, slowlog). */
    monitor: "monitor",
} as const;

/** Names an application user may not take. */
export const RESERVED_USER_NAMES: readonly string[] = ["default", ...Object.values(CLUSTER_USERS)];

/**
 * Rules of the cluster's users. replication and sentinel are the Redis docs'
 * rule sets; sentinel-peer is what one Sentinel sends another (PING, the hello
 * PUBLISH, CLIENT SETNAME, the is-master-down-by-addr vote), checked against
 * ACL LOG during failovers; monitor reads state but never CONFIG GET (which
 * would show masterauth) or any key.
 */
export const CLUSTER_RULES = {
    everything: "~* &* +@all",
    replication: "resetchannels -@all +psync +replconf +ping",
    sentinel: "resetchannels &__sentinel__:hello -@all +multi +slaveof +ping +exec +subscribe +config|rewrite +role +publish +info " +
        "+client|setname +client|kill +script|kill",
    sentinelPeer: "resetchannels &__sentinel__:hello -@all +ping +publish +client|setname +sentinel|is-master-down-by-addr",
    monitor: "resetchannels -@all +ping +info +client|list +slowlog|get +slowlog|len +latency|latest +latency|histogram +memory|stats +dbsize",
} as const;

/** An application user from the stack (aclUsers). */
export interface AppUser {
    /** 1-32 of [a-z0-9-], not a reserved name. */
    readonly name: string;
    /** ACL rules (keys, channels, commands); no password or on/off rules, the deployer adds those. */
    readonly rules: string;
}

/** One ACL user as it is set on a node. */
export interface AclUser {
    readonly name: string;
    /** The host secret with its password; undefined: the user is off (the default user, when disabled). */
    readonly secret?: string;
    readonly rules: string;
    /** Used by the cluster's own traffic: a denial in ACL LOG for it is a deployment fault. */
    readonly internal: boolean;
    /** An application's credential: keepPreviousAppPasswords keeps its old password valid after a rotation. */
    readonly app: boolean;
}

/**
 * The users of every data node, in the order the acl step sets them: the
 * deployer first (until it exists, an upgraded node is reached as `default`,
 * which may be turned off here), `default` last.
 */
export function dataUsers(cfg: ClusterConfig): AclUser[] {
    const a = cfg.acl;
    return [
        { name: CLUSTER_USERS.deployer, secret: PW.deployerPassword, rules: CLUSTER_RULES.everything, internal: true, app: false },
        { name: CLUSTER_USERS.replication, secret: PW.replicationPassword, rules: CLUSTER_RULES.replication, internal: true, app: false },
        { name: CLUSTER_USERS.sentinel, secret: PW.sentinelAuthPassword, rules: CLUSTER_RULES.sentinel, internal: true, app: false },
        ...(a.monitor ? [{ name: CLUSTER_USERS.monitor, secret: MONITOR_SECRET, rules: CLUSTER_RULES.monitor, internal: false, app: false }] : []),
        ...a.users.map((u) => ({ name: u.name, secret: userSecret(u.name), rules: u.rules, internal: false, app: true })),
        a.defaultUser
            ? { name: "default", secret: "REDIS_PASSWORD", rules: CLUSTER_RULES.everything, internal: false, app: true }
            : { name: "default", rules: "-@all", internal: false, app: true },
    ];
}

/** The users of every Sentinel: clients and the deployer use `default` (sentinelPassword). */
export function sentinelUsers(): AclUser[] {
    return [
        { name: "default", secret: "SENTINEL_PASSWORD", rules: CLUSTER_RULES.everything, internal: false, app: true },
        { name: CLUSTER_USERS.sentinelPeer, secret: PW.sentinelPeerPassword, rules: CLUSTER_RULES.sentinelPeer, internal: true, app: false },
    ];
}

/**
 * The user's `user` line for a config file, and (without "user ") the arguments
 * of ACL SETUSER: `reset` first, so the result is exactly this line whatever
 * the user had. Passwords are the host-filled hashes placeholder.
 */
export function userLine(u: AclUser): string {
    const state = u.secret === undefined ? "off" : `on ${hashesPlaceholder(u.secret)}`;
    return `user ${u.name} reset ${state} ${u.rules}`;
}

/** What the verification asks ACL DRYRUN: each listed command must be allowed (true) or denied (false). */
export interface DryRun {
    readonly user: string;
    readonly allowed: boolean;
    readonly command: string;
}

/** Each cluster user can do its job and nothing more (checked on every data node). */
export function dataDryRuns(cfg: ClusterConfig): DryRun[] {
    const u = CLUSTER_USERS;
    const may = (user: string, ...commands: string[]) => commands.map((command) => ({ user, allowed: true, command }));
    const mayNot = (user: string, ...commands: string[]) => commands.map((command) => ({ user, allowed: false, command }));
    return [
        ...may(u.replication, "PSYNC ? -1", "REPLCONF listening-port 6379", "PING"),
        ...mayNot(u.replication, "SET k v", "GET k", "CONFIG GET masterauth", "FLUSHALL"),
        ...may(u.sentinel, "INFO", "ROLE", "PING", "SLAVEOF NO ONE", "CONFIG REWRITE", "CLIENT KILL TYPE normal", "CLIENT SETNAME s",
            "PUBLISH __sentinel__:hello x", "SUBSCRIBE __sentinel__:hello", "MULTI", "EXEC", "SCRIPT KILL"),
        ...mayNot(u.sentinel, "SET k v", "GET k", "CONFIG GET masterauth", "CONFIG SET maxmemory 1", "PUBLISH other x", "FLUSHALL"),
        ...(cfg.acl.monitor ? [...may(u.monitor, "INFO", "PING", "SLOWLOG GET", "LATENCY LATEST"),
            ...mayNot(u.monitor, "GET k", "CONFIG GET masterauth", "CLIENT KILL TYPE normal")] : []),
    ];
}

/** An application's login, as the stack outputs show it: the password is the config key that holds it. */
export interface ApplicationLogin {
    readonly name: string;
    readonly rules: string;
    readonly password: string;
}

/** The default user (unless turned off) and the stack's aclUsers. */
export function applicationLogins(cfg: ClusterConfig): ApplicationLogin[] {
    const users = dataUsers(cfg).filter((u) => u.app && u.secret !== undefined);
    // default first: what password-only clients use
    return [...users.filter((u) => u.name === "default"), ...users.filter((u) => u.name !== "default")].map((u) => ({
        name: u.name, rules: u.rules, password: u.name === "default" ? "<redisPassword>" : `<aclUserPasswords.${u.name}>`,
    }));
}

/**
 * What the verification checks of the users, as its inputs (verbs.VerifyInputs):
 * each user's login on every node ("data|sentinel USER SECRET" lines), the dry
 * runs ("USER allow|deny COMMAND..." lines) and the cluster's own users, whose
 * denials in ACL LOG fail it.
 */
export function userChecks(cfg: ClusterConfig) {
    return {
        userLogins: [
            ...dataUsers(cfg).filter((u) => u.secret !== undefined).map((u) => `data ${u.name} ${u.secret}`),
            ...sentinelUsers().map((u) => `sentinel ${u.name} ${u.secret}`),
        ].join("\n"),
        dryRuns: dataDryRuns(cfg).map((d) => `${d.user} ${d.allowed ? "allow" : "deny"} ${d.command}`).join("\n"),
        internalDataUsers: dataUsers(cfg).filter((u) => u.internal).map((u) => u.name),
        internalSentinelUsers: sentinelUsers().filter((u) => u.internal).map((u) => u.name),
    };
}
