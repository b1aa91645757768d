/**
 * What one host needs before Redis can run there, and the data node itself:
 * the service user and directories, kernel tuning, the passwords file, the
 * binaries (copied, checked, installed), redis.conf, its unit and the running
 * service. Each step is one `remote.Command` (or copy), so `pulumi preview`
 * names the exact step and host that changes.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { ClusterConfig, HostSpec } from "./config";
import { renderRedisConf, renderRedisUnit, renderSysctl, renderThpTmpfiles } from "./render";
import { RemoteScript, remoteCommand, shq } from "./shell";

/**
 * redis.conf directives that take effect only at a restart (or that this
 * deployer will not change live: a port or bind change would pull a node out
 * from under the Sentinels). Everything else goes through CONFIG SET; what Redis
 * itself refuses as immutable is restarted too.
 */
export const RESTART_DIRECTIVES = [
    "port", "bind", "daemonize", "supervised", "logfile", "dir", "dbfilename",
    "appendfilename", "appenddirname", "requirepass", "masterauth",
];

/** Where the deployer keeps its own files on a host (root-owned). */
export const DEPLOY_DIR = "/var/lib/redis-sentinel-pulumi";
export const STAGE_DIR = `${DEPLOY_DIR}/stage`;
export const SECRETS_FILE = `${DEPLOY_DIR}/secrets.env`;
/** Marks (one file per unit) of changes that wait for the rolling restart. */
export const PENDING_DIR = `${DEPLOY_DIR}/pending`;
export const REDIS_UNIT = "redis-server";
export const SENTINEL_UNIT = "redis-sentinel";

/** "ip:port ..." of the other hosts' Sentinels: a node joining a running cluster asks them for the master. */
export function peerSentinels(cfg: ClusterConfig, host: HostSpec): string {
    return cfg.hosts.filter((h) => h.name !== host.name).map((h) => `${h.announceAddress}:${cfg.sentinelPort}`).join(" ");
}

/** How every step reaches a host; `privateKeyPassword` only for an encrypted key (the provider refuses one for a plain key). */
export function connectionFor(
    host: HostSpec, privateKey: pulumi.Input<string>, privateKeyPassword?: pulumi.Input<string>,
): command.types.input.remote.ConnectionArgs {
    return {
        host: host.address,
        port: host.sshPort,
        user: host.sshUser,
        privateKey,
        ...(privateKeyPassword !== undefined ? { privateKeyPassword } : {}),
        // Unset only where the stack opted out (insecureSkipHostKeyCheck): then not checked.
        ...(host.hostKey ? { hostKey: host.hostKey } : {}),
        // A host that does not accept TCP fails its step after 5 attempts of 15 s instead
        // of retrying for long. The provider bounds only the TCP connect: a host that
        // accepts and never answers SSH hangs the step (README, Troubleshooting SSH).
        dialErrorLimit: 4,
        perDialTimeout: 15,
    };
}

/** Runs a plain command as root (through sudo for a non-root SSH user). */
export function asRoot(host: HostSpec, cmd: string): string {
    return host.sshUser === "root" ? cmd : `sudo -n sh -c ${shq(cmd)}`;
}

export interface HostStepArgs {
    readonly host: HostSpec;
    readonly connection: command.types.input.remote.ConnectionArgs;
    readonly parent: pulumi.Resource;
}

/** One step on a host: a remote script, data on stdin, an optional undo on destroy. */
export function hostStep(
    name: string,
    s: HostStepArgs,
    script: RemoteScript,
    args: readonly string[],
    opts: {
        stdin?: pulumi.Input<string>;
        /** A plain command run as root on destroy. */
        delete?: string;
        /** A complete remote command (from remoteCommand) run on destroy. */
        deleteScript?: string;
        dependsOn?: pulumi.Input<pulumi.Input<pulumi.Resource>[]>;
    } = {},
): command.remote.Command {
    return new command.remote.Command(`${s.host.name}-${name}`, {
        connection: s.connection,
        create: remoteCommand(s.host.sshUser, script, args),
        // The scripts do not read the previous output; sshd would refuse the env request anyway.
        addPreviousOutputInEnv: false,
        ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
        ...(opts.delete !== undefined ? { delete: asRoot(s.host, opts.delete) } : {}),
        ...(opts.deleteScript !== undefined ? { delete: opts.deleteScript } : {}),
    }, { parent: s.parent, dependsOn: opts.dependsOn });
}

export interface DataNodeArgs {
    /** The validated cluster configuration. */
    readonly config: ClusterConfig;
    /** The host this data node runs on. */
    readonly host: HostSpec;
    /** SSH private key; a secret. */
    readonly sshPrivateKey: pulumi.Input<string>;
    /** Passphrase of the SSH private key; a secret. Default none (an unencrypted key). */
    readonly sshPrivateKeyPassword?: pulumi.Input<string>;
    /** `REDIS_PASSWORD=...` and `SENTINEL_PASSWORD=...` lines; a secret. */
    readonly secretsFile: pulumi.Output<string>;
    /** Resources that must exist before this node's Redis starts (replicas wait for the master). Default none. */
    readonly startAfter?: readonly pulumi.Resource[];
    /** Resources that must succeed before anything is put on this host (every host's SSH check). Default none. */
    readonly touchAfter?: readonly pulumi.Resource[];
}

