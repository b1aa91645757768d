/**
 * Operator's drill: `npm run drill -- --stack NAME [--mode handover|failover|crash] [--user NAME]`.
 *
 * Against a deployed stack, while a Sentinel-aware client writes:
 *   handover  the planned switchover `pulumi up` makes before it restarts a
 *             master: writes paused, replicas caught up, SENTINEL FAILOVER,
 *             the old master a replica before writes resume (the default);
 *   failover  a plain SENTINEL FAILOVER, as Sentinel does it on its own;
 *   crash     kills the master's redis-server with SIGKILL over SSH and keeps it
 *             down until the Sentinels promote a replica, then starts it again.
 * The writer logs in as the default user (redisPassword), or with --user as one
 * of the stack's aclUsers (its rules must allow SET, GET, MGET and DEL on
 * `drill:*` keys). Prints the time until the client wrote to the new master, the longest write
 * pause and the acknowledged writes lost. The stack's configuration is read with
 * the project's own parser, so paths and ports are the ones `pulumi up` used.
 */
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Redis from "ioredis";
import { ClusterConfig, ConfigError, HostSpec, PROJECT, parseClusterConfig } from "../src/config";
import { DrillTarget, runDrill, writerLogin } from "../src/drill";
import { REDIS_UNIT, hostContext } from "../src/host/layout";
import { asRoot, commandLine, shq } from "../src/host/script";
import * as verbs from "../src/host/verbs";

const MODES = ["handover", "failover", "crash"] as const;
type Mode = typeof MODES[number];

function arg(name: string, dflt?: string): string {
    const i = process.argv.indexOf(`--${name}`);
    const v = i >= 0 ? process.argv[i + 1] : dflt;
    if (v === undefined) {
        console.error(`usage: npm run drill -- --stack NAME [--mode ${MODES.join("|")}] [--user NAME]`);
        process.exit(2);
    }
    return v;
}

const stack = arg("stack");
const mode = arg("mode", "handover") as Mode;
const user = arg("user", "");
if (!MODES.includes(mode)) {
    console.error(`--mode must be one of ${MODES.join(", ")}, got ${mode}`);
    process.exit(2);
}
const projectDir = path.resolve(__dirname, "..");
const pulumi = (...a: string[]) => execFileSync("pulumi", [...a, "--stack", stack, "--non-interactive"], { cwd: projectDir, encoding: "utf8" }).trim();

/** The stack's configuration as `pulumi up` sees it (the binaries are not needed here). */
function stackConfig(): { cluster: ClusterConfig; secrets: Record<string, string> } {
    const raw = JSON.parse(pulumi("config", "--json", "--show-secrets")) as Record<string, { value?: string; objectValue?: unknown; secret?: boolean }>;
    const values: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [k, v] of Object.entries(raw)) {
        if (!k.startsWith(`${PROJECT}:`)) continue;
        const short = k.slice(PROJECT.length + 1);
        values[short] = v.objectValue !== undefined ? JSON.stringify(v.objectValue) : String(v.value ?? "");
        if (v.secret) secretKeys.push(short);
    }
    const cluster = parseClusterConfig({ values, secretKeys, projectDir, files: { sha256: () => "0".repeat(64) } });
    return { cluster, secrets: values };
}

/**
 * Runs a command line (already wrapped for sudo where needed) on a host with the
 * stack's SSH key. Asynchronous: the drill's writer shares this process, and a
 * blocked event loop would count the whole SSH session as a write pause.
 */
