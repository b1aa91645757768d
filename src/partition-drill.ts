/**
 * The partition drill (`npm run drill -- --mode partition`): the current
 * master's host is cut off from the cluster's other hosts for a while, with a
 * writer on that host (an application beside the master, asking its own
 * Sentinel) and one on another host. What it measures is what asynchronous
 * replication costs when the master is cut off: the writes the old master
 * still acknowledged after the cut are discarded when it rejoins as a replica.
 * min-replicas-to-write / min-replicas-max-lag bound how long it goes on
 * acknowledging; this drill shows the bound. The cut is made on the host with
 * its own firewall and removes itself (sh/bin/isolate.sh).
 */
import Redis from "ioredis";
import { HostSpec } from "./config";
import { DrillTarget, masterAddress, ready, sentinelAwareClient, tlsOptions } from "./drill";
import { HostDrillOptions, StartScript, addressOf as hostOf, hostOfMaster } from "./host-drill";
import { HostScript } from "./host/script";
import * as verbs from "./host/verbs";

/** One line of a drill writer's output (sh/bin/drill-writer.sh). */
export interface WriterLine {
    readonly kind: "ack" | "err";
    readonly n: number;
    /** ms, the writer's host clock. */
    readonly at: number;
    /** ack: the master's address; err: the error's first line. */
    readonly detail: string;
}

export function parseWriterLine(line: string): WriterLine | undefined {
    const m = /^(ack|err) (\d+) (\d+) ?(.*)$/.exec(line.trim());
    return m ? { kind: m[1] as "ack" | "err", n: Number(m[2]), at: Number(m[3]), detail: m[4] } : undefined;
}

export interface WriterReport {
    readonly host: string;
    /** Whether it ran on the old master's host (the side that was cut off). */
    readonly besideOldMaster: boolean;
    readonly acknowledged: number;
    /** Acknowledged writes missing from the cluster after it healed. */
    readonly lost: number;
    /** Acknowledged writes per second in the seconds before the cut. */
    readonly ratePerSecond: number;
    /** The most writes it had acknowledged in any one second of the drill: what a bound on losses is scaled by. */
    readonly peakRatePerSecond: number;
    /** Longest time between two acknowledged writes, in seconds. */
    readonly longestPauseSeconds: number;
    /** Failed writes by kind (errorKind: NOREPLICAS, or the message of a timeout). */
    readonly errors: Readonly<Record<string, number>>;
}

export interface PartitionReport {
    readonly masterBefore: string;
    readonly masterAfter: string;
    readonly isolatedHost: string;
    readonly partitionSeconds: number;
    /** nft or iptables: what made the cut. */
    readonly tool: string;
    /** From the cut until the other side's Sentinels named a new master (drill's clock). */
    readonly secondsToNewMaster: number | null;
    /**
     * How long after the cut the old master still acknowledged writes of the writer
     * beside it while cut off (times from that host's clock); 0 if it acknowledged none.
     */
    readonly oldMasterAcknowledgedForSeconds: number;
    /** Writes the old master acknowledged while cut off. */
    readonly acknowledgedAfterCutByOldMaster: number;
    /** From the heal until every Sentinel named one master and every other node replicated from it. */
    readonly secondsToHealed: number;
    readonly writers: readonly WriterReport[];
    readonly writesAcknowledged: number;
    readonly writesLost: number;
}

/** A Redis error's code (NOREPLICAS, READONLY, ...), or the message itself, shortened, for anything else (timeouts). */
export function errorKind(message: string): string {
    const code = /^[A-Z][A-Z_]+(?= |$)/.exec(message)?.[0];
    return code ?? (message.slice(0, 40) || "error");
}

