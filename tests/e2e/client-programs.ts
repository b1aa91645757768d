/**
 * Test-only helpers of tests/e2e/clients.test.ts: the application client
 * programs in tests/e2e/clients/ (installed by harness/clients.sh), an ioredis
 * writer speaking the same protocol in this process, the Sentinel calls that
 * make and watch a failover, and what a client's report says about it.
 */
import { ChildProcessWithoutNullStreams, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import Redis, { RedisOptions } from "ioredis";
import { ROOT, run, sleep, waitFor } from "./lib";

/** Where harness/clients.sh put the clients; throws naming what is missing (the test never skips). */
export function clientPaths(): { python: string; goRedis: string } {
    const p = JSON.parse(run(path.join(ROOT, "harness", "clients.sh"), ["--print-paths"]).stdout) as { python: string; goRedis: string };
    for (const [what, file] of Object.entries(p)) {
        if (!fs.existsSync(file)) throw new Error(`the ${what} client is not installed (${file}): run scripts/setup.sh (harness/clients.sh)`);
    }
    return p;
}

/** A script of tests/e2e/clients/python/. */
export const pythonScript = (name: string) => path.join(ROOT, "tests", "e2e", "clients", "python", name);

/**
 * The stack's `connection` entry with the two placeholders replaced, as an
 * application fills them from its secret store; in a URL (Celery's) the
 * password is percent-encoded.
 */
export function fillPasswords<T>(entry: T, pw: { redisPassword: string; sentinelPassword: string }): T {
    const fill = (v: unknown): unknown => {
        if (typeof v === "string") {
            const enc = v.startsWith("sentinel://") ? encodeURIComponent : (s: string) => s;
            return v.split("<redisPassword>").join(enc(pw.redisPassword)).split("<sentinelPassword>").join(enc(pw.sentinelPassword));
        }
        if (Array.isArray(v)) return v.map(fill);
        if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]));
        return v;
    };
    return fill(entry) as T;
}

export interface Progress { readonly acked: number; readonly byServer: Readonly<Record<string, number>>; readonly errors: number }

export interface ClientReport {
    /** [i, unix ms, "ip:port" of the server that acknowledged it]. */
    readonly acks: readonly [number, number, string][];
    /** [unix ms, first line of the error]. */
    readonly errors: readonly [number, string][];
    /** The acknowledged writes read back once writing stopped: which were not there. */
    readonly readBack: { readonly via: string; readonly missing: readonly number[]; readonly server?: string; readonly role?: string };
}

/** A client that writes until stopped (the programs in tests/e2e/clients/, or ioredis here). */
export interface Writer {
    progress(): Progress;
    /** Stops writing and returns the report (after the read-back). */
    stop(): Promise<ClientReport>;
}

/**
 * A client program speaking the protocol of tests/e2e/clients/python/clientproto.py:
 * its request (settings, passwords included) goes on stdin, never a command line.
 */
export class ClientProcess implements Writer {
    private readonly child: ChildProcessWithoutNullStreams;
    private latest: Progress = { acked: 0, byServer: {}, errors: 0 };
    private report?: ClientReport;
    private stderr = "";
    private exit?: number | null;
    private readonly exited: Promise<void>;

