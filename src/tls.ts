/**
 * TLS settings (`tls`, `tlsKeys`): parsed and checked before any host is
 * touched. The certificate checks use Node's X509Certificate, the same way the
 * TLS handshake will judge them: the key matches, the certificate is valid now,
 * it is signed by the stack's CA, and it names the address peers connect to.
 * Pure: every problem goes to `fail` with the key it belongs to.
 */
import * as crypto from "crypto";
import type { HostSpec } from "./config";

/** Who must present a client certificate to a data node or Sentinel (Redis's tls-auth-clients). */
export type TlsAuthClients = "no" | "optional" | "yes";
export const TLS_AUTH_CLIENTS: readonly TlsAuthClients[] = ["no", "optional", "yes"];

/** The validated `tls` key; present on a ClusterConfig only when TLS is on. */
export interface TlsSettings {
    /** The CA every certificate chains to (PEM); clients trust it. Required. */
    readonly caCert: string;
    /** Each host's certificate (PEM) by host name; it must name the host's address (subjectAltName IP). Required for every host. */
    readonly certs: Readonly<Record<string, string>>;
    /**
     * A plaintext port beside the TLS one (redisPort) on every data node, for
     * clients not yet on TLS. Default 0: closed (redis.conf `port 0`).
     */
    readonly plaintextPort: number;
    /** The same for every Sentinel (beside sentinelPort). Default 0: closed. */
    readonly plaintextSentinelPort: number;
    /**
     * tls-auth-clients of data nodes and Sentinels. Default "no": clients log in
     * with their ACL passwords over TLS and need only the CA; "yes" also requires
     * a client certificate signed by the CA (the hosts then present theirs, so
     * their certificates must allow clientAuth), "optional" checks one if sent.
     */
    readonly authClients: TlsAuthClients;
}

type Fail = (k: string, msg: string) => void;
const TLS_KEYS = ["enabled", "caCert", "certs", "plaintextPort", "plaintextSentinelPort", "authClients"];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * `tls` (the parsed value of the key) and `tlsKeys` (host name -> PEM private
 * key, a secret); undefined when TLS is off. `ports` are redisPort and
 * sentinelPort, which become the TLS ports; `now` is when validity is judged.
 */
export function parseTls(
    tls: unknown, keys: unknown, hosts: readonly HostSpec[], ports: { readonly redis: number; readonly sentinel: number }, now: Date, fail: Fail,
): TlsSettings | undefined {
    if (tls === undefined) return undefined;
    if (!isObject(tls)) {
        fail("tls", "must be an object like {enabled: true, caCert: ..., certs: {HOST: ...}}");
        return undefined;
    }
    for (const k of Object.keys(tls)) if (!TLS_KEYS.includes(k)) fail(`tls.${k}`, `unknown key (expected ${TLS_KEYS.join(", ")})`);
    if (tls.enabled === undefined || tls.enabled === false) return undefined;
    if (tls.enabled !== true) {
        fail("tls.enabled", `must be true or false, got ${JSON.stringify(tls.enabled)}`);
        return undefined;
    }

    const port = (k: "plaintextPort" | "plaintextSentinelPort"): number => {
        const v = tls[k];
        if (v === undefined) return 0;
        if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 65535) {
            fail(`tls.${k}`, `must be a port (1-65535), or 0 for closed, got ${JSON.stringify(v)}`);
            return 0;
        }
        return v;
    };
    const plaintextPort = port("plaintextPort");
    const plaintextSentinelPort = port("plaintextSentinelPort");
    const taken: [string, number][] = [["redisPort", ports.redis], ["sentinelPort", ports.sentinel]];
    if (plaintextPort !== 0) {
        const same = taken.find(([, p]) => p === plaintextPort);
        if (same) fail("tls.plaintextPort", `${plaintextPort} is ${same[0]}, the TLS port; a port speaks TLS or plaintext, not both`);
        taken.push(["tls.plaintextPort", plaintextPort]);
    }
    if (plaintextSentinelPort !== 0) {
        const same = taken.find(([, p]) => p === plaintextSentinelPort);
        if (same) fail("tls.plaintextSentinelPort", `${plaintextSentinelPort} is also ${same[0]}`);
    }
    const authClients = (tls.authClients ?? "no") as TlsAuthClients;
    if (!TLS_AUTH_CLIENTS.includes(authClients)) fail("tls.authClients", `must be no, optional or yes, got ${JSON.stringify(tls.authClients)}`);

    const ca = parseCa(tls.caCert, now, fail);
    const certs = isObject(tls.certs) ? tls.certs : {};
    if (tls.certs !== undefined && !isObject(tls.certs)) fail("tls.certs", "must be a map of host name to PEM certificate");
    const keyMap = isObject(keys) ? keys : {};
    if (keys !== undefined && !isObject(keys)) fail("tlsKeys", "must be a map of host name to PEM private key (pulumi config set --secret --path tlsKeys.HOST ...)");
    for (const name of Object.keys(certs)) {
        if (!hosts.some((h) => h.name === name)) fail(`tls.certs.${name}`, `has no host "${name}" in hosts; remove it with: pulumi config rm --path tls.certs.${name}`);
    }
    for (const name of Object.keys(keyMap)) {
        if (!hosts.some((h) => h.name === name)) fail(`tlsKeys.${name}`, `has no host "${name}" in hosts; remove it with: pulumi config rm --path tlsKeys.${name}`);
    }
    const good: Record<string, string> = {};
    for (const host of hosts) {
        const cert = certs[host.name];
        const key = keyMap[host.name];
        if (cert === undefined) {
            fail(`tls.certs.${host.name}`, `is required with tls.enabled: the certificate of host ${host.name} (${host.address}); ` +
                `set it with: pulumi config set --path tls.certs.${host.name} -- "$(cat CERT.pem)"`);
        }
        if (key === undefined) {
            fail(`tlsKeys.${host.name}`, `is required with tls.enabled: the private key of host ${host.name} (${host.address}); ` +
                `set it with: pulumi config set --secret --path tlsKeys.${host.name} -- "$(cat KEY.pem)"`);
        }
        if (cert === undefined || key === undefined) continue;
        if (checkHostCertificate(host, cert, key, ca, now, fail)) good[host.name] = cert as string;
    }
    return { caCert: typeof tls.caCert === "string" ? tls.caCert : "", certs: good, plaintextPort, plaintextSentinelPort, authClients };
}