/** A writer's report from its lines, the cut (writer's clock, beside only) and the writes found missing. */
export function writerReport(host: string, besideOldMaster: boolean, lines: readonly WriterLine[], cutAt: number, missing: ReadonlySet<number>): WriterReport {
    const acks = lines.filter((l) => l.kind === "ack");
    let pause = 0;
    for (let k = 1; k < acks.length; k++) pause = Math.max(pause, acks[k].at - acks[k - 1].at);
    const errors: Record<string, number> = {};
    for (const l of lines) if (l.kind === "err") { const k = errorKind(l.detail); errors[k] = (errors[k] ?? 0) + 1; }
    // The rate over the last (up to) 3 s before the cut, by the writer's own clock.
    const before = acks.filter((a) => a.at <= cutAt);
    const from = before.length ? Math.max(before[0].at, cutAt - 3000) : cutAt;
    const inWindow = before.filter((a) => a.at >= from).length;
    const span = before.length ? (before[before.length - 1].at - from) / 1000 : 0;
    let peak = 0;
    for (let a = 0, b = 0; b < acks.length; b++) {
        while (acks[b].at - acks[a].at >= 1000) a++;
        peak = Math.max(peak, b - a + 1);
    }
    return {
        host, besideOldMaster,
        acknowledged: acks.length,
        lost: acks.filter((a) => missing.has(a.n)).length,
        ratePerSecond: span > 0 ? inWindow / span : 0,
        peakRatePerSecond: peak,
        longestPauseSeconds: pause / 1000,
        errors,
    };
}

/**
 * The old master's acknowledgements while its host was cut off (after cutAt, up
 * to healedAt, both by that host's clock), from the lines of the writer beside it.
 */
export function oldMasterWindow(lines: readonly WriterLine[], cutAt: number, healedAt: number, oldMasterHost: string): { seconds: number; count: number } {
    const after = lines.filter((l) => l.kind === "ack" && l.at > cutAt && l.at <= healedAt && l.detail === oldMasterHost);
    return { seconds: after.length ? (after[after.length - 1].at - cutAt) / 1000 : 0, count: after.length };
}