    constructor(readonly label: string, cmd: string, args: readonly string[], request: object) {
        this.child = spawn(cmd, args, { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
        let buf = "";
        this.child.stdout.on("data", (d) => {
            buf += d;
            let nl: number;
            while ((nl = buf.indexOf("\n")) >= 0) {
                const line = buf.slice(0, nl);
                buf = buf.slice(nl + 1);
                if (!line.startsWith("{")) continue;
                const m = JSON.parse(line) as { progress?: Progress; report?: ClientReport };
                if (m.progress) this.latest = m.progress;
                if (m.report) this.report = m.report;
            }
        });
        // Keep the tail only: a worker logs every task.
        this.child.stderr.on("data", (d) => { this.stderr = (this.stderr + d).slice(-20_000); });
        this.exited = new Promise((resolve) => this.child.on("close", (code) => { this.exit = code; resolve(); }));
        this.child.stdin.write(`${JSON.stringify(request)}\n`);
    }

    /** Throws with the program's own words once it has exited. */
    progress(): Progress {
        if (this.exit !== undefined) throw new Error(`${this.label} exited (${this.exit}) while writing: ${this.stderrTail()}`);
        return this.latest;
    }

    stderrTail(): string { return this.stderr.slice(-3000); }

    /** Waits until stderr shows `pattern` (e.g. a worker's "ready."). */
    async waitForLog(pattern: RegExp, timeoutMs: number): Promise<void> {
        await waitFor(`${this.label} to log ${pattern}`, () => {
            if (this.exit !== undefined) throw new Error(`${this.label} exited (${this.exit}): ${this.stderrTail()}`);
            return pattern.test(this.stderr) ? true : undefined;
        }, timeoutMs, 200);
    }

    async stop(timeoutMs = 120_000): Promise<ClientReport> {
        this.child.stdin.end("stop\n");
        const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
        await this.exited;
        clearTimeout(timer);
        if (this.exit !== 0 || !this.report) throw new Error(`${this.label} failed (exit ${this.exit}${this.report ? "" : ", no report"}): ${this.stderrTail()}`);
        return this.report;
    }

    /** Ends a long-running program (a Celery worker: SIGTERM is its warm shutdown) and returns its exit code. */
    async terminate(timeoutMs = 60_000): Promise<number | null> {
        if (this.exit === undefined) this.child.kill("SIGTERM");
        const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
        await this.exited;
        clearTimeout(timer);
        return this.exit ?? null;
    }

    get exitCode(): number | null | undefined { return this.exit; }
}

const laddr = (info: unknown) => /(?:^| )laddr=(\S+)/.exec(String(info))?.[1] ?? "";

/**
 * ioredis from the stack's `connection.ioredis` output alone, with the
 * library's defaults otherwise: the same protocol as the programs, in this
 * process (each write a SET with CLIENT INFO in one pipeline).
 */
export class IoredisWriter implements Writer {
    private readonly client: Redis;
    private readonly acks: [number, number, string][] = [];
    private readonly errors: [number, string][] = [];
    private readonly byServer: Record<string, number> = {};
    private stopping = false;
    private readonly loop: Promise<void>;

    constructor(settings: object, private readonly prefix: string) {
        this.client = new Redis(settings as RedisOptions);
        // Errors also reach the commands that fail: those are what the test counts.
        this.client.on("error", () => undefined);
        this.loop = this.write();
    }

    private async write(): Promise<void> {
        for (let i = 0; !this.stopping; i++) {
            try {
                const res = await this.client.pipeline().set(`${this.prefix}:${i}`, String(i)).client("INFO").exec();
                if (!res) throw new Error("empty pipeline reply");
                const failed = res.find(([e]) => e);
                if (failed) throw failed[0];
                const server = laddr(res[1][1]);
                this.acks.push([i, Date.now(), server]);
                this.byServer[server] = (this.byServer[server] ?? 0) + 1;
            } catch (e) {
                this.errors.push([Date.now(), (e instanceof Error ? `${e.name}: ${e.message}` : String(e)).split("\n")[0].slice(0, 80)]);
                await sleep(20);
            }
            await sleep(5);
        }
    }

    progress(): Progress { return { acked: this.acks.length, byServer: { ...this.byServer }, errors: this.errors.length }; }

    async stop(): Promise<ClientReport> {
        this.stopping = true;
        await this.loop;
        try {
            const missing: number[] = [];
            for (let k = 0; k < this.acks.length; k += 500) {
                const keys = this.acks.slice(k, k + 500).map(([i]) => `${this.prefix}:${i}`);
                (await this.client.mget(...keys)).forEach((v, j) => { if (v === null) missing.push(this.acks[k + j][0]); });
                await this.client.del(...keys);
            }
            return { acks: this.acks, errors: this.errors, readBack: { via: "the same client (master)", missing } };
        } finally {
            this.client.disconnect();
        }
    }
}

export interface SentinelAccess { readonly sentinels: readonly { host: string; port: number }[]; readonly masterName: string; readonly sentinelPassword: string }

/** One command to one Sentinel, on a connection of its own. */
async function sentinelCall(s: { host: string; port: number }, password: string, ...args: string[]): Promise<unknown> {
    const c = new Redis({ host: s.host, port: s.port, password, lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on("error", () => undefined);
    try {
        await c.connect();
        return await c.call(args[0], ...args.slice(1));
    } finally {
        c.disconnect();
    }
}

const pairs = (flat: unknown): Record<string, string> => {
    const a = flat as string[];
    const o: Record<string, string> = {};
    for (let k = 0; k + 1 < a.length; k += 2) o[a[k]] = a[k + 1];
    return o;
};

/**
 * Waits until no failover is running and the master, as every Sentinel names
 * it, has `replicas` replicas whose links are up: a SENTINEL FAILOVER then has
 * a replica to promote. Returns the master ("ip:port").
 */
export async function settled(t: SentinelAccess, replicas: number, timeoutMs = 120_000): Promise<string> {
    return waitFor("the cluster to settle (one master everywhere, no failover running, every replica's link up)", async () => {
        const masters = new Set<string>();
        for (const s of t.sentinels) {
            const m = pairs(await sentinelCall(s, t.sentinelPassword, "SENTINEL", "MASTER", t.masterName));
            if (m.flags !== "master") return undefined;
            masters.add(`${m.ip}:${m.port}`);
            const rs = (await sentinelCall(s, t.sentinelPassword, "SENTINEL", "REPLICAS", t.masterName) as unknown[]).map(pairs);
            if (rs.filter((r) => r.flags === "slave" && r["master-link-status"] === "ok").length !== replicas) return undefined;
        }
        return masters.size === 1 ? [...masters][0] : undefined;
    }, timeoutMs, 500);
}

/**
 * SENTINEL FAILOVER sent to one Sentinel, as an operator would; resolves once
 * every Sentinel names another master. `at` is when it was sent (unix ms).
 */
export async function sentinelFailover(t: SentinelAccess, before: string, timeoutMs = 60_000): Promise<{ at: number; masterAfter: string }> {
    const at = Date.now();
    const answer = await sentinelCall(t.sentinels[0], t.sentinelPassword, "SENTINEL", "FAILOVER", t.masterName);
    if (String(answer) !== "OK") throw new Error(`SENTINEL FAILOVER answered ${String(answer)}`);
    const masterAfter = await waitFor("every Sentinel to name the new master", async () => {
        const named = new Set<string>();
        for (const s of t.sentinels) {
            const r = (await sentinelCall(s, t.sentinelPassword, "SENTINEL", "get-master-addr-by-name", t.masterName)) as string[];
            named.add(`${r[0]}:${r[1]}`);
        }
        const [m] = named;
        return named.size === 1 && m !== before ? m : undefined;
    }, timeoutMs, 200);
    return { at, masterAfter };
}

export interface FailoverFigures {
    readonly acked: number;
    /** Acknowledged by the new master after the failover was sent. */
    readonly onNewMaster: number;
    /** Seconds from SENTINEL FAILOVER to the first write the new master acknowledged. */
    readonly secondsToNewMaster: number | null;
    /** Longest gap between two acknowledged writes, in seconds. */
    readonly writePauseSeconds: number;
    /** Errors from the failover on, by message, with how often. */
    readonly errorsDuring: Readonly<Record<string, number>>;
    readonly errorsBefore: number;
    /** Acknowledged writes not there afterwards: before the failover, by the old master after it was sent, by the new master. */
    readonly lostBefore: number;
    readonly lostOnOldMasterAfter: number;
    readonly lostOnNewMaster: number;
}

/** What a report says about a failover sent at `at` (unix ms) that moved the master to `newMaster`. */
export function figures(r: ClientReport, at: number, newMaster: string): FailoverFigures {
    const missing = new Set(r.readBack.missing);
    const before = r.acks.filter(([, t]) => t < at);
    const onNew = r.acks.filter(([, t, s]) => t >= at && s === newMaster);
    const onOld = r.acks.filter(([, t, s]) => t >= at && s !== newMaster);
    const lost = (acks: readonly [number, number, string][]) => acks.filter(([i]) => missing.has(i)).length;
    let pause = 0;
    for (let k = 1; k < r.acks.length; k++) pause = Math.max(pause, r.acks[k][1] - r.acks[k - 1][1]);
    const errorsDuring: Record<string, number> = {};
    for (const [t, m] of r.errors) if (t >= at) errorsDuring[m] = (errorsDuring[m] ?? 0) + 1;
    return {
        acked: r.acks.length, onNewMaster: onNew.length,
        secondsToNewMaster: onNew.length ? (onNew[0][1] - at) / 1000 : null,
        writePauseSeconds: pause / 1000, errorsDuring, errorsBefore: r.errors.filter(([t]) => t < at).length,
        lostBefore: lost(before), lostOnOldMasterAfter: lost(onOld), lostOnNewMaster: lost(onNew),
    };
}
