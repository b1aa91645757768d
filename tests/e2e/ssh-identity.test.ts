/**
 * SSH identity end to end: what the command provider would fail on in the
 * middle of an `up` is refused before anything runs, and a host whose key is
 * not the pinned one fails the `up` by name with nothing changed on any host.
 * The stack logs in with an encrypted copy of the test key and its passphrase,
 * and the drill reaches the hosts with it too.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, Stack, TestHosts, configureCluster, freshHosts, hostEntries, run } from "./lib";
import { ClusterProbe, deployedFileHashes, servicePids } from "./probe";

const stack = new Stack("sshid");
const PASSWORD = "sshid-Redis-password-0123456789";
const PASSPHRASE = "sshid key passphrase";
const version = process.env.REDIS_TEST_VERSION ?? "";
let th: TestHosts;
let encryptedKey = "";

const probe = new ClusterProbe({ hosts: () => th, count: () => 3, version: () => version, password: PASSWORD });

const deployedFiles = (i: number) => deployedFileHashes(i, version);
const everyHost = <T>(f: (i: number) => T): T[] => [1, 2, 3].map(f);
const pids = () => everyHost((i) => servicePids(i));

/** Hosts 1-3 pinned as the test hosts present themselves, with host 3's pin replaced by `pin3`. */
const hostsWithPin3 = (pin3?: string) => hostEntries(th, 3).map((h, i) => (i === 2 && pin3 !== undefined ? { ...h, hostKey: pin3 } : h));

describe("SSH identity and login, checked before any host is touched", () => {
    beforeAll(() => {
        th = freshHosts(3);
        if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error("REDIS_TEST_VERSION is not set (scripts/test-e2e.sh sets it)");
        // The test key, encrypted with a passphrase: the hosts already accept it.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sshid-"));
        const copy = path.join(dir, "key");
        fs.copyFileSync(th.key, copy);
        fs.chmodSync(copy, 0o600);
        run("ssh-keygen", ["-q", "-p", "-f", copy, "-P", "", "-N", PASSPHRASE]);
        encryptedKey = fs.readFileSync(copy, "utf8");
        fs.rmSync(dir, { recursive: true, force: true });
        stack.init();
        configureCluster(stack, th, hostEntries(th, 3), PASSWORD, version);
        stack.set("sshPrivateKey", encryptedKey, true);
        stack.set("sshPrivateKeyPassword", PASSPHRASE, true);
    });
    afterAll(() => {
        try { stack.destroy(); } finally { stack.remove(); }
    });

    it("refuses a stack without host key pins, or with an agent that does not answer, before anything runs", () => {
        stack.setObject("hosts", hostEntries(th, 3).map(({ hostKey: _unpinned, ...h }) => h));
        const unpinned = stack.pulumi(["preview", "--color", "never"], { allowFail: true });
        expect(unpinned.code).not.toBe(0);
        for (const [i, h] of th.hosts.slice(0, 3).entries()) {
            expect(unpinned.stdout + unpinned.stderr).toContain(
                `redis-sentinel:hosts[${i}].hostKey: is required: pin the host's SSH key (ssh-keyscan -t ed25519 ${h.address} | cut -d' ' -f2-)`);
        }
        stack.setObject("hosts", hostEntries(th, 3));
        const stale = path.join(os.tmpdir(), `sshid-no-agent-${process.pid}.sock`);
        const agentless = stack.pulumi(["preview", "--color", "never"], { allowFail: true, env: { SSH_AUTH_SOCK: stale } });
        expect(agentless.code).not.toBe(0);
        expect(agentless.stdout + agentless.stderr).toContain(`SSH_AUTH_SOCK: "${stale}" does not answer (connect ENOENT)`);
        // Nothing reached the state, and no host got anything.
        expect(JSON.parse(stack.pulumi(["stack", "export"]).stdout).deployment.resources ?? []).toEqual([]);
        for (const i of [1, 2, 3]) expect(deployedFiles(i)).not.toMatch(/^[0-9a-f]{64} /m);
    });

    it("fails a first deploy naming the host whose key is not the pinned one, with nothing put on any host", () => {
        stack.setObject("hosts", hostsWithPin3(th.hosts[0].hostKey));
        const r = stack.pulumi(["up", "--yes", "--skip-preview", "--color", "never"], { allowFail: true });
        expect(r.code).not.toBe(0);
        const out = r.stdout + r.stderr;
        expect(out).toMatch(/redis-ssh-check-host3[\s\S]*host key mismatch/);
        expect(out).not.toMatch(/redis-ssh-check-host[12][^\n]*(error|failed)/i);
        for (const i of [1, 2, 3]) expect(deployedFiles(i)).not.toMatch(/^[0-9a-f]{64} /m);
    });

    it("deploys once the pin is right, with the encrypted key", async () => {
        stack.setObject("hosts", hostsWithPin3());
        stack.up();
        expect(await probe.masterIndex()).toBe(1);
    });

    it("fails an up on a running cluster when a host's key changes, changing nothing on any host, and recovers with the right pin", () => {
        const beforePids = pids();
        const beforeFiles = everyHost(deployedFiles);
        for (const f of beforeFiles) expect(f).not.toMatch(/^- /m);

        stack.setObject("hosts", hostsWithPin3(th.hosts[1].hostKey));
        const r = stack.pulumi(["up", "--yes", "--skip-preview", "--color", "never"], { allowFail: true });
        expect(r.code).not.toBe(0);
        expect(r.stdout + r.stderr).toMatch(/redis-ssh-check-host3[\s\S]*host key mismatch/);
        expect(pids()).toEqual(beforePids);
        expect(everyHost(deployedFiles)).toEqual(beforeFiles);

        stack.setObject("hosts", hostsWithPin3());
        stack.up(["--expect-no-changes"]);
        expect(pids()).toEqual(beforePids);
        expect(everyHost(deployedFiles)).toEqual(beforeFiles);
    });

    it("lets the drill log in with the encrypted key's passphrase", () => {
        const out = run("npm", ["run", "--silent", "drill", "--", "--stack", stack.name, "--mode", "handover"], { cwd: ROOT, timeoutMs: 5 * 60_000 }).stdout;
        expect(out).toMatch(/acknowledged writes lost: +0\n/);
        expect(out).toMatch(/master after: +198\.18\.0\.1[23]:6379\n/);
    });
});