/** HostDrillOptions.seconds: how long the master's host stays cut off. */
export interface PartitionDrillOptions extends HostDrillOptions {
    /** Progress lines for the operator. */
    readonly log: (line: string) => void;
    /** How long to wait for the cluster to heal after the cut ends. Default 120 s. */
    readonly healTimeoutSeconds?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The writers' keys expire after an hour: the drill deletes them, an interrupted drill cannot. */
export const WRITER_KEY_TTL_SECONDS = 3600;

/** Runs a host script to its end; its lines, or an error with them. */
async function runScript(start: StartScript, host: HostSpec, script: HostScript): Promise<string[]> {
    const lines: string[] = [];
    const code = await start(host, script, (l) => lines.push(l)).done;
    if (code !== 0) throw new Error(`${script.verb} on ${host.name} failed (exit ${code}): ${lines.slice(-5).join(" | ")}`);
    return lines;
}

/** SENTINEL REPLICAS as {address: fields}. */
async function sentinelView(t: DrillTarget, s: { host: string; port: number }): Promise<{ master: string; replicas: Map<string, Record<string, string>> }> {
    const c = new Redis({
        host: s.host, port: s.port, password: t.sentinelPassword, lazyConnect: true, connectTimeout: 1000, commandTimeout: 2000, maxRetriesPerRequest: 0,
        retryStrategy: () => null, ...(t.tls ? { tls: tlsOptions(t.tls) } : {}),
    });
    try {
        await c.connect();
        const m = (await c.call("SENTINEL", "get-master-addr-by-name", t.masterName)) as string[];
        const reps = (await c.call("SENTINEL", "REPLICAS", t.masterName)) as string[][];
        const replicas = new Map<string, Record<string, string>>();
        for (const r of reps) {
            const f: Record<string, string> = {};
            for (let k = 0; k + 1 < r.length; k += 2) f[r[k]] = r[k + 1];
            replicas.set(`${f.ip}:${f.port}`, f);
        }
        return { master: `${m[0]}:${m[1]}`, replicas };
    } finally {
        c.disconnect();
    }
}

/**
 * Healed: every Sentinel names the same master, and knows every other node as a
 * replica that is up with its link to that master up. Returns the master, or
 * undefined while it is not so.
 */
async function healedMaster(t: DrillTarget, nodes: readonly string[]): Promise<string | undefined> {
    const views = await Promise.all(t.sentinels.map((s) => sentinelView(t, s).catch(() => undefined)));
    if (views.some((v) => v === undefined)) return undefined;
    const master = views[0]!.master;
    for (const v of views) {
        if (v!.master !== master) return undefined;
        for (const n of nodes.filter((x) => x !== master)) {
            const r = v!.replicas.get(n);
            if (!r || r.flags !== "slave" || r["master-link-status"] !== "ok" || r["master-host"] !== hostOf(master)) return undefined;
        }
    }
    return master;
}

export async function runPartitionDrill(o: PartitionDrillOptions): Promise<PartitionReport> {
    // With two hosts the side without the master has no majority: nothing fails
    // over, and the drill would measure nothing but an outage.
    if (o.hosts.length < 3) throw new Error(`a partition drill needs 3 or more hosts (a majority on the other side); this cluster has ${o.hosts.length}`);
    const t = o.target;
    const masterBefore = await masterAddress(t);
    const isolated = hostOfMaster(o.hosts, masterBefore);
    const other = o.hosts.find((h) => h !== isolated)!;
    const peers = [...new Set(o.hosts.filter((h) => h !== isolated).flatMap((h) => [h.address, h.announceAddress]))];
    const nodes = o.hosts.map((h) => `${h.announceAddress}:${o.ctx.redisPort}`);
    const prefix = `drill:partition:${Date.now()}`;
    const healTimeoutSeconds = o.healTimeoutSeconds ?? 120;

    // The writers: one beside the master, one on another host. Each stops at the
    // drill's end, or by itself (maxSeconds) should the drill die.
    const writers = [isolated, other].map((host) => {
        const lines: WriterLine[] = [];
        const session = o.start(host, verbs.drillWriter(o.ctx, {
            writerUser: o.writer.user, writerSecret: o.writer.secret, keyPrefix: `${prefix}:${host.name}`, keyTtl: WRITER_KEY_TTL_SECONDS,
            maxSeconds: o.seconds + healTimeoutSeconds + 120,
        }), (l) => { const w = parseWriterLine(l); if (w) lines.push(w); });
        return { host, lines, session, prefix: `${prefix}:${host.name}` };
    });
    const acks = (w: typeof writers[number]) => w.lines.filter((l) => l.kind === "ack");
    try {
        const warmUp = Date.now() + 30_000;
        while (writers.some((w) => acks(w).length < 20)) {
            const quiet = writers.find((w) => acks(w).length < 20)!;
            if (Date.now() > warmUp) throw new Error(`the writer on ${quiet.host.name} could not write: ${quiet.lines.slice(-1)[0]?.detail ?? "no output"}`);
            await sleep(100);
        }
        await sleep(3000); // a few seconds of normal writing: the rate before the cut
        o.log(`cutting ${isolated.name} (${isolated.address}, the master) off from ${peers.join(", ")} for ${o.seconds} s`);
        const cutLines = await runScript(o.start, isolated, verbs.isolate(o.ctx, { peers, partitionSeconds: o.seconds }));
        const cut = /^isolated-at (\d+) (\S+)/.exec(cutLines.find((l) => l.startsWith("isolated-at")) ?? "");
        if (!cut) throw new Error(`isolate on ${isolated.name} printed no isolated-at line: ${cutLines.join(" | ")}`);
        const cutAt = Number(cut[1]);
        const cutLocal = Date.now();

        // The other side: its Sentinels name a new master after down-after-milliseconds.
        const otherSide = t.sentinels.filter((s) => s.host !== isolated.announceAddress);
        let secondsToNewMaster: number | null = null;
        while (Date.now() < cutLocal + o.seconds * 1000) {
            if (secondsToNewMaster === null) {
                const named = await masterAddress({ ...t, sentinels: otherSide }).catch(() => masterBefore);
                if (named !== masterBefore) {
                    secondsToNewMaster = (Date.now() - cutLocal) / 1000;
                    o.log(`the other side's Sentinels named ${named} after ${secondsToNewMaster.toFixed(1)} s`);
                }
            }
            await sleep(200);
        }
        const healLines = await runScript(o.start, isolated, verbs.heal(o.ctx));
        const healedOnHost = Number(/^healed-at (\d+)/.exec(healLines.find((l) => l.startsWith("healed-at")) ?? "")?.[1]);
        if (!healedOnHost) throw new Error(`heal on ${isolated.name} printed no healed-at line: ${healLines.join(" | ")}`);
        const healedAt = Date.now();
        o.log(`${isolated.name} reconnected after ${((healedAt - cutLocal) / 1000).toFixed(1)} s; waiting for one master with every node replicating`);
        const healDeadline = healedAt + healTimeoutSeconds * 1000;
        let masterAfter: string | undefined;
        while (!(masterAfter = await healedMaster(t, nodes))) {
            if (Date.now() > healDeadline) throw new Error(`the cluster did not heal within ${healTimeoutSeconds} s of the cut's end`);
            await sleep(250);
        }
        const secondsToHealed = (Date.now() - healedAt) / 1000;
        // Both writers write to the healed cluster's master before they stop.
        const writeDeadline = Date.now() + 60_000;
        const since = (w: typeof writers[number]) => acks(w).filter((a) => a.detail === hostOf(masterAfter!) && a.at >= cutAt + o.seconds * 1000);
        while (writers.some((w) => since(w).length < 20)) {
            if (Date.now() > writeDeadline) throw new Error(`a writer did not write to ${masterAfter} after the heal`);
            await sleep(100);
        }
        for (const w of writers) w.session.stop();
        await Promise.all(writers.map((w) => w.session.done));

        // Every acknowledged write, asked of the master the Sentinels now name; then no drill key is left.
        const client = await ready(sentinelAwareClient(t));
        const missing = new Map<string, Set<number>>();
        try {
            for (const w of writers) {
                const gone = new Set<number>();
                const ns = acks(w).map((a) => a.n);
                for (let k = 0; k < ns.length; k += 500) {
                    const part = ns.slice(k, k + 500);
                    const values = await client.mget(...part.map((n) => `${w.prefix}:${n}`));
                    values.forEach((v, j) => { if (v === null) gone.add(part[j]); });
                }
                missing.set(w.host.name, gone);
                const all = w.lines.map((l) => `${w.prefix}:${l.n}`);
                for (let k = 0; k < all.length; k += 500) await client.del(...all.slice(k, k + 500));
            }
        } finally {
            client.disconnect();
        }
        // The other writer's rate is taken against the cut by its own host's clock: the
        // hosts' clocks are assumed synchronised (NTP) to well under the 3 s it looks at.
        const reports = writers.map((w) => writerReport(w.host.name, w.host === isolated, w.lines, cutAt, missing.get(w.host.name)!));
        const beside = writers[0];
        const window = oldMasterWindow(beside.lines, cutAt, healedOnHost, isolated.announceAddress);
        return {
            masterBefore, masterAfter, isolatedHost: isolated.name, partitionSeconds: o.seconds, tool: cut[2],
            secondsToNewMaster,
            oldMasterAcknowledgedForSeconds: window.seconds,
            acknowledgedAfterCutByOldMaster: window.count,
            secondsToHealed,
            writers: reports,
            writesAcknowledged: reports.reduce((a, r) => a + r.acknowledged, 0),
            writesLost: reports.reduce((a, r) => a + r.lost, 0),
        };
    } finally {
        for (const w of writers) w.session.stop();
        // Whatever failed above, the cut does not outlive the drill (the host's timer would end it too).
        await runScript(o.start, isolated, verbs.heal(o.ctx)).catch((e) => o.log(`could not heal ${isolated.name} now (its timer will): ${String(e)}`));
    }
}
