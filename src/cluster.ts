/**
 * The whole cluster: a data node and a Sentinel on every host, started in the
 * order Redis needs (initial master, then replicas, then Sentinels), a rolling
 * restart for changes that need one, then a verification that fails the `up`
 * if the cluster is not what was asked for.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { ClusterConfig, initialMaster } from "./config";
import { DataNode, PENDING_DIR, RESTART_DIRECTIVES, SECRETS_FILE, asRoot, connectionFor, hostStep } from "./host";
import { restartRevision, rollOrder } from "./rollout";
import { SentinelNode } from "./sentinel";
import { renderRedisConf, renderRedisUnit, renderSentinelConf, renderSentinelUnit } from "./render";
import { remoteCommand } from "./shell";
import { ConnectionSettings, Endpoint, VerifiedCluster, connectionSettings, parseVerifyOutput } from "./verify";

export interface RedisSentinelClusterArgs {
    /** The validated cluster configuration. */
    readonly config: ClusterConfig;
    /** SSH private key for every host; a secret. */
    readonly sshPrivateKey: pulumi.Input<string>;
    /** Passphrase of the SSH private key; a secret. Default none (an unencrypted key). */
    readonly sshPrivateKeyPassword?: pulumi.Input<string>;
    /** Password of the data nodes (clients, replication, Sentinel); a secret. */
    readonly redisPassword: pulumi.Input<string>;
    /** Password of the Sentinels; a secret. Default: `redisPassword`. */
    readonly sentinelPassword?: pulumi.Input<string>;
    /** Seconds the verification waits for the cluster to settle. Default 90. */
    readonly verifyTimeoutSeconds?: number;
}

export class RedisSentinelCluster extends pulumi.ComponentResource {
    readonly dataNodes: readonly DataNode[];
    readonly sentinels: readonly SentinelNode[];
    /** The cluster as verified at the end of the last `up` that changed anything. */
    readonly verified: pulumi.Output<VerifiedCluster>;
    readonly sentinelEndpoints: readonly Endpoint[];
    readonly connection: ConnectionSettings;

