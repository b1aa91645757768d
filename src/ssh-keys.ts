/**
 * SSH keys as the command provider will read them, checked before any host is
 * touched. The provider (golang.org/x/crypto/ssh) parses `connection.hostKey`
 * and `connection.privateKey` only when it connects, i.e. in the middle of an
 * `up`, after other hosts were already changed; these functions find the same
 * problems at preview. Pure: no file, network or clock.
 */
import * as crypto from "crypto";
// eslint-disable-next-line @typescript-eslint/no-var-requires
const bcryptPbkdf = require("bcrypt-pbkdf") as {
    pbkdf(pass: Uint8Array, passlen: number, salt: Uint8Array, saltlen: number, key: Uint8Array, keylen: number, rounds: number): number;
};

/** ECDSA host key types and the size of their (uncompressed) public point. */
const ECDSA_POINT_BYTES: Readonly<Record<string, number>> = {
    "ecdsa-sha2-nistp256": 65, "ecdsa-sha2-nistp384": 97, "ecdsa-sha2-nistp521": 133,
};

/** Why a host key pin cannot be used, as a sentence fragment; undefined when it can. */
export type KeyProblem = { readonly kind: "invalid"; readonly reason: string } | { readonly kind: "rsa" } | { readonly kind: "unsupported"; readonly type: string };

/** Reads SSH wire-format strings (uint32 length + bytes) off a buffer; undefined past its end. */
class WireReader {
    private at = 0;
    constructor(private readonly buf: Buffer) {}
    bytes(): Buffer | undefined {
        if (this.at + 4 > this.buf.length) return undefined;
        const n = this.buf.readUInt32BE(this.at);
        if (this.at + 4 + n > this.buf.length) return undefined;
        const out = this.buf.subarray(this.at + 4, this.at + 4 + n);
        this.at += 4 + n;
        return out;
    }
    string(): string | undefined {
        return this.bytes()?.toString("latin1");
    }
    uint32(): number | undefined {
        if (this.at + 4 > this.buf.length) return undefined;
        const n = this.buf.readUInt32BE(this.at);
        this.at += 4;
        return n;
    }
    rest(): Buffer {
        return this.buf.subarray(this.at);
    }
}

/** Strict base64 (what OpenSSH writes); Buffer.from alone ignores stray characters. */
function decodeBase64(text: string): Buffer | undefined {
    const clean = text.replace(/\s+/g, "");
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(clean) || clean.length % 4 !== 0) return undefined;
    return Buffer.from(clean, "base64");
}

/**
 * Checks a public key blob (the base64 part of "TYPE BASE64") whose declared type is
 * `type`: the embedded type must match and the key material must be complete.
 */
function checkKeyBlob(type: string, blob: Buffer): string | undefined {
    const r = new WireReader(blob);
    const embedded = r.string();
    if (embedded === undefined) return "its key data is truncated";
    if (embedded !== type) return `its key data is of type ${embedded}, not ${type}`;
    if (type === "ssh-ed25519") {
        const key = r.bytes();
        if (key === undefined || key.length !== 32) return "its key data is truncated";
    } else if (type in ECDSA_POINT_BYTES) {
        const curve = r.string();
        const point = r.bytes();
        if (curve === undefined || point === undefined) return "its key data is truncated";
        if (`ecdsa-sha2-${curve}` !== type) return `its key data is for curve ${curve}, not ${type}`;
        if (point.length !== ECDSA_POINT_BYTES[type] || point[0] !== 4) return "its key data is truncated";
    } else if (type === "ssh-rsa") {
        if (r.bytes() === undefined || r.bytes() === undefined) return "its key data is truncated";
    }
    if (r.rest().length !== 0) return "its key data has trailing bytes";
    return undefined;
}

/**
 * Checks a host key pin as the provider will use it: "TYPE BASE64 [comment]",
 * the authorized_keys / `ssh-keyscan` form without the host name.
 */
