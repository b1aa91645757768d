/**
 * What the host scripts need to know about a host: where things live, the unit
 * names, which changes need a restart, how long they wait. Each fact is defined
 * once here and reaches the scripts by name (see script.ts); none is repeated in
 * the shell. Pure: no resource is created here, so planners and operator tools
 * import it freely.
 */
import { ClusterConfig } from "../config";
import { SECRET_PLACEHOLDER, SECRET_NAMES, SecretName } from "./secrets";

/** Where the deployer keeps its own files on a host (root-owned). */
export const DEPLOY_DIR = "/var/lib/redis-sentinel-pulumi";
/** Staged copies of the binaries, named after their checksum. */
export const STAGE_DIR = `${DEPLOY_DIR}/stage`;
/** The root-only secrets file (secrets.ts says its format). */
export const SECRETS_FILE = `${DEPLOY_DIR}/secrets.env`;
/** Marks (one file per unit) of changes that wait for the rolling restart. */
export const PENDING_DIR = `${DEPLOY_DIR}/pending`;
export const REDIS_UNIT = "redis-server";
export const SENTINEL_UNIT = "redis-sentinel";
export const unitFile = (unit: string) => `/etc/systemd/system/${unit}.service`;
export const SYSCTL_FILE = "/etc/sysctl.d/60-redis.conf";

/** The installed binaries under an install directory (redis-sentinel is a link to redis-server). */
export const installedBinaries = (installDir: string) => ({
    server: `${installDir}/bin/redis-server`,
    cli: `${installDir}/bin/redis-cli`,
    sentinel: `${installDir}/bin/redis-sentinel`,
});
export const THP_FILE = "/etc/tmpfiles.d/redis-thp.conf";
const RENDERED_SUFFIX = ".rendered";

/**
 * redis.conf directives that take effect only at a restart (or that this
 * deployer will not change live: a port or bind change would pull a node out
 * from under the Sentinels). Everything else goes through CONFIG SET; what Redis
 * itself refuses as immutable is restarted too.
 */
export const RESTART_DIRECTIVES = [
    "port", "bind", "daemonize", "supervised", "logfile", "dir", "dbfilename",
    "appendfilename", "appenddirname", "requirepass", "masterauth",
] as const;

/** Per-master Sentinel options changed live with SENTINEL SET; any other Sentinel change needs a restart. */
export const SENTINEL_LIVE_OPTIONS = ["quorum", "down-after-milliseconds", "failover-timeout", "parallel-syncs"] as const;

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
} as const;

/** Which secret authenticates the deployer to a data node and to a Sentinel. */
export const AUTH_SECRETS: { readonly data: SecretName; readonly sentinel: SecretName } = {
    data: "REDIS_PASSWORD",
    sentinel: "SENTINEL_PASSWORD",
};

/**
 * The facts every host script gets, whatever its verb. Tests build one with
 * their own paths (a temporary directory, a fake redis-cli).
 */
export interface HostContext {
    /** redis-cli on the host. Default `<installDir>/bin/redis-cli`. */
    readonly redisCli: string;
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
    readonly secretNames: readonly string[];
    /** printf format of a secret's placeholder in rendered files, `%s` the secret's name. */
    readonly secretPlaceholder: string;
    readonly dataAuthSecret: string;
    readonly sentinelAuthSecret: string;
    readonly rollTimeout: number;
    readonly serviceStartTimeout: number;
    readonly catchUpTimeout: number;
    readonly sentinelsAgreeTimeout: number;
    readonly peerProbeTimeout: number;
}

export function hostContext(cfg: ClusterConfig): HostContext {
    return {
        redisCli: installedBinaries(cfg.paths.installDir).cli,
        secretsFile: SECRETS_FILE,
        pendingDir: PENDING_DIR,
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
        secretNames: SECRET_NAMES,
        secretPlaceholder: SECRET_PLACEHOLDER,
        dataAuthSecret: AUTH_SECRETS.data,
        sentinelAuthSecret: AUTH_SECRETS.sentinel,
        rollTimeout: TIMEOUTS.roll,
        serviceStartTimeout: TIMEOUTS.serviceStart,
        catchUpTimeout: TIMEOUTS.catchUp,
        sentinelsAgreeTimeout: TIMEOUTS.sentinelsAgree,
        peerProbeTimeout: TIMEOUTS.peerProbe,
    };
}

/** A config file and the copy of its last render beside it: what a config step removes on destroy. */
export const withRenderedCopy = (file: string) => [file, `${file}${RENDERED_SUFFIX}`];
