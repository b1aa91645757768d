/**
 * The passwords of the cluster's own users the stack does not set are derived,
 * not stored: HMAC-SHA256 of a label naming the project, the stack and the
 * password's purpose, keyed with the stack's SSH private key (without leading
 * or trailing whitespace), in hex: 64 characters. Whoever holds that key is
 * root on every host and can read the passwords there anyway, so deriving them
 * gives nobody anything new; they differ per stack and per purpose, and they
 * change (a normal, zero-downtime rotation) when the SSH key does. Derived in
 * the program because a resource that generated and kept them (a dynamic
 * resource) costs every preview and up a second Node.js provider process:
 * about 0.9 s measured.
 */
import * as crypto from "crypto";

/** The derived password for one purpose (e.g. "replicationPassword") of one stack. */
export function derivedPassword(sshPrivateKey: string, project: string, stack: string, purpose: string): string {
    // Trimmed: `pulumi config set` drops the file's last newline when the key comes on stdin, a paste may not.
    return crypto.createHmac("sha256", sshPrivateKey.trim()).update(`redis-sentinel-pulumi/${project}/${stack}/${purpose}`).digest("hex");
}
