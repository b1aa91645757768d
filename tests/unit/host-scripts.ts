/**
 * Test-only: runs host scripts locally, with the facts of a host pointed at a
 * temporary directory (its secrets file, pending marks, configs) and a fake
 * redis-cli there.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ClusterConfig, parseClusterConfig } from "../../src/config";
import { HostContext, hostContext, secretNames } from "../../src/host/layout";
import { HostScript } from "../../src/host/script";
import { raw } from "./fixtures";

/** The production context of `cfg` (default: the fixtures' stack), with its paths in `dir` and `overrides`. */
export function testContext(dir: string, overrides: Partial<HostContext> = {}, cfg: ClusterConfig = parseClusterConfig(raw())): HostContext {
    return {
        ...hostContext(cfg),
        redisCli: path.join(dir, "redis-cli"),
        secretsFile: path.join(dir, "secrets.env"),
        pendingDir: path.join(dir, "pending"),
        tlsSwitchMarker: path.join(dir, "tls-switching"),
        configDir: dir,
        redisConf: path.join(dir, "redis.conf"),
        sentinelConf: path.join(dir, "sentinel.conf"),
        serviceUser: os.userInfo().username,
        ...overrides,
    };
}

/** Commands a script may find with `onlyFakes` (besides the fakes): the basic tools of any host. */
const BASIC_TOOLS = ["sh", "cat", "date", "dirname", "install", "rm", "mkdir", "grep", "sed", "awk", "sort", "head", "tail", "tr", "sleep", "timeout", "mktemp", "touch", "uniq"];

/**
 * Runs the script as the host would (`sh -c`), with `dir/bin` first on PATH for
 * fake commands. With `onlyFakes`, PATH holds the fakes and BASIC_TOOLS only, so a
 * command this machine happens to have (nft, iptables) cannot stand in for a fake.
 */
export function runScript(script: HostScript, dir: string, input?: string, opts: { onlyFakes?: boolean } = {}) {
    let PATH = `${path.join(dir, "bin")}:${process.env.PATH}`;
    if (opts.onlyFakes) {
        const basic = path.join(dir, "basic-bin");
        fs.mkdirSync(basic, { recursive: true });
        for (const tool of BASIC_TOOLS) {
            const found = (process.env.PATH ?? "").split(":").map((d) => path.join(d, tool)).find((f) => fs.existsSync(f));
            if (!found) throw new Error(`runScript: no ${tool} on this machine`);
            if (!fs.existsSync(path.join(basic, tool))) fs.symlinkSync(found, path.join(basic, tool));
        }
        PATH = `${path.join(dir, "bin")}:${basic}`;
    }
    const r = spawnSync("sh", ["-c", script.text, script.verb], { input, encoding: "utf8", env: { ...process.env, PATH } });
    return { code: r.status, out: r.stdout, err: r.stderr };
}

/**
 * A value for every secret the tests' hosts hold (each unlike the others, so a
 * test can tell which credential was used). An application user's is
 * `USER_<NAME>_PASSWORD` here.
 */
export const TEST_SECRETS: Readonly<Record<string, string>> = {
    REDIS_PASSWORD: "r-pass-0123456789abc",
    SENTINEL_PASSWORD: "s-pass-0123456789abc",
    DEPLOYER_PASSWORD: "d-pass-0123456789abc",
    REPLICATION_PASSWORD: "repl-pass-0123456789",
    SENTINEL_AUTH_PASSWORD: "sa-pass-0123456789ab",
    SENTINEL_PEER_PASSWORD: "sp-pass-0123456789ab",
    MONITOR_PASSWORD: "m-pass-0123456789abc",
};

/**
 * The text of a secrets file holding every secret of `cfg` (default: the
 * fixtures' stack), as put-secrets stores it: TEST_SECRETS, with `values`
 * overriding or adding (app users), then `extra` lines (PREVIOUS_<NAME>=...,
 * NEW_SECRETS=...). Throws for a secret that has no test value.
 */
export function secretsText(values: Readonly<Record<string, string>> = {}, extra: readonly string[] = [], cfg: ClusterConfig = parseClusterConfig(raw())): string {
    const all = { ...TEST_SECRETS, ...values };
    return secretNames(cfg).map((n) => {
        if (all[n] === undefined) throw new Error(`secretsText: no test value for ${n}`);
        return `${n}=${all[n]}\n`;
    }).join("") + extra.map((l) => `${l}\n`).join("");
}

/** Writes secretsText(...) to `dir/secrets.env` (where testContext has it); returns the file. */
export function writeSecrets(dir: string, values: Readonly<Record<string, string>> = {}, extra: readonly string[] = [], cfg?: ClusterConfig): string {
    const file = path.join(dir, "secrets.env");
    fs.writeFileSync(file, secretsText(values, extra, cfg), { mode: 0o600 });
    return file;
}

/**
 * The start of a fake redis-cli script. redis.sh calls redis-cli as
 * `-h HOST -p PORT --user USER ARGS...` with the password in REDISCLI_AUTH:
 * this takes `--user USER` out (into $user), appends
 * `USER=<user> AUTH=<password> -h HOST -p PORT ARGS...` to `log`, and leaves
 * "$*" as `-h HOST -p PORT ARGS...` for the `case` that follows.
 */
export function fakeCliPrelude(log: string): string {
    return `#!/bin/sh
user=
n=$#
while [ "$n" -gt 0 ]; do
  if [ "$1" = --user ]; then user=$2; shift 2; n=$((n - 2)); continue; fi
  set -- "$@" "$1"; shift; n=$((n - 1))
done
echo "USER=$user AUTH=$REDISCLI_AUTH $*" >> ${JSON.stringify(log)}
`;
}
