import { FileProbe, RawConfigInput } from "../../src/config";

export const HOSTS = [
    { name: "redis-1", address: "10.0.0.1", role: "master" },
    { name: "redis-2", address: "10.0.0.2", role: "replica" },
    { name: "redis-3", address: "10.0.0.3", role: "replica" },
];

export const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAtest\n-----END OPENSSH PRIVATE KEY-----\n";
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
    return { values, secretKeys: ["sshPrivateKey", "redisPassword"], projectDir: "/project", files };
}
