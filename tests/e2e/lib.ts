/**
 * Helpers for the end-to-end tier: the real pulumi CLI with the project's local
 * file backend, the test hosts made by harness/testhosts.sh, and ioredis.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export const ROOT = path.resolve(__dirname, "..", "..");

export interface TestHost { name: string; address: string; port: number; hostKey: string; netns: string; veth: string }
export interface TestHosts { bridge: string; key: string; hosts: TestHost[] }

/** The hosts harness/testhosts.sh brought up for this run. */
export function testHosts(): TestHosts {
    const file = process.env.TESTHOSTS_JSON;
    if (!file || !fs.existsSync(file)) {
        throw new Error("TESTHOSTS_JSON is not set: run the e2e tier through scripts/test-e2e.sh, which boots the test hosts");
    }
    return JSON.parse(fs.readFileSync(file, "utf8")) as TestHosts;
}

/** Boots N clean test hosts (any previous ones are taken down first), so each test file starts from bare machines. */
export function freshHosts(n: number): TestHosts {
    run(path.join(ROOT, "harness", "testhosts.sh"), ["up", String(n)]);
    return testHosts();
}

export interface RunResult { stdout: string; stderr: string; code: number; seconds: number }

/** Runs a command, failing with its output when it fails (unless allowed). */
export function run(
    cmd: string, args: readonly string[],
    opts: { cwd?: string; input?: string; allowFail?: boolean; timeoutMs?: number; env?: Record<string, string> } = {},
): RunResult {
    const started = Date.now();
    const r = spawnSync(cmd, args, {
        cwd: opts.cwd ?? ROOT, input: opts.input, encoding: "utf8",
        ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
        timeout: opts.timeoutMs ?? 15 * 60_000, maxBuffer: 64 * 1024 * 1024,
    });
    const res = { stdout: r.stdout ?? "", stderr: r.stderr ?? "", code: r.status ?? -1, seconds: (Date.now() - started) / 1000 };
    if (res.code !== 0 && !opts.allowFail) {
        throw new Error(`${cmd} ${args.join(" ")} failed (${res.code}${r.error ? `, ${r.error.message}` : ""}):\n${res.stdout.slice(-12000)}\n${res.stderr.slice(-4000)}`);
    }
    return res;
}

/**
 * Runs a command without blocking the event loop, so that a writer in this
 * process keeps writing meanwhile (a blocked loop would count as a write pause).
 */
export function runAsync(cmd: string, args: readonly string[], opts: { cwd?: string; allowFail?: boolean } = {}): Promise<RunResult> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => { stdout += d; });
        child.stderr.on("data", (d) => { stderr += d; });
        child.on("error", reject);
        child.on("close", (code) => {
            const res = { stdout, stderr, code: code ?? -1, seconds: (Date.now() - started) / 1000 };
            if (res.code !== 0 && !opts.allowFail) reject(new Error(`${cmd} ${args.join(" ")} failed (${res.code}):\n${stdout.slice(-4000)}\n${stderr.slice(-4000)}`));
            else resolve(res);
        });
    });
}

/** The first `n` test hosts as stack `hosts` entries; the first one is the initial master. */
export function hostEntries(th: TestHosts, n: number): { name: string; address: string; hostKey: string; role: string }[] {
    return th.hosts.slice(0, n).map((h, i) => ({ name: h.name, address: h.address, hostKey: h.hostKey, role: i === 0 ? "master" : "replica" }));
}

/**
 * The config every e2e cluster stack shares: hosts, the run's SSH key, the Redis
 * password, the version, and Sentinel timings faster than production's
 * (down-after 2 s, failover-timeout 10 s) to keep failovers short.
 */
export function configureCluster(stack: Stack, th: TestHosts, hosts: readonly object[], password: string, version: string): void {
    stack.setObject("hosts", hosts);
    stack.set("sshPrivateKey", fs.readFileSync(th.key, "utf8"), true);
    stack.set("redisPassword", password, true);
    stack.set("redisVersion", version);
    stack.set("downAfterMilliseconds", "2000");
    stack.set("failoverTimeout", "10000");
}

