/**
 * What the command provider would fail on in the middle of an `up` (it parses
 * host keys and the private key only when it connects, and dials SSH_AUTH_SOCK
 * before every step) is refused by config validation instead, before any host
 * is touched. Keys are real ones from ssh-keygen.
 */
import { describe, expect, it } from "vitest";
import { hostKeyWarnings, parseClusterConfig } from "../../src/config";
import { checkHostKey, checkPrivateKey } from "../../src/ssh-keys";
import { HOSTS, HOST_KEYS, problems, raw, sshKeygen } from "./fixtures";

const withHost0 = (extra: Record<string, unknown>) => JSON.stringify([{ ...HOSTS[0], ...extra }, ...HOSTS.slice(1)]);
const keyscan = "ssh-keyscan -t ed25519 10.0.0.1 | cut -d' ' -f2-";

describe("host key pins", () => {
    const rsa = sshKeygen("host-rsa", ["-t", "rsa", "-b", "2048"]).publicKey;
    const ecdsa = sshKeygen("host-ecdsa", ["-t", "ecdsa", "-b", "384"]).publicKey;
    const [edType, edData] = HOST_KEYS[0].split(" ");

    it("accepts ed25519 and ecdsa keys, with or without a comment", () => {
        expect(checkHostKey(HOST_KEYS[0])).toBeUndefined();
        expect(checkHostKey(`${HOST_KEYS[0]} root@redis-1`)).toBeUndefined();
        expect(checkHostKey(ecdsa)).toBeUndefined();
        expect(problems(raw({ hosts: withHost0({ hostKey: ecdsa }) }))).toEqual([]);
    });

    it("refuses an ssh-rsa pin, saying why and which key to pin instead", () => {
        expect(problems(raw({ hosts: withHost0({ hostKey: rsa }) }))).toEqual([
            "redis-sentinel:hosts[0].hostKey: is an ssh-rsa key: the command provider would accept only SHA-1 RSA signatures from the host, " +
            "which OpenSSH 8.8 and later refuse to make, so every step would fail. Pin its ed25519 or ecdsa key instead; " +
            `pin the output of: ${keyscan}`,
        ]);
    });

    const cases: [string, unknown, string][] = [
        ["no key data", "ssh-ed25519", 'expected "TYPE BASE64", e.g. "ssh-ed25519 AAAA..."'],
        ["base64 that is not", `${edType} ${edData.slice(0, 20)}!!`, "its key data is not base64"],
        ["a truncated key", `${edType} ${edData.slice(0, 40)}`, "its key data is truncated"],
        ["a type that does not match the data", `ecdsa-sha2-nistp256 ${edData}`, "its key data is of type ssh-ed25519, not ecdsa-sha2-nistp256"],
        ["a known_hosts line", `10.0.0.1 ${HOST_KEYS[0]}`, `it starts with "10.0.0.1", a host name: pin only "ssh-ed25519 ${edData.slice(0, 8)}...", without the host`],
        ["no key type", `AAAA ${edData}`, '"AAAA" is not an SSH key type'],
    ];
    it.each(cases)("refuses %s, naming the host's key", (_what, pin, reason) => {
        expect(problems(raw({ hosts: withHost0({ hostKey: pin }) }))).toEqual([
            `redis-sentinel:hosts[0].hostKey: is not an OpenSSH public key (${reason}); pin the output of: ${keyscan}`,
        ]);
    });

    it("refuses a key type the provider cannot negotiate safely, and a pin that is not text", () => {
        const dss = `ssh-dss ${Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from("ssh-dss")]).toString("base64")}`;
        expect(problems(raw({ hosts: withHost0({ hostKey: dss }) }))).toEqual([
            `redis-sentinel:hosts[0].hostKey: is a ssh-dss key; pin the host's ed25519 or ecdsa key instead; pin the output of: ${keyscan}`,
        ]);
        expect(problems(raw({ hosts: withHost0({ hostKey: 42 }) }))).toEqual([
            'redis-sentinel:hosts[0].hostKey: must be a string like "ssh-ed25519 AAAA...", got 42',
        ]);
    });

    it("requires a pin on every host unless the stack opts out, and then warns naming the unpinned hosts", () => {
        const unpinned = JSON.stringify(HOSTS.map(({ hostKey: _k, ...h }, i) => (i === 1 ? { ...h, hostKey: HOST_KEYS[1] } : h)));
        expect(problems(raw({ hosts: unpinned }))).toEqual([
            "redis-sentinel:hosts[0].hostKey: is required: pin the host's SSH key (ssh-keyscan -t ed25519 10.0.0.1 | cut -d' ' -f2-), " +
            "or set insecureSkipHostKeyCheck=true to deploy without checking host keys",
            "redis-sentinel:hosts[2].hostKey: is required: pin the host's SSH key (ssh-keyscan -t ed25519 10.0.0.3 | cut -d' ' -f2-), " +
            "or set insecureSkipHostKeyCheck=true to deploy without checking host keys",
        ]);
        const c = parseClusterConfig(raw({ hosts: unpinned, insecureSkipHostKeyCheck: "true" }));
        expect(c.insecureSkipHostKeyCheck).toBe(true);
        expect(hostKeyWarnings(c)).toEqual([
            "insecureSkipHostKeyCheck is true and redis-1 (10.0.0.1), redis-3 (10.0.0.3) have no hostKey: their SSH host keys are not checked, " +
            "so whoever answers at those addresses receives the stack's passwords",
        ]);
        expect(hostKeyWarnings(parseClusterConfig(raw()))).toEqual([]);
        // A pin given anyway is still checked.
        expect(problems(raw({ hosts: withHost0({ hostKey: rsa }), insecureSkipHostKeyCheck: "true" }))).toHaveLength(1);
    });
});

