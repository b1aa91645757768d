/**
 * Test-only inputs shared by the unit tests. SSH keys are made by ssh-keygen
 * when the tests start (real keys, as a user's would be; none is committed).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError, FileProbe, RawConfigInput, parseClusterConfig } from "../../src/config";

const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-sentinel-unit-keys-"));
process.on("exit", () => fs.rmSync(keyDir, { recursive: true, force: true }));

/**
 * A key pair made by ssh-keygen: `-t TYPE [extra args]`, the passphrase ("" for
 * none). Returns the private key file's text and the public key without comment.
 */
export function sshKeygen(name: string, args: readonly string[], passphrase = ""): { privateKey: string; publicKey: string } {
    const file = path.join(keyDir, name);
    if (!fs.existsSync(file)) execFileSync("ssh-keygen", ["-q", ...args, "-N", passphrase, "-C", "", "-f", file]);
    const pub = fs.readFileSync(`${file}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
    return { privateKey: fs.readFileSync(file, "utf8"), publicKey: pub };
}

/** Each test host's pinned ed25519 key. */
export const HOST_KEYS = ["redis-1", "redis-2", "redis-3"].map((h) => sshKeygen(`host-${h}`, ["-t", "ed25519"]).publicKey);

export const HOSTS = [
    { name: "redis-1", address: "10.0.0.1", role: "master", hostKey: HOST_KEYS[0] },
    { name: "redis-2", address: "10.0.0.2", role: "replica", hostKey: HOST_KEYS[1] },
    { name: "redis-3", address: "10.0.0.3", role: "replica", hostKey: HOST_KEYS[2] },
];

export const PRIVATE_KEY = sshKeygen("deploy", ["-t", "ed25519"]).privateKey;
export const REDIS_PASSWORD = "s3cret-Redis-password-0001";

/** Both binaries present, with fixed checksums. */
export const presentBinaries: FileProbe = {
    sha256: (p) => (p.endsWith("redis-server") ? "a".repeat(64) : p.endsWith("redis-cli") ? "b".repeat(64) : undefined),
};

/** A valid raw configuration, with overrides (undefined removes a key). */
export function raw(overrides: Record<string, string | undefined> = {}, files: FileProbe = presentBinaries): RawConfigInput {
    const values: Record<string, string> = {
        hosts: JSON.stringify(HOSTS),
        sshPrivateKey: PRIVATE_KEY,
        redisPassword: REDIS_PASSWORD,
    };
    for (const [k, v] of Object.entries(overrides)) {
        if (v === undefined) delete values[k];
        else values[k] = v;
    }
    return { values, secretKeys: ["sshPrivateKey", "sshPrivateKeyPassword", "redisPassword"], projectDir: "/project", files };
}

/** raw(overrides), with `secrets` added as keys set with --secret (passwords, aclUserPasswords). */
export function rawWithSecrets(secrets: Record<string, string>, overrides: Record<string, string | undefined> = {}, files: FileProbe = presentBinaries): RawConfigInput {
    const r = raw({ ...overrides, ...secrets }, files);
    return { ...r, secretKeys: [...r.secretKeys, ...Object.keys(secrets)] };
}

/** The problems parseClusterConfig reports for this input; none for a valid one. */
export function problems(input: RawConfigInput): readonly string[] {
    try {
        parseClusterConfig(input);
    } catch (e) {
        if (e instanceof ConfigError) return e.problems;
        throw e;
    }
    return [];
}

/**
 * Test-only TLS material for the fixtures' hosts, made once by harness/make-certs.sh
 * (openssl): the CA, each host's certificate and key by host name, and the bad
 * ones (`bad/expired.crt`, ...) by file name through `read`.
 */
let certs: { ca: string; certs: Record<string, string>; keys: Record<string, string>; read: (file: string) => string } | undefined;
export function testCerts() {
    if (!certs) {
        const dir = path.join(keyDir, "tls");
        execFileSync(path.join(__dirname, "..", "..", "harness", "make-certs.sh"), [dir, ...HOSTS.map((h) => h.address)], { stdio: "ignore" });
        const read = (f: string) => fs.readFileSync(path.join(dir, f), "utf8");
        certs = {
            ca: read("ca.crt"), read,
            certs: Object.fromEntries(HOSTS.map((h) => [h.name, read(`${h.address}.crt`)])),
            keys: Object.fromEntries(HOSTS.map((h) => [h.name, read(`${h.address}.key`)])),
        };
    }
    return certs;
}

/** A TLS stack (raw + `tls` with `tlsOverrides` merged in, `tlsKeys` as a secret), judged at `now`. */
export function rawTls(tlsOverrides: Record<string, unknown> = {}, tlsKeys?: Record<string, string>, now = new Date()): RawConfigInput {
    const c = testCerts();
    return {
        ...rawWithSecrets({ tlsKeys: JSON.stringify(tlsKeys ?? c.keys) }, { tls: JSON.stringify({ enabled: true, caCert: c.ca, certs: c.certs, ...tlsOverrides }) }),
        now,
    };
}
