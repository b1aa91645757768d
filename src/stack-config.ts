/**
 * Reads this stack's configuration from the Pulumi engine and hands it to the
 * pure parser; the only module that touches `pulumi.Config` and the local files.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { ClusterConfig, ConfigError, FileProbe, PROJECT, parseClusterConfig } from "./config";

// isConfigSecret is exported by the SDK at run time but marked internal in its typings.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(k: string): boolean };

export const localFiles: FileProbe = {
    sha256(path: string): string | undefined {
        if (!fs.existsSync(path) || !fs.statSync(path).isFile()) return undefined;
        return crypto.createHash("sha256").update(fs.readFileSync(path)).digest("hex");
    },
};

export interface StackConfig {
    readonly cluster: ClusterConfig;
    readonly sshPrivateKey: pulumi.Output<string>;
    readonly redisPassword: pulumi.Output<string>;
    readonly sentinelPassword: pulumi.Output<string>;
}

/** Validates everything first; on bad input throws a RunError that lists each bad key. */
export function readStackConfig(projectDir: string, files: FileProbe = localFiles): StackConfig {
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
        cluster = parseClusterConfig({ values, secretKeys, projectDir, files });
    } catch (e) {
        // RunError: the engine prints the message without a stack trace.
        if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
        throw e;
    }
    const cfg = new pulumi.Config(PROJECT);
    const redisPassword = cfg.requireSecret("redisPassword");
    return {
        cluster,
        sshPrivateKey: cfg.requireSecret("sshPrivateKey"),
        redisPassword,
        // Pulumi.yaml declares "" as its default: unset means "same as redisPassword".
        sentinelPassword: values["sentinelPassword"] ? cfg.requireSecret("sentinelPassword") : redisPassword,
    };
}
