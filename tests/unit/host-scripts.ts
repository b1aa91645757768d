/**
 * Test-only: runs host scripts locally, with the facts of a host pointed at a
 * temporary directory (its secrets file, pending marks, configs) and a fake
 * redis-cli there.
 */
import { spawnSync } from "child_process";
import * as os from "os";
import * as path from "path";
import { parseClusterConfig } from "../../src/config";
import { HostContext, hostContext } from "../../src/host/layout";
import { HostScript } from "../../src/host/script";
import { raw } from "./fixtures";

/** The production context of the fixtures' stack, with its paths in `dir` and `overrides`. */
export function testContext(dir: string, overrides: Partial<HostContext> = {}): HostContext {
    return {
        ...hostContext(parseClusterConfig(raw())),
        redisCli: path.join(dir, "redis-cli"),
        secretsFile: path.join(dir, "secrets.env"),
        pendingDir: path.join(dir, "pending"),
        configDir: dir,
        redisConf: path.join(dir, "redis.conf"),
        sentinelConf: path.join(dir, "sentinel.conf"),
        serviceUser: os.userInfo().username,
        ...overrides,
    };
}

/** Runs the script as the host would (`sh -c`), with `dir/bin` first on PATH for fake commands. */
export function runScript(script: HostScript, dir: string, input?: string) {
    const r = spawnSync("sh", ["-c", script.text, script.verb], {
        input, encoding: "utf8", env: { ...process.env, PATH: `${path.join(dir, "bin")}:${process.env.PATH}` },
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
}