/** A host prepared for Redis, with its data node installed, configured and running. */
export class DataNode extends pulumi.ComponentResource {
    /** The running redis-server service: replicas and Sentinels start after it. */
    readonly service: command.remote.Command;
    /** The installed binaries: later steps may use redis-cli. */
    readonly install: command.remote.Command;
    /** The stored passwords file. */
    readonly secrets: command.remote.Command;
    readonly connection: command.types.input.remote.ConnectionArgs;
    /** Every step that puts something on the host: the rolling restart waits for all of them. */
    readonly steps: readonly pulumi.Resource[];

    constructor(name: string, args: DataNodeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("redis-sentinel:index:DataNode", name, {}, opts);
        const { config: cfg, host } = args;
        const p = cfg.paths;
        this.connection = connectionFor(host, args.sshPrivateKey, args.sshPrivateKeyPassword);
        const s: HostStepArgs = { host, connection: this.connection, parent: this };
        const cli = `${p.installDir}/bin/redis-cli`;
        const touchAfter = [...(args.touchAfter ?? [])];

        const prepare = hostStep("prepare", s, "prepare",
            [cfg.serviceUser, p.configDir, p.dataDir, p.logDir, STAGE_DIR, host.sshUser],
            { ...(cfg.purgeDataOnDestroy ? { delete: `rm -rf -- ${shq(p.dataDir)}` } : {}), dependsOn: touchAfter });

        const sysctlFile = "/etc/sysctl.d/60-redis.conf";
        hostStep("sysctl", s, "put-file", [sysctlFile, "root", "0644", "sysctl"], {
            stdin: renderSysctl(), delete: `rm -f ${shq(sysctlFile)}`, dependsOn: touchAfter,
        });
        const thpFile = "/etc/tmpfiles.d/redis-thp.conf";
        hostStep("thp", s, "put-file", [thpFile, "root", "0644", "tmpfiles"], {
            stdin: renderThpTmpfiles(), delete: `rm -f ${shq(thpFile)}`, dependsOn: touchAfter,
        });

        this.secrets = hostStep("secrets", s, "put-secrets", [SECRETS_FILE], {
            stdin: args.secretsFile, delete: `rm -f ${shq(SECRETS_FILE)}`, dependsOn: [prepare],
        });

        // The copies are named after the checksum, so a new binary is a new file and
        // a running service never has its executable overwritten mid-copy.
        const staged = (which: "server" | "cli") => {
            const bin = cfg.binaries[which];
            const remotePath = `${STAGE_DIR}/redis-${which}-${bin.sha256.slice(0, 16)}`;
            const copy = new command.remote.CopyToRemote(`${host.name}-copy-redis-${which}`, {
                connection: this.connection,
                source: new pulumi.asset.FileAsset(bin.path),
                remotePath,
            }, { parent: this, dependsOn: [prepare] });
            return { copy, remotePath };
        };
        const server = staged("server");
        const cliCopy = staged("cli");
        this.install = hostStep("install", s, "install-binaries",
            [server.remotePath, cliCopy.remotePath, cfg.binaries.server.sha256, cfg.binaries.cli.sha256, p.installDir, cfg.redisVersion, PENDING_DIR],
            { delete: `rm -rf -- ${shq(p.installDir)}`, dependsOn: [server.copy, cliCopy.copy] });

        const confFile = `${p.configDir}/redis.conf`;
        const conf = hostStep("redis-config", s, "apply-config",
            ["redis", confFile, cfg.serviceUser, SECRETS_FILE, cli, String(cfg.redisPort), cfg.masterName, PENDING_DIR, RESTART_DIRECTIVES.join(" "), host.announceAddress, peerSentinels(cfg, host)],
            { stdin: renderRedisConf(cfg, host), delete: `rm -f ${shq(confFile)} ${shq(`${confFile}.rendered`)}`, dependsOn: [this.install, this.secrets] });

        const unitFile = `/etc/systemd/system/${REDIS_UNIT}.service`;
        const unit = hostStep("redis-unit", s, "put-file", [unitFile, "root", "0644", `unit:${REDIS_UNIT}`, PENDING_DIR], {
            stdin: renderRedisUnit(cfg, host), delete: `rm -f ${shq(unitFile)} && systemctl daemon-reload`, dependsOn: [this.install],
        });

        this.service = hostStep("redis-service", s, "service",
            [REDIS_UNIT, cli, String(cfg.redisPort), "REDIS_PASSWORD", SECRETS_FILE, PENDING_DIR],
            {
                // Leaving the cluster: hand the master role over, stop, and have the
                // remaining Sentinels forget this host (nothing to do on a full destroy).
                deleteScript: remoteCommand(host.sshUser, "roll", [
                    "leave", cli, String(cfg.redisPort), String(cfg.sentinelPort), cfg.masterName, cfg.serviceUser,
                    PENDING_DIR, p.configDir, SECRETS_FILE, "120", RESTART_DIRECTIVES.join(" "), peerSentinels(cfg, host),
                ]),
                dependsOn: [conf, unit, ...(args.startAfter ?? [])],
            });
        this.steps = [prepare, this.secrets, this.install, conf, unit, this.service];
        this.registerOutputs({});
    }
}

/** The undo of the Sentinel's service step; a plain command run as root. */
export function remoteStop(unit: string): string {
    return `systemctl disable --now ${shq(unit)} 2>/dev/null || true`;
}
