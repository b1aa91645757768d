/**
 * The start guard of a node without persistence (sh/bin/start-guard.sh), run
 * locally against a fake redis-cli that plays the Sentinels: the node never
 * starts as a master while the cluster holds data elsewhere. It follows the
 * master the Sentinels name (waiting for them to fail it over while they still
 * name it), starts as master only at its very first start, and otherwise refuses,
 * saying why, so that systemd tries again.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { beforeEach, describe, expect, it } from "vitest";
import { HostContext } from "../../src/host/layout";
import * as verbs from "../../src/host/verbs";
import { TEST_SECRETS, fakeCliPrelude, runScript, testContext, writeSecrets } from "./host-scripts";

let dir: string;
let log: string;
let ctx: HostContext;
const SENTINELS = ["10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"];
const CONF = "port 6379\nappendonly no\nsave \"\"\n";

/**
 * Each Sentinel (by host) answers get-master-addr-by-name with the first line of
 * `answers[host]` on its first `switchAfter` calls and the second afterwards;
 * "down" answers nothing (as redis-cli prints for a refused connection: only stderr).
 */
function fakeSentinels(answers: Record<string, [string, string]>, switchAfter = 0) {
    const cases = Object.entries(answers).map(([host, [first, then]]) => {
        const say = (a: string) => (a === "down" ? "echo 'Could not connect to Redis' >&2; exit 1" : `printf '%s\\n' ${a.split(" ").join(" ")}`);
        return `  "-h ${host} -p 26379 SENTINEL get-master-addr-by-name mymaster")
    n=$(cat "$d/calls-${host}" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$d/calls-${host}"
    if [ "$n" -le ${switchAfter} ]; then ${say(first)}; else ${say(then)}; fi ;;`;
    }).join("\n");
    fs.writeFileSync(path.join(dir, "redis-cli"), `${fakeCliPrelude(log)}
d=${JSON.stringify(dir)}
case "$*" in
${cases}
  *) echo "unexpected: $*" >&2; exit 1 ;;
esac
`, { mode: 0o755 });
}

beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "start-guard-"));
    log = path.join(dir, "cli.log");
    fs.writeFileSync(log, "");
    writeSecrets(dir);
    fs.writeFileSync(path.join(dir, "redis.conf"), CONF, { mode: 0o640 });
    ctx = testContext(dir, {
        startGuardMarker: path.join(dir, "started"), startGuardOverride: path.join(dir, "allow-empty-master"),
        startGuardTimeout: 2, startGuardPollSeconds: 0.05, peerProbeTimeout: 1,
    });
});

const guard = () => {
    const r = runScript(verbs.startGuard(ctx, { self: "10.0.0.1", sentinels: SENTINELS }), dir);
    return { ...r, conf: fs.readFileSync(path.join(dir, "redis.conf"), "utf8"), calls: fs.readFileSync(log, "utf8").trim().split("\n").filter(Boolean) };
};
const marked = () => fs.existsSync(path.join(dir, "started"));