/** A PEM block of this kind, and nothing but PEM blocks: what Redis reads from the file. */
const PEM = (label: string) => new RegExp(`^\\s*-----BEGIN ${label}-----[\\s\\S]+-----END ${label}-----\\s*$`);

function parseCa(pem: unknown, now: Date, fail: Fail): crypto.X509Certificate | undefined {
    if (pem === undefined || pem === "") {
        fail("tls.caCert", 'is required with tls.enabled: the CA certificate (PEM); set it with: pulumi config set --path tls.caCert -- "$(cat ca.pem)"');
        return undefined;
    }
    let ca: crypto.X509Certificate;
    try {
        if (typeof pem !== "string" || !PEM("CERTIFICATE").test(pem)) throw new Error("not PEM");
        ca = new crypto.X509Certificate(pem);
    } catch {
        fail("tls.caCert", "is not a PEM certificate (expected a '-----BEGIN CERTIFICATE-----' block)");
        return undefined;
    }
    if (!ca.ca) fail("tls.caCert", `is not a CA certificate (${ca.subject.replace(/\n/g, ", ")} has no basicConstraints CA:TRUE)`);
    if (new Date(ca.validTo).getTime() < now.getTime()) fail("tls.caCert", `expired on ${isoDate(ca.validTo)}`);
    return ca;
}

const isoDate = (x509Date: string) => new Date(x509Date).toISOString();

/**
 * The four checks of one host's certificate; true when it passes them all. The
 * messages name the key at fault and the host.
 */
export function checkHostCertificate(
    host: HostSpec, certPem: unknown, keyPem: unknown, ca: crypto.X509Certificate | undefined, now: Date, fail: Fail,
): boolean {
    const at = `tls.certs.${host.name}`;
    const who = `host ${host.name} (${host.address})`;
    let cert: crypto.X509Certificate | undefined;
    let key: crypto.KeyObject | undefined;
    try {
        if (typeof certPem !== "string" || !PEM("CERTIFICATE").test(certPem)) throw new Error("not PEM");
        cert = new crypto.X509Certificate(certPem);
    } catch {
        fail(at, `is not a PEM certificate (expected a '-----BEGIN CERTIFICATE-----' block) for ${who}`);
    }
    try {
        if (typeof keyPem !== "string" || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(keyPem)) throw new Error("not PEM");
        key = crypto.createPrivateKey(keyPem);
    } catch {
        fail(`tlsKeys.${host.name}`, `is not an unencrypted PEM private key (expected a '-----BEGIN PRIVATE KEY-----' block) for ${who}`);
    }
    if (cert === undefined || key === undefined) return false;
    let ok = true;
    const problem = (msg: string) => {
        fail(at, msg);
        ok = false;
    };
    if (!cert.checkPrivateKey(key)) problem(`does not match its key tlsKeys.${host.name} (${who})`);
    if (new Date(cert.validTo).getTime() < now.getTime()) problem(`expired on ${isoDate(cert.validTo)} (${who})`);
    else if (new Date(cert.validFrom).getTime() > now.getTime()) problem(`is not valid before ${isoDate(cert.validFrom)} (${who})`);
    if (ca !== undefined && !(cert.checkIssued(ca) && cert.verify(ca.publicKey))) problem(`is not signed by tls.caCert (${who})`);
    // Replicas, Sentinels and clients connect to the announced address; the deployer to the address.
    for (const ip of [...new Set([host.address, host.announceAddress])]) {
        if (cert.checkIP(ip) === undefined) problem(`does not name ${ip} in its subjectAltName (${who}); peers connecting to ${ip} would refuse it`);
    }
    return ok;
}