describe("the SSH private key", () => {
    const passphrase = "correct horse battery";
    const encrypted = sshKeygen("deploy-encrypted", ["-t", "ed25519"], passphrase).privateKey;
    const plain = sshKeygen("deploy-plain-ecdsa", ["-t", "ecdsa"]).privateKey;
    const rsaPem = sshKeygen("deploy-rsa-pem", ["-t", "rsa", "-b", "2048", "-m", "PEM"], passphrase).privateKey;
    const pkcs8 = sshKeygen("deploy-pkcs8", ["-t", "ecdsa", "-m", "PKCS8"]).privateKey;
    const passwordKey = (k: string, p?: string) => raw({ sshPrivateKey: k, ...(p === undefined ? {} : { sshPrivateKeyPassword: p }) });

    it("accepts OpenSSH and PEM keys, and encrypted ones with their passphrase", () => {
        expect(problems(passwordKey(plain))).toEqual([]);
        expect(problems(passwordKey(pkcs8))).toEqual([]);
        expect(problems(passwordKey(encrypted, passphrase))).toEqual([]);
        expect(problems(passwordKey(rsaPem, passphrase))).toEqual([]);
    });

    it("refuses an encrypted key without its passphrase, in either format", () => {
        const msg = "redis-sentinel:sshPrivateKey: is encrypted with a passphrase; set it with: pulumi config set --secret sshPrivateKeyPassword ...";
        expect(problems(passwordKey(encrypted))).toEqual([msg]);
        expect(problems(passwordKey(rsaPem))).toEqual([msg]);
    });

    it("refuses a wrong passphrase, in either format", () => {
        const msg = "redis-sentinel:sshPrivateKeyPassword: does not decrypt sshPrivateKey";
        expect(problems(passwordKey(encrypted, "wrong passphrase"))).toEqual([msg]);
        expect(problems(passwordKey(rsaPem, "wrong passphrase"))).toEqual([msg]);
    });

    it("refuses a passphrase for a key that has none (the provider would refuse the key)", () => {
        expect(problems(passwordKey(plain, passphrase))).toEqual([
            "redis-sentinel:sshPrivateKeyPassword: is set, but sshPrivateKey is not encrypted, and the command provider refuses a passphrase " +
            "for a plain key; remove it with: pulumi config rm sshPrivateKeyPassword",
        ]);
    });

    it("refuses a truncated or corrupted key", () => {
        const lines = plain.trim().split("\n");
        const truncated = [...lines.slice(0, 3), lines[lines.length - 1]].join("\n");
        expect(problems(passwordKey(truncated))).toEqual(["redis-sentinel:sshPrivateKey: cannot be used: it is truncated or corrupted"]);
        const flipped = plain.replace(/\n(.)(.)/, (_m, a: string, b: string) => `\n${b}${a}`);
        expect(checkPrivateKey(flipped, undefined)).toEqual({ kind: "invalid", reason: "it is truncated or corrupted" });
        const badPem = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n-----END RSA PRIVATE KEY-----\n";
        expect(problems(passwordKey(badPem))).toEqual(["redis-sentinel:sshPrivateKey: cannot be used: it does not parse as a rsa private key"]);
    });

    it("refuses formats the provider cannot read", () => {
        expect(problems(passwordKey("ssh-ed25519 AAAA"))).toEqual([
            "redis-sentinel:sshPrivateKey: is not a PEM/OpenSSH private key (expected a '-----BEGIN ... PRIVATE KEY-----' block)",
        ]);
        expect(problems(passwordKey("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n", passphrase))).toEqual([
            "redis-sentinel:sshPrivateKey: cannot be used: it is an encrypted PKCS#8 key, which the provider cannot read; convert it to OpenSSH format with: ssh-keygen -p -f KEYFILE",
        ]);
        expect(problems(passwordKey("-----BEGIN DSA PRIVATE KEY-----\nMIIB\n-----END DSA PRIVATE KEY-----\n"))).toEqual([
            "redis-sentinel:sshPrivateKey: cannot be used: it is a DSA key, which OpenSSH 7.0 and later refuse; use an ed25519 key",
        ]);
    });

    it("refuses a passphrase stored in plain text", () => {
        const input = passwordKey(encrypted, passphrase);
        expect(problems({ ...input, secretKeys: input.secretKeys.filter((k) => k !== "sshPrivateKeyPassword") })).toEqual([
            "redis-sentinel:sshPrivateKeyPassword: is stored in plain text; set it again with: pulumi config set --secret sshPrivateKeyPassword ...",
        ]);
    });
});

describe("SSH_AUTH_SOCK", () => {
    it("refuses an agent socket that does not answer, naming the variable and both fixes", () => {
        expect(problems({ ...raw(), sshAgent: { socket: "/tmp/ssh-x/agent.1", problem: "connect ECONNREFUSED /tmp/ssh-x/agent.1" } })).toEqual([
            'SSH_AUTH_SOCK: "/tmp/ssh-x/agent.1" does not answer (connect ECONNREFUSED /tmp/ssh-x/agent.1); the command provider dials the agent ' +
            'before every step and would fail them all. Unset it (unset SSH_AUTH_SOCK) or start the agent (eval "$(ssh-agent -s)")',
        ]);
    });
    it("accepts an agent that answers", () => {
        expect(problems({ ...raw(), sshAgent: { socket: "/tmp/ssh-x/agent.1" } })).toEqual([]);
    });
});
