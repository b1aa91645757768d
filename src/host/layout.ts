/**
 * What the host scripts need to know about a host: where things live, the unit
 * names, which changes need a restart, how long they wait. Each fact is defined
 * once here and reaches the scripts by name (see script.ts); none is repeated in
 * the shell. Pure: no resource is created here, so planners and operator tools
 * import it freely.
 */
import { ClusterConfig } from "../config";
import { CLUSTER_USERS, dataUsers } from "../acl";
import { shq } from "./script";
import { BASE_SECRETS, CLUSTER_PASSWORD_SECRETS, HASHES_PLACEHOLDER, MONITOR_SECRET, SECRET_PLACEHOLDER, userSecret } from "./secrets";

/** Where the deployer keeps its own files on a host (root-owned). */
export const DEPLOY_DIR = "/var/lib/redis-sentinel-pulumi";
/** Staged copies of the binaries, named after their checksum. */
export const STAGE_DIR = `${DEPLOY_DIR}/stage`;
/** The root-only secrets file (secrets.ts says its format). */
export const SECRETS_FILE = `${DEPLOY_DIR}/secrets.env`;
/** Marks (one file per unit) of changes that wait for the rolling restart. */
export const PENDING_DIR = `${DEPLOY_DIR}/pending`;
/**
 * The start guard of a node without persistence (sh/bin/start-guard.sh): the
 * script systemd runs before redis-server, the drop-in that makes it do so, the
 * mark that the node has started before (so an empty start is no first start),
 * and the file an operator creates to let it start empty as master once.
 */
export const START_GUARD = {
    script: `${DEPLOY_DIR}/start-guard`,
    marker: `${DEPLOY_DIR}/redis-server.started`,
    override: `${DEPLOY_DIR}/allow-empty-master`,
} as const;
export const REDIS_UNIT = "redis-server";
export const SENTINEL_UNIT = "redis-sentinel";
export const unitFile = (unit: string) => `/etc/systemd/system/${unit}.service`;
/** A drop-in of a unit: systemd adds it to the unit file; changing it restarts nothing. */
export const unitDropIn = (unit: string, name: string) => `/etc/systemd/system/${unit}.service.d/${name}.conf`;
export const SYSCTL_FILE = "/etc/sysctl.d/60-redis.conf";

/** The installed binaries under an install directory (redis-sentinel is a link to redis-server). */
export const installedBinaries = (installDir: string) => ({
    server: `${installDir}/bin/redis-server`,
    cli: `${installDir}/bin/redis-cli`,
    sentinel: `${installDir}/bin/redis-sentinel`,
});
export const THP_FILE = "/etc/tmpfiles.d/redis-thp.conf";

/**
 * The TLS files of a host (tls.enabled), beside its config files: the CA, the
 * host's certificate and its key, owned by the service user (the key mode 0600).
 * Data node and Sentinel use the same pair for their server and client sides.
 */
export const tlsFiles = (configDir: string) => ({
    ca: `${configDir}/tls-ca.crt`,
    cert: `${configDir}/tls.crt`,
    key: `${configDir}/tls.key`,
});
/**
 * With TLS, the redis-cli every host script runs: a wrapper (tlsCliWrapper) that
 * adds the TLS options, so no script knows whether the cluster speaks TLS.
 */
export const TLS_CLI = `${DEPLOY_DIR}/redis-cli-tls`;

/**
 * On a host whose running plaintext cluster is being switched to TLS: put-tls
 * makes it, the cluster's `tls-switched` step removes it once the whole cluster
 * is verified over TLS. While it is there the TLS wrapper asks each node or
 * Sentinel it is pointed at whether it still speaks plaintext (tlsCliWrapper).
 */
export const TLS_SWITCH_MARKER = `${DEPLOY_DIR}/tls-switching`;

/**
 * The wrapper's text: redis-cli with --tls and the CA, and the host's own
 * certificate and key when the nodes ask clients for one (tls.authClients).
 * During a switch from plaintext (TLS_SWITCH_MARKER) some nodes and Sentinels
 * still speak plaintext, and redis-cli over TLS to a plaintext port waits
 * forever for the handshake; so the wrapper first sends the target a plaintext
 * PING without credentials (a TLS port resets it at once) and speaks plaintext
 * to a target that answers. The scripts pass -h and -p as options.
 */
