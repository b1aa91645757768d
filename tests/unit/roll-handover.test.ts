/**
 * Runs the host-side roll script's handover (the master's part of a rolling
 * restart, without the restart) locally against a fake redis-cli and systemctl.
 * The failover must not start before the local Sentinel knows every online
 * replica (one back at a new port is unknown to it for up to 10 s, and would be
 * left following the old master), and the handover ends only once that
 * Sentinel has finished the failover (a SENTINEL RESET would abort it).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { beforeEach, describe, expect, it } from "vitest";
import * as verbs from "../../src/host/verbs";
import { TEST_SECRETS, fakeCliPrelude, runScript, testContext, writeSecrets } from "./host-scripts";

let dir: string;
let log: string;

const entry = (ip: string, port: number, flags: string) =>
    ["name", `${ip}:${port}`, "ip", ip, "port", String(port), "runid", "x", "flags", flags].join("\n");

/**
 * The local Sentinel learns replica 10.0.0.3:6380 only on its `learnsAfter`-th
 * SENTINEL REPLICAS; it reports a failover in progress on its first
 * `failingOverFor` SENTINEL MASTER calls after SENTINEL FAILOVER. Replica
 * 10.0.0.3:6380 reports an offset behind the master's (90 of 100) to its first
 * `lagsFor` INFO calls; the master's own INFO always shows it caught up, as a
 * stale acknowledgement would.
 */
function fakeCluster(learnsAfter: number, failingOverFor: number, lagsFor = 0) {
    const before = [entry("10.0.0.2", 6380, "slave"), entry("10.0.0.3", 6379, "s_down,slave,disconnected")].join("\n");
    const after = [before, entry("10.0.0.3", 6380, "slave")].join("\n");
    fs.writeFileSync(path.join(dir, "replicas-before"), `${before}\n`);
    fs.writeFileSync(path.join(dir, "replicas-after"), `${after}\n`);
    const count = (name: string) => `n=$(cat ${JSON.stringify(path.join(dir, name))} 2>/dev/null || echo 0); n=$((n + 1)); echo $n > ${JSON.stringify(path.join(dir, name))}`;
    fs.writeFileSync(path.join(dir, "redis-cli"), `${fakeCliPrelude(log)}
d=${JSON.stringify(dir)}
case "$*" in
  "-h 127.0.0.1 -p 6380 INFO replication")
    printf 'role:master\\nmaster_replid:old\\nmaster_repl_offset:100\\nslave0:ip=10.0.0.2,port=6380,state=online,offset=100,lag=0\\nslave1:ip=10.0.0.3,port=6380,state=online,offset=100,lag=0\\n' ;;
  "-h 10.0.0.2 -p 6380 INFO replication")
    if [ -f "$d/failed-over" ]; then printf 'role:master\\nmaster_replid:new\\n'
    else printf 'role:slave\\nmaster_link_status:up\\nslave_repl_offset:100\\n'; fi ;;
  "-h 10.0.0.3 -p 6380 INFO replication")
    ${count("lagging-calls")}
    if [ "$n" -le ${lagsFor} ]; then printf 'role:slave\\nslave_repl_offset:90\\n'; else printf 'role:slave\\nslave_repl_offset:100\\n'; fi ;;
  *"SENTINEL REPLICAS"*)
    ${count("replicas-calls")}
    if [ "$n" -ge ${learnsAfter} ]; then cat "$d/replicas-after"; else cat "$d/replicas-before"; fi ;;
  *"SENTINEL SENTINELS"*) ;;
  *"SENTINEL FAILOVER"*) echo OK; touch "$d/failed-over" ;;
  *"get-master-addr-by-name"*) printf '10.0.0.2\\n6380\\n' ;;
  *"SENTINEL MASTER"*)
    flags=master
    if [ -f "$d/failed-over" ]; then
      ${count("master-calls")}
      [ "$n" -le ${failingOverFor} ] && flags=master,failover_in_progress
    fi
    printf 'name\\nmymaster\\nflags\\n%s\\n' "$flags" ;;
  *) echo OK ;;
esac
`, { mode: 0o755 });
}

beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "roll-handover-"));
    log = path.join(dir, "cli.log");
    writeSecrets(dir);
    // No unit runs here: the script falls back to the configured port.
    fs.mkdirSync(path.join(dir, "bin"));
    fs.writeFileSync(path.join(dir, "bin", "systemctl"), "#!/bin/sh\necho 0\n", { mode: 0o755 });
});

function handover(timeoutS: number, catchUpTimeout = 10) {
    const r = runScript(verbs.handover(testContext(dir, { redisPort: 6380, rollTimeout: timeoutS, catchUpTimeout, serviceUser: "redis" })), dir);
    return { ...r, calls: fs.readFileSync(log, "utf8").trim().split("\n") };
}
const indexOf = (calls: string[], text: string) => calls.findIndex((c) => c.includes(text));

