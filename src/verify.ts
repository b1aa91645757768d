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

/** Node's TLS options as ioredis takes them (`tls`, `sentinelTLS`): PEM contents, not paths. */
export interface IoredisTls {
    readonly ca: string;
    readonly cert?: string;
    readonly key?: string;
}

/** redis-py's (and kombu's) TLS arguments: file paths on the client. */
export interface RedisPyTls {
    readonly ssl: true;
    readonly ssl_cert_reqs: "required";
    readonly ssl_ca_certs: string;
    readonly ssl_certfile?: string;
    readonly ssl_keyfile?: string;
}

export interface ConnectionSettings {
    readonly ioredis: {
        readonly sentinels: readonly { host: string; port: number }[];
        readonly name: string;
        readonly password: string;
        readonly sentinelPassword: string;
        /** With TLS: to the master (with enableTLSForSentinelMode) and to the Sentinels. */
        readonly tls?: IoredisTls;
        readonly sentinelTLS?: IoredisTls;
        readonly enableTLSForSentinelMode?: true;
    };
    readonly goRedis: {
        readonly MasterName: string;
        readonly SentinelAddrs: readonly string[];
        readonly Password: string;
        readonly SentinelPassword: string;
        /**
         * With TLS: a *tls.Config (FailoverOptions.TLSConfig, used for the Sentinels
         * and the data nodes) whose RootCAs pool holds the CA, with the client
         * certificate when the nodes ask for one.
         */
        readonly TLSConfig?: { readonly RootCAs: string; readonly Certificates?: readonly string[] };
    };
    readonly redisPy: {
        readonly sentinels: readonly [string, number][];
        readonly service_name: string;
        /** With TLS also RedisPyTls: the Sentinels' connections. */
        readonly sentinel_kwargs: { readonly password: string } & Partial<RedisPyTls>;
        readonly password: string;
        /** With TLS: Sentinel(..., ssl=True, ...) makes master_for's connections TLS. */
        readonly ssl?: true;
        readonly ssl_cert_reqs?: "required";
        readonly ssl_ca_certs?: string;
        readonly ssl_certfile?: string;
        readonly ssl_keyfile?: string;
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
        /**
         * With TLS: the data nodes' connections (kombu's Sentinel channel then uses
         * SentinelManagedSSLConnection; Celery's result backend likewise), with the
         * Sentinels' own in the transport options' sentinel_kwargs.
         */
        readonly broker_use_ssl?: Omit<RedisPyTls, "ssl">;
        readonly redis_backend_use_ssl?: Omit<RedisPyTls, "ssl">;
    };
}

/** What the clients need when the cluster speaks TLS: whether the nodes ask for a client certificate. */
export interface ClientTls {
    readonly clientCertificate: boolean;
}

/** What kombu and Celery's result backend need besides the URL: the master's name, and how to log in to the Sentinels. */
export interface CelerySentinelOptions {
    readonly master_name: string;
    /** redis-py's Sentinel(sentinel_kwargs=...): the Sentinels' own password, apart from the data nodes'. */
    readonly sentinel_kwargs: { readonly password: string } & Partial<RedisPyTls>;
}

/** The placeholders the TLS settings show: the user's own copies of the CA and, when asked for, a client certificate. */
export const TLS_PLACEHOLDERS = {
    caPem: "<contents of the CA certificate (tls.caCert)>",
    caPath: "<path of the CA certificate (tls.caCert) on the client>",
    certPem: "<contents of the client certificate>",
    keyPem: "<contents of the client key>",
    certPath: "<path of the client certificate>",
    keyPath: "<path of the client key>",
} as const;

/**
 * Ready-to-paste settings. Passwords are written as placeholders: the real ones
 * are stack secrets and applications should read them from their own secret store.
 */
export function connectionSettings(masterName: string, sentinels: readonly Endpoint[], tls?: ClientTls): ConnectionSettings {
    const redisPw = "<redisPassword>";
    const sentinelPw = "<sentinelPassword>";
    const celeryUrl = sentinels.map((s) => `sentinel://:${redisPw}@${hostPort(s.address, s.port)}`).join(";");
    const T = TLS_PLACEHOLDERS;
    const withCert = tls?.clientCertificate === true;
    const ioTls: IoredisTls = { ca: T.caPem, ...(withCert ? { cert: T.certPem, key: T.keyPem } : {}) };
    const pyTls: RedisPyTls = {
        ssl: true, ssl_cert_reqs: "required", ssl_ca_certs: T.caPath, ...(withCert ? { ssl_certfile: T.certPath, ssl_keyfile: T.keyPath } : {}),
    };
    const { ssl: _ssl, ...celeryTls } = pyTls;
    const sentinelKwargs = { password: sentinelPw, ...(tls ? pyTls : {}) };
    const celeryOptions: CelerySentinelOptions = { master_name: masterName, sentinel_kwargs: sentinelKwargs };
    return {
        ioredis: {
            sentinels: sentinels.map((s) => ({ host: s.address, port: s.port })),
            name: masterName,
            password: redisPw,
            sentinelPassword: sentinelPw,
            ...(tls ? { tls: ioTls, sentinelTLS: ioTls, enableTLSForSentinelMode: true as const } : {}),
        },
        goRedis: {
            MasterName: masterName,
            SentinelAddrs: sentinels.map((s) => hostPort(s.address, s.port)),
            Password: redisPw,
            SentinelPassword: sentinelPw,
            ...(tls ? { TLSConfig: { RootCAs: T.caPem, ...(withCert ? { Certificates: [T.certPem, T.keyPem] } : {}) } } : {}),
        },
        redisPy: {
            sentinels: sentinels.map((s) => [s.address, s.port] as [string, number]),
            service_name: masterName,
            sentinel_kwargs: sentinelKwargs,
            password: redisPw,
            ...(tls ? pyTls : {}),
        },
        celery: {
            broker_channel_error_retry: true,
            broker_url: celeryUrl,
            broker_transport_options: celeryOptions,
            result_backend: celeryUrl,
            result_backend_transport_options: celeryOptions,
            ...(tls ? { broker_use_ssl: celeryTls, redis_backend_use_ssl: celeryTls } : {}),
        },
    };
}

function hostPort(address: string, port: number): string {
    return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}
