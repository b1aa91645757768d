/**
 * Operator's drill: `npm run drill -- --stack NAME [--mode handover|failover|crash|partition] [--seconds N] [--user NAME] [--json]`.
 *
 * Against a deployed stack, while a Sentinel-aware client writes:
 *   handover  the planned switchover `pulumi up` makes before it restarts a
 *             master: writes paused, replicas caught up, SENTINEL FAILOVER,
 *             the old master a replica before writes resume (the default);
 *   failover  a plain SENTINEL FAILOVER, as Sentinel does it on its own;
 *   crash     kills the master's redis-server with SIGKILL over SSH and keeps it
 *             down until the Sentinels promote a replica, then starts it again;
 *   partition cuts the master's host off from the other hosts for --seconds
 *             (default 20) with firewall rules on that host that remove
 *             themselves, while writers on that host and on another one write
 *             through their own Sentinels (src/partition-drill.ts);
 *   load      writes to the master as fast as it takes them for --seconds
 *             (default 20) and reports refused writes (NOREPLICAS) and the
 *             replicas' lag (src/load-drill.ts).
 * The writer logs in as the default user (redisPassword), or with --user as one
 * of the stack's aclUsers (its rules must allow SET, GET, MGET and DEL on
 * `drill:*` keys). Prints the time until the client wrote to the new master, the longest write
 * pause and the acknowledged writes lost. The stack's configuration is read with
 * the project's own parser, so paths and ports are the ones `pulumi up` used.
 */
import { execFileSync } from "child_process";
import * as path from "path";
import Redis from "ioredis";
import { ClusterConfig, ConfigError, HostSpec, PROJECT, parseClusterConfig } from "../src/config";
import { DrillTarget, drillTls, runDrill, tlsOptions, writerLogin } from "../src/drill";
import { SshLogin, runOnHost, startOnHost } from "../src/drill-ssh";
import { REDIS_UNIT, hostContext } from "../src/host/layout";
import { HostScript, asRoot, commandLine, shq } from "../src/host/script";
import { userSecret } from "../src/host/secrets";
import * as verbs from "../src/host/verbs";
import { hostOfMaster } from "../src/host-drill";
import { LoadReport, runLoadDrill } from "../src/load-drill";
import { PartitionReport, runPartitionDrill } from "../src/partition-drill";

const MODES = ["handover", "failover", "crash", "partition", "load"] as const;
type Mode = typeof MODES[number];

function arg(name: string, dflt?: string): string {
    const i = process.argv.indexOf(`--${name}`);
    const v = i >= 0 ? process.argv[i + 1] : dflt;
    if (v === undefined) {
        console.error(`usage: npm run drill -- --stack NAME [--mode ${MODES.join("|")}] [--seconds N] [--user NAME] [--json]`);
        process.exit(2);
    }
    return v;
}

const stack = arg("stack");
const mode = arg("mode", "handover") as Mode;
const user = arg("user", "");
const seconds = Number(arg("seconds", "20"));
const json = process.argv.includes("--json");
if (!MODES.includes(mode)) {
    console.error(`--mode must be one of ${MODES.join(", ")}, got ${mode}`);
    process.exit(2);
}
if (!Number.isInteger(seconds) || seconds < 1 || seconds > 3600) {
    console.error(`--seconds must be a whole number from 1 to 3600, got ${arg("seconds", "20")}`);
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

/** Runs a command line on a host with the stack's SSH key, printing its output. */
async function onHost(host: HostSpec, login: SshLogin, line: string): Promise<void> {
    for (const l of await runOnHost(host, login, line)) console.log(l);
}

function printLoad(r: LoadReport): void {
    console.log(`drill (load) on stack ${stack}`);
    console.log(`  master:                 ${r.master}`);
    console.log(`  writes acknowledged:    ${r.writes} in ${r.seconds.toFixed(1)} s (${Math.round(r.writesPerSecond)}/s, one connection, pipelined)`);
    console.log(`  refused (NOREPLICAS):   ${r.noReplicas}`);
    console.log(`  other errors:           ${Object.entries(r.errors).filter(([m]) => !m.startsWith("NOREPLICAS")).map(([m, n]) => `${m} x${n}`).join(", ") || "none"}`);
    console.log(`  replicas' largest lag:  ${Object.entries(r.maxLagSeconds).map(([a, l]) => `${a} ${l} s`).join(", ") || "-"}`);
}

function printPartition(r: PartitionReport): void {
    const w = (x: PartitionReport["writers"][number]) =>
        `  writer on ${x.host} (${x.besideOldMaster ? "beside the old master" : "elsewhere"}): ${x.acknowledged} acknowledged (${x.ratePerSecond.toFixed(0)}/s before the cut), ` +
        `${x.lost} lost, longest pause ${x.longestPauseSeconds.toFixed(2)} s, failed: ${Object.entries(x.errors).map(([k, n]) => `${k} x${n}`).join(", ") || "none"}`;
    console.log(`drill (partition) on stack ${stack}`);
    console.log(`  master before:                        ${r.masterBefore} (${r.isolatedHost}, cut off for ${r.partitionSeconds} s with ${r.tool})`);
    console.log(`  master after:                         ${r.masterAfter}`);
    console.log(`  the other side named a new master:    ${r.secondsToNewMaster === null ? "no (not within the cut)" : `after ${r.secondsToNewMaster.toFixed(1)} s`}`);
    console.log(`  old master acknowledged writes for:   ${r.oldMasterAcknowledgedForSeconds.toFixed(2)} s after the cut (${r.acknowledgedAfterCutByOldMaster} writes)`);
    console.log(`  one master, every node replicating:   ${r.secondsToHealed.toFixed(1)} s after the cut ended`);
    for (const x of r.writers) console.log(w(x));
    console.log(`  writes acknowledged:                  ${r.writesAcknowledged}`);
    console.log(`  acknowledged writes lost:             ${r.writesLost}`);
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
    let login: SshLogin = { privateKey: secrets.sshPrivateKey, ...(secrets.sshPrivateKeyPassword ? { passphrase: secrets.sshPrivateKeyPassword } : {}) };
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
        // A TLS stack: the client speaks TLS to the Sentinels and the master.
        ...(cfg.tls ? { tls: drillTls(cfg, secrets) } : {}),
    };
    const hostAt = (master: string): HostSpec => hostOfMaster(cfg.hosts, master);
    const hostWriter = user ? { user, secret: userSecret(user) } : { user: "default", secret: "REDIS_PASSWORD" };
    const start = (host: HostSpec, script: HostScript, onLine: (l: string) => void) => startOnHost(host, login, commandLine(host.sshUser, script), onLine);
    if (mode === "load") {
        const report = await runLoadDrill({ target, hosts: cfg.hosts, ctx: hostContext(cfg), writer: hostWriter, seconds, start });
        if (json) console.log(JSON.stringify(report)); else printLoad(report);
        return;
    }
    if (mode === "partition") {
        const ctx = hostContext(cfg);
        const report = await runPartitionDrill({
            target, hosts: cfg.hosts, ctx, seconds,
            writer: hostWriter, start,
            log: (l) => console.error(`drill: ${l}`),
        });
        if (json) console.log(JSON.stringify(report)); else printPartition(report);
        return;
    }
    let crashed: HostSpec | undefined;
    const report = await runDrill(target, async (master) => {
        const host = hostAt(master);
        if (mode === "failover") {
            const s = new Redis({
                host: target.sentinels[0].host, port: target.sentinels[0].port, password: target.sentinelPassword,
                ...(target.tls ? { tls: tlsOptions(target.tls) } : {}),
            });
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
