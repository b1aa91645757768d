/**
 * Nodes without persistence (AOF and RDB off, a host's `persistence`): what keeps
 * an empty restart of one from wiping the cluster. Pure; the guard itself is
 * host/sh/bin/start-guard.sh.
 *
 * The danger (Redis docs, replication): a master that restarts faster than
 * down-after-milliseconds (systemd restarts it after 2 s) comes back empty; its
 * replicas reconnect within a second, resync and drop their copies (with the
 * default repl-diskless-load a replica keeps its data only until a full sync
 * ends). Two things stand in the way:
 *
 * 1. The start guard, before every start of such a node: it never starts as a
 *    master of a cluster that holds data, but as a replica of the master the
 *    Sentinels name (waiting, bounded, for them to fail it over). This is what
 *    prevents the wipe.
 *
 * 2. `sentinel master-reboot-down-after-period`, on every Sentinel. What it does
 *    (Redis 8 sentinel.c): when a master's INFO shows a new run_id (a restart;
 *    INFO is asked every 10 s) the Sentinel flags it MASTER_REBOOT; the flag is
 *    cleared by the next PONG; while flagged for longer than the period the master
 *    is subjectively down, and so failed over once a quorum agrees. A reply of
 *    LOADING counts as "available" for down-after-milliseconds, so without it a
 *    master that restarted and loads (a big AOF or RDB; a node without
 *    persistence loading the RDB a full sync left behind) is waited for however
 *    long that takes. What it does not do: it never notices a master that
 *    restarted empty, which answers PONG at once (the flag is gone within a
 *    second, long before any quorum), and it cannot stop replicas from resyncing
 *    from it meanwhile. That is the guard's job; this only covers a master that
 *    restarted and is not serving.
 */
import { ClusterConfig, HostSpec, keepsData } from "./config";

/** Whether this node gets the start guard: it keeps no data on disk. */
export const needsStartGuard = (host: HostSpec): boolean => !keepsData(host.persistence);

/**
 * `sentinel master-reboot-down-after-period` for this cluster, in ms: 0 (Sentinel's
 * default: off) when every node keeps its data, as before; otherwise
 * down-after-milliseconds: a master that restarted and still only answers LOADING
 * serves no more than one that does not answer, so it gets the same time.
 */
export function masterRebootDownAfterPeriod(cfg: ClusterConfig): number {
    return cfg.hosts.some(needsStartGuard) ? cfg.downAfterMilliseconds : 0;
}
