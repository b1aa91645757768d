/**
 * The partition and load drills: the cut a host makes of itself (isolate.sh,
 * heal.sh) run locally against fake nft, iptables, systemd-run and systemctl;
 * the writer and the load (drill-writer.sh, drill-load.sh) against a fake
 * redis-cli; and the reports computed from what they print.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { beforeEach, describe, expect, it } from "vitest";
import * as verbs from "../../src/host/verbs";
import { parseClusterConfig } from "../../src/config";
import { hostOfMaster } from "../../src/host-drill";
import { parseLoadOutput } from "../../src/load-drill";
import { WriterLine, oldMasterWindow, parseWriterLine, runPartitionDrill, writerReport } from "../../src/partition-drill";
import { raw } from "./fixtures";
import { TEST_SECRETS, fakeCliPrelude, runScript, testContext, writeSecrets } from "./host-scripts";

let dir: string;
let bin: string;
let calls: string;

/** A fake command that logs "NAME ARGS" (and, for nft -f -, its stdin) to `calls`. */
function fake(name: string, body = "") {
    fs.writeFileSync(path.join(bin, name), `#!/bin/sh
echo "${name} $*" >> ${JSON.stringify(calls)}
if [ "${name}" = nft ] && [ "$1" = -f ]; then cat >> ${JSON.stringify(calls)}; fi
${body}
`, { mode: 0o755 });
}

beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "partition-"));
    bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    calls = path.join(dir, "calls");
    fs.writeFileSync(calls, "");
});

/** The context with the heal script in the test directory. */
const ctx = () => testContext(dir, { partitionHealScript: path.join(dir, "deploy", "drill-heal.sh") });
const healScript = () => path.join(dir, "deploy", "drill-heal.sh");
const log = () => fs.readFileSync(calls, "utf8");