describe("roll handover", () => {
    it("fails over only once the Sentinel knows every online replica, and returns once the failover is done", () => {
        fakeCluster(3, 2);
        const r = handover(10);
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(r.out).toMatch(/master moved to 10\.0\.0\.2; write pause \d+ ms/);
        expect(r.out).toContain("waiting until Sentinel 127.0.0.1:26379 knows the replica(s) 10.0.0.3:6380\n");
        const replicaQueries = r.calls.filter((c) => c.includes("SENTINEL REPLICAS")).length;
        const failover = indexOf(r.calls, "SENTINEL FAILOVER");
        const pause = indexOf(r.calls, "CLIENT PAUSE");
        // The third look at the Sentinel's replicas found 10.0.0.3:6380; writes paused after it.
        expect(replicaQueries).toBeGreaterThanOrEqual(3);
        expect(r.calls.slice(0, pause).filter((c) => c.includes("SENTINEL REPLICAS")).length).toBe(3);
        expect(pause).toBeLessThan(failover);
        expect(r.calls[failover]).toBe(`USER=default AUTH=${TEST_SECRETS.SENTINEL_PASSWORD} -h 127.0.0.1 -p 26379 SENTINEL FAILOVER mymaster`);
        expect(r.calls[pause]).toBe(`USER=deployer AUTH=${TEST_SECRETS.DEPLOYER_PASSWORD} -h 127.0.0.1 -p 6380 CLIENT PAUSE 10000 WRITE`);
        // Data nodes (port 6380) as the deployer user, Sentinels (26379) as their default user: every call.
        for (const c of r.calls) {
            expect(c, c).toMatch(c.includes(" -p 26379 ")
                ? /^USER=default AUTH=s-pass-0123456789abc -h /
                : /^USER=deployer AUTH=d-pass-0123456789abc -h \S+ -p 6380 /);
        }
        // Writes resume (UNPAUSE) before the wait for the end of the failover, which
        // took three SENTINEL MASTER calls (two in progress, then done).
        const unpause = indexOf(r.calls, "CLIENT UNPAUSE");
        const masterCalls = r.calls.map((c, i) => [c, i] as const).filter(([c]) => c.includes("SENTINEL MASTER")).map(([, i]) => i);
        expect(masterCalls.length).toBe(3);
        expect(masterCalls.every((i) => i > unpause)).toBe(true);
    });

    it("holds writes until every replica has itself applied the master's last write, then fails over", () => {
        fakeCluster(1, 0, 3);
        const r = handover(10);
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        const pause = indexOf(r.calls, "CLIENT PAUSE");
        const failover = indexOf(r.calls, "SENTINEL FAILOVER");
        // Asked of the replica itself (the master's INFO already shows it caught up):
        // three answers of 90, then 100, all while writes are held, then the failover.
        const asked = r.calls.map((c, i) => [c, i] as const).filter(([c]) => c.endsWith("-h 10.0.0.3 -p 6380 INFO replication")).map(([, i]) => i);
        expect(asked.length).toBe(4);
        expect(asked.every((i) => i > pause && i < failover)).toBe(true);
        expect(indexOf(r.calls, "CLIENT UNPAUSE")).toBeGreaterThan(failover);
    });

    it("resumes writes and does not fail over when a replica does not catch up in time", () => {
        fakeCluster(1, 0, 1_000_000);
        const r = handover(10, 1);
        expect(r.code).toBe(1);
        expect(r.err).toContain("roll: replicas did not catch up with the master within 1s; not failing over");
        expect(indexOf(r.calls, "CLIENT UNPAUSE")).toBeGreaterThan(indexOf(r.calls, "CLIENT PAUSE"));
        expect(indexOf(r.calls, "SENTINEL FAILOVER")).toBe(-1);
    }, 20_000);

    it("refuses to fail over, and never pauses writes, when the Sentinel does not learn a replica", () => {
        fakeCluster(1_000_000, 0);
        const r = handover(2);
        expect(r.code).toBe(1);
        expect(r.err).toContain("roll: Sentinel 127.0.0.1:26379 does not know the replica(s) 10.0.0.3:6380 after 2s; not failing over");
        expect(indexOf(r.calls, "CLIENT PAUSE")).toBe(-1);
        expect(indexOf(r.calls, "SENTINEL FAILOVER")).toBe(-1);
    }, 20_000);

    it("fails, naming the Sentinel, when the failover does not finish", () => {
        fakeCluster(1, 1_000_000);
        const r = handover(2);
        expect(r.code).toBe(1);
        expect(r.out).toMatch(/master moved to 10\.0\.0\.2/);
        expect(r.err).toContain("roll: Sentinel 127.0.0.1:26379 is still failing over after 2s");
    }, 20_000);
});
