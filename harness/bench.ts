/**
 * Test-only measurement (npm run bench, through harness/bench.sh): on fresh
 * local test hosts, a cold deploy of 3 and of 7 hosts, an `up` and a `preview`
 * with nothing changed, and the planned handover and crash drills, each over
 * several runs (min/median/max), with the verification's own wait in each deploy.
 * Then one more deploy of each size with the engine's log on says where the time
 * goes: engine start, program load, the steps (each step's wall time from the
 * engine's log, the critical path chained through the dependencies in the
 * state), and what follows the last step.
 * Then the local Docker stack on the run's dockerd: a cold up (image, network,
 * volumes, containers, cluster), a no-op up and a destroy (--skip-docker skips it,
 * --docker-only runs nothing else).
 * Asserts nothing: it prints what it measured.
 */
import * as fs from "fs";
import { ROOT, Stack, TestHosts, freshHosts, hostEntries, run } from "../tests/e2e/lib";

const arg = (name: string) => process.argv.includes(`--${name}`);
const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg >= 0 ? Number(process.argv[runsArg + 1]) : 3;
const version = process.env.REDIS_TEST_VERSION ?? "";
if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error("REDIS_TEST_VERSION is not set: run through harness/bench.sh");
const PASSWORD = "bench-Redis-password-0123456789";
const stack = new Stack("bench");

interface Sample { readonly what: string; readonly seconds: number }
const samples: Sample[] = [];
const record = (what: string, seconds: number) => {
    samples.push({ what, seconds });
    console.error(`bench: ${what}: ${seconds.toFixed(2)} s`);
};

/** A stack of the project on the first n hosts, with the production defaults (no faster test timings). */
function deployStack(th: TestHosts, n: number): void {
    stack.init();
    stack.setObject("hosts", hostEntries(th, n));
    stack.set("sshPrivateKey", fs.readFileSync(th.key, "utf8"), true);
    stack.set("redisPassword", PASSWORD, true);
    stack.set("redisVersion", version);
}

/** When a step ran, in ms since the epoch, from the engine's own log. */
interface StepSpan { readonly start: number; readonly end: number }

/**
 * Where the time of an up went, from the engine's log (`--logtostderr -v=4`: one
 * JSON line per event, with microsecond timestamps; the display rounds a step of
 * a second or more down to whole seconds): when the CLI started logging, when the
 * program registered its stack (node and @pulumi/pulumi loaded) and its cluster
 * component (the program loaded and the configuration read), and each step's
 * start ("applying step create on URN") and end ("step create on URN retired").
 */
function engineTimeline(stderr: string) {
    const events = stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { time: string; msg: string });
    const at = (e: { time: string }) => Date.parse(e.time);
    const first = (re: RegExp) => { const e = events.find((x) => re.test(x.msg)); return e ? at(e) : NaN; };
    const spans = new Map<string, StepSpan>();
    const started = new Map<string, number>();
    for (const e of events) {
        const applying = /applying step (?:create|update|replace|delete) on (\S+) \(preview false\)/.exec(e.msg);
        if (applying) started.set(applying[1], at(e));
        const retired = /step (?:create|update|replace|delete) on (\S+) retired/.exec(e.msg);
        if (retired && started.has(retired[1])) spans.set(retired[1].split("::").pop()!, { start: started.get(retired[1])!, end: at(e) });
    }
    const commands = [...spans].filter(([name]) => !/^(redis|redis-sentinel-|host\d+(-sentinel)?$)/.test(name) || /^redis-(verify|ssh-check-)/.test(name));
    return {
        cliStart: events.length ? at(events[0]) : NaN,
        stackRegistered: first(/applying step \w+ on \S+::pulumi:pulumi:Stack::/),
        clusterRegistered: first(/applying step \w+ on \S+RedisSentinelCluster::redis /),
        firstStep: Math.min(...commands.map(([, s]) => s.start)),
        lastStep: Math.max(...commands.map(([, s]) => s.end)),
        spans,
    };
}

