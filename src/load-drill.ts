/**
 * The load drill (`npm run drill -- --mode load`): the other side of the
 * partition drill's bound. min-replicas-max-lag must be short enough that a
 * master cut off from its replicas soon refuses writes, and long enough that a
 * busy master with healthy replicas never does. This drill writes to the master
 * as fast as it takes writes (sh/bin/drill-load.sh on the master's host) and
 * reports every refusal (NOREPLICAS) and the replicas' lag as the master saw it.
 */
import { masterAddress } from "./drill";
import { HostDrillOptions, hostOfMaster } from "./host-drill";
import * as verbs from "./host/verbs";

export interface LoadReport {
    /** "ip:port" of the master written to. */
    readonly master: string;
    readonly seconds: number;
    readonly writes: number;
    readonly writesPerSecond: number;
    /** Error replies by message (the first word is the kind, e.g. NOREPLICAS). */
    readonly errors: Readonly<Record<string, number>>;
    /** How many of them were NOREPLICAS: writes refused for want of replicas. */
    readonly noReplicas: number;
    /** The largest lag (s) the master reported for each replica while loaded. */
    readonly maxLagSeconds: Readonly<Record<string, number>>;
}

/** The drill-load script's output as a report; throws if its summary line is missing. */
export function parseLoadOutput(lines: readonly string[]): LoadReport {
    const head = lines.map((l) => /^load (\S+) replies (\d+) errors (\d+) ms (\d+)$/.exec(l)).find((m) => m);
    if (!head) throw new Error(`the load drill printed no summary: ${lines.slice(-5).join(" | ")}`);
    const errors: Record<string, number> = {};
    const maxLagSeconds: Record<string, number> = {};
    for (const l of lines) {
        const e = /^error (\d+) (.*)$/.exec(l);
        if (e) errors[e[2]] = (errors[e[2]] ?? 0) + Number(e[1]);
        const g = /^lag (\S+) (\d+)$/.exec(l);
        if (g) maxLagSeconds[g[1]] = Number(g[2]);
    }
    const seconds = Number(head[4]) / 1000;
    const replies = Number(head[2]);
    return {
        master: head[1], seconds, writes: replies - Number(head[3]),
        writesPerSecond: seconds > 0 ? (replies - Number(head[3])) / seconds : 0,
        errors,
        noReplicas: Object.entries(errors).filter(([m]) => m.startsWith("NOREPLICAS")).reduce((a, [, n]) => a + n, 0),
        maxLagSeconds,
    };
}

/** Keys the load cycles through, their size and lifetime: about 11 MB per node, gone 2 minutes after the drill. */
export const LOAD_SHAPE = { keys: 100_000, valueBytes: 100, ttlSeconds: 120 } as const;

/** Loads the master (from its own host) for o.seconds. */
export async function runLoadDrill(o: HostDrillOptions): Promise<LoadReport> {
    const master = await masterAddress(o.target);
    const host = hostOfMaster(o.hosts, master);
    const lines: string[] = [];
    const code = await o.start(host, verbs.drillLoad(o.ctx, {
        writerUser: o.writer.user, writerSecret: o.writer.secret, keyPrefix: `drill:load:${Date.now()}`,
        loadKeys: LOAD_SHAPE.keys, loadKeyTtl: LOAD_SHAPE.ttlSeconds, valueBytes: LOAD_SHAPE.valueBytes, loadSeconds: o.seconds,
    }), (l) => lines.push(l)).done;
    if (code !== 0) throw new Error(`the load drill on ${host.name} failed (exit ${code}): ${lines.slice(-5).join(" | ")}`);
    return parseLoadOutput(lines);
}