describe("isolate: the host cuts itself off from its peers", () => {
    it("drops packets to and from each peer with nftables, after starting the timer that removes the rules", () => {
        fake("nft"); fake("systemd-run"); fake("systemctl", "exit 3");
        const r = runScript(verbs.isolate(ctx(), { peers: ["10.0.0.2", "10.0.0.3", "fd00::3"], partitionSeconds: 20 }), dir);
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(r.out).toMatch(/^isolated-at \d{13} nft\n$/);
        const l = log();
        // The timer comes first: rules never exist without something that removes them.
        expect(l.indexOf("systemd-run")).toBeLessThan(l.indexOf("nft -f -"));
        expect(l).toContain(`systemd-run --quiet --unit=redis-drill-heal --on-active=20s --timer-property=AccuracySec=100ms /bin/sh ${healScript()}`);
        expect(l).toContain("ip saddr { 10.0.0.2, 10.0.0.3 } drop");
        expect(l).toContain("ip daddr { 10.0.0.2, 10.0.0.3 } drop");
        expect(l).toContain("ip6 saddr { fd00::3 } drop");
        expect(l).toContain("ip6 daddr { fd00::3 } drop");
        expect(l).toContain("table inet redis_drill_partition {");
        expect(fs.readFileSync(healScript(), "utf8")).toBe(`nft delete table inet redis_drill_partition 2>/dev/null || true\nrm -f '${healScript()}'\n`);
    });

    it("uses iptables where there is no nft, in a chain of its own", () => {
        fake("iptables", `case "$*" in *" -L "*) exit 0 ;; esac`); fake("ip6tables", `case "$*" in *" -L "*) exit 1 ;; esac`);
        fake("systemd-run"); fake("systemctl", "exit 3");
        // Hide a real nft from the script: PATH has only the fakes and the basics it needs.
        const r = runScript(verbs.isolate(ctx(), { peers: ["10.0.0.2"], partitionSeconds: 5 }), dir, undefined, { onlyFakes: true });
        expect(r.err).toBe("");
        expect(r.out).toMatch(/^isolated-at \d+ iptables\n$/);
        expect(log()).toContain("iptables -w -A redis_drill_partition -s 10.0.0.2 -j DROP");
        expect(log()).toContain("iptables -w -A redis_drill_partition -d 10.0.0.2 -j DROP");
        expect(log()).toContain("iptables -w -I INPUT 1 -j redis_drill_partition");
        expect(log()).not.toContain("ip6tables -w -I");
        expect(fs.readFileSync(healScript(), "utf8")).toContain("iptables -w -X redis_drill_partition");
    });

    it("refuses without nft or iptables, and changes nothing", () => {
        fake("systemd-run"); fake("systemctl", "exit 3");
        const r = runScript(verbs.isolate(ctx(), { peers: ["10.0.0.2"], partitionSeconds: 5 }), dir, undefined, { onlyFakes: true });
        expect(r.code).toBe(2);
        expect(r.err).toBe("isolate: this host has neither nft nor iptables; install nftables to run the partition drill\n");
        expect(log()).not.toContain("systemd-run");
    });

    it("refuses while an earlier cut is still in place", () => {
        fake("nft"); fake("systemd-run"); fake("systemctl", "exit 3");
        fs.mkdirSync(path.dirname(healScript()), { recursive: true });
        fs.writeFileSync(healScript(), "true\n");
        const r = runScript(verbs.isolate(ctx(), { peers: ["10.0.0.2"], partitionSeconds: 5 }), dir);
        expect(r.code).toBe(3);
        expect(r.err).toContain("isolate: a partition drill's rules are already on this host");
        expect(log()).not.toContain("nft");
    });

    it("removes its heal script again when the timer cannot be started, and makes no rule", () => {
        fake("nft"); fake("systemd-run", "exit 1"); fake("systemctl", "exit 3");
        const r = runScript(verbs.isolate(ctx(), { peers: ["10.0.0.2"], partitionSeconds: 5 }), dir);
        expect(r.code).toBe(2);
        expect(fs.existsSync(healScript())).toBe(false);
        expect(log()).not.toContain("nft -f");
    });

    it("heal stops the timer and runs the heal script; with nothing in place it is a no-op", () => {
        fake("nft"); fake("systemctl");
        fs.mkdirSync(path.dirname(healScript()), { recursive: true });
        fs.writeFileSync(healScript(), `echo healed-by-script >> ${JSON.stringify(calls)}\nrm -f ${JSON.stringify(healScript())}\n`);
        let r = runScript(verbs.heal(ctx()), dir);
        expect(r.code).toBe(0);
        expect(r.out).toMatch(/^healed-at \d+\n$/);
        expect(log()).toContain("systemctl stop redis-drill-heal.timer");
        expect(log()).toContain("healed-by-script");
        fs.writeFileSync(calls, "");
        r = runScript(verbs.heal(ctx()), dir);
        expect(r.code).toBe(0);
        expect(log()).not.toContain("healed-by-script");
    });
});

