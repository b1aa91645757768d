/**
 * What one host needs before Redis can run there, and the data node itself:
 * the service user and directories, kernel tuning, the secrets file, the
 * binaries (copied, checked, installed), redis.conf, its unit and the running
 * service. Each step is one `remote.Command` (or copy), so `pulumi preview`
 * names the exact step and host that changes.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { ClusterConfig, HostSpec } from "../config";
import {
    HostContext, REDIS_UNIT, STAGE_DIR, START_GUARD, SYSCTL_FILE, THP_FILE, installedBinaries, tlsCliWrapper, tlsFiles, unitDropIn, unitFile,
    withRenderedCopy,
} from "../host/layout";
import { shq } from "../host/script";
import * as verbs from "../host/verbs";
import { HostPlan } from "../plan";
import { HostStepArgs, SshAccess, connectionFor, hostStep } from "./step";

export interface DataNodeArgs {
    /** The validated cluster configuration. */
    readonly config: ClusterConfig;
    /** This host's part of the cluster plan. */
    readonly plan: HostPlan;
    /** The facts the host scripts get. */
    readonly context: HostContext;
    /** How the steps log in to the host. */
    readonly ssh: SshAccess;
    /** The secrets file's text (secrets.ts); a secret. */
    readonly secretsFile: pulumi.Output<string>;
    /** Resources that must succeed before anything is put on this host (every host's SSH check). Default none. */
    readonly touchAfter?: readonly pulumi.Resource[];
    /** This host's TLS private key (PEM); a secret. Required when config.tls is set, else unused. */
    readonly tlsKey?: pulumi.Input<string>;
}

/**
 * A host prepared for Redis, with its data node installed and configured; the
 * cluster starts it (startService) once what must come first has run.
 */
export class DataNode extends pulumi.ComponentResource {
    /** The installed binaries: later steps may use redis-cli. */
    readonly install: command.remote.Command;
    /** The stored secrets file. */
    readonly secrets: command.remote.Command;
    /**
     * With TLS: the certificates, key and redis-cli wrapper in place. Every step
     * that runs redis-cli here comes after it. Default (plaintext): none.
     */
    readonly tls?: command.remote.Command;
    /** redis.conf in place (and applied live where it can be: a switch to TLS among it). */
    readonly config: command.remote.Command;
    /** The host it runs on. */
    readonly host: HostSpec;
    readonly connection: command.types.input.remote.ConnectionArgs;
    /** Every step that puts something on the host, before the service: the rolling restart waits for all of them. */
    readonly steps: readonly pulumi.Resource[];
    private readonly startArgs: { readonly s: HostStepArgs; readonly ctx: HostContext; readonly port: number; readonly peers: readonly string[];
        readonly before: readonly pulumi.Resource[] };

