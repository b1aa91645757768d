/**
 * Reads this stack's configuration from the Pulumi engine and hands it to the
 * pure parser; the only module that touches `pulumi.Config` and the local files.
 */
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { CLUSTER_PASSWORD_KEYS, ClusterConfig, ConfigError, FileProbe, PROJECT, RawConfigInput, hostKeyWarnings, parseClusterConfig } from "./config";

// isConfigSecret is exported by the SDK at run time but marked internal in its typings.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(k: string): boolean };

export const localFiles: FileProbe = {
    sha256(path: string): string | undefined {
        if (!fs.existsSync(path) || !fs.statSync(path).isFile()) return undefined;
        return crypto.createHash("sha256").update(fs.readFileSync(path)).digest("hex");
    },
};

/** Connects to the socket and prints why that failed; run in a child so the check stays synchronous. */
const AGENT_PROBE = `
const s = require("net").connect(process.argv[1]);
const fail = (why) => { process.stdout.write(why); process.exit(1); };
s.on("connect", () => { s.destroy(); process.exit(0); });
s.on("error", (e) => fail(e.code ? \`connect \${e.code}\` : String(e.message)));
setTimeout(() => fail("no answer within 3 s"), 3000);
`;

/**
 * The SSH agent the command provider would dial. The provider is started by the
 * pulumi CLI with the CLI's own environment, as is this program (through the
 * language host), so this process's SSH_AUTH_SOCK is the one the provider sees.
 * The provider only opens a connection to it before each step (net.Dial), so
 * "answers" here means the same: the socket accepts a connection.
 */
export function sshAgentFromEnvironment(env: NodeJS.ProcessEnv = process.env): RawConfigInput["sshAgent"] {
    const socket = env.SSH_AUTH_SOCK;
    if (!socket) return undefined;
    const r = spawnSync(process.execPath, ["-e", AGENT_PROBE, socket], { encoding: "utf8", timeout: 10_000 });
    if (r.status === 0) return { socket };
    return { socket, problem: r.stdout || r.error?.message || `probe exited with ${r.status ?? r.signal}` };
}

export interface StackConfig {
    readonly cluster: ClusterConfig;
    /** Undefined on a local Docker stack, which generates its own key. */
    readonly sshPrivateKey?: pulumi.Output<string>;
    /** Passphrase of sshPrivateKey; undefined for a key without one. */
    readonly sshPrivateKeyPassword?: pulumi.Output<string>;
    readonly redisPassword: pulumi.Output<string>;
    readonly sentinelPassword: pulumi.Output<string>;
    /** The cluster's own users' passwords the stack sets (the others are generated). */
    readonly clusterPasswords: Partial<Record<typeof CLUSTER_PASSWORD_KEYS[number], pulumi.Output<string>>>;
    /** Set when the stack has a monitor user. */
    readonly monitorPassword?: pulumi.Output<string>;
    /** aclUsers' passwords by user name. */
    readonly userPasswords: Readonly<Record<string, pulumi.Output<string>>>;
    /** Each host's TLS private key by host name, secrets; empty when TLS is off. */
    readonly tlsKeys: Readonly<Record<string, pulumi.Output<string>>>;
}

/** Validates everything first; on bad input throws a RunError that lists each bad key. */
export function readStackConfig(
    projectDir: string,
    files: FileProbe = localFiles,
    sshAgent: RawConfigInput["sshAgent"] = sshAgentFromEnvironment(),
): StackConfig {
    const prefix = `${PROJECT}:`;
    const values: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [k, v] of Object.entries(pulumi.runtime.allConfig())) {
        if (!k.startsWith(prefix)) continue;
        const short = k.slice(prefix.length);
        values[short] = v;
        if (runtimeConfig.isConfigSecret(k)) secretKeys.push(short);
    }
    let cluster: ClusterConfig;
    try {
        cluster = parseClusterConfig({ values, secretKeys, projectDir, files, sshAgent });
    } catch (e) {
        // RunError: the engine prints the message without a stack trace.
        if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
        throw e;
    }
    // Every preview and up says it, so an opt-out never goes unnoticed.
    for (const warning of hostKeyWarnings(cluster)) pulumi.log.warn(warning);
    const cfg = new pulumi.Config(PROJECT);
    const redisPassword = cfg.requireSecret("redisPassword");
    const set = (k: string) => values[k] !== undefined && values[k] !== "";
    const clusterPasswords: StackConfig["clusterPasswords"] = {};
    for (const k of CLUSTER_PASSWORD_KEYS) if (set(k)) clusterPasswords[k] = cfg.requireSecret(k);
    // One secret object; each user's password is taken from it, still a secret.
    const allUserPasswords = cluster.acl.users.length > 0 ? cfg.requireSecretObject<Record<string, string>>("aclUserPasswords") : undefined;
    const userPasswords = Object.fromEntries(cluster.acl.users.map((u) => [u.name, allUserPasswords!.apply((p) => p[u.name])]));
    // Like aclUserPasswords: one secret object, each host's key taken from it, still a secret.
    const allTlsKeys = cluster.tls ? cfg.requireSecretObject<Record<string, string>>("tlsKeys") : undefined;
    const tlsKeys = Object.fromEntries(cluster.tls ? cluster.hosts.map((h) => [h.name, allTlsKeys!.apply((k) => k[h.name])]) : []);
    return {
        cluster,
        ...(cluster.localDocker ? {} : { sshPrivateKey: cfg.requireSecret("sshPrivateKey") }),
        ...(values["sshPrivateKeyPassword"] ? { sshPrivateKeyPassword: cfg.requireSecret("sshPrivateKeyPassword") } : {}),
        redisPassword,
        // Pulumi.yaml declares "" as its default: unset means "same as redisPassword".
        sentinelPassword: values["sentinelPassword"] ? cfg.requireSecret("sentinelPassword") : redisPassword,
        clusterPasswords,
        ...(cluster.acl.monitor ? { monitorPassword: cfg.requireSecret("monitorPassword") } : {}),
        userPasswords,
        tlsKeys,
    };
}