describe("drill-writer: an application beside the cluster, through its own Sentinel", () => {
    it("acknowledges writes to the master the local Sentinel names, asks again after a failure, and stops after MAX_SECONDS", () => {
        writeSecrets(dir);
        const cliLog = path.join(dir, "cli.log");
        const count = path.join(dir, "sets");
        fs.writeFileSync(path.join(dir, "redis-cli"), `${fakeCliPrelude(cliLog)}
case "$*" in
  *get-master-addr-by-name*) printf '10.0.0.1\\n6379\\n' ;;
  *" SET "*)
    n=$(cat ${JSON.stringify(count)} 2>/dev/null || echo 0); n=$((n + 1)); echo $n > ${JSON.stringify(count)}
    if [ "$n" = 3 ]; then echo "NOREPLICAS Not enough good replicas to write."; else echo OK; fi ;;
esac
`, { mode: 0o755 });
        const r = runScript(verbs.drillWriter(testContext(dir), { writerUser: "default", writerSecret: "REDIS_PASSWORD", keyPrefix: "drill:p:h1", keyTtl: 3600, maxSeconds: 2 }), dir);
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        const lines = r.out.trim().split("\n").map(parseWriterLine);
        // At least the refused third write and one after it (a loaded machine forks slowly: 2 s leaves room).
        expect(lines.length).toBeGreaterThanOrEqual(4);
        expect(lines[0]).toMatchObject({ kind: "ack", n: 0, detail: "10.0.0.1" });
        expect(lines[2]).toMatchObject({ kind: "err", n: 2, detail: "NOREPLICAS Not enough good replicas to write." });
        const cli = fs.readFileSync(cliLog, "utf8").trim().split("\n");
        // It writes as the writer, with the writer's password, and asks the Sentinel as the deployer does.
        expect(cli[1]).toBe(`USER=default AUTH=${TEST_SECRETS.REDIS_PASSWORD} -h 10.0.0.1 -p 6379 SET drill:p:h1:0 0 EX 3600`);
        expect(cli[0]).toBe(`USER=default AUTH=${TEST_SECRETS.SENTINEL_PASSWORD} -h 127.0.0.1 -p 26379 SENTINEL get-master-addr-by-name mymaster`);
        // After the refused write (the third), the Sentinel is asked again before the next write.
        const afterErr = cli.findIndex((l) => l.endsWith("SET drill:p:h1:2 2 EX 3600"));
        expect(cli[afterErr + 1]).toContain("get-master-addr-by-name");
    });
});

describe("drill-load: full-speed writes and the replicas' lag", () => {
    it("pipes SETs with a TTL to the master and reports replies, errors and the largest lag per replica", () => {
        writeSecrets(dir);
        const piped = path.join(dir, "piped");
        fs.writeFileSync(path.join(dir, "redis-cli"), `${fakeCliPrelude(path.join(dir, "cli.log"))}
case "$*" in
  *get-master-addr-by-name*) printf '10.0.0.1\\n6379\\n' ;;
  *"INFO replication"*) printf 'role:master\\r\\nslave0:ip=10.0.0.2,port=6379,state=online,offset=5,lag=0\\r\\nslave1:ip=10.0.0.3,port=6379,state=online,offset=5,lag=1\\r\\n' ;;
  *--pipe*) cat > ${JSON.stringify(piped)}; n=$(grep -c '^SET' ${JSON.stringify(piped)})
    printf 'NOREPLICAS Not enough good replicas to write.\\r\\nNOREPLICAS Not enough good replicas to write.\\r\\nAll data transferred. Waiting for the last reply...\\r\\nLast reply received from server.\\r\\nerrors: 2, replies: %s\\r\\n' "$n" ;;
esac
`, { mode: 0o755 });
        const r = runScript(verbs.drillLoad(testContext(dir), {
            writerUser: "default", writerSecret: "REDIS_PASSWORD", keyPrefix: "drill:l", loadKeys: 7, loadKeyTtl: 60, valueBytes: 5, loadSeconds: 1,
        }), dir);
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        const report = parseLoadOutput(r.out.trim().split("\n"));
        expect(report.master).toBe("10.0.0.1:6379");
        expect(report.writes % 10000).toBe(9998);
        expect(report.errors).toEqual({ "NOREPLICAS Not enough good replicas to write.": 2 });
        expect(report.noReplicas).toBe(2);
        expect(report.maxLagSeconds).toEqual({ "10.0.0.2:6379": 0, "10.0.0.3:6379": 1 });
        // RESP of SET key value EX ttl, keys cycling through loadKeys.
        const text = fs.readFileSync(piped, "utf8");
        expect(text.startsWith("*5\r\n$3\r\nSET\r\n$9\r\ndrill:l:0\r\n$5\r\nxxxxx\r\n$2\r\nEX\r\n$2\r\n60\r\n")).toBe(true);
        expect(text).toContain("drill:l:6\r\n");
        expect(text).not.toContain("drill:l:7\r\n");
    });

    it("fails when redis-cli --pipe printed no summary", () => {
        expect(() => parseLoadOutput(["error 1 ERR x"])).toThrow("the load drill printed no summary: error 1 ERR x");
    });
});