/** The longest chain of steps through the state's dependencies, weighted by each step's time (ms). */
function criticalPath(spans: ReadonlyMap<string, StepSpan>): { total: number; chain: string[] } {
    const resources = (JSON.parse(stack.pulumi(["stack", "export"]).stdout).deployment.resources ?? []) as
        { urn: string; type: string; dependencies?: string[] }[];
    const name = (urn: string) => urn.split("::").pop()!;
    // Only the steps themselves: the stack and the components are timed as the sum of their children.
    const steps = resources.filter((r) => r.type.startsWith("command:"));
    const deps = new Map(steps.map((r) => [name(r.urn), (r.dependencies ?? []).map(name)]));
    const memo = new Map<string, { total: number; chain: string[] }>();
    const longest = (n: string): { total: number; chain: string[] } => {
        const known = memo.get(n);
        if (known) return known;
        let best = { total: 0, chain: [] as string[] };
        for (const d of deps.get(n) ?? []) {
            const p = longest(d);
            if (p.total > best.total) best = p;
        }
        const span = spans.get(n);
        const own = span ? span.end - span.start : 0;
        const result = { total: best.total + own, chain: span ? [...best.chain, `${n} ${(own / 1000).toFixed(2)} s`] : best.chain };
        memo.set(n, result);
        return result;
    };
    return [...deps.keys()].map(longest).reduce((a, b) => (b.total > a.total ? b : a), { total: 0, chain: [] });
}

/** "verify: the cluster was as asked after N ms; users checked in M ms" (verify.sh), in seconds. */
function verificationWait(upOutput: string): { settle: number; users: number } {
    const m = /verify: the cluster was as asked after (\d+) ms; users checked in (\d+) ms/.exec(upOutput);
    return { settle: m ? Number(m[1]) / 1000 : NaN, users: m ? Number(m[2]) / 1000 : NaN };
}

function coldDeploy(n: number): void {
    const th = freshHosts(n);
    if (th.hosts.length < n) throw new Error(`${n} test hosts wanted, ${th.hosts.length} booted`);
    deployStack(th, n);
    const up = stack.up();
    record(`cold deploy, ${n} hosts`, up.seconds);
    const verify = verificationWait(up.stdout);
    record(`  verification: cluster settled, ${n} hosts`, verify.settle);
    record(`  verification: users checked, ${n} hosts`, verify.users);
}

/**
 * One more cold deploy, with the engine's log on (not among the timed runs: the
 * log costs a little), and where its time went.
 */
function profileColdDeploy(n: number): void {
    const th = freshHosts(n);
    deployStack(th, n);
    const spawned = Date.now();
    const up = stack.up(["--logtostderr", "-v=4"]);
    const t = engineTimeline(up.stderr);
    const path = criticalPath(t.spans);
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    const ended = spawned + up.seconds * 1000;
    console.log(`where the time of a cold deploy of ${n} hosts went (one run with the engine's log, ${s(ended - spawned)} in all):`);
    console.log(`  CLI start until the program registers its stack (node, @pulumi/pulumi): ${s(t.stackRegistered - spawned)}`);
    console.log(`  program load (modules, stack configuration) until the cluster registers: ${s(t.clusterRegistered - t.stackRegistered)}`);
    console.log(`  until the first step starts: ${s(t.firstStep - t.clusterRegistered)}`);
    console.log(`  first step start to last step end: ${s(t.lastStep - t.firstStep)}`);
    console.log(`  after the last step (outputs, state, exit): ${s(ended - t.lastStep)}`);
    console.log(`  critical path, ${path.chain.length} steps, ${s(path.total)}:`);
    for (const step of path.chain) console.log(`    ${step}`);
    const verify = verificationWait(up.stdout);
    console.log(`  verification: the cluster settled after ${verify.settle.toFixed(2)} s, users checked in ${verify.users.toFixed(2)} s`);
}