export function tlsCliWrapper(cfg: ClusterConfig): string {
    if (!cfg.tls) throw new Error("tlsCliWrapper: TLS is off");
    const files = tlsFiles(cfg.paths.configDir);
    const args = ["--tls", "--cacert", shq(files.ca), ...(cfg.tls.authClients === "no" ? [] : ["--cert", shq(files.cert), "--key", shq(files.key)])];
    return [
        "#!/bin/sh",
        "# redis-cli over TLS (redis-sentinel-pulumi, tls.enabled)",
        `cli=${shq(installedBinaries(cfg.paths.installDir).cli)}`,
        `if [ -e ${shq(TLS_SWITCH_MARKER)} ]; then`,
        "    h=127.0.0.1 p=6379 prev=",
        `    for a in "$@"; do case $prev in -h) h=$a ;; -p) p=$a ;; esac; prev=$a; done`,
        `    case $(env -u REDISCLI_AUTH timeout ${TIMEOUTS.peerProbe} "$cli" -h "$h" -p "$p" PING </dev/null 2>&1) in`,
        `        PONG* | ERR* | *NOAUTH* | *WRONGPASS* | *NOPERM* | *LOADING* | *BUSY* | *MASTERDOWN*) exec "$cli" "$@" ;;`,
        "    esac",
        "fi",
        `exec "$cli" ${args.join(" ")} "$@"`,
        "",
    ].join("\n");
}

/**
 * The partition drill's cut (sh/bin/isolate.sh): an nftables table (or an
 * iptables chain) of that name, a transient systemd timer that removes it, and
 * the script the timer runs. Nothing of it exists outside a drill.
 */
export const PARTITION = {
    table: "redis_drill_partition",
    healUnit: "redis-drill-heal",
    healScript: `${DEPLOY_DIR}/drill-heal.sh`,
} as const;
const RENDERED_SUFFIX = ".rendered";

/**
 * redis.conf directives that take effect only at a restart (or that this
 * deployer will not change live: a port or bind change would pull a node out
 * from under the Sentinels). Everything else goes through CONFIG SET; what Redis
 * itself refuses as immutable is restarted too.
 */
export const RESTART_DIRECTIVES = [
    "port", "bind", "daemonize", "supervised", "logfile", "dir", "dbfilename",
    "appendfilename", "appenddirname",
] as const;

/**
 * Directives that hold credentials: the acl and auth-links steps change them
 * live (ACL SETUSER, CONFIG SET, SENTINEL SET), so a config step neither applies
 * nor restarts for them. Sentinel's per-master and sentinel-level options are
 * named as the config step's diff names them ("sentinel auth-pass").
 */
export const AUTH_DIRECTIVES = [
    "user", "requirepass", "masteruser", "masterauth",
    "sentinel auth-user", "sentinel auth-pass", "sentinel sentinel-user", "sentinel sentinel-pass",
] as const;

/**
 * sentinel.conf lines that are Sentinel's own state: written from the render at
 * a first install only, kept from the live file by every later deploy, never a
 * reason to restart.
 */
export const SENTINEL_STATE_OPTIONS = ["myid", "current-epoch", "config-epoch", "leader-epoch", "known-replica", "known-slave", "known-sentinel"] as const;

/** Per-master Sentinel options changed live with SENTINEL SET; any other Sentinel change needs a restart. */
export const SENTINEL_LIVE_OPTIONS = ["quorum", "down-after-milliseconds", "failover-timeout", "parallel-syncs", "master-reboot-down-after-period"] as const;

/** How long host steps wait, in seconds. */
export const TIMEOUTS = {
    /** A restarted node back in sync, a Sentinel learning replicas, a failover ending. */
    roll: 120,
    /** The verification: the cluster as asked for. */
    verify: 90,
    /** A started service answering PING. */
    serviceStart: 30,
    /** Replicas catching up with a paused master before the failover. */
    catchUp: 10,
    /** Every Sentinel naming the new master after a handover (then it goes on). */
    sentinelsAgree: 10,
    /** One probe of another host's Sentinel (joining, leaving). */
    peerProbe: 3,
    /** How far back the verification reads ACL LOG for denials of the cluster's own users. */
    aclLogWindow: 120,
    /** A config file held by another step of the same host (the config and user steps may run side by side). */
    configLock: 60,
    /** One write of the partition drill's writer on a host (a master cut off answers nothing). */
    drillWrite: 1,
    /**
     * The start guard waiting for the Sentinels to fail an empty master over (they
     * need down-after-milliseconds and an election); then systemd starts it again.
     */
    startGuard: 60,
} as const;