describe("partition report", () => {
    const ack = (n: number, at: number, detail = "10.0.0.1"): WriterLine => ({ kind: "ack", n, at, detail });
    const err = (n: number, at: number, detail: string): WriterLine => ({ kind: "err", n, at, detail });

    it("parses the writer's lines and ignores anything else", () => {
        expect(parseWriterLine("ack 12 1700000000123 10.0.0.1")).toEqual(ack(12, 1700000000123));
        expect(parseWriterLine("err 3 1700000000123 NOREPLICAS Not enough good replicas to write.")).toEqual(err(3, 1700000000123, "NOREPLICAS Not enough good replicas to write."));
        expect(parseWriterLine("Warning: something")).toBeUndefined();
    });

    it("counts what the old master acknowledged while cut off, from the writer beside it", () => {
        const lines = [ack(0, 900), ack(1, 1000), ack(2, 1500), ack(3, 2900), err(4, 3000, "NOREPLICAS x"), ack(5, 9000, "10.0.0.2"), ack(6, 9500)];
        expect(oldMasterWindow(lines, 1000, 8000, "10.0.0.1")).toEqual({ seconds: 1.9, count: 2 });
        expect(oldMasterWindow(lines, 5000, 8000, "10.0.0.1")).toEqual({ seconds: 0, count: 0 });
        // A cut too short for a failover: the master goes on acknowledging after the heal, which is not the window.
        expect(oldMasterWindow(lines, 1000, 2000, "10.0.0.1")).toEqual({ seconds: 0.5, count: 1 });
    });

    it("reports a writer's losses, errors by kind, longest pause, rate before the cut and peak rate", () => {
        const lines = [ack(0, 0), ack(1, 500), ack(2, 1000), ack(3, 1100), ack(4, 1200), ack(5, 1300), ack(6, 2000), err(7, 2500, "NOREPLICAS a"), err(8, 2600, "timed out after 1 s"), ack(9, 6000, "10.0.0.2")];
        const r = writerReport("host1", true, lines, 2000, new Set([5, 6, 7]));
        expect(r).toEqual({
            host: "host1", besideOldMaster: true, acknowledged: 8, lost: 2,
            ratePerSecond: 7 / 2, peakRatePerSecond: 5, longestPauseSeconds: 4, errors: { NOREPLICAS: 1, "timed out after 1 s": 1 },
        });
    });
});

describe("the drills find the master's host", () => {
    const hosts = parseClusterConfig(raw()).hosts;
    it("by the address the Sentinels name, or fail naming it", () => {
        expect(hostOfMaster(hosts, `${hosts[1].announceAddress}:6379`)).toBe(hosts[1]);
        expect(() => hostOfMaster(hosts, "192.0.2.99:6379")).toThrow("the Sentinels name 192.0.2.99:6379 as master, which is no host of this stack");
    });
});

describe("the partition drill's hosts", () => {
    it("refuses a cluster of fewer than 3 hosts before asking anything of it (the other side would have no majority)", async () => {
        const hosts = parseClusterConfig(raw()).hosts.slice(0, 2);
        const start = () => { throw new Error("no host may be reached"); };
        await expect(runPartitionDrill({
            // No Sentinel listens here: the refusal comes first.
            target: { sentinels: [{ host: "127.0.0.1", port: 1 }], masterName: "mymaster", password: "p", sentinelPassword: "p" },
            hosts, ctx: testContext(dir), seconds: 5, writer: { user: "default", secret: "REDIS_PASSWORD" }, start, log: () => undefined,
        })).rejects.toThrow(/^a partition drill needs 3 or more hosts \(a majority on the other side\); this cluster has 2$/);
    });
});
