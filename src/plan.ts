/**
 * The per-host plan, computed once from the validated configuration: the files
 * each host gets, the peers it asks, the revisions that make steps run again,
 * and the order things start and restart in. Pure; the components only turn it
 * into resources.
 */
import * as crypto from "crypto";
import { ClusterConfig, HostSpec, initialMaster } from "./config";
import { HostContext, hostContext } from "./host/layout";
import { executableFile } from "./host/script";
import { startGuard } from "./host/verbs";
import {
    renderRedisConf, renderRedisUnit, renderSentinelConf, renderSentinelUnit, renderStartGuardDropIn, renderSysctl, renderThpTmpfiles,
} from "./render";
import { RollStep, restartRevision, rollOrder, tlsRevision } from "./rollout";
import { needsStartGuard } from "./start-guard";

/** The files one host gets, rendered (secrets as placeholders). */
export interface HostFiles {
    readonly redisConf: string;
    readonly sentinelConf: string;
    readonly redisUnit: string;
    readonly sentinelUnit: string;
    readonly sysctl: string;
    readonly thp: string;
    /**
     * A node without persistence: its start guard's file and the redis-server
     * unit's drop-in that runs it (start-guard.ts). Default (a node that keeps its
     * data): none.
     */
    readonly startGuard?: { readonly script: string; readonly dropIn: string };
}

export interface HostPlan {
    readonly host: HostSpec;
    readonly files: HostFiles;
    /** "ip:port" of the other hosts' Sentinels: a node joining a running cluster asks them for the master. */
    readonly peers: readonly string[];
    /** Changes exactly when this host's restart step must run again. */
    readonly restartRevision: string;
}

export interface ClusterPlan {
    readonly context: HostContext;
    readonly initialMaster: HostSpec;
    /** Every host, in the stack's order. */
    readonly hosts: readonly HostPlan[];
    /** "ip:port" of every Sentinel. */
    readonly sentinels: readonly string[];
    /** The rolling restart: every host in the replica pass, then in the master pass. */
    readonly roll: readonly RollStep[];
    /** Changes when anything the hosts run changes: the verification runs again. */
    readonly revision: string;
    /** Changes after every roll: the clean-up of stale Sentinel entries runs again. */
    readonly rollRevision: string;
}

const hash = (v: unknown) => crypto.createHash("sha256").update(JSON.stringify(v)).digest("hex").slice(0, 16);

export function planCluster(cfg: ClusterConfig): ClusterPlan {
    const sentinelOf = (h: HostSpec) => `${h.announceAddress}:${cfg.sentinelPort}`;
    const context = hostContext(cfg);
    const hosts = cfg.hosts.map((host): HostPlan => {
        const files: HostFiles = {
            ...(needsStartGuard(host) ? {
                startGuard: {
                    script: executableFile(startGuard(context, { self: host.announceAddress, sentinels: cfg.hosts.map(sentinelOf) })),
                    dropIn: renderStartGuardDropIn(host),
                },
            } : {}),
            redisConf: renderRedisConf(cfg, host),
            sentinelConf: renderSentinelConf(cfg, host),
            redisUnit: renderRedisUnit(cfg, host),
            sentinelUnit: renderSentinelUnit(cfg, host),
            sysctl: renderSysctl(),
            thp: renderThpTmpfiles(),
        };
        return {
            host, files,
            peers: cfg.hosts.filter((h) => h.name !== host.name).map(sentinelOf),
            restartRevision: restartRevision(cfg, files),
        };
    });
    const master = initialMaster(cfg);
    return {
        context,
        initialMaster: master,
        hosts,
        sentinels: cfg.hosts.map(sentinelOf),
        roll: rollOrder(cfg),
        revision: hash([
            cfg.binaries.server.sha256, cfg.binaries.cli.sha256,
            ...hosts.map((p) => [p.files.redisConf, p.files.sentinelConf, p.files.redisUnit, p.files.sentinelUnit,
                ...(p.files.startGuard ? [p.files.startGuard.script, p.files.startGuard.dropIn] : [])]),
            // TLS only: renewed certificates are verified again.
            ...(cfg.tls ? [tlsRevision(cfg)] : []),
        ]),
        rollRevision: hash(hosts.map((p) => p.restartRevision)),
    };
}
