/**
 * The `connection` output: what each client library needs to find the master
 * through every Sentinel, with the two passwords only as placeholders, in each
 * library's own address form (IPv6 in brackets where the library parses
 * "host:port" or a URL).
 */
import { describe, expect, it } from "vitest";
import { connectionSettings } from "../../src/verify";

const V4 = [
    { name: "redis-1", address: "10.0.0.1", port: 26379 },
    { name: "redis-2", address: "10.0.0.2", port: 26379 },
    { name: "redis-3", address: "10.0.0.3", port: 26380 },
];
const V6 = [
    { name: "redis-1", address: "fd00::1", port: 26379 },
    { name: "redis-2", address: "10.0.0.2", port: 26379 },
];

describe("connectionSettings", () => {
    it("names every Sentinel, the master and the placeholders for ioredis, go-redis and redis-py", () => {
        const c = connectionSettings("mymaster", V4);
        expect(c.ioredis).toEqual({
            sentinels: [{ host: "10.0.0.1", port: 26379 }, { host: "10.0.0.2", port: 26379 }, { host: "10.0.0.3", port: 26380 }],
            name: "mymaster", password: "<redisPassword>", sentinelPassword: "<sentinelPassword>",
        });
        expect(c.goRedis).toEqual({
            MasterName: "mymaster", SentinelAddrs: ["10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26380"],
            Password: "<redisPassword>", SentinelPassword: "<sentinelPassword>",
        });
        expect(c.redisPy).toEqual({
            sentinels: [["10.0.0.1", 26379], ["10.0.0.2", 26379], ["10.0.0.3", 26380]],
            service_name: "mymaster", sentinel_kwargs: { password: "<sentinelPassword>" }, password: "<redisPassword>",
        });
    });

    it("gives Celery one sentinel:// URL per Sentinel, each with the data nodes' password, the Sentinels' password in sentinel_kwargs, and a worker that reconnects after an error reply", () => {
        const c = connectionSettings("cache-a", V4);
        const url = "sentinel://:<redisPassword>@10.0.0.1:26379;sentinel://:<redisPassword>@10.0.0.2:26379;sentinel://:<redisPassword>@10.0.0.3:26380";
        const options = { master_name: "cache-a", sentinel_kwargs: { password: "<sentinelPassword>" } };
        expect(c.celery).toEqual({
            broker_channel_error_retry: true,
            broker_url: url, broker_transport_options: options,
            result_backend: url, result_backend_transport_options: options,
        });
    });

    it("puts IPv6 addresses in brackets where a library parses host:port or a URL, and bare where it takes host and port apart", () => {
        const c = connectionSettings("mymaster", V6);
        expect(c.goRedis.SentinelAddrs).toEqual(["[fd00::1]:26379", "10.0.0.2:26379"]);
        expect(c.celery.broker_url).toBe("sentinel://:<redisPassword>@[fd00::1]:26379;sentinel://:<redisPassword>@10.0.0.2:26379");
        expect(c.celery.result_backend).toBe(c.celery.broker_url);
        expect(c.ioredis.sentinels[0]).toEqual({ host: "fd00::1", port: 26379 });
        expect(c.redisPy.sentinels[0]).toEqual(["fd00::1", 26379]);
    });

    it("holds no password: only the two placeholders", () => {
        const text = JSON.stringify(connectionSettings("mymaster", V4));
        const placeholders = new Set(text.match(/<[A-Za-z]+>/g));
        expect([...placeholders].sort()).toEqual(["<redisPassword>", "<sentinelPassword>"]);
    });

    it("adds nothing for a plaintext cluster", () => {
        expect(JSON.stringify(connectionSettings("mymaster", V4))).not.toMatch(/tls|ssl|TLS/);
    });

    it("adds each library's TLS settings with the CA as a placeholder, and a client certificate only when the nodes ask for one", () => {
        const c = connectionSettings("mymaster", V4, { clientCertificate: false });
        const ca = "<contents of the CA certificate (tls.caCert)>";
        const caPath = "<path of the CA certificate (tls.caCert) on the client>";
        expect(c.ioredis).toMatchObject({ tls: { ca }, sentinelTLS: { ca }, enableTLSForSentinelMode: true });
        expect(c.goRedis.TLSConfig).toEqual({ RootCAs: ca });
        const py = { ssl: true, ssl_cert_reqs: "required", ssl_ca_certs: caPath };
        expect(c.redisPy).toMatchObject({ ...py, sentinel_kwargs: { password: "<sentinelPassword>", ...py } });
        expect(c.celery.broker_use_ssl).toEqual({ ssl_cert_reqs: "required", ssl_ca_certs: caPath });
        expect(c.celery.redis_backend_use_ssl).toEqual(c.celery.broker_use_ssl);
        expect(c.celery.broker_transport_options.sentinel_kwargs).toEqual({ password: "<sentinelPassword>", ...py });
        expect(c.celery.broker_url).toBe("sentinel://:<redisPassword>@10.0.0.1:26379;sentinel://:<redisPassword>@10.0.0.2:26379;sentinel://:<redisPassword>@10.0.0.3:26380");

        const m = connectionSettings("mymaster", V4, { clientCertificate: true });
        expect(m.ioredis.tls).toEqual({ ca, cert: "<contents of the client certificate>", key: "<contents of the client key>" });
        expect(m.goRedis.TLSConfig).toEqual({ RootCAs: ca, Certificates: ["<contents of the client certificate>", "<contents of the client key>"] });
        expect(m.redisPy).toMatchObject({ ssl_certfile: "<path of the client certificate>", ssl_keyfile: "<path of the client key>" });
        expect(m.celery.broker_use_ssl).toEqual({
            ssl_cert_reqs: "required", ssl_ca_certs: caPath, ssl_certfile: "<path of the client certificate>", ssl_keyfile: "<path of the client key>",
        });
    });
});