/** The local Docker stack: cold up (containers and cluster from nothing), no-op up, destroy. */
function dockerStack(): void {
    const dockerHost = process.env.DOCKER_TEST_HOST ?? "";
    const baseImage = process.env.DOCKER_TEST_BASE_IMAGE ?? "";
    if (!dockerHost || !baseImage) throw new Error("DOCKER_TEST_HOST/DOCKER_TEST_BASE_IMAGE are not set: run through harness/bench.sh");
    const docker = new Stack("bench-docker");
    let destroyed = false;
    try {
        docker.init();
        docker.setObject("localDocker", { hosts: 3, subnet: "198.18.4.0/24", baseImage, dockerHost });
        docker.set("redisPassword", PASSWORD, true);
        docker.set("redisVersion", version);
        const up = docker.up();
        record("docker stack: cold up, 3 containers", up.seconds);
        // The build reuses the daemon's layer cache when an earlier run built the same Dockerfile.
        const image = /\S+\s+redis-local-image\s+created\s+\((\d+(?:\.\d+)?)s\)/.exec(up.stdout);
        record("  image build step", image ? Number(image[1]) : NaN);
        record("docker stack: up with nothing changed", docker.up(["--expect-no-changes"]).seconds);
        record("docker stack: destroy", docker.destroy().seconds);
        destroyed = true;
    } finally {
        // Only after a failure: the containers must not outlive the bench.
        if (!destroyed) docker.pulumi(["destroy", "--yes", "--skip-preview"], { allowFail: true });
        docker.remove();
    }
}

function drill(mode: "handover" | "crash"): void {
    const out = run("npm", ["run", "--silent", "drill", "--", "--stack", stack.name, "--mode", mode], { cwd: ROOT, timeoutMs: 5 * 60_000 }).stdout;
    const field = (label: string) => Number(/:\s+([\d.]+)/.exec(out.split("\n").find((l) => l.includes(label)) ?? "")?.[1]);
    record(`${mode}: longest write pause`, field("longest write pause"));
    const lost = field("acknowledged writes lost");
    if (lost !== 0) console.log(`${mode}: ${lost} acknowledged writes LOST`);
}

function summary(): void {
    const order = [...new Set(samples.map((s) => s.what))];
    const fmt = (v: number) => `${v.toFixed(2)} s`;
    console.log("\nmeasurement".padEnd(40) + "runs  min       median    max");
    for (const what of order) {
        const v = samples.filter((s) => s.what === what).map((s) => s.seconds).sort((a, b) => a - b);
        const median = v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
        console.log(`${what.padEnd(39)} ${String(v.length).padEnd(5)} ${fmt(v[0]).padEnd(9)} ${fmt(median).padEnd(9)} ${fmt(v[v.length - 1])}`);
    }
    const cpu = run("sh", ["-c", "nproc; grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).stdout.trim().split("\n");
    console.log(`\nmachine: ${cpu[0]} cores,${cpu[1] ?? ""}; Redis ${version}; ${RUNS} run(s) each`);
}

try {
    for (let r = 0; r < (arg("docker-only") ? 0 : RUNS); r++) {
        coldDeploy(3);
        // On the 3-host cluster just deployed: nothing changed, then the drills.
        record("up with nothing changed", stack.up(["--expect-no-changes"]).seconds);
        record("preview with nothing changed", stack.pulumi(["preview", "--expect-no-changes"]).seconds);
        drill("handover");
        drill("crash");
        stack.remove();
    }
    if (!arg("docker-only")) {
        profileColdDeploy(3);
        stack.remove();
    }
    if (!arg("skip-docker")) {
        // No test hosts beside the containers: the machine's cores go to the Docker stack alone.
        run("harness/testhosts.sh", ["down"], { cwd: ROOT });
        for (let r = 0; r < RUNS; r++) dockerStack();
    }
    if (!arg("skip7") && !arg("docker-only")) {
        for (let r = 0; r < RUNS; r++) {
            coldDeploy(7);
            stack.remove();
        }
        profileColdDeploy(7);
        stack.remove();
    }
    summary();
} finally {
    stack.remove();
}
