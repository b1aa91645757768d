/**
 * An ed25519 key pair in OpenSSH's own formats, so the generated login key is one
 * the user can also hand to `ssh -i`: the private key as `ssh-keygen` writes an
 * unencrypted one ("openssh-key-v1", PROTOCOL.key), the public key as one
 * authorized_keys line.
 *
 * The dynamic resource in ssh-key-pair.ts runs this code in Pulumi's dynamic
 * provider host, which gets it by serializing the functions: `crypto` is
 * required where it is used, because a module-level import would be serialized
 * as node's crypto internals (which fails) instead of as a require.
 */
import type * as Crypto from "crypto";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeCrypto = (): typeof Crypto => require("crypto");

export interface SshKeyPairText {
    /** "-----BEGIN OPENSSH PRIVATE KEY-----" ... */
    readonly privateKey: string;
    /** "ssh-ed25519 AAAA... comment" */
    readonly publicKey: string;
}

const KEY_TYPE = "ssh-ed25519";

/** A uint32-length-prefixed string, as in the SSH wire format (RFC 4251). */
function sshString(b: Buffer | string): Buffer {
    const body = typeof b === "string" ? Buffer.from(b, "utf8") : b;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    return Buffer.concat([len, body]);
}

function uint32(n: number): Buffer {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0);
    return b;
}

/**
 * Formats the key with seed `seed` (32 bytes). `checkInt` is the random check
 * word OpenSSH puts twice in the private section. Pure.
 */
export function formatEd25519KeyPair(seed: Buffer, checkInt: number, comment: string): SshKeyPairText {
    if (seed.length !== 32) throw new Error(`ed25519 seed must be 32 bytes, got ${seed.length}`);
    // PKCS#8 DER of an ed25519 private key is a fixed 16-byte prefix and the seed.
    const der = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
    const crypto = nodeCrypto();
    const key = crypto.createPrivateKey({ key: der, format: "der", type: "pkcs8" });
    const pub = Buffer.from(crypto.createPublicKey(key).export({ format: "jwk" }).x as string, "base64url");
    const pubBlob = Buffer.concat([sshString(KEY_TYPE), sshString(pub)]);

    let priv = Buffer.concat([
        uint32(checkInt), uint32(checkInt),
        sshString(KEY_TYPE), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(comment),
    ]);
    // Padded to the cipher block size ("none": 8) with 1, 2, 3, ...
    const pad = (8 - (priv.length % 8)) % 8;
    priv = Buffer.concat([priv, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
    const blob = Buffer.concat([
        Buffer.from("openssh-key-v1\0", "latin1"),
        sshString("none"), sshString("none"), sshString(""), uint32(1),
        sshString(pubBlob), sshString(priv),
    ]);
    const body = blob.toString("base64").replace(/.{1,70}/g, "$&\n");
    return {
        privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${body}-----END OPENSSH PRIVATE KEY-----\n`,
        publicKey: `${KEY_TYPE} ${pubBlob.toString("base64")}${comment ? ` ${comment}` : ""}`,
    };
}

/** A new random key pair. */
export function generateEd25519KeyPair(comment: string): SshKeyPairText {
    const crypto = nodeCrypto();
    return formatEd25519KeyPair(crypto.randomBytes(32), crypto.randomBytes(4).readUInt32BE(), comment);
}