export function checkHostKey(text: string): KeyProblem | undefined {
    const words = text.trim().split(/\s+/);
    if (words.length < 2 || words[0] === "") {
        return { kind: "invalid", reason: 'expected "TYPE BASE64", e.g. "ssh-ed25519 AAAA..."' };
    }
    let [type, data] = words;
    // A known_hosts line starts with the host; ssh-keyscan prints it first too.
    if (!/^(ssh-|ecdsa-|sk-)/.test(type) && words.length >= 3 && /^(ssh-|ecdsa-|sk-)/.test(words[1])) {
        return { kind: "invalid", reason: `it starts with "${type}", a host name: pin only "${words[1]} ${words[2].slice(0, 8)}...", without the host` };
    }
    if (!/^(ssh-|ecdsa-|sk-)/.test(type)) return { kind: "invalid", reason: `"${type}" is not an SSH key type` };
    const blob = decodeBase64(data);
    if (blob === undefined) return { kind: "invalid", reason: "its key data is not base64" };
    const bad = checkKeyBlob(type, blob);
    if (bad) return { kind: "invalid", reason: bad };
    if (type === "ssh-rsa") return { kind: "rsa" };
    if (type !== "ssh-ed25519" && !(type in ECDSA_POINT_BYTES)) return { kind: "unsupported", type };
    return undefined;
}

export type PrivateKeyProblem =
    | { readonly kind: "not-a-key" }
    | { readonly kind: "invalid"; readonly reason: string }
    | { readonly kind: "needs-passphrase" }
    | { readonly kind: "wrong-passphrase" }
    | { readonly kind: "not-encrypted" }
    | { readonly kind: "unsupported"; readonly reason: string };

/** The first PEM block: its label, headers and body, as golang's pem.Decode finds it. */
function firstPemBlock(text: string): { label: string; headers: string; body: string } | undefined {
    const m = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(text);
    if (!m) return undefined;
    const inner = m[2];
    // Headers (RFC 1421: "Proc-Type: 4,ENCRYPTED") end at the first blank line.
    const split = /^((?:[A-Za-z-]+:.*\r?\n)+)\r?\n/.exec(inner);
    return { label: m[1], headers: split ? split[1] : "", body: split ? inner.slice(split[0].length) : inner };
}

/**
 * Checks the SSH private key (and its passphrase) as the provider will parse it:
 * OpenSSH ("OPENSSH PRIVATE KEY", ciphers none, aes256-ctr and aes256-cbc with
 * bcrypt) and PEM (PKCS#1 RSA, SEC1 EC, unencrypted PKCS#8, with legacy PEM
 * encryption). `passphrase` undefined means none was configured.
 */
export function checkPrivateKey(text: string, passphrase: string | undefined): PrivateKeyProblem | undefined {
    const block = firstPemBlock(text);
    if (!block) return { kind: "not-a-key" };
    switch (block.label) {
        case "OPENSSH PRIVATE KEY":
            return checkOpenSshKey(block.body, passphrase);
        case "RSA PRIVATE KEY":
        case "EC PRIVATE KEY":
        case "PRIVATE KEY":
            return checkPemKey(text, block, passphrase);
        case "ENCRYPTED PRIVATE KEY":
            return { kind: "unsupported", reason: "it is an encrypted PKCS#8 key, which the provider cannot read; convert it to OpenSSH format with: ssh-keygen -p -f KEYFILE" };
        case "DSA PRIVATE KEY":
            return { kind: "unsupported", reason: "it is a DSA key, which OpenSSH 7.0 and later refuse; use an ed25519 key" };
        default:
            return { kind: "not-a-key" };
    }
}

function checkPemKey(text: string, block: { label: string; headers: string }, passphrase: string | undefined): PrivateKeyProblem | undefined {
    const encrypted = /^Proc-Type:\s*4,ENCRYPTED/m.test(block.headers);
    if (encrypted && passphrase === undefined) return { kind: "needs-passphrase" };
    if (!encrypted && passphrase !== undefined) return { kind: "not-encrypted" };
    let key: crypto.KeyObject;
    try {
        key = crypto.createPrivateKey({ key: text, format: "pem", ...(encrypted ? { passphrase } : {}) });
    } catch (e) {
        if (encrypted) return { kind: "wrong-passphrase" };
        return { kind: "invalid", reason: `it does not parse as a ${block.label.toLowerCase()}` };
    }
    if (!["rsa", "ec", "ed25519"].includes(key.asymmetricKeyType ?? "")) {
        return { kind: "unsupported", reason: `it is a ${key.asymmetricKeyType} key; use an ed25519, ecdsa or rsa key` };
    }
    return undefined;
}