    constructor(name: string, args: DataNodeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("redis-sentinel:index:DataNode", name, {}, opts);
        const { config: cfg, plan, context: ctx } = args;
        const { host } = plan;
        this.host = host;
        const p = cfg.paths;
        this.connection = connectionFor(host, args.ssh);
        const s: HostStepArgs = { host, connection: this.connection, parent: this };
        const touchAfter = [...(args.touchAfter ?? [])];

        const prepare = hostStep("prepare", s, verbs.prepare(ctx, { dataDir: p.dataDir, logDir: p.logDir, stageDir: STAGE_DIR, sshUser: host.sshUser }),
            { ...(cfg.purgeDataOnDestroy ? { delete: `rm -rf -- ${shq(p.dataDir)}` } : {}), dependsOn: touchAfter });

        hostStep("sysctl", s, verbs.putFile(ctx, { dest: SYSCTL_FILE, owner: "root", mode: "0644", action: "sysctl" }), {
            stdin: plan.files.sysctl, delete: `rm -f ${shq(SYSCTL_FILE)}`, dependsOn: touchAfter,
        });
        hostStep("thp", s, verbs.putFile(ctx, { dest: THP_FILE, owner: "root", mode: "0644", action: "tmpfiles" }), {
            stdin: plan.files.thp, delete: `rm -f ${shq(THP_FILE)}`, dependsOn: touchAfter,
        });

        this.secrets = hostStep("secrets", s, verbs.putSecrets(ctx), {
            stdin: args.secretsFile, delete: `rm -f ${shq(ctx.secretsFile)}`, dependsOn: [prepare],
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
        const installed = installedBinaries(p.installDir);
        const cliCopy = staged("cli");
        this.install = hostStep("install", s, verbs.installBinaries(ctx, {
            stagedServer: server.remotePath, stagedCli: cliCopy.remotePath,
            serverSha256: cfg.binaries.server.sha256, cliSha256: cfg.binaries.cli.sha256,
            installDir: p.installDir, redisVersion: cfg.redisVersion,
            installedServer: installed.server, installedCli: installed.cli, installedSentinel: installed.sentinel,
        }), { delete: `rm -rf -- ${shq(p.installDir)}`, dependsOn: [server.copy, cliCopy.copy] });

        // Certificates are public (plain inputs); the key reaches the host on stdin as a secret.
        if (cfg.tls) {
            if (args.tlsKey === undefined) throw new Error(`DataNode ${host.name}: tlsKey is required with TLS`);
            const files = tlsFiles(p.configDir);
            this.tls = hostStep("tls", s, verbs.putTls(ctx, {
                tlsCa: cfg.tls.caCert.trim(), tlsCert: cfg.tls.certs[host.name].trim(),
                caFile: files.ca, certFile: files.cert, keyFile: files.key, cliWrapper: tlsCliWrapper(cfg),
            }), {
                stdin: pulumi.secret(pulumi.output(args.tlsKey).apply((k) => `${k.trim()}\n`)),
                delete: `rm -f ${[files.ca, files.cert, files.key, ctx.redisCli].map(shq).join(" ")}`,
                dependsOn: [prepare, this.install, this.secrets],
            });
        }
        const tlsReady = this.tls ? [this.tls] : [];

        const conf = this.config = hostStep("redis-config", s, verbs.applyConfig(ctx, {
            kind: "redis", target: ctx.redisConf, port: cfg.redisPort, self: host.announceAddress, peers: plan.peers,
        }), {
            stdin: plan.files.redisConf,
            delete: `rm -f ${withRenderedCopy(ctx.redisConf).map(shq).join(" ")}`,
            dependsOn: [this.install, this.secrets, ...tlsReady],
        });

        const redisUnitFile = unitFile(REDIS_UNIT);
        const unit = hostStep("redis-unit", s, verbs.putFile(ctx, { dest: redisUnitFile, owner: "root", mode: "0644", action: `unit:${REDIS_UNIT}` }), {
            stdin: plan.files.redisUnit, delete: `rm -f ${shq(redisUnitFile)} && systemctl daemon-reload`, dependsOn: [this.install],
        });

        // A node without persistence starts only behind its start guard (start-guard.ts):
        // in place before the service first starts, and before any restart.
        const guard = plan.files.startGuard;
        const guardDropIn = unitDropIn(REDIS_UNIT, "start-guard");
        const guardStep = guard === undefined ? [] : [hostStep("start-guard", s, verbs.installGuard(ctx, { dropIn: guardDropIn, dropInText: guard.dropIn }), {
            stdin: guard.script,
            delete: `rm -f ${[START_GUARD.script, START_GUARD.marker, START_GUARD.override, guardDropIn].map(shq).join(" ")} && systemctl daemon-reload`,
            // With TLS the guard runs the TLS wrapper (put-tls writes it).
            dependsOn: [prepare, ...tlsReady],
        })];

        this.steps = [prepare, this.secrets, this.install, ...tlsReady, conf, unit, ...guardStep];
        this.startArgs = { s, ctx, port: cfg.redisPort, peers: plan.peers, before: [conf, unit, ...guardStep] };
        this.registerOutputs({});
    }

    /**
     * The running redis-server service (`<host>-redis-service`), started after its
     * config and unit and after `after` (replicas wait for the master). Called once,
     * by the cluster, which decides what comes first.
     */
    startService(after: readonly pulumi.Resource[]): command.remote.Command {
        const { s, ctx, port, peers, before } = this.startArgs;
        return hostStep("redis-service", s, verbs.service(ctx, { unit: REDIS_UNIT, who: "data", port }), {
            // Leaving the cluster: hand the master role over, stop, and have the
            // remaining Sentinels forget this host (nothing to do on a full destroy).
            deleteScript: verbs.leave(ctx, { peers }),
            dependsOn: [...before, ...after],
        });
    }
}