/** The pulumi CLI on one stack of the project in `cwd`. */
export class Stack {
    constructor(readonly name: string, readonly cwd: string = ROOT) {}

    /** The pulumi CLI on this stack; `env` adds to this process's environment. */
    pulumi(args: readonly string[], opts: { input?: string; allowFail?: boolean; env?: Record<string, string> } = {}): RunResult {
        return run("pulumi", [...args, "--stack", this.name, "--non-interactive"], { cwd: this.cwd, ...opts });
    }

    init(): void {
        this.pulumi(["stack", "rm", "--yes", "--force"], { allowFail: true });
        const configFile = path.join(this.cwd, `Pulumi.${this.name}.yaml`);
        if (fs.existsSync(configFile)) fs.rmSync(configFile);
        run("pulumi", ["stack", "init", this.name, "--non-interactive"], { cwd: this.cwd });
    }

    set(key: string, value: string, secret = false): void {
        // Values go on stdin so no secret is ever on a command line.
        this.pulumi(["config", "set", ...(secret ? ["--secret"] : ["--plaintext"]), key], { input: value });
    }

    /** Sets structured config leaf by leaf with `--path` (the CLI has no JSON form for one key). */
    setObject(key: string, value: unknown): void {
        this.pulumi(["config", "rm", key], { allowFail: true });
        const leaves: [string, string, string][] = [];
        const walk = (p: string, v: unknown) => {
            if (Array.isArray(v)) v.forEach((x, i) => walk(`${p}[${i}]`, x));
            else if (v !== null && typeof v === "object") Object.entries(v).forEach(([k, x]) => walk(`${p}.${k}`, x));
            else leaves.push([p, String(v), typeof v === "number" ? "int" : typeof v === "boolean" ? "bool" : "string"]);
        };
        walk(key, value);
        for (const [p, v, type] of leaves) this.pulumi(["config", "set", "--path", "--type", type, p], { input: v });
    }

    up(extra: readonly string[] = []): RunResult {
        return this.pulumi(["up", "--yes", "--skip-preview", "--color", "never", ...extra]);
    }

    /** `pulumi up` without blocking the event loop, so a writer in this process keeps writing meanwhile. */
    upAsync(extra: readonly string[] = [], opts: { allowFail?: boolean } = {}): Promise<RunResult> {
        return runAsync("pulumi", ["up", "--yes", "--skip-preview", "--color", "never", ...extra, "--stack", this.name, "--non-interactive"], { cwd: this.cwd, ...opts });
    }

    outputs(): Record<string, any> {
        return JSON.parse(this.pulumi(["stack", "output", "--json", "--show-secrets"]).stdout);
    }

    /** Steps `pulumi preview --json` plans, as "op name" (same steps are left out). */
    previewSteps(): string[] {
        const out = JSON.parse(this.pulumi(["preview", "--json"]).stdout);
        return (out.steps ?? [])
            .filter((s: any) => s.op !== "same")
            .map((s: any) => `${s.op} ${String(s.urn).split("::").pop()}`)
            .sort();
    }

    destroy(): RunResult {
        return this.pulumi(["destroy", "--yes", "--skip-preview", "--color", "never"]);
    }

    remove(): void {
        this.pulumi(["stack", "rm", "--yes", "--force"], { allowFail: true });
        const configFile = path.join(this.cwd, `Pulumi.${this.name}.yaml`);
        if (fs.existsSync(configFile)) fs.rmSync(configFile);
    }
}

/** Runs a shell command on test host I (1-based) as root. */
export function onHost(i: number, command: string, allowFail = false): RunResult {
    return run(path.join(ROOT, "harness", "testhosts.sh"), ["ssh", String(i), command], { allowFail });
}

/** onHost without blocking the event loop: for disruptions while a writer writes. */
export function onHostAsync(i: number, command: string): Promise<RunResult> {
    return runAsync(path.join(ROOT, "harness", "testhosts.sh"), ["ssh", String(i), command]);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls fn until it returns a value other than undefined, or throws after timeoutMs. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000, everyMs = 500): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
        try {
            const v = await fn();
            if (v !== undefined) return v;
        } catch (e) {
            last = e;
        }
        await sleep(everyMs);
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}
