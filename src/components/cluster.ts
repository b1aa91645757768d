/**
 * The whole cluster: a data node and a Sentinel on every host, started in the
 * order Redis needs (initial master, then replicas, then Sentinels), a rolling
 * restart for changes that need one, then a verification that fails the `up`
 * if the cluster is not what was asked for. What goes where comes from the
 * cluster plan (plan.ts); this only turns it into resources.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { CLUSTER_USERS, dataUsers, sentinelUsers, userChecks, userLine } from "../acl";
import { CLUSTER_PASSWORD_KEYS, ClusterConfig } from "../config";
import { TIMEOUTS } from "../host/layout";
import { asRoot, commandLine, readingAllStdin } from "../host/script";
import { derivedPassword } from "../derived-passwords";
import { CLUSTER_PASSWORD_SECRETS, MONITOR_SECRET, secretsFileText, userSecret } from "../host/secrets";
import * as verbs from "../host/verbs";
import { planCluster } from "../plan";
import { ConnectionSettings, Endpoint, VerifiedCluster, connectionSettings, parseVerifyOutput } from "../verify";
import { DataNode } from "./data-node";
import { SentinelNode } from "./sentinel-node";
import { SshAccess, connectionFor, hostStep, pinnedHostKey } from "./step";

export interface RedisSentinelClusterArgs {
    /** The validated cluster configuration. */
    readonly config: ClusterConfig;
    /** SSH private key for every host; a secret. */
    readonly sshPrivateKey: pulumi.Input<string>;
    /** Passphrase of the SSH private key; a secret. Default none (an unencrypted key). */
    readonly sshPrivateKeyPassword?: pulumi.Input<string>;
    /**
     * Host keys learned during the deployment, by host name (the local Docker stack).
     * Default none: each host's configured hostKey.
     */
    readonly hostKeys?: Readonly<Record<string, pulumi.Input<string>>>;
    /** Password of the data nodes' `default` user (password-only clients); a secret. */
    readonly redisPassword: pulumi.Input<string>;
    /** Password of the Sentinels' `default` user; a secret. Default: `redisPassword`. */
    readonly sentinelPassword?: pulumi.Input<string>;
    /**
     * Passwords of the cluster's own users (acl.ts CLUSTER_USERS); secrets.
     * Default for each one left out: derived from the SSH key, the project and
     * the stack (derived-passwords.ts).
     */
    readonly clusterPasswords?: Partial<Readonly<Record<ClusterPasswordKey, pulumi.Input<string>>>>;
    /** Password of the `monitor` user; a secret. Required when config.acl.monitor, else unused. */
    readonly monitorPassword?: pulumi.Input<string>;
    /** Passwords of config.acl.users, by user name; secrets. Default none (required for each user). */
    readonly userPasswords?: Readonly<Record<string, pulumi.Input<string>>>;
    /** Each host's TLS private key by host name; secrets. Required for every host when config.tls is set, else unused. */
    readonly tlsKeys?: Readonly<Record<string, pulumi.Input<string>>>;
    /** Seconds the verification waits for the cluster to settle. Default 90. */
    readonly verifyTimeoutSeconds?: number;
}

export type ClusterPasswordKey = typeof CLUSTER_PASSWORD_KEYS[number];