    constructor(name: string, args: RedisSentinelClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("redis-sentinel:index:RedisSentinelCluster", name, {}, opts);
        const cfg = args.config;
        const master = initialMaster(cfg);
        // One secret carries both passwords to each host's root-only file.
        const secretsFile = pulumi.secret(pulumi.interpolate`REDIS_PASSWORD=${args.redisPassword}\nSENTINEL_PASSWORD=${args.sentinelPassword ?? args.redisPassword}\n`);

        // Every host proves who it is (the pinned host key), that the key logs in and
        // that root is at hand before anything is put on any host: a wrong pin or a
        // refused login fails the up before any step runs. Runs again only when how
        // a host is reached changes (its connection), so a no-op up stays one.
        const sshChecks = cfg.hosts.map((host) => new command.remote.Command(`${name}-ssh-check-${host.name}`, {
            connection: connectionFor(host, args.sshPrivateKey, args.sshPrivateKeyPassword),
            create: asRoot(host, "true"),
            addPreviousOutputInEnv: false,
        }, { parent: this }));

        // The initial master first: replicas start after it, so their first sync has a source.
        const ordered = [master, ...cfg.hosts.filter((h) => h.name !== master.name)];
        const nodes = new Map<string, DataNode>();
        for (const host of ordered) {
            const startAfter = host.name === master.name ? [] : [nodes.get(master.name)!.service];
            nodes.set(host.name, new DataNode(host.name, {
                config: cfg, host, sshPrivateKey: args.sshPrivateKey, sshPrivateKeyPassword: args.sshPrivateKeyPassword,
                secretsFile, startAfter, touchAfter: sshChecks,
            }, { parent: this }));
        }
        this.dataNodes = cfg.hosts.map((h) => nodes.get(h.name)!);
        const allData = this.dataNodes.map((n) => n.service);

        // Sentinels start once every data node runs, so they find all replicas at once.
        this.sentinels = cfg.hosts.map((host) => new SentinelNode(`${host.name}-sentinel`, {
            config: cfg, host, dataNode: nodes.get(host.name)!, startAfter: allData,
        }, { parent: this }));

        // The rolling restart: one host at a time, replicas first, the current master
        // last; each step is a no-op unless a change on its host waits for a restart.
        let previous: pulumi.Resource[] = [...this.dataNodes.flatMap((n) => n.steps), ...this.sentinels.flatMap((n) => n.steps)];
        for (const step of rollOrder(cfg)) {
            const node = nodes.get(step.host.name)!;
            previous = [hostStep(step.pass === "replicas" ? "restart" : "restart-master",
                { host: step.host, connection: node.connection, parent: node }, "roll", [
                    step.pass, `${cfg.paths.installDir}/bin/redis-cli`, String(cfg.redisPort), String(cfg.sentinelPort),
                    cfg.masterName, cfg.serviceUser, PENDING_DIR, cfg.paths.configDir, SECRETS_FILE, "120",
                    RESTART_DIRECTIVES.join(" "), restartRevision(cfg, step.host),
                ], { dependsOn: previous })];
        }

        // Any change to what the hosts run re-runs the clean-up and the verification;
        // nothing else does, so an `up` with nothing changed changes nothing.
        const revision = crypto.createHash("sha256").update(JSON.stringify([
            cfg.binaries.server.sha256, cfg.binaries.cli.sha256,
            ...cfg.hosts.map((h) => [renderRedisConf(cfg, h), renderSentinelConf(cfg, h), renderRedisUnit(cfg, h), renderSentinelUnit(cfg, h)]),
        ])).digest("hex").slice(0, 16);
        const verifier = nodes.get(master.name)!;

        // A node restarted on another port is still remembered at the old one by
        // every Sentinel, and Sentinel never forgets a replica by itself: a Sentinel
        // that remembers a node or Sentinel the cluster no longer has (down or
        // disconnected) is reset, one at a time. Runs after every roll (stale
        // entries come only from restarts).
        const rollRevision = crypto.createHash("sha256")
            .update(JSON.stringify(cfg.hosts.map((h) => restartRevision(cfg, h)))).digest("hex").slice(0, 16);
        const forgetStale = hostStep("forget-stale", { host: master, connection: verifier.connection, parent: verifier }, "roll", [
            "tidy", `${cfg.paths.installDir}/bin/redis-cli`, String(cfg.redisPort), String(cfg.sentinelPort),
            cfg.masterName, cfg.serviceUser, PENDING_DIR, cfg.paths.configDir, SECRETS_FILE, "120",
            RESTART_DIRECTIVES.join(" "), cfg.hosts.map((h) => `${h.announceAddress}:${cfg.sentinelPort}`).join(" "), rollRevision,
        ], { dependsOn: previous });
        const verify = new command.remote.Command(`${name}-verify`, {
            connection: verifier.connection,
            create: remoteCommand(master.sshUser, "verify", [
                `${cfg.paths.installDir}/bin/redis-cli`, cfg.masterName, String(cfg.redisPort), String(cfg.sentinelPort),
                String(args.verifyTimeoutSeconds ?? 90), ...cfg.hosts.map((h) => `${h.name}=${h.announceAddress}`),
            ]) + ` # revision ${revision}`,
            stdin: secretsFile,
            addPreviousOutputInEnv: false,
        }, { parent: this, dependsOn: [forgetStale] });

        // The report holds addresses and names only; a provider that marks stdout
        // secret because stdin was one would otherwise hide the outputs.
        this.verified = pulumi.unsecret(verify.stdout).apply(parseVerifyOutput);
        this.sentinelEndpoints = cfg.hosts.map((h) => ({ name: h.name, address: h.announceAddress, port: cfg.sentinelPort }));
        this.connection = connectionSettings(cfg.masterName, this.sentinelEndpoints);
        this.registerOutputs({ verified: this.verified });
    }
}
