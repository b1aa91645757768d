/**
 * Test-only measurement (npm run bench, through harness/bench.sh): on fresh
 * local test hosts, a cold deploy of 3 and of 7 hosts, an `up` and a `preview`
 * with nothing changed, and the planned handover and crash drills, each over
 * several runs (min/median/max). For the deploys it also says where the time
 * goes: the critical path of steps (each step's wall time as the engine prints
 * it, chained through the dependencies in the state), and the verification.
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

/** "name -> seconds" of every step the up's display timed ("host1-prepare created (0.14s)"). */
function stepTimes(upOutput: string): Map<string, number> {
    const times = new Map<string, number>();
    for (const m of upOutput.matchAll(/^\s*[+~-]+\s+\S+\s+(\S+)\s+(?:created|updated|replaced|deleted)\s+\((\d+(?:\.\d+)?)s\)/gm)) {
        times.set(m[1], Number(m[2]));
    }
    return times;
}

/** The longest chain of steps through the state's dependencies, weighted by each step's time. */
function criticalPath(times: Map<string, number>): { total: number; chain: string[] } {
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
        const own = times.get(n) ?? 0;
        const result = { total: best.total + own, chain: own > 0 ? [...best.chain, `${n} ${own.toFixed(2)}s`] : best.chain };
        memo.set(n, result);
        return result;
    };
    return [...deps.keys()].map(longest).reduce((a, b) => (b.total > a.total ? b : a), { total: 0, chain: [] });
}

function coldDeploy(n: number, run: number): void {
    const th = freshHosts(n);
    if (th.hosts.length < n) throw new Error(`${n} test hosts wanted, ${th.hosts.length} booted`);
    deployStack(th, n);
    const up = stack.up();
    record(`cold deploy, ${n} hosts`, up.seconds);
    const times = stepTimes(up.stdout);
    record(`  verification step, ${n} hosts`, times.get("redis-verify") ?? NaN);
    if (run === 0) {
        const path = criticalPath(times);
        console.log(`critical path of a cold deploy of ${n} hosts (${path.chain.length} steps, ${path.total.toFixed(2)} s of the up's ${up.seconds.toFixed(2)} s):`);
        for (const step of path.chain) console.log(`  ${step}`);
    }
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
        record("  image build step", stepTimes(up.stdout).get("redis-local-image") ?? NaN);
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
        coldDeploy(3, r);
        // On the 3-host cluster just deployed: nothing changed, then the drills.
        record("up with nothing changed", stack.up(["--expect-no-changes"]).seconds);
        record("preview with nothing changed", stack.pulumi(["preview", "--expect-no-changes"]).seconds);
        drill("handover");
        drill("crash");
        stack.remove();
    }
    if (!arg("skip-docker")) {
        // No test hosts beside the containers: the machine's cores go to the Docker stack alone.
        run("harness/testhosts.sh", ["down"], { cwd: ROOT });
        for (let r = 0; r < RUNS; r++) dockerStack();
    }
    if (!arg("skip7") && !arg("docker-only")) {
        for (let r = 0; r < RUNS; r++) {
            coldDeploy(7, r);
            stack.remove();
        }
    }
    summary();
} finally {
    stack.remove();
}