/**
 * How often host steps look again while they wait, in seconds. A started Redis
 * answers within milliseconds, so a long interval would be pure waiting on the
 * deploy's critical path; the verification asks every node a dozen questions a
 * round, so it looks less often.
 */
export const POLL = {
    /** A service answering PING, a restarted replica back in sync. */
    quick: 0.05,
    /** The verification's next round. */
    verify: 0.25,
    /** The drill writer's next try after a failed write. */
    drillRetry: 0.02,
    /** The start guard asking the Sentinels again (a failover takes seconds). */
    startGuard: 0.5,
} as const;

/**
 * How the deployer authenticates: as its own user on a data node, as `default`
 * on a Sentinel. Until a stack's first ACL deploy has finished, the data nodes
 * do not know the deployer user yet; then the default user's secret (the
 * password-only clusters' one) is tried first.
 */
export const DEPLOYER_AUTH = {
    dataUser: CLUSTER_USERS.deployer,
    dataSecret: CLUSTER_PASSWORD_SECRETS.deployerPassword,
    dataFallbackUser: "default",
    dataFallbackSecret: "REDIS_PASSWORD",
    sentinelUser: "default",
    sentinelSecret: "SENTINEL_PASSWORD",
} as const;

/** Every secret a host of this cluster holds. */
export function secretNames(cfg: ClusterConfig): string[] {
    return [...BASE_SECRETS, ...(cfg.acl.monitor ? [MONITOR_SECRET] : []), ...cfg.acl.users.map((u) => userSecret(u.name))];
}

/**
 * The facts every host script gets, whatever its verb. Tests build one with
 * their own paths (a temporary directory, a fake redis-cli).
 */
export interface HostContext {
    /** redis-cli on the host. Default `<installDir>/bin/redis-cli`; with TLS, TLS_CLI (the wrapper that adds the TLS options). */
    readonly redisCli: string;
    /** Whether the cluster speaks TLS: the scripts then get the TLS helpers too (script.ts). Default false. */
    readonly tls?: boolean;
    /** TLS_SWITCH_MARKER: put-tls makes it on a host switched from plaintext. */
    readonly tlsSwitchMarker: string;
    readonly secretsFile: string;
    readonly pendingDir: string;
    readonly configDir: string;
    /** `<configDir>/redis.conf` and `<configDir>/sentinel.conf`. */
    readonly redisConf: string;
    readonly sentinelConf: string;
    /** Beside each config file, the last rendered one (file + suffix): what the next render is compared with. */
    readonly renderedSuffix: string;
    readonly serviceUser: string;
    readonly masterName: string;
    readonly redisPort: number;
    readonly sentinelPort: number;
    readonly redisUnit: string;
    readonly sentinelUnit: string;
    readonly restartDirectives: readonly string[];
    readonly sentinelLiveOptions: readonly string[];
    readonly sentinelStateOptions: readonly string[];
    /** Changed by the acl and auth-links steps only (AUTH_DIRECTIVES), one per line (some are two words). */
    readonly authDirectives: string;
    readonly secretNames: readonly string[];
    /** printf format of a secret's placeholder in rendered files, `%s` the secret's name. */
    readonly secretPlaceholder: string;
    /** printf format of the placeholder of a password's hashes (current and previous). */
    readonly hashesPlaceholder: string;
    readonly dataAuthUser: string;
    readonly dataAuthSecret: string;
    readonly dataFallbackUser: string;
    readonly dataFallbackSecret: string;
    readonly sentinelAuthUser: string;
    readonly sentinelAuthSecret: string;
    /** Secrets of the applications' users, whose previous values keepPreviousAppPasswords keeps. */
    readonly appSecrets: readonly string[];
    readonly rollTimeout: number;
    readonly serviceStartTimeout: number;
    readonly catchUpTimeout: number;
    readonly sentinelsAgreeTimeout: number;
    readonly peerProbeTimeout: number;
    readonly aclLogWindow: number;
    readonly configLockTimeout: number;
    /** POLL.quick and POLL.verify. */
    readonly pollSeconds: number;
    readonly verifyPollSeconds: number;
    /** PARTITION: the drill's firewall table or chain, its heal timer's unit, the script that timer runs. */
    readonly partitionTable: string;
    readonly partitionHealUnit: string;
    readonly partitionHealScript: string;
    /** TIMEOUTS.drillWrite and POLL.drillRetry. */
    readonly writeTimeoutSeconds: number;
    readonly writeRetrySeconds: number;
    /** START_GUARD's files. */
    readonly startGuardScript: string;
    readonly startGuardMarker: string;
    readonly startGuardOverride: string;
    /** TIMEOUTS.startGuard and POLL.startGuard. */
    readonly startGuardTimeout: number;
    readonly startGuardPollSeconds: number;
}

