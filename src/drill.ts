/**
 * A failover drill against a running cluster: a Sentinel-aware client writes
 * numbered keys while something happens to the master, and the drill reports
 * how long the client could not write, when it first wrote to the new master,
 * and how many acknowledged writes are missing afterwards. Used by the
 * operator's `npm run drill` and by the end-to-end tests.
 */
import Redis from "ioredis";
import { ClusterConfig } from "./config";

export interface DrillTarget {
    readonly sentinels: readonly { host: string; port: number }[];
    readonly masterName: string;
    /** The data nodes' user the writer logs in as. Default: `default` (password-only). */
    readonly username?: string;
    readonly password: string;
    readonly sentinelPassword: string;
    /**
     * The cluster speaks TLS (tls.enabled): the CA's certificate (PEM) to trust, and
     * the client's certificate and key when the nodes ask for one (tls.authClients).
     * Default: plaintext.
     */
    readonly tls?: DrillTls;
}

export interface DrillTls {
    readonly ca: string;
    /** Default none: the nodes do not ask for a client certificate. */
    readonly cert?: string;
    readonly key?: string;
}

/** Node's TLS options for ioredis's `tls` and `sentinelTLS`; certificates name the hosts' IPs, which Node checks. */
export function tlsOptions(t: DrillTls): { ca: string; cert?: string; key?: string } {
    return { ca: t.ca, ...(t.cert ? { cert: t.cert } : {}), ...(t.key ? { key: t.key } : {}) };
}

export interface DrillReport {
    /** Master address before and after the drill, as the Sentinels name it. */
    readonly masterBefore: string;
    readonly masterAfter: string;
    /** Seconds from the disruption until the client's first acknowledged write on the new master. */
    readonly secondsToNewMaster: number | null;
    /** Longest gap between two acknowledged writes, in seconds. */
    readonly writePauseSeconds: number;
    readonly writesAcknowledged: number;
    readonly writesLost: number;
}

export function sentinelAwareClient(t: DrillTarget, role: "master" | "slave" = "master"): Redis {
    const client = new Redis({
        sentinels: t.sentinels.map((s) => ({ host: s.host, port: s.port })),
        name: t.masterName, role, ...(t.username ? { username: t.username } : {}), password: t.password, sentinelPassword: t.sentinelPassword,
        // TLS to the Sentinels (sentinelTLS) and to the master they name (tls, with enableTLSForSentinelMode).
        ...(t.tls ? { tls: tlsOptions(t.tls), sentinelTLS: tlsOptions(t.tls), enableTLSForSentinelMode: true } : {}),
        // Fail fast while the master is away so the writer measures the pause instead of queueing.
        commandTimeout: 1000, maxRetriesPerRequest: 0, enableOfflineQueue: false,
        sentinelRetryStrategy: () => 200, retryStrategy: () => 200,
    });
    // Connection errors during a failover are expected; callers see them as failed commands.
    client.on("error", () => undefined);
    return client;
}