async function onHost(host: HostSpec, login: { privateKey: string; passphrase?: string }, commandLine: string): Promise<void> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drill-"));
    try {
        const key = path.join(dir, "key");
        fs.writeFileSync(key, login.privateKey.replace(/\n?$/, "\n"), { mode: 0o600 });
        const known = path.join(dir, "known_hosts");
        fs.writeFileSync(known, host.hostKey ? `${host.address} ${host.hostKey}\n` : "");
        // An encrypted key's passphrase reaches ssh through SSH_ASKPASS, read from the
        // child's environment: never a file or a command line. BatchMode would refuse to ask.
        let prompt: string[] = ["-o", "BatchMode=yes"];
        let env: NodeJS.ProcessEnv = process.env;
        if (login.passphrase) {
            const askpass = path.join(dir, "askpass");
            fs.writeFileSync(askpass, "#!/bin/sh\nprintf '%s\\n' \"$DRILL_SSH_KEY_PASSPHRASE\"\n", { mode: 0o700 });
            prompt = ["-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no", "-o", "IdentitiesOnly=yes"];
            env = { ...process.env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force", DRILL_SSH_KEY_PASSPHRASE: login.passphrase };
        }
        const child = spawn("ssh", [
            "-i", key, "-p", String(host.sshPort), ...prompt, "-o", `UserKnownHostsFile=${known}`,
            "-o", `StrictHostKeyChecking=${host.hostKey ? "yes" : "accept-new"}`, `${host.sshUser}@${host.address}`, commandLine,
        ], { stdio: ["ignore", "inherit", "inherit"], env });
        await new Promise<void>((resolve, reject) => {
            child.on("error", reject);
            child.on("close", (code) => code === 0 ? resolve() : reject(new Error(`ssh ${host.name} (${host.address}) exited with ${code}`)));
        });
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

async function main() {
    let parsed;
    try {
        parsed = stackConfig();
    } catch (e) {
        if (e instanceof ConfigError) throw new Error(`stack ${stack}: ${e.message}`);
        throw e;
    }
    const { secrets } = parsed;
    let cfg = parsed.cluster;
    let login = { privateKey: secrets.sshPrivateKey, ...(secrets.sshPrivateKeyPassword ? { passphrase: secrets.sshPrivateKeyPassword } : {}) };
    if (cfg.localDocker) {
        // A local Docker stack made its own login key and pinned the host keys it read: both are stack outputs.
        const out = JSON.parse(pulumi("stack", "output", "--json", "--show-secrets")) as { dockerSshPrivateKey?: string; dockerHostKeys?: Record<string, string> };
        if (!out.dockerSshPrivateKey || !out.dockerHostKeys) throw new Error(`stack ${stack} has no dockerSshPrivateKey/dockerHostKeys outputs: run pulumi up first`);
        const pins = out.dockerHostKeys;
        login = { privateKey: out.dockerSshPrivateKey };
        cfg = { ...cfg, hosts: cfg.hosts.map((h) => ({ ...h, hostKey: pins[h.name] })) };
    }
    const target: DrillTarget = {
        sentinels: cfg.hosts.map((h) => ({ host: h.announceAddress, port: cfg.sentinelPort })),
        masterName: cfg.masterName,
        ...writerLogin(cfg, secrets, user, stack),
        sentinelPassword: secrets.sentinelPassword || secrets.redisPassword,
    };
    const hostAt = (master: string): HostSpec => {
        const ip = master.slice(0, master.lastIndexOf(":"));
        const host = cfg.hosts.find((h) => h.announceAddress === ip);
        if (!host) throw new Error(`the Sentinels name ${master} as master, which is no host of stack ${stack}`);
        return host;
    };
    let crashed: HostSpec | undefined;
    const report = await runDrill(target, async (master) => {
        const host = hostAt(master);
        if (mode === "failover") {
            const s = new Redis({ host: target.sentinels[0].host, port: target.sentinels[0].port, password: target.sentinelPassword });
            try { await s.call("SENTINEL", "FAILOVER", target.masterName); } finally { s.disconnect(); }
        } else if (mode === "handover") {
            await onHost(host, login, commandLine(host.sshUser, verbs.handover(hostContext(cfg))));
        } else {
            // SIGKILL, then stop so systemd's Restart=always does not bring it straight back.
            await onHost(host, login, asRoot(host.sshUser, `systemctl kill --signal=KILL ${shq(REDIS_UNIT)}; systemctl stop ${shq(REDIS_UNIT)}`));
            crashed = host;
        }
    });
    if (crashed) await onHost(crashed, login, asRoot(crashed.sshUser, `systemctl start ${shq(REDIS_UNIT)}`));
    console.log(`drill (${mode}) on stack ${stack}`);
    console.log(`  master before:                 ${report.masterBefore}`);
    console.log(`  master after:                  ${report.masterAfter}`);
    console.log(`  client wrote to new master in: ${report.secondsToNewMaster?.toFixed(2) ?? "-"} s`);
    console.log(`  longest write pause:           ${report.writePauseSeconds.toFixed(2)} s`);
    console.log(`  writes acknowledged:           ${report.writesAcknowledged}`);
    console.log(`  acknowledged writes lost:      ${report.writesLost}`);
    if (crashed) console.log(`  ${crashed.name} was started again; Sentinel makes it a replica of the new master`);
}

main().catch((e) => {
    console.error(`drill failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
});
