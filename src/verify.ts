/**
 * The verified cluster as the verify step on the hosts reports it, and the
 * settings applications need to connect (ioredis, go-redis, redis-py, Celery).
 */
export interface Endpoint {
    readonly name: string;
    readonly address: string;
    readonly port: number;
}

export interface VerifiedCluster {
    readonly master: Endpoint;
    readonly replicas: readonly Endpoint[];
    readonly sentinels: readonly Endpoint[];
    /** SENTINEL CKQUORUM's answer, e.g. "OK 3 usable Sentinels. Quorum and failover authorization can be reached". */
    readonly ckquorum: string;
}

/** Parses the JSON line verify.sh prints last; throws if it is not what the script writes. */
export function parseVerifyOutput(stdout: string): VerifiedCluster {
    const line = stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop();
    if (!line) throw new Error(`verify printed no result: ${stdout.slice(0, 500)}`);
    const v = JSON.parse(line) as VerifiedCluster;
    const ok = (e: Endpoint) => typeof e?.name === "string" && typeof e?.address === "string" && Number.isInteger(e?.port);
    if (!ok(v.master) || !Array.isArray(v.replicas) || !v.replicas.every(ok) || !Array.isArray(v.sentinels) ||
        !v.sentinels.every(ok) || typeof v.ckquorum !== "string") {
        throw new Error(`verify printed an unexpected result: ${line}`);
    }
    return v;
}

export interface ConnectionSettings {
    readonly ioredis: {
        readonly sentinels: readonly { host: string; port: number }[];
        readonly name: string;
        readonly password: string;
        readonly sentinelPassword: string;
    };
    readonly goRedis: {
        readonly MasterName: string;
        readonly SentinelAddrs: readonly string[];
        readonly Password: string;
        readonly SentinelPassword: string;
    };
    readonly redisPy: {
        readonly sentinels: readonly [string, number][];
        readonly service_name: string;
        readonly sentinel_kwargs: { readonly password: string };
        readonly password: string;
    };
    /**
     * Celery settings (kombu's Sentinel transport for the broker, Celery's
     * Sentinel result backend), by their Celery setting names.
     */
    readonly celery: {
        /**
         * true: the worker reconnects after an error reply from the broker
         * instead of stopping to consume. A master that Sentinel has failed
         * away from answers its BRPOP (a write) with NOREPLICAS once its replicas
         * follow the new master (min-replicas-to-write), until Sentinel turns it
         * into a replica; without this the worker stopped there for good.
         */
        readonly broker_channel_error_retry: boolean;
        /**
         * One `sentinel://` URL per Sentinel, joined by `;`. Each carries the
         * data nodes' password: kombu takes the password from the URL it is
         * connected through and may switch to any of them when one fails. The
         * password must be percent-encoded where it has URL characters.
         */
        readonly broker_url: string;
        readonly broker_transport_options: CelerySentinelOptions;
        /** Same form as broker_url; Celery's Sentinel result backend reads the first URL's password. */
        readonly result_backend: string;
        readonly result_backend_transport_options: CelerySentinelOptions;
    };
}

/** What kombu and Celery's result backend need besides the URL: the master's name, and how to log in to the Sentinels. */
export interface CelerySentinelOptions {
    readonly master_name: string;
    /** redis-py's Sentinel(sentinel_kwargs=...): the Sentinels' own password, apart from the data nodes'. */
    readonly sentinel_kwargs: { readonly password: string };
}

/**
 * Ready-to-paste settings. Passwords are written as placeholders: the real ones
 * are stack secrets and applications should read them from their own secret store.
 */
export function connectionSettings(masterName: string, sentinels: readonly Endpoint[]): ConnectionSettings {
    const redisPw = "<redisPassword>";
    const sentinelPw = "<sentinelPassword>";
    const celeryUrl = sentinels.map((s) => `sentinel://:${redisPw}@${hostPort(s.address, s.port)}`).join(";");
    const celeryOptions: CelerySentinelOptions = { master_name: masterName, sentinel_kwargs: { password: sentinelPw } };
    return {
        ioredis: {
            sentinels: sentinels.map((s) => ({ host: s.address, port: s.port })),
            name: masterName,
            password: redisPw,
            sentinelPassword: sentinelPw,
        },
        goRedis: {
            MasterName: masterName,
            SentinelAddrs: sentinels.map((s) => hostPort(s.address, s.port)),
            Password: redisPw,
            SentinelPassword: sentinelPw,
        },
        redisPy: {
            sentinels: sentinels.map((s) => [s.address, s.port] as [string, number]),
            service_name: masterName,
            sentinel_kwargs: { password: sentinelPw },
            password: redisPw,
        },
        celery: {
            broker_channel_error_retry: true,
            broker_url: celeryUrl,
            broker_transport_options: celeryOptions,
            result_backend: celeryUrl,
            result_backend_transport_options: celeryOptions,
        },
    };
}

function hostPort(address: string, port: number): string {
    return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}
