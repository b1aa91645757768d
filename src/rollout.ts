/**
 * The rolling restart: which steps run in which order, and what makes them run.
 * Pure, so the order is unit-tested; the work itself is remote/roll.sh.
 */
import * as crypto from "crypto";
import { ClusterConfig, HostSpec } from "./config";
import { RESTART_DIRECTIVES } from "./host";
import { renderRedisConf, renderRedisUnit, renderSentinelConf, renderSentinelUnit } from "./render";

export type Pass = "replicas" | "master";
export interface RollStep { readonly host: HostSpec; readonly pass: Pass }

/**
 * Every host once in the replica pass, then every host once in the master pass,
 * each step after the one before. Which node is the master is decided on the
 * hosts at run time (Sentinel moves it), so the order does not depend on the
 * stack's initial roles: a replica restarts in the first pass, the current
 * master only in the second, after it has handed its role over.
 */
export function rollOrder(cfg: ClusterConfig): RollStep[] {
    return (["replicas", "master"] as const).flatMap((pass) => cfg.hosts.map((host) => ({ host, pass })));
}

/** The sentinel.conf lines that are not per-master settings (those change live with SENTINEL SET). */
const SENTINEL_LIVE = /^sentinel (monitor|down-after-milliseconds|failover-timeout|parallel-syncs|auth-pass) /;

/**
 * What a host's restart step depends on: the units, the binaries and the
 * settings that only take effect at a restart. A change to anything else
 * (maxmemory, quorum, ...) is applied live and does not touch the step.
 */
export function restartRevision(cfg: ClusterConfig, host: HostSpec): string {
    const restartOnly = (text: string, keep: (line: string) => boolean) =>
        text.split("\n").filter((l) => l !== "" && !l.startsWith("#") && keep(l));
    const redis = restartOnly(renderRedisConf(cfg, host), (l) =>
        RESTART_DIRECTIVES.includes(l.split(" ")[0]) || Object.keys(cfg.extraDirectives).includes(l.split(" ")[0]));
    const sentinel = restartOnly(renderSentinelConf(cfg, host), (l) => !SENTINEL_LIVE.test(l));
    return crypto.createHash("sha256").update(JSON.stringify([
        cfg.binaries.server.sha256, cfg.binaries.cli.sha256, renderRedisUnit(cfg, host), renderSentinelUnit(cfg, host), redis, sentinel,
    ])).digest("hex").slice(0, 16);
}