/** Resolves once the client is connected (commands fail fast before that: no offline queue). */
export function ready(client: Redis, timeoutMs = 30_000): Promise<Redis> {
    if (client.status === "ready") return Promise.resolve(client);
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no connection within ${timeoutMs} ms (${client.status})`)), timeoutMs);
        client.once("ready", () => { clearTimeout(timer); resolve(client); });
    });
}

/** The master address ("ip:port") the first answering Sentinel names. */
export async function masterAddress(t: DrillTarget): Promise<string> {
    for (const s of t.sentinels) {
        const c = new Redis({
            host: s.host, port: s.port, password: t.sentinelPassword, lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null,
            ...(t.tls ? { tls: tlsOptions(t.tls) } : {}),
        });
        try {
            await c.connect();
            const r = (await c.call("SENTINEL", "get-master-addr-by-name", t.masterName)) as string[] | null;
            if (r) return `${r[0]}:${r[1]}`;
        } catch {
            // try the next Sentinel
        } finally {
            c.disconnect();
        }
    }
    throw new Error("no Sentinel answered get-master-addr-by-name");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface WriteRecord {
    readonly writesAcknowledged: number;
    readonly writesLost: number;
    /** Longest gap between two acknowledged writes, in seconds. */
    readonly writePauseSeconds: number;
    /** Seconds from the start of writing to the start of that gap. */
    readonly writePauseStartSeconds: number;
    /** The errors the writer got, by message, with how often: what the pause was made of. */
    readonly errors: Readonly<Record<string, number>>;
}

/** "NOREPLICAS ... x12, Command timed out x1": a WriteRecord's errors on one line. */
export function describeErrors(errors: Readonly<Record<string, number>>): string {
    const parts = Object.entries(errors).sort((a, b) => b[1] - a[1]).map(([m, n]) => `${m} x${n}`);
    return parts.length ? parts.join(", ") : "none";
}

/**
 * Writes numbered keys through a Sentinel-aware client for as long as `during`
 * runs, then checks that every acknowledged write is there: through the same
 * client, or through a new one for `checkWith` (the cluster as it is after
 * `during`, when that changed how clients connect: a switch to TLS).
 */
export async function recordWrites(t: DrillTarget, during: () => Promise<void>, opts: { readonly checkWith?: DrillTarget } = {}): Promise<WriteRecord> {
    const prefix = `writes:${Date.now()}`;
    const client = await ready(sentinelAwareClient(t));
    const acked: { i: number; at: number }[] = [];
    const errors: Record<string, number> = {};
    const started = Date.now();
    let stop = false;
    const writer = (async () => {
        for (let i = 0; !stop; i++) {
            try {
                await client.set(`${prefix}:${i}`, String(i));
                acked.push({ i, at: Date.now() });
            } catch (e) {
                // First line only, shortened: messages differ in their details, not their kind.
                const m = (e instanceof Error ? e.message : String(e)).split("\n")[0].slice(0, 60);
                errors[m] = (errors[m] ?? 0) + 1;
                await sleep(20);
            }
            await sleep(5);
        }
    })();
    try {
        await during();
    } finally {
        stop = true;
        await writer;
    }
    const checker = opts.checkWith ? await ready(sentinelAwareClient(opts.checkWith)).finally(() => client.disconnect()) : client;
    try {
        let pause = 0, pauseStart = started;
        for (let k = 1; k < acked.length; k++) {
            if (acked[k].at - acked[k - 1].at > pause) { pause = acked[k].at - acked[k - 1].at; pauseStart = acked[k - 1].at; }
        }
        let lost = 0;
        for (let k = 0; k < acked.length; k += 500) {
            const keys = acked.slice(k, k + 500).map((a) => `${prefix}:${a.i}`);
            lost += (await checker.mget(...keys)).filter((v) => v === null).length;
            await checker.del(...keys);
        }
        return {
            writesAcknowledged: acked.length, writesLost: lost, writePauseSeconds: pause / 1000,
            writePauseStartSeconds: (pauseStart - started) / 1000, errors,
        };
    } finally {
        checker.disconnect();
    }
}

/**
 * Runs `disrupt` while writing, waits until the Sentinels name a master other
 * than the one before (unless `expectNewMaster` is false) and the client has
 * written to it, then checks every acknowledged write.
 */
export async function runDrill(t: DrillTarget, disrupt: (master: string) => Promise<void>, opts: { expectNewMaster?: boolean; timeoutMs?: number; prefix?: string } = {}): Promise<DrillReport> {
    const prefix = opts.prefix ?? `drill:${Date.now()}`;
    const expectNew = opts.expectNewMaster ?? true;
    const timeoutMs = opts.timeoutMs ?? 120_000;
    const client = sentinelAwareClient(t);
    // Each acknowledged write with the server that acknowledged it.
    const acked: { i: number; at: number; server: string }[] = [];
    let stop = false;
    let lastError = "";
    const writer = (async () => {
        for (let i = 0; !stop; i++) {
            try {
                await client.set(`${prefix}:${i}`, String(i));
                acked.push({ i, at: Date.now(), server: client.stream?.remoteAddress ?? "" });
            } catch (e) {
                lastError = (e instanceof Error ? e.message : String(e)).split("\n")[0];
                await sleep(20);
            }
            await sleep(5);
        }
    })();
    try {
        const deadline = Date.now() + timeoutMs;
        while (acked.length < 50) {
            // A user whose rules do not allow the drill's keys will never write: say so at once.
            if (/^NOPERM/.test(lastError)) throw new Error(`the client's user may not write the drill's keys (${prefix.split(":")[0]}:*): ${lastError}`);
            if (Date.now() > deadline) throw new Error(`the client could not write before the drill${lastError ? ` (last error: ${lastError})` : ""}`);
            await sleep(50);
        }
        const masterBefore = await masterAddress(t);
        const disruptedAt = Date.now();
        await disrupt(masterBefore);
        let masterAfter = masterBefore;
        if (expectNew) {
            while ((masterAfter = await masterAddress(t).catch(() => masterBefore)) === masterBefore) {
                if (Date.now() > deadline) throw new Error(`the Sentinels still name ${masterBefore} after ${timeoutMs} ms`);
                await sleep(200);
            }
        }
        // Wait for writes acknowledged by the master the Sentinels now name.
        const newHost = masterAfter.slice(0, masterAfter.lastIndexOf(":"));
        const onNew = () => acked.filter((a) => a.at >= disruptedAt && a.server.replace(/^::ffff:/, "") === newHost);
        while (onNew().length < 50) {
            if (Date.now() > deadline) throw new Error(`the client did not write to ${masterAfter}`);
            await sleep(50);
        }
        const firstAfter = onNew()[0];
        stop = true;
        await writer;
        let pause = 0;
        for (let k = 1; k < acked.length; k++) pause = Math.max(pause, acked[k].at - acked[k - 1].at);
        const values: (string | null)[] = [];
        for (let k = 0; k < acked.length; k += 500) {
            values.push(...(await client.mget(...acked.slice(k, k + 500).map((a) => `${prefix}:${a.i}`))));
        }
        const lost = values.filter((v) => v === null).length;
        // Leave no drill keys behind.
        for (let k = 0; k < acked.length; k += 500) await client.del(...acked.slice(k, k + 500).map((a) => `${prefix}:${a.i}`));
        return {
            masterBefore, masterAfter,
            secondsToNewMaster: firstAfter ? (firstAfter.at - disruptedAt) / 1000 : null,
            writePauseSeconds: pause / 1000,
            writesAcknowledged: acked.length,
            writesLost: lost,
        };
    } finally {
        stop = true;
        await writer;
        client.disconnect();
    }
}

/**
 * Who the drill's writer logs in as: the default user (redisPassword), or with
 * `user` one of the stack's aclUsers (its password from aclUserPasswords).
 * `secrets` are the stack's config values as `pulumi config --show-secrets`
 * gives them. Throws, naming the stack, when that login cannot exist.
 */
export function writerLogin(cfg: ClusterConfig, secrets: Readonly<Record<string, string>>, user: string, stack: string): { username?: string; password: string } {
    const names = cfg.acl.users.map((u) => u.name);
    if (user === "") {
        if (!cfg.acl.defaultUser) {
            throw new Error(`stack ${stack} has defaultUserEnabled false: name the user the writer logs in as with --user (one of ${names.join(", ")})`);
        }
        return { password: secrets.redisPassword };
    }
    if (!names.includes(user)) throw new Error(`--user ${user} is not one of stack ${stack}'s aclUsers (${names.join(", ") || "none"})`);
    return { username: user, password: (JSON.parse(secrets.aclUserPasswords) as Record<string, string>)[user] };
}

/**
 * The drill client's TLS for a TLS stack (undefined for a plaintext one): the
 * stack's CA, and when the nodes ask clients for a certificate (tls.authClients),
 * the first host's own certificate and key (`secrets.tlsKeys`, as `pulumi config
 * --show-secrets` gives it), which the hosts already present as clients.
 */
export function drillTls(cfg: ClusterConfig, secrets: Readonly<Record<string, string>>): DrillTls | undefined {
    if (!cfg.tls) return undefined;
    if (cfg.tls.authClients === "no") return { ca: cfg.tls.caCert };
    const host = cfg.hosts[0].name;
    return { ca: cfg.tls.caCert, cert: cfg.tls.certs[host], key: (JSON.parse(secrets.tlsKeys) as Record<string, string>)[host] };
}
