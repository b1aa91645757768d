/**
 * Operator's drill: `npm run drill -- --stack NAME [--mode failover|crash]`.
 *
 * Against a deployed stack, while a Sentinel-aware client writes:
 *   failover  asks the Sentinels for a planned failover (SENTINEL FAILOVER);
 *   crash     kills the master's redis-server with SIGKILL over SSH and keeps it
 *             down until the Sentinels promote a replica, then starts it again.
 * Prints the time until the client wrote to the new master, the write pause and
 * the acknowledged writes lost.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Redis from "ioredis";
import { DrillTarget, runDrill } from "../src/drill";

function arg(name: string, dflt?: string): string {
    const i = process.argv.indexOf(`--${name}`);
    const v = i >= 0 ? process.argv[i + 1] : dflt;
    if (v === undefined) {
        console.error("usage: npm run drill -- --stack NAME [--mode failover|crash]");
        process.exit(2);
    }
    return v;
}

const stack = arg("stack");
const mode = arg("mode", "failover");
if (mode !== "failover" && mode !== "crash") throw new Error(`--mode must be failover or crash, got ${mode}`);
const pulumi = (...a: string[]) => execFileSync("pulumi", [...a, "--stack", stack, "--non-interactive"], { encoding: "utf8" }).trim();
const configValue = (key: string) => { try { return pulumi("config", "get", key); } catch { return ""; } };

const outputs = JSON.parse(pulumi("stack", "output", "--json"));
const password = configValue("redisPassword");
const target: DrillTarget = {
    sentinels: (outputs.sentinels as { address: string; port: number }[]).map((s) => ({ host: s.address, port: s.port })),
    masterName: outputs.masterName,
    password,
    sentinelPassword: configValue("sentinelPassword") || password,
};

interface Host { name: string; address: string; announceAddress?: string; sshPort?: number; sshUser?: string; hostKey?: string }

/** Runs a command as root on the host whose address is `ip`, with the stack's own SSH key. */
function onHostWithAddress(ip: string, command: string): void {
    const hosts = JSON.parse(pulumi("config", "get", "hosts", "--json")) as Host[];
    const host = hosts.find((h) => (h.announceAddress ?? h.address) === ip);
    if (!host) throw new Error(`no host of stack ${stack} has address ${ip}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drill-"));
    try {
        const key = path.join(dir, "key");
        fs.writeFileSync(key, configValue("sshPrivateKey").replace(/\n?$/, "\n"), { mode: 0o600 });
        const known = path.join(dir, "known_hosts");
        fs.writeFileSync(known, host.hostKey ? `${host.address} ${host.hostKey}\n` : "");
        const user = host.sshUser ?? "root";
        execFileSync("ssh", [
            "-i", key, "-p", String(host.sshPort ?? 22), "-o", "BatchMode=yes", "-o", `UserKnownHostsFile=${known}`,
            "-o", `StrictHostKeyChecking=${host.hostKey ? "yes" : "accept-new"}`, `${user}@${host.address}`,
            user === "root" ? command : `sudo -n sh -c '${command.replace(/'/g, `'"'"'`)}'`,
        ], { stdio: "inherit" });
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

async function main() {
    let crashed = "";
    const report = await runDrill(target, async (master) => {
        const ip = master.slice(0, master.lastIndexOf(":"));
        if (mode === "failover") {
            const s = new Redis({ host: target.sentinels[0].host, port: target.sentinels[0].port, password: target.sentinelPassword });
            try { await s.call("SENTINEL", "FAILOVER", target.masterName); } finally { s.disconnect(); }
        } else {
            // SIGKILL, then stop so systemd's Restart=always does not bring it straight back.
            onHostWithAddress(ip, "systemctl kill --signal=KILL redis-server; systemctl stop redis-server");
            crashed = ip;
        }
    });
    if (crashed) onHostWithAddress(crashed, "systemctl start redis-server");
    console.log(`drill (${mode}) on stack ${stack}`);
    console.log(`  master before:                 ${report.masterBefore}`);
    console.log(`  master after:                  ${report.masterAfter}`);
    console.log(`  client wrote to new master in: ${report.secondsToNewMaster?.toFixed(2) ?? "-"} s`);
    console.log(`  longest write pause:           ${report.writePauseSeconds.toFixed(2)} s`);
    console.log(`  writes acknowledged:           ${report.writesAcknowledged}`);
    console.log(`  acknowledged writes lost:      ${report.writesLost}`);
    if (crashed) console.log(`  ${crashed} was started again; Sentinel makes it a replica of the new master`);
}

main().catch((e) => {
    console.error(`drill failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
});
