/**
 * The foundation, end to end: the Go-built pulumi engine and command provider
 * run a program against the booted test hosts, an unchanged second `up`
 * changes nothing, and `destroy` removes it all.
 */
import * as path from "path";
import { afterAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as os from "os";
import { ROOT, Stack, onHost, run, testHosts } from "./lib";

const dir = path.join(ROOT, "tests", "e2e", "plumbing");
const stack = new Stack("plumbing", dir);

describe("plumbing: engine, provider and test hosts", () => {
    afterAll(() => stack.remove());

    it("runs one remote command per host through real pulumi up, then changes nothing, then destroys", () => {
        const th = testHosts();
        expect(th.hosts.length).toBeGreaterThanOrEqual(3);
        stack.init();
        stack.setObject("hosts", th.hosts.slice(0, 3).map((h, i) => ({
            name: h.name, address: h.address, hostKey: h.hostKey,
            // one host through the non-root sudo user, to prove that login works too
            user: i === 1 ? "deploy" : "root",
        })));
        stack.set("sshPrivateKey", fs.readFileSync(th.key, "utf8"), true);

        // The CLI hands its environment to the provider, which dials SSH_AUTH_SOCK
        // before every step: a stale agent fails them all (this program has no preflight).
        const staleAgent = path.join(os.tmpdir(), `plumbing-no-agent-${process.pid}.sock`);
        const refused = stack.pulumi(["up", "--yes", "--skip-preview", "--color", "never"], { allowFail: true, env: { SSH_AUTH_SOCK: staleAgent } });
        expect(refused.code).not.toBe(0);
        expect(refused.stdout + refused.stderr).toContain(`dial unix ${staleAgent}: connect: no such file or directory`);
        const types = () => (JSON.parse(stack.pulumi(["stack", "export"]).stdout).deployment.resources ?? []).map((r: { type: string }) => r.type);
        expect(types()).not.toContain("command:remote:Command");

        const first = stack.up();
        // The three commands (the refused up already created the stack itself).
        expect(first.stdout).toMatch(/\b3 created\b/);
        expect(types().filter((t: string) => t === "command:remote:Command")).toHaveLength(3);
        const facts = stack.outputs().facts as Record<string, string>;
        expect(Object.keys(facts).sort()).toEqual(th.hosts.slice(0, 3).map((h) => h.name).sort());
        for (const v of Object.values(facts)) expect(v.trim()).toMatch(/^x86_64 (running|degraded)$/);

        // A second up with nothing changed must change nothing.
        // --expect-no-changes makes pulumi itself fail the up on any change.
        const again = stack.up(["--expect-no-changes"]);
        expect(again.stdout).toMatch(/\b4 unchanged\b/);
        expect(again.stdout).not.toMatch(/\b\d+ (created|updated|replaced|deleted)\b/);

        stack.destroy();
        expect(JSON.parse(stack.pulumi(["stack", "export"]).stdout).deployment.resources ?? []).toEqual([]);
        const version = run("pulumi", ["version"]).stdout.trim();
        expect(version).toMatch(/^v3\.\d+\.\d+/);
    });

    it("boots an independent set of test hosts beside the first (SENTINEL_TESTHOSTS_SET), which cannot reach it", () => {
        const th = testHosts();
        const testhosts = path.join(ROOT, "harness", "testhosts.sh");
        const env = { SENTINEL_TESTHOSTS_SET: "3" };
        try {
            run(testhosts, ["up", "1"], { env });
            const file = /TESTHOSTS_JSON=(\S+)/.exec(run(testhosts, ["env"], { env }).stdout)?.[1]?.replace(/^'|'$/g, "");
            expect(file).toBe("/run/sentinel-testhosts-s3/hosts.json");
            const other = JSON.parse(fs.readFileSync(file!, "utf8"));
            expect(other.hosts.map((h: { name: string; address: string }) => `${h.name} ${h.address}`)).toEqual(["host1 198.18.3.11"]);
            expect(run(testhosts, ["ssh", "1", "hostname -I"], { env }).stdout.trim()).toBe("198.18.3.11");
            // Nothing routes between the sets: set 3's host cannot open set 0's host1 sshd.
            const probe = `timeout 3 bash -c 'exec 3<>/dev/tcp/${th.hosts[0].address}/22' 2>/dev/null && echo reached || echo unreachable`;
            expect(run(testhosts, ["ssh", "1", probe], { env }).stdout.trim()).toBe("unreachable");
        } finally {
            run(testhosts, ["down"], { env });
        }
        // Taking set 3 down left this run's hosts as they were.
        expect(onHost(1, "hostname -I").stdout.trim()).toBe(th.hosts[0].address);
        expect(fs.existsSync("/run/sentinel-testhosts-s3")).toBe(false);
    });
});