/** Short hash of the hosts' pinned keys, in host order: changes when a host is a new machine. */
export function hostsRevision(hostKeys: readonly string[]): string {
    return crypto.createHash("sha256").update(hostKeys.join("\n")).digest("hex").slice(0, 12);
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
        const ssh: SshAccess = {
            privateKey: args.sshPrivateKey,
            ...(args.sshPrivateKeyPassword !== undefined ? { privateKeyPassword: args.sshPrivateKeyPassword } : {}),
            ...(args.hostKeys !== undefined ? { hostKeys: args.hostKeys } : {}),
        };
        const plan = planCluster(cfg);
        const ctx = plan.context;
        // One secret carries every secret a host holds to its root-only file. The
        // cluster's own users' passwords the stack leaves out are derived from the
        // SSH key (derived-passwords.ts says why that gives nobody anything).
        const derived = (k: ClusterPasswordKey) => pulumi.secret(pulumi.output(args.sshPrivateKey)
            .apply((key) => derivedPassword(key, pulumi.getProject(), pulumi.getStack(), k)));
        const clusterPasswords = CLUSTER_PASSWORD_KEYS.map((k): [string, pulumi.Input<string>] => [CLUSTER_PASSWORD_SECRETS[k],
            args.clusterPasswords?.[k] ?? derived(k)]);
        const monitor: [string, pulumi.Input<string>][] = cfg.acl.monitor ? [[MONITOR_SECRET, required(args.monitorPassword, "monitorPassword")]] : [];
        const secretsFile = secretsFileText([
            ["REDIS_PASSWORD", args.redisPassword],
            ["SENTINEL_PASSWORD", args.sentinelPassword ?? args.redisPassword],
            ...clusterPasswords,
            ...monitor,
            ...cfg.acl.users.map((u): [string, pulumi.Input<string>] => [userSecret(u.name), required(args.userPasswords?.[u.name], `userPasswords.${u.name}`)]),
        ]);

        // Every host proves who it is (the pinned host key), that the key logs in and
        // that root is at hand before anything is put on any host: a wrong pin or a
        // refused login fails the up before any step runs. Runs again only when how
        // a host is reached changes (its connection), so a no-op up stays one.
        const sshChecks = cfg.hosts.map((host) => new command.remote.Command(`${name}-ssh-check-${host.name}`, {
            connection: connectionFor(host, ssh),
            create: asRoot(host.sshUser, "true"),
            addPreviousOutputInEnv: false,
        }, { parent: this }));

        const nodes = new Map(plan.hosts.map((hp) => [hp.host.name, new DataNode(hp.host.name, {
            config: cfg, plan: hp, context: ctx, secretsFile, touchAfter: sshChecks, ssh,
            ...(cfg.tls ? { tlsKey: required(args.tlsKeys?.[hp.host.name], `tlsKeys.${hp.host.name}`) } : {}),
        }, { parent: this })]));
        this.dataNodes = cfg.hosts.map((h) => nodes.get(h.name)!);
        this.sentinels = plan.hosts.map((hp) => new SentinelNode(`${hp.host.name}-sentinel`, {
            config: cfg, plan: hp, context: ctx, dataNode: nodes.get(hp.host.name)!,
        }, { parent: this }));

        // The order of an up, first install or day 2: every file on every host, the
        // users and the links, the rolling restart, then the services, then the
        // verification. The users and links run beside each host's config steps (the
        // host scripts lock the config files), and at their first run only when the
        // host ran before (first install: the config files already hold the users).
        //
        // The users, on every host before any link uses a new password: first every
        // current and previous password valid, then replication and Sentinel logins
        // switched live. Both run again whenever a password (stdin) or a user's rules
        // (the command) change; a rotation ends with the retire steps after the
        // verification. An up that changes neither runs none of them.
        const userLines = (users: ReturnType<typeof dataUsers>) => users.map(userLine).join("\n");
        const aclInputs = { dataUsers: userLines(dataUsers(cfg)), sentinelUsers: userLines(sentinelUsers()) };
        // With TLS, after the host's redis-config step: in a switch from plaintext that
        // step swaps the data node's port from plaintext to TLS, and a command of
        // this step's caught in between would lose its connection.
        const aclAdd = this.dataNodes.map((n) => hostStep("acl-add", { host: n.host, connection: n.connection, parent: n },
            verbs.acl(ctx, { phase: "add", ...aclInputs }),
            { onCreate: verbs.acl(ctx, { phase: "add", ...aclInputs, firstRun: "yes" }), stdin: secretsFile,
                dependsOn: [n.secrets, n.install, ...(n.tls ? [n.tls, n.config] : [])] }));
        const linkInputs = {
            replUser: CLUSTER_USERS.replication, replSecret: CLUSTER_PASSWORD_SECRETS.replicationPassword,
            sentinelUser: CLUSTER_USERS.sentinel, sentinelSecret: CLUSTER_PASSWORD_SECRETS.sentinelAuthPassword,
            peerUser: CLUSTER_USERS.sentinelPeer, peerSecret: CLUSTER_PASSWORD_SECRETS.sentinelPeerPassword,
        };
        const authLinks = this.dataNodes.map((n) => hostStep("auth-links", { host: n.host, connection: n.connection, parent: n },
            verbs.authLinks(ctx, linkInputs),
            { onCreate: verbs.authLinks(ctx, { ...linkInputs, firstRun: "yes" }), stdin: secretsFile, dependsOn: aclAdd }));

        // The rolling restart: one host at a time, replicas first, the current master
        // last; each step is a no-op unless a change on its host waits for a restart.
        // A step runs nothing when it is created: a host installed by this up has
        // nothing to restart. It comes before the services so that it exists (in the
        // stack's state) before any service runs: a restart that a later up marks
        // pending always has its step to run it, even after a first up that failed.
        const revisionOf = new Map(plan.hosts.map((hp) => [hp.host.name, hp.restartRevision]));
        let previous: pulumi.Resource[] = [...this.dataNodes.flatMap((n) => n.steps), ...this.sentinels.flatMap((n) => n.steps), ...authLinks];
        for (const step of plan.roll) {
            const node = nodes.get(step.host.name)!;
            previous = [hostStep(step.pass === "replicas" ? "restart" : "restart-master",
                { host: step.host, connection: node.connection, parent: node },
                verbs.restart(ctx, { pass: step.pass, revision: revisionOf.get(step.host.name)! }),
                { onCreate: "nothing", dependsOn: previous })];
        }
        const rolled = previous;

        // The services, after the roll: the initial master first (replicas then have a
        // source for their first sync), then the replicas, then the Sentinels once
        // every data node runs (so they find all replicas at once).
        const masterService = nodes.get(plan.initialMaster.name)!.startService(rolled);
        const dataServices = this.dataNodes.map((n) => (n.host.name === plan.initialMaster.name ? masterService : n.startService([masterService])));
        const sentinelServices = this.sentinels.map((s) => s.startService(dataServices));

        // A node restarted on another port is still remembered at the old one by
        // every Sentinel, and Sentinel never forgets a replica by itself: a Sentinel
        // that remembers a node or Sentinel the cluster no longer has (down or
        // disconnected) is reset, one at a time. Runs after every roll (stale
        // entries come only from restarts), beside the services.
        const master = plan.initialMaster;
        const verifier = nodes.get(master.name)!;
        const forgetStale = hostStep("forget-stale", { host: master, connection: verifier.connection, parent: verifier },
            verbs.tidy(ctx, { peers: plan.sentinels, revision: plan.rollRevision }), { dependsOn: rolled });

        // Any change to what the hosts run, or to which machines they are (a host
        // rebuilt and pinned again, a replaced container), re-runs the verification;
        // nothing else does, so an `up` with nothing changed changes nothing.
        const identities = pulumi.all(cfg.hosts.map((h) => pinnedHostKey(h, ssh) ?? ""));
        const verify = new command.remote.Command(`${name}-verify`, {
            connection: verifier.connection,
            // It gets the secrets on stdin: it reads all of it (readingAllStdin).
            create: identities.apply((keys) => commandLine(master.sshUser, readingAllStdin(verbs.verify(ctx, {
                nodes: cfg.hosts.map((h) => `${h.name}=${h.announceAddress}`),
                verifyTimeout: args.verifyTimeoutSeconds ?? TIMEOUTS.verify,
                ...userChecks(cfg),
            }))) + ` # revision ${plan.revision} hosts ${hostsRevision(keys)}`),
            stdin: secretsFile,
            addPreviousOutputInEnv: false,
        }, { parent: this, dependsOn: [forgetStale, ...dataServices, ...sentinelServices] });

        // The rotation's end, once the cluster is verified with the new passwords: the
        // old ones stop working (an application's stay while keepPreviousAppPasswords).
        const retireInputs = { phase: "retire", ...aclInputs, keepPrevious: cfg.acl.keepPreviousAppPasswords ? "yes" : "no" } as const;
        this.dataNodes.forEach((n) => hostStep("acl-retire", { host: n.host, connection: n.connection, parent: n },
            verbs.acl(ctx, retireInputs),
            { onCreate: verbs.acl(ctx, { ...retireInputs, firstRun: "yes" }), stdin: secretsFile, dependsOn: [verify] }));

        // TLS only: the end of a switch from plaintext (put-tls), once the whole
        // cluster is verified over TLS: each replica makes its replication link
        // again, over TLS, one host at a time (tls-switched.sh).
        if (cfg.tls) {
            const verified = { revision: plan.revision };
            this.dataNodes.reduce<pulumi.Resource>((previous, n) => hostStep("tls-switched", { host: n.host, connection: n.connection, parent: n },
                verbs.tlsSwitched(ctx, verified), { dependsOn: [previous] }), verify);
        }

        // The report holds addresses and names only; a provider that marks stdout
        // secret because stdin was one would otherwise hide the outputs.
        this.verified = pulumi.unsecret(verify.stdout).apply(parseVerifyOutput);
        this.sentinelEndpoints = cfg.hosts.map((h) => ({ name: h.name, address: h.announceAddress, port: cfg.sentinelPort }));
        this.connection = connectionSettings(cfg.masterName, this.sentinelEndpoints,
            cfg.tls ? { clientCertificate: cfg.tls.authClients !== "no" } : undefined);
        this.registerOutputs({ verified: this.verified });
    }
}

function required<T>(v: T | undefined, what: string): T {
    if (v === undefined) throw new Error(`RedisSentinelCluster: ${what} is required by the configuration`);
    return v;
}