const OPENSSH_MAGIC = Buffer.from("openssh-key-v1\0", "latin1");

function checkOpenSshKey(body: string, passphrase: string | undefined): PrivateKeyProblem | undefined {
    const truncated: PrivateKeyProblem = { kind: "invalid", reason: "it is truncated or corrupted" };
    const raw = decodeBase64(body);
    if (raw === undefined || !raw.subarray(0, OPENSSH_MAGIC.length).equals(OPENSSH_MAGIC)) return truncated;
    const r = new WireReader(raw.subarray(OPENSSH_MAGIC.length));
    const cipher = r.string();
    const kdf = r.string();
    const kdfOptions = r.bytes();
    const count = r.uint32();
    const publicBlob = r.bytes();
    let secret = r.bytes();
    if (cipher === undefined || kdf === undefined || kdfOptions === undefined || count === undefined || publicBlob === undefined || secret === undefined) {
        return truncated;
    }
    if (count !== 1) return { kind: "unsupported", reason: `it holds ${count} keys; give the stack exactly one` };
    if (cipher === "none") {
        if (passphrase !== undefined) return { kind: "not-encrypted" };
    } else {
        if (passphrase === undefined) return { kind: "needs-passphrase" };
        const modes: Readonly<Record<string, string>> = { "aes256-ctr": "aes-256-ctr", "aes256-cbc": "aes-256-cbc" };
        if (kdf !== "bcrypt" || !(cipher in modes)) {
            return { kind: "unsupported", reason: `it is encrypted with ${cipher}/${kdf}, which the provider cannot decrypt; re-encrypt it with: ssh-keygen -p -Z aes256-ctr -f KEYFILE` };
        }
        const o = new WireReader(kdfOptions);
        const salt = o.bytes();
        const rounds = o.uint32();
        if (salt === undefined || rounds === undefined || secret.length % 16 !== 0) return truncated;
        const derived = new Uint8Array(48);
        const pass = Buffer.from(passphrase, "utf8");
        bcryptPbkdf.pbkdf(pass, pass.length, salt, salt.length, derived, derived.length, rounds);
        const decipher = crypto.createDecipheriv(modes[cipher], derived.subarray(0, 32), derived.subarray(32, 48));
        decipher.setAutoPadding(false);
        secret = Buffer.concat([decipher.update(secret), decipher.final()]);
    }
    const s = new WireReader(secret);
    const check1 = s.uint32();
    const check2 = s.uint32();
    if (check1 === undefined || check2 === undefined) return truncated;
    // The two check words are equal exactly when the decryption key was right.
    if (check1 !== check2) return cipher === "none" ? truncated : { kind: "wrong-passphrase" };
    const type = s.string();
    if (type === undefined) return truncated;
    const fields: Readonly<Record<string, number>> = {
        // public and private fields after the type, as OpenSSH writes them
        "ssh-ed25519": 2, "ssh-rsa": 6,
        "ecdsa-sha2-nistp256": 3, "ecdsa-sha2-nistp384": 3, "ecdsa-sha2-nistp521": 3,
    };
    if (!(type in fields)) return { kind: "unsupported", reason: `it is a ${type} key; use an ed25519, ecdsa or rsa key` };
    for (let i = 0; i < fields[type]; i++) if (s.bytes() === undefined) return truncated;
    if (s.string() === undefined) return truncated; // comment
    // Padding is 1, 2, 3, ... up to the cipher's block size; anything else is corruption.
    const pad = s.rest();
    if (pad.some((b, i) => b !== i + 1)) return truncated;
    return undefined;
}
