/**
 * TLS (tls, tlsKeys): the configuration's checks with their exact messages (the
 * four certificate checks among them), what a TLS host's files say, and that a
 * plaintext stack's files and scripts stay exactly as they were. The
 * certificates are made by harness/make-certs.sh (openssl) when the tests start.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { parseClusterConfig } from "../../src/config";
import { TLS_CLI, TLS_SWITCH_MARKER, hostContext, tlsCliWrapper } from "../../src/host/layout";
import { hostScript, shq } from "../../src/host/script";
import * as verbs from "../../src/host/verbs";
import { planCluster } from "../../src/plan";
import { renderRedisConf, renderSentinelConf } from "../../src/render";
import { HOSTS, problems, raw, rawTls, testCerts } from "./fixtures";
import { fakeCliPrelude, runScript, testContext, writeSecrets } from "./host-scripts";

const { ca: CA, certs, keys, read } = testCerts();
const NOW = new Date();
const tlsInput = (tls: Record<string, unknown> = {}, tlsKeys: Record<string, string> = keys, now = NOW) => rawTls(tls, tlsKeys, now);
const P = "redis-sentinel:";
const WHO = "host redis-1 (10.0.0.1)";

describe("tls configuration", () => {
    it("is off by default and with enabled false: no tls settings", () => {
        expect(parseClusterConfig(raw()).tls).toBeUndefined();
        expect(parseClusterConfig(raw({ tls: JSON.stringify({ enabled: false }) })).tls).toBeUndefined();
    });

    it("takes a valid CA, certificates and keys, with plaintext ports closed and tls-auth-clients no by default", () => {
        const cfg = parseClusterConfig(tlsInput());
        expect(cfg.tls).toEqual({ caCert: CA, certs, plaintextPort: 0, plaintextSentinelPort: 0, authClients: "no" });
    });

    it.each([
        ["a key that is not the certificate's", { tlsKeys: { ...keys, "redis-1": read("bad/wrong.key") } },
            `${P}tls.certs.redis-1: does not match its key tlsKeys.redis-1 (${WHO})`],
        ["an expired certificate", { certs: { ...certs, "redis-1": read("bad/expired.crt") } },
            `${P}tls.certs.redis-1: expired on 2020-01-02T00:00:00.000Z (${WHO})`],
        ["a certificate of another CA", { certs: { ...certs, "redis-1": read("bad/other-ca.crt") } },
            `${P}tls.certs.redis-1: is not signed by tls.caCert (${WHO})`],
        ["a certificate that does not name the host's address", { certs: { ...certs, "redis-1": read("bad/wrong-san.crt") } },
            `${P}tls.certs.redis-1: does not name 10.0.0.1 in its subjectAltName (${WHO}); peers connecting to 10.0.0.1 would refuse it`],
    ])("refuses %s, naming the key and the host", (_what, change: { tlsKeys?: Record<string, string>; certs?: Record<string, string> }, message) => {
        expect(problems(tlsInput(change.certs ? { certs: change.certs } : {}, change.tlsKeys ?? keys))).toEqual([message]);
    });

    it("refuses a certificate not yet valid", () => {
        const early = new Date(Date.now() - 400 * 86_400_000);
        const p = problems(tlsInput({}, keys, early));
        expect(p).toHaveLength(3);
        expect(p[0]).toMatch(/^redis-sentinel:tls\.certs\.redis-1: is not valid before \d{4}-\d\d-\d\dT[\d:.]+Z \(host redis-1 \(10\.0\.0\.1\)\)$/);
    });

    it("checks the announced address too, which peers connect to", () => {
        const hosts = HOSTS.map((h, i) => (i === 0 ? { ...h, announceAddress: "10.9.9.9" } : h));
        expect(problems({ ...tlsInput(), values: { ...tlsInput().values, hosts: JSON.stringify(hosts) } })).toEqual([
            `${P}tls.certs.redis-1: does not name 10.9.9.9 in its subjectAltName (${WHO}); peers connecting to 10.9.9.9 would refuse it`,
        ]);
    });

    it("requires the CA, every host's certificate and key, and the keys as a secret", () => {
        const { "redis-2": _c, ...someCerts } = certs;
        const { "redis-3": _k, ...someKeys } = keys;
        expect(problems(tlsInput({ caCert: undefined, certs: someCerts }, someKeys))).toEqual([
            `${P}tls.caCert: is required with tls.enabled: the CA certificate (PEM); set it with: pulumi config set --path tls.caCert -- "$(cat ca.pem)"`,
            `${P}tls.certs.redis-2: is required with tls.enabled: the certificate of host redis-2 (10.0.0.2); set it with: pulumi config set --path tls.certs.redis-2 -- "$(cat CERT.pem)"`,
            `${P}tlsKeys.redis-3: is required with tls.enabled: the private key of host redis-3 (10.0.0.3); set it with: pulumi config set --secret --path tlsKeys.redis-3 -- "$(cat KEY.pem)"`,
        ]);
        const plain = raw({ tls: JSON.stringify({ enabled: true, caCert: CA, certs }), tlsKeys: JSON.stringify(keys) });
        expect(problems({ ...plain, now: NOW })).toEqual([
            `${P}tlsKeys: is stored in plain text; set it again with: pulumi config set --secret tlsKeys ...`,
        ]);
    });

    it("refuses what is not a certificate or key, a CA that is not one, and names that are not hosts", () => {
        expect(problems(tlsInput({ caCert: certs["redis-2"], certs: { ...certs, "redis-1": "junk", db9: certs["redis-2"] } }, { ...keys, "redis-2": "junk" }))).toEqual([
            `${P}tls.caCert: is not a CA certificate (CN=10.0.0.2 has no basicConstraints CA:TRUE)`,
            `${P}tls.certs.db9: has no host "db9" in hosts; remove it with: pulumi config rm --path tls.certs.db9`,
            `${P}tls.certs.redis-1: is not a PEM certificate (expected a '-----BEGIN CERTIFICATE-----' block) for ${WHO}`,
            `${P}tlsKeys.redis-2: is not an unencrypted PEM private key (expected a '-----BEGIN PRIVATE KEY-----' block) for host redis-2 (10.0.0.2)`,
            `${P}tls.certs.redis-3: is not signed by tls.caCert (host redis-3 (10.0.0.3))`,
        ]);
    });

    it("checks the ports and tls-auth-clients", () => {
        expect(problems(tlsInput({ plaintextPort: 6379, plaintextSentinelPort: 6379, authClients: "maybe" }))).toEqual([
            `${P}tls.plaintextPort: 6379 is redisPort, the TLS port; a port speaks TLS or plaintext, not both`,
            `${P}tls.plaintextSentinelPort: 6379 is also redisPort`,
            `${P}tls.authClients: must be no, optional or yes, got "maybe"`,
        ]);
        expect(problems(tlsInput({ plaintextPort: "x", colour: 1 }))).toEqual([
            `${P}tls.colour: unknown key (expected enabled, caCert, certs, plaintextPort, plaintextSentinelPort, authClients)`,
            `${P}tls.plaintextPort: must be a port (1-65535), or 0 for closed, got "x"`,
        ]);
    });

    it("leaves tls-* directives to the tls key", () => {
        expect(problems(tlsInput({}, keys, NOW)).length).toBe(0);
        const input = tlsInput();
        expect(problems({ ...input, values: { ...input.values, extraDirectives: JSON.stringify({ "tls-protocols": "TLSv1.3" }) } })).toEqual([
            `${P}extraDirectives.tls-protocols: is managed by the deployer with tls.enabled; use the tls key instead`,
        ]);
    });
});

describe("a TLS host", () => {
    const cfg = parseClusterConfig(tlsInput({ plaintextPort: 6380, plaintextSentinelPort: 26380 }));
    const closed = parseClusterConfig(tlsInput({ authClients: "yes" }));
    const [master, replica] = cfg.hosts;

    it("renders redis.conf with the TLS port, the files, tls-replication and the plaintext port", () => {
        const conf = renderRedisConf(cfg, replica);
        expect(conf.split("\n").filter((l) => /^(port|tls-)/.test(l))).toEqual([
            "port 6380", "tls-port 6379", "tls-cert-file /etc/redis/tls.crt", "tls-key-file /etc/redis/tls.key",
            "tls-ca-cert-file /etc/redis/tls-ca.crt", "tls-auth-clients no", "tls-replication yes",
        ]);
        expect(conf).toContain("replicaof 10.0.0.1 6379");
        expect(renderRedisConf(closed, master).split("\n").filter((l) => /^(port|tls-auth)/.test(l))).toEqual(["port 0", "tls-auth-clients yes"]);
    });

    it("renders sentinel.conf with its TLS port and tls-replication (its own port is TLS exactly then)", () => {
        expect(renderSentinelConf(cfg, replica).split("\n").filter((l) => /^(port|tls-|sentinel (monitor|announce-port))/.test(l))).toEqual([
            "port 26380", "tls-port 26379", "tls-cert-file /etc/redis/tls.crt", "tls-key-file /etc/redis/tls.key",
            "tls-ca-cert-file /etc/redis/tls-ca.crt", "tls-auth-clients no", "tls-replication yes",
            "sentinel announce-port 26379", "sentinel monitor mymaster 10.0.0.1 6379 2",
        ]);
        expect(renderSentinelConf(closed, master)).toMatch(/^port 0$/m);
    });

    it("runs every host script's redis-cli through the TLS wrapper, which adds a client certificate only when asked for", () => {
        expect(hostContext(cfg).redisCli).toBe(TLS_CLI);
        expect(tlsCliWrapper(cfg)).toContain(`\nexec "$cli" --tls --cacert '/etc/redis/tls-ca.crt' "$@"\n`);
        expect(tlsCliWrapper(closed)).toContain("--tls --cacert '/etc/redis/tls-ca.crt' --cert '/etc/redis/tls.crt' --key '/etc/redis/tls.key' \"$@\"");
    });

    describe("the wrapper while a plaintext cluster switches (TLS_SWITCH_MARKER)", () => {
        /** Runs the wrapper with a fake redis-cli that answers a bare PING with `probeReply` and logs every call. */
        function wrapped(probeReply: string, switching: boolean) {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tls-wrapper-"));
            try {
                const log = path.join(dir, "cli.log");
                const fake = path.join(dir, "redis-cli");
                fs.writeFileSync(fake, `#!/bin/sh\necho "AUTH=\${REDISCLI_AUTH:-} $*" >> ${shq(log)}\n` +
                    `case "$*" in *" PING") echo ${shq(probeReply)} ;; *) echo OK ;; esac\n`, { mode: 0o755 });
                const marker = path.join(dir, "tls-switching");
                if (switching) fs.writeFileSync(marker, "");
                const text = tlsCliWrapper(cfg).replace(shq("/opt/redis-8.2.2/bin/redis-cli"), shq(fake)).replace(shq(TLS_SWITCH_MARKER), shq(marker));
                fs.writeFileSync(path.join(dir, "wrapper"), text, { mode: 0o755 });
                const r = spawnSync(path.join(dir, "wrapper"), ["-h", "10.0.0.2", "-p", "26379", "--user", "deployer", "SENTINEL", "masters"],
                    { env: { ...process.env, REDISCLI_AUTH: "secret-pw" }, encoding: "utf8" });
                return { out: r.stdout, calls: fs.readFileSync(log, "utf8").trim().split("\n") };
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        }
        const call = "-h 10.0.0.2 -p 26379 --user deployer SENTINEL masters";
        const tlsCall = `AUTH=secret-pw --tls --cacert /etc/redis/tls-ca.crt ${call}`;

        it("asks nothing and speaks TLS when no switch is under way", () => {
            expect(wrapped("PONG", false).calls).toEqual([tlsCall]);
        });
        it("speaks plaintext to a target that answers a plaintext PING, asked without its password", () => {
            for (const reply of ["PONG", "NOAUTH Authentication required.", "ERR unknown command", "LOADING Redis is loading the dataset in memory"]) {
                const r = wrapped(reply, true);
                expect(r.calls).toEqual(["AUTH= -h 10.0.0.2 -p 26379 PING", `AUTH=secret-pw ${call}`]);
                expect(r.out).toBe("OK\n");
            }
        });
        it("speaks TLS to a target that resets a plaintext PING (a TLS port) or does not answer", () => {
            for (const reply of ["Error: Connection reset by peer", "Error: Server closed the connection", "Could not connect to Redis at 10.0.0.2:26379: Connection refused"]) {
                expect(wrapped(reply, true).calls).toEqual(["AUTH= -h 10.0.0.2 -p 26379 PING", tlsCall]);
            }
        });
    });

    it("keeps a plaintext stack's scripts and files exactly as they were: no TLS helper, the real redis-cli", () => {
        const plain = parseClusterConfig(raw());
        const ctx = hostContext(plain);
        expect(ctx.redisCli).toBe("/opt/redis-8.2.2/bin/redis-cli");
        expect("tls" in ctx).toBe(false);
        // sh/lib/tls.sh's listening_port (the only one that compares with the wanted port) comes only to TLS hosts.
        expect(verbs.restart(ctx, { pass: "replicas", revision: "r" }).text).not.toContain("-v want=");
        expect(verbs.restart(hostContext(cfg), { pass: "replicas", revision: "r" }).text).toContain("-v want=");
        expect(planCluster(plain).hosts[0].files.redisConf).not.toMatch(/tls/);
    });

    it("defines listening_port last in a TLS host's scripts, so the TLS helper's is the one used", () => {
        const text = hostScript("apply-config", hostContext(cfg), { kind: "redis", target: "/t", port: 6379, self: "10.0.0.1", peers: [] }).text;
        const defs = [...text.matchAll(/^listening_port\(\) \{/gm)].map((m) => m.index!);
        expect(defs).toHaveLength(2);
        expect(text.slice(defs[1])).toContain("-v want=");
    });

    /** A host for put-tls: this redis.conf, the secrets, both units running; the wrapper goes to redis-cli-tls, a fake cli logs to cli.log. */
    function putTlsHost(redisConf: string) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "put-tls-"));
        fs.writeFileSync(path.join(dir, "redis.conf"), redisConf);
        writeSecrets(dir);
        fs.mkdirSync(path.join(dir, "bin"));
        fs.writeFileSync(path.join(dir, "bin", "systemctl"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
        return { dir, log: path.join(dir, "cli.log"), ctx: testContext(dir, { redisCli: path.join(dir, "redis-cli-tls") }, cfg) };
    }

    it("put-tls marks a host whose data node runs without TLS as switching, writes its files, and leaves loading them to the config step", () => {
        const { dir, log, ctx } = putTlsHost("port 6379\n");
        try {
            const inputs = {
                tlsCa: CA.trim(), tlsCert: certs["redis-1"].trim(), caFile: path.join(dir, "ca.crt"), certFile: path.join(dir, "tls.crt"),
                keyFile: path.join(dir, "tls.key"), cliWrapper: `${fakeCliPrelude(log)}echo OK\n`,
            };
            const switching = runScript(verbs.putTls(ctx, inputs), dir, keys["redis-1"]);
            expect(switching.err).toBe("");
            expect(switching.code).toBe(0);
            expect(switching.out).toContain("put-tls: switching this host from plaintext to TLS. New connections to it must use TLS once its data node switches");
            expect(fs.existsSync(ctx.tlsSwitchMarker)).toBe(true);
            expect(fs.readFileSync(path.join(dir, "tls.key"), "utf8")).toBe(keys["redis-1"]);
            expect((fs.statSync(path.join(dir, "tls.key")).mode & 0o777).toString(8)).toBe("600");
            expect((fs.statSync(path.join(dir, "redis-cli-tls")).mode & 0o777).toString(8)).toBe("755");
            expect(fs.readFileSync(path.join(dir, "tls.crt"), "utf8")).toBe(`${certs["redis-1"].trim()}\n`);
            // The plaintext node is not asked to load certificates: apply-config switches it, ports and files at once.
            expect(fs.existsSync(log)).toBe(false);
            expect(fs.readdirSync(path.join(dir, "pending"))).toEqual(["redis-sentinel"]);

            // Switched (its redis.conf has tls-port): the same files again are up to date, and no marker is made anew.
            fs.rmSync(ctx.tlsSwitchMarker);
            fs.writeFileSync(path.join(dir, "redis.conf"), "port 0\ntls-port 6379\n");
            const again = runScript(verbs.putTls(ctx, inputs), dir, keys["redis-1"]);
            expect(again.code).toBe(0);
            expect(again.out).toContain(`${path.join(dir, "tls.key")}: up to date`);
            expect(fs.existsSync(ctx.tlsSwitchMarker)).toBe(false);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("tls-switched makes a switched replica's replication link again (over TLS), then ends the switch; on a master it only ends it", () => {
        for (const role of ["slave", "master"] as const) {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tls-switched-"));
            try {
                writeSecrets(dir);
                fs.mkdirSync(path.join(dir, "bin"));
                fs.writeFileSync(path.join(dir, "bin", "systemctl"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
                const log = path.join(dir, "cli.log");
                fs.writeFileSync(path.join(dir, "redis-cli"), `${fakeCliPrelude(log)}
case "$*" in
  *"INFO replication") printf 'role:${role}\\r\\nmaster_host:10.0.0.1\\r\\nmaster_port:6379\\r\\nmaster_link_status:up\\r\\nslave_repl_offset:100\\r\\nmaster_repl_offset:100\\r\\n' ;;
  *"CLIENT KILL TYPE master") echo 1 ;;
esac
`, { mode: 0o755 });
                const ctx = testContext(dir, {}, cfg);
                // No switch under way: nothing asked, nothing changed.
                expect(runScript(verbs.tlsSwitched(ctx, { revision: "r1" }), dir)).toMatchObject({ code: 0, out: "" });
                expect(fs.existsSync(log)).toBe(false);

                fs.writeFileSync(ctx.tlsSwitchMarker, "");
                const r = runScript(verbs.tlsSwitched(ctx, { revision: "r1" }), dir);
                expect(r.err).toBe("");
                expect(r.code).toBe(0);
                expect(r.out).toContain("tls-switched: the switch from plaintext is over on this host\n");
                expect(fs.existsSync(ctx.tlsSwitchMarker)).toBe(false);
                const kills = fs.readFileSync(log, "utf8").split("\n").filter((l) => l.includes("CLIENT KILL"));
                if (role === "slave") {
                    expect(kills).toEqual(["USER=deployer AUTH=d-pass-0123456789abc -h 127.0.0.1 -p 6379 CLIENT KILL TYPE master"]);
                    expect(r.out).toContain("redis-server: in sync with 10.0.0.1 at offset 100");
                } else {
                    expect(kills).toEqual([]);
                }
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        }
    });

    it("put-tls loads a renewed certificate into the running data node live (CONFIG SET) and marks the Sentinel for the rolling restart", () => {
        const { dir, log, ctx } = putTlsHost("port 0\ntls-port 6379\n");
        try {
            const inputs = (cert: string) => ({
                tlsCa: CA.trim(), tlsCert: cert.trim(), caFile: path.join(dir, "ca.crt"), certFile: path.join(dir, "tls.crt"),
                keyFile: path.join(dir, "tls.key"), cliWrapper: `${fakeCliPrelude(log)}echo OK\n`,
            });
            const first = runScript(verbs.putTls(ctx, inputs(certs["redis-1"])), dir, keys["redis-1"]);
            expect(first.code).toBe(0);
            fs.rmSync(path.join(dir, "pending"), { recursive: true, force: true });
            fs.writeFileSync(log, "");
            // Unchanged files: nothing is reloaded, nothing restarts.
            const same = runScript(verbs.putTls(ctx, inputs(certs["redis-1"])), dir, keys["redis-1"]);
            expect(same.code).toBe(0);
            expect(fs.readFileSync(log, "utf8")).toBe("");
            expect(fs.existsSync(path.join(dir, "pending"))).toBe(false);

            const renewed = runScript(verbs.putTls(ctx, inputs(certs["redis-2"])), dir, keys["redis-2"]);
            expect(renewed.code).toBe(0);
            expect(fs.readFileSync(log, "utf8")).toBe(`USER=deployer AUTH=d-pass-0123456789abc -h 127.0.0.1 -p 6379 CONFIG SET ` +
                `tls-cert-file ${path.join(dir, "tls.crt")} tls-key-file ${path.join(dir, "tls.key")} tls-ca-cert-file ${path.join(dir, "ca.crt")}\n`);
            expect(renewed.out).toContain("redis-server: certificates loaded live (CONFIG SET)");
            expect(renewed.out).toContain("redis-sentinel: restart pending: a Sentinel cannot load new certificates live");
            expect(fs.readdirSync(path.join(dir, "pending"))).toEqual(["redis-sentinel"]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