export function hostContext(cfg: ClusterConfig): HostContext {
    return {
        redisCli: cfg.tls ? TLS_CLI : installedBinaries(cfg.paths.installDir).cli,
        ...(cfg.tls ? { tls: true } : {}),
        secretsFile: SECRETS_FILE,
        pendingDir: PENDING_DIR,
        tlsSwitchMarker: TLS_SWITCH_MARKER,
        configDir: cfg.paths.configDir,
        redisConf: `${cfg.paths.configDir}/redis.conf`,
        sentinelConf: `${cfg.paths.configDir}/sentinel.conf`,
        renderedSuffix: RENDERED_SUFFIX,
        serviceUser: cfg.serviceUser,
        masterName: cfg.masterName,
        redisPort: cfg.redisPort,
        sentinelPort: cfg.sentinelPort,
        redisUnit: REDIS_UNIT,
        sentinelUnit: SENTINEL_UNIT,
        restartDirectives: RESTART_DIRECTIVES,
        sentinelLiveOptions: SENTINEL_LIVE_OPTIONS,
        sentinelStateOptions: SENTINEL_STATE_OPTIONS,
        authDirectives: AUTH_DIRECTIVES.join("\n"),
        secretNames: secretNames(cfg),
        secretPlaceholder: SECRET_PLACEHOLDER,
        hashesPlaceholder: HASHES_PLACEHOLDER,
        dataAuthUser: DEPLOYER_AUTH.dataUser,
        dataAuthSecret: DEPLOYER_AUTH.dataSecret,
        dataFallbackUser: DEPLOYER_AUTH.dataFallbackUser,
        dataFallbackSecret: DEPLOYER_AUTH.dataFallbackSecret,
        sentinelAuthUser: DEPLOYER_AUTH.sentinelUser,
        sentinelAuthSecret: DEPLOYER_AUTH.sentinelSecret,
        appSecrets: ["SENTINEL_PASSWORD", ...dataUsers(cfg).filter((u) => u.app && u.secret !== undefined).map((u) => u.secret!)],
        rollTimeout: TIMEOUTS.roll,
        serviceStartTimeout: TIMEOUTS.serviceStart,
        catchUpTimeout: TIMEOUTS.catchUp,
        sentinelsAgreeTimeout: TIMEOUTS.sentinelsAgree,
        peerProbeTimeout: TIMEOUTS.peerProbe,
        aclLogWindow: TIMEOUTS.aclLogWindow,
        configLockTimeout: TIMEOUTS.configLock,
        pollSeconds: POLL.quick,
        verifyPollSeconds: POLL.verify,
        partitionTable: PARTITION.table,
        partitionHealUnit: PARTITION.healUnit,
        partitionHealScript: PARTITION.healScript,
        writeTimeoutSeconds: TIMEOUTS.drillWrite,
        writeRetrySeconds: POLL.drillRetry,
        startGuardScript: START_GUARD.script,
        startGuardMarker: START_GUARD.marker,
        startGuardOverride: START_GUARD.override,
        startGuardTimeout: TIMEOUTS.startGuard,
        startGuardPollSeconds: POLL.startGuard,
    };
}

/** A config file and the copy of its last render beside it: what a config step removes on destroy. */
export const withRenderedCopy = (file: string) => [file, `${file}${RENDERED_SUFFIX}`];