describe("start guard", () => {
    it("lets a replica start at once, asking nobody (the rolling restart hands a master over and writes replicaof first)", () => {
        fs.writeFileSync(path.join(dir, "redis.conf"), `${CONF}replicaof 10.0.0.2 6379\n`);
        fakeSentinels({});
        const r = guard();
        expect(r.code).toBe(0);
        expect(r.out).toBe("start-guard: starts as a replica of 10.0.0.2:6379; nothing to hold\n");
        expect(r.calls).toEqual([]);
        expect(marked()).toBe(true);
    });

    it("follows the master the Sentinels name, logging in as their default user, writing replicaof as Redis would", () => {
        fs.writeFileSync(path.join(dir, "started"), "");
        fakeSentinels({ "10.0.0.1": ["down", "down"], "10.0.0.2": ["10.0.0.2 6379", "10.0.0.2 6379"], "10.0.0.3": ["10.0.0.2 6379", "10.0.0.2 6379"] });
        const r = guard();
        expect(r.code).toBe(0);
        expect(r.out).toMatch(/^start-guard: the Sentinels name 10\.0\.0\.2:6379 as master: starting as its replica \(this node keeps no data of its own\); held the start for \d+ ms\n$/);
        expect(r.conf).toBe(`${CONF}replicaof 10.0.0.2 6379\n`);
        expect((fs.statSync(path.join(dir, "redis.conf")).mode & 0o777).toString(8)).toBe("640");
        expect(r.calls[1]).toBe(`USER=default AUTH=${TEST_SECRETS.SENTINEL_PASSWORD} -h 10.0.0.2 -p 26379 SENTINEL get-master-addr-by-name mymaster`);
    });

    it("holds the start while the Sentinels name this node, until they have failed it over", () => {
        fs.writeFileSync(path.join(dir, "started"), "");
        const self: [string, string] = ["10.0.0.1 6379", "10.0.0.3 6379"];
        fakeSentinels({ "10.0.0.1": self, "10.0.0.2": self, "10.0.0.3": self }, 3);
        const r = guard();
        expect(r.code).toBe(0);
        const lines = r.out.trim().split("\n");
        expect(lines).toHaveLength(2);
        expect(lines[0]).toBe("start-guard: holding the start: this node has no data (persistence off) and the Sentinels still name it as master; waiting up to 2s for them to fail it over");
        expect(lines[1]).toContain("the Sentinels name 10.0.0.3:6379 as master");
        expect(r.conf).toBe(`${CONF}replicaof 10.0.0.3 6379\n`);
        expect(r.calls.length).toBe(4 * 3);
    });

    it("follows the master most Sentinels name when they disagree", () => {
        fs.writeFileSync(path.join(dir, "started"), "");
        fakeSentinels({ "10.0.0.1": ["10.0.0.2 6379", "10.0.0.2 6379"], "10.0.0.2": ["10.0.0.3 6379", "10.0.0.3 6379"], "10.0.0.3": ["10.0.0.3 6379", "10.0.0.3 6379"] });
        expect(guard().conf).toBe(`${CONF}replicaof 10.0.0.3 6379\n`);
    });

    it("starts as master at the node's first start, when no Sentinel answers yet (a fresh install starts data nodes first)", () => {
        fakeSentinels({ "10.0.0.1": ["down", "down"], "10.0.0.2": ["down", "down"], "10.0.0.3": ["down", "down"] });
        const r = guard();
        expect(r.code).toBe(0);
        expect(r.out).toBe("start-guard: first start of this node (no Sentinel answers yet): starting as master\n");
        expect(r.conf).toBe(CONF);
        expect(marked()).toBe(true);
    });

    it("refuses, after its wait, a node that ran before when no Sentinel answers, saying how to override", () => {
        fs.writeFileSync(path.join(dir, "started"), "");
        fakeSentinels({ "10.0.0.1": ["down", "down"], "10.0.0.2": ["down", "down"], "10.0.0.3": ["down", "down"] });
        const t0 = Date.now();
        const r = guard();
        expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
        expect(r.code).toBe(1);
        expect(r.out).toBe(`start-guard: holding the start: this node has no data (persistence off), has run before, and no Sentinel (${SENTINELS.join(" ")}) answers; waiting up to 2s for one\n`);
        expect(r.err).toMatch(new RegExp(`^start-guard: refusing to start as an empty master after \\d+ ms: no Sentinel answered \\(${SENTINELS.join(" ").replace(/\./g, "\\.")}\\)\\. ` +
            `systemd tries again; to start it empty anyway: touch ${path.join(dir, "allow-empty-master").replace(/[.\/-]/g, "\\$&")}\\n$`));
        expect(r.conf).toBe(CONF);
    });

    it("refuses when the Sentinels go on naming this node (no failover), even without the mark of an earlier start", () => {
        const self: [string, string] = ["10.0.0.1 6379", "10.0.0.1 6379"];
        fakeSentinels({ "10.0.0.1": self, "10.0.0.2": self, "10.0.0.3": self });
        // No mark: the Sentinels naming it say it ran before.
        const r = guard();
        expect(r.code).toBe(1);
        expect(r.err).toContain("the Sentinels still name this node as master (no failover: is a replica with data up and promotable?)");
        expect(r.conf).toBe(CONF);
    });

    it("starts empty as master once when the operator asks (the override file is removed)", () => {
        fs.writeFileSync(path.join(dir, "started"), "");
        fs.writeFileSync(path.join(dir, "allow-empty-master"), "");
        fakeSentinels({});
        const r = guard();
        expect(r.code).toBe(0);
        expect(r.out).toContain("starting EMPTY as master, as the operator asked");
        expect(fs.existsSync(path.join(dir, "allow-empty-master"))).toBe(false);
        expect(r.calls).toEqual([]);
    });
});

describe("install-guard", () => {
    /** A fake systemctl: logs its calls; redis-server is active when `active`. */
    const systemctl = (active: boolean) => fs.writeFileSync(path.join(dir, "bin", "systemctl"),
        `#!/bin/sh\necho "$*" >> ${JSON.stringify(path.join(dir, "systemctl.log"))}\ncase "$*" in *is-active*) exit ${active ? 0 : 3} ;; esac\n`, { mode: 0o755 });
    const install = (text: string) => {
        const c = { ...ctx, startGuardScript: path.join(dir, "guard", "start-guard") };
        return runScript(verbs.installGuard(c, { dropIn: path.join(dir, "unit.d", "start-guard.conf"), dropInText: text }), dir, "#!/bin/sh\necho guard\n");
    };
    const calls = () => fs.readFileSync(path.join(dir, "systemctl.log"), "utf8").trim().split("\n");

    it("installs the guard root-only and the drop-in, reloading systemd only when the drop-in changes, restarting nothing", () => {
        fs.mkdirSync(path.join(dir, "bin"));
        systemctl(false);
        expect(install("[Service]\nExecStartPre=+/x\n").code).toBe(0);
        expect(fs.readFileSync(path.join(dir, "guard", "start-guard"), "utf8")).toBe("#!/bin/sh\necho guard\n");
        expect((fs.statSync(path.join(dir, "guard", "start-guard")).mode & 0o777).toString(8)).toBe("700");
        expect(fs.readFileSync(path.join(dir, "unit.d", "start-guard.conf"), "utf8")).toBe("[Service]\nExecStartPre=+/x\n");
        expect(calls()).toEqual(["daemon-reload", "is-active --quiet redis-server"]);
        // A node that is not running has not started (a fresh install): no mark.
        expect(marked()).toBe(false);
        const again = install("[Service]\nExecStartPre=+/x\n");
        expect(again.out).toContain("start-guard.conf: up to date");
        expect(calls().filter((c) => c === "daemon-reload")).toHaveLength(1);
        expect(fs.readdirSync(path.join(dir, "unit.d"))).toEqual(["start-guard.conf"]);
    });

    it("marks a node that already runs as started: an empty restart of it is never taken for a first start", () => {
        fs.mkdirSync(path.join(dir, "bin"));
        systemctl(true);
        expect(install("[Service]\n").code).toBe(0);
        expect(marked()).toBe(true);
    });
});
