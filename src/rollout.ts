/**
 * The rolling restart: which steps run in which order, and what makes them run.
 * Pure, so the order is unit-tested; the work itself is host/sh (restart, tidy).
 */
import * as crypto from "crypto";
import { ClusterConfig, HostSpec } from "./config";
import { RESTART_DIRECTIVES, SENTINEL_LIVE_OPTIONS, SENTINEL_STATE_OPTIONS } from "./host/layout";

/** A host's rendered config files and units (the plan renders them once). */
export interface RenderedConfigs {
    readonly redisConf: string;
    readonly sentinelConf: string;
    readonly redisUnit: string;
    readonly sentinelUnit: string;
}

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

/**
 * The sentinel.conf lines a restart does not depend on: the monitored master
 * (Sentinel's after the first install, its quorum changes live), the options
 * that change live with SENTINEL SET, auth-pass, and Sentinel's own state (its
 * id and the known nodes, which only a first install writes).
 */
const SENTINEL_LIVE = new RegExp(`^sentinel (${[
    "monitor", ...SENTINEL_LIVE_OPTIONS.filter((o) => o !== "quorum"), "auth-pass", ...SENTINEL_STATE_OPTIONS,
].join("|")}) `);

/**
 * What a host's restart step depends on: the units, the binaries and the
 * settings that only take effect at a restart. A change to anything else
 * (maxmemory, quorum, ...) is applied live and does not touch the step.
 */
export function restartRevision(cfg: ClusterConfig, files: RenderedConfigs): string {
    const restartOnly = (text: string, keep: (line: string) => boolean) =>
        text.split("\n").filter((l) => l !== "" && !l.startsWith("#") && keep(l));
    const redis = restartOnly(files.redisConf, (l) =>
        (RESTART_DIRECTIVES as readonly string[]).includes(l.split(" ")[0]) || Object.keys(cfg.extraDirectives).includes(l.split(" ")[0]));
    const sentinel = restartOnly(files.sentinelConf, (l) => !SENTINEL_LIVE.test(l));
    return crypto.createHash("sha256").update(JSON.stringify([
        cfg.binaries.server.sha256, cfg.binaries.cli.sha256, files.redisUnit, files.sentinelUnit, redis, sentinel,
        // TLS only (a plaintext stack's revision stays as it was): new certificates
        // make the Sentinels restart, which cannot load them live (put-tls.sh).
        ...(cfg.tls ? [tlsRevision(cfg)] : []),
    ])).digest("hex").slice(0, 16);
}

/** Changes when any host's certificate or the CA changes (a key changes only with its certificate). */
export function tlsRevision(cfg: ClusterConfig): string {
    if (!cfg.tls) return "";
    return crypto.createHash("sha256").update(JSON.stringify([cfg.tls.caCert, cfg.hosts.map((h) => cfg.tls!.certs[h.name])])).digest("hex").slice(0, 16);
}
