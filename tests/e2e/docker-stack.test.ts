/**
 * The local Docker stack, end to end: real `pulumi up` of this project with
 * `localDocker` set makes the image, network, volumes and three systemd
 * containers through the docker provider (the harness's stand-in here), then
 * deploys and verifies the cluster on them over SSH; ioredis through the
 * Sentinels; a no-op re-run; stopping the master's container fails over and the
 * next up changes nothing; destroy removes every Docker object it made.
 * scripts/test-e2e.sh starts the Docker daemon (harness/dockerd.sh) and checks
 * after the run that it left no daemon, mount or network behind.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DrillTarget, ready, runDrill, sentinelAwareClient } from "../../src/drill";
import { PartitionReport } from "../../src/partition-drill";
import { RunResult, Stack, run, runAsync, waitFor } from "./lib";

const stack = new Stack("docker-e2e");
const PASSWORD = "docker-e2e-Redis-password-0123";
const version = process.env.REDIS_TEST_VERSION ?? "";
const dockerHost = process.env.DOCKER_TEST_HOST ?? "";
const baseImage = process.env.DOCKER_TEST_BASE_IMAGE ?? "";
// Beside the nspawn hosts' 198.18.0.0/24, never overlapping it.
const SUBNET_PREFIX = "198.18.4";
const PREFIX = "redis-sentinel-docker-e2e";
const address = (i: number) => `${SUBNET_PREFIX}.${10 + i}`;
const sentinels = [1, 2, 3].map((i) => ({ host: address(i), port: 26379 }));
/** Set by the destroy test once everything is gone. */
let destroyed = false;
const target = (): DrillTarget => ({ sentinels, masterName: "mymaster", password: PASSWORD, sentinelPassword: PASSWORD });

function dockerCli(args: readonly string[], allowFail = false): RunResult {
    // The password reaches `docker exec -e REDISCLI_AUTH` through the environment, not argv.
    return run("docker", ["-H", dockerHost, ...args], { allowFail, env: { REDISCLI_AUTH: PASSWORD } });
}
/** redis-cli inside container node<i>, through `docker exec` (not SSH). */
function cli(i: number, args: string, port = 6379): string {
    return dockerCli(["exec", "-e", "REDISCLI_AUTH", `${PREFIX}-node${i}`,
        "sh", "-c", `/opt/redis-${version}/bin/redis-cli -h 127.0.0.1 -p ${port} ${args}`]).stdout.trim();
}
/** Names of the Docker objects of one kind that this stack made (by its prefix). */
function objects(kind: "container" | "network" | "volume"): string[] {
    const args = kind === "container" ? ["ps", "-a", "--format", "{{.Names}}"]
        : kind === "network" ? ["network", "ls", "--format", "{{.Name}}"]
            : ["volume", "ls", "--format", "{{.Name}}"];
    return dockerCli(args).stdout.split("\n").filter((n) => n.startsWith(PREFIX)).sort();
}
const imageTags = (): string[] =>
    dockerCli(["images", "--format", "{{.Repository}}:{{.Tag}}"]).stdout.split("\n").filter((t) => t.startsWith("redis-sentinel-host:"));

describe("local Docker stack: containers made by the docker provider, a verified cluster on them", () => {
    beforeAll(() => {
        if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error("REDIS_TEST_VERSION is not set (scripts/test-e2e.sh sets it)");
        if (!dockerHost || !baseImage) {
            throw new Error("DOCKER_TEST_HOST or DOCKER_TEST_BASE_IMAGE is not set: run the e2e tier through scripts/test-e2e.sh, which starts dockerd");
        }
        expect(objects("container")).toEqual([]);
        stack.init();
        stack.setObject("localDocker", { hosts: 3, subnet: `${SUBNET_PREFIX}.0/24`, baseImage, dockerHost });
        stack.set("redisPassword", PASSWORD, true);
        stack.set("redisVersion", version);
        stack.set("downAfterMilliseconds", "2000");
        stack.set("failoverTimeout", "10000");
    });
    afterAll(() => {
        // A failed test must not leave containers for the next file: destroy (unless the
        // destroy test did), then forget the stack.
        if (!destroyed) stack.pulumi(["destroy", "--yes", "--skip-preview"], { allowFail: true });
        stack.remove();
    });

    it("makes the containers and deploys a verified cluster with one pulumi up", () => {
        const up = stack.up();
        console.log(`measured: cold pulumi up of the local Docker stack (image, network, 3 containers, cluster) took ${up.seconds.toFixed(1)} s`);
        const out = stack.outputs();
        expect(out.currentMaster).toEqual({ name: "node1", address: address(1), port: 6379 });
        expect(out.replicas.map((r: { name: string }) => r.name).sort()).toEqual(["node2", "node3"]);
        expect(out.sentinelQuorum).toMatch(/^OK 3 usable Sentinels/);
        expect(out.connection.ioredis.sentinels).toEqual(sentinels);
        expect(out.dockerContainers).toEqual({ node1: `${PREFIX}-node1`, node2: `${PREFIX}-node2`, node3: `${PREFIX}-node3` });
        expect(out.dockerSshPrivateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----/);
        expect(Object.keys(out.dockerHostKeys)).toEqual(["node1", "node2", "node3"]);

        expect(objects("container")).toEqual([`${PREFIX}-node1`, `${PREFIX}-node2`, `${PREFIX}-node3`]);
        expect(objects("network")).toEqual([`${PREFIX}-net`]);
        expect(objects("volume")).toEqual([1, 2, 3].map((i) => `${PREFIX}-node${i}-data`));
        expect(imageTags()).toEqual(["redis-sentinel-host:docker-e2e"]);
        // Each container made its own host key; none is in the image, and no login key either.
        const keys = [1, 2, 3].map((i) => dockerCli(["exec", `${PREFIX}-node${i}`, "cat", "/etc/ssh/ssh_host_ed25519_key.pub"]).stdout.trim());
        expect(new Set(keys).size).toBe(3);
        expect(keys.map((k) => k.split(" ").slice(0, 2).join(" "))).toEqual([1, 2, 3].map((i) => out.dockerHostKeys[`node${i}`]));
        const inImage = dockerCli(["run", "--rm", "--network", "none", "--entrypoint", "sh", "redis-sentinel-host:docker-e2e", "-c",
            "ls /etc/ssh/ssh_host_* /root/.ssh/authorized_keys 2>/dev/null | wc -l"]).stdout.trim();
        expect(inImage).toBe("0");
        // Redis data lives on the container's own volume.
        expect(dockerCli(["inspect", "-f", "{{range .Mounts}}{{.Name}}={{.Destination}} {{end}}", `${PREFIX}-node2`]).stdout)
            .toContain(`${PREFIX}-node2-data=/var/lib/redis`);
        expect(cli(1, "INFO replication")).toMatch(/^connected_slaves:2/m);
    });

    it("serves a Sentinel-aware client (ioredis) from this machine: writes on the master, reads on a replica", async () => {
        const master = await ready(sentinelAwareClient(target(), "master"));
        const replica = await ready(sentinelAwareClient(target(), "slave"));
        try {
            await master.set("docker-e2e:key", "value-1");
            expect(await master.get("docker-e2e:key")).toBe("value-1");
            await master.wait(2, 5000);
            expect(await replica.get("docker-e2e:key")).toBe("value-1");
        } finally {
            master.disconnect();
            replica.disconnect();
        }
    });

    it("runs the operator's drill (npm run drill) with the stack's generated key and pinned host keys", () => {
        const drill = run("node", ["scripts/run-ts.js", "scripts/drill.ts", "--stack", stack.name, "--mode", "handover"]);
        console.log(drill.stdout.trim());
        const before = /master before: +(\S+)/.exec(drill.stdout)?.[1];
        const after = /master after: +(\S+)/.exec(drill.stdout)?.[1];
        expect(before).toBe(`${address(1)}:6379`);
        expect([`${address(2)}:6379`, `${address(3)}:6379`]).toContain(after);
        expect(drill.stdout).toMatch(/acknowledged writes lost: +0$/m);
        // The key is a secret output: masked unless asked for.
        expect(stack.pulumi(["stack", "output", "dockerSshPrivateKey"]).stdout.trim()).toBe("[secret]");
    });

    it("runs the partition drill on the containers: the master's container cut off by its own nftables rules, losses within the bound", async () => {
        const out = await runAsync("node", ["scripts/run-ts.js", "scripts/drill.ts", "--stack", stack.name, "--mode", "partition", "--seconds", "8", "--json"]);
        const r = JSON.parse(out.stdout.trim().split("\n").pop()!) as PartitionReport;
        const beside = r.writers.find((w) => w.besideOldMaster)!;
        console.log(`measured: partition drill on the local Docker stack (8 s): old master acknowledged for ${r.oldMasterAcknowledgedForSeconds.toFixed(2)} s, ` +
            `${beside.lost} of ${beside.acknowledged} lost beside it, new master after ${r.secondsToNewMaster} s, whole again ${r.secondsToHealed.toFixed(1)} s after the cut`);
        expect(r.tool).toBe("nft");
        expect(r.masterAfter).not.toBe(r.masterBefore);
        expect(r.oldMasterAcknowledgedForSeconds).toBeLessThanOrEqual(3);
        expect(r.writers.find((w) => !w.besideOldMaster)!.lost).toBe(0);
    });

    it("changes nothing on a second up", () => {
        const up = stack.up(["--expect-no-changes"]);
        console.log(`measured: no-op pulumi up of the local Docker stack took ${up.seconds.toFixed(1)} s`);
        expect(stack.previewSteps()).toEqual([]);
    });

    it("fails over when the master's container stops, loses no acknowledged write, and the next up changes nothing", async () => {
        let stopped = 0;
        const report = await runDrill(target(), async (master) => {
            stopped = [1, 2, 3].find((i) => master === `${address(i)}:6379`) ?? 0;
            expect(stopped).toBeGreaterThan(0);
            // Not blocking the event loop: the writer in this process keeps writing meanwhile.
            await runAsync("docker", ["-H", dockerHost, "stop", `${PREFIX}-node${stopped}`]);
        });
        console.log(`measured: docker stop of the master's container: client on the new master after ${report.secondsToNewMaster} s, ` +
            `write pause ${report.writePauseSeconds} s, ${report.writesAcknowledged} writes acknowledged, ${report.writesLost} lost`);
        expect(report.masterAfter).not.toBe(report.masterBefore);
        expect(report.writesLost).toBe(0);

        // The container stays stopped (restart: unless-stopped) and the up leaves it alone.
        stack.up(["--expect-no-changes"]);
        expect(dockerCli(["inspect", "-f", "{{.State.Running}}", `${PREFIX}-node${stopped}`]).stdout.trim()).toBe("false");

        // Started again, the old master boots and Sentinel makes it a replica of the new one.
        dockerCli(["start", `${PREFIX}-node${stopped}`]);
        const newMaster = report.masterAfter.split(":")[0];
        await waitFor("the old master back as a replica", () => {
            const info = cli(stopped, "INFO replication");
            return /^role:slave/m.test(info) && /^master_link_status:up/m.test(info) && info.includes(`master_host:${newMaster}`) ? true : undefined;
        }, 90_000, 1000);
        stack.up(["--expect-no-changes"]);
    });

    it("rebuilds a lost host: its replaced container is pinned again, reinstalled and rejoins with its data; the master stays", () => {
        const master = cli(1, "SENTINEL get-master-addr-by-name mymaster", 26379).split("\n")[0];
        const r = [1, 2, 3].find((i) => address(i) !== master)!;
        const before = stack.outputs();
        const idBefore = dockerCli(["inspect", "-f", "{{.Id}}", `${PREFIX}-node${r}`]).stdout.trim();
        const urn = `urn:pulumi:${stack.name}::redis-sentinel::redis-sentinel:local:DockerHosts$docker:index/container:Container::redis-local-node${r}`;
        const up = stack.up(["--replace", urn]);
        console.log(`measured: pulumi up --replace of node${r}'s container (new container, host key read, host reinstalled, verified) took ${up.seconds.toFixed(1)} s`);
        expect(up.stdout).toMatch(/redis-verify\s+updated/);
        const after = stack.outputs();
        expect(dockerCli(["inspect", "-f", "{{.Id}}", `${PREFIX}-node${r}`]).stdout.trim()).not.toBe(idBefore);
        expect(after.dockerHostKeys[`node${r}`]).not.toBe(before.dockerHostKeys[`node${r}`]);
        expect(after.currentMaster.address).toBe(master);
        const info = cli(r, "INFO replication");
        expect(info).toMatch(/^role:slave/m);
        expect(info).toMatch(/^master_link_status:up/m);
        expect(info).toContain(`master_host:${master}`);
        // Written before the rebuild, read on the rebuilt replica.
        expect(cli(r, "GET docker-e2e:key")).toBe("value-1");
        expect(cli(1, "SENTINEL ckquorum mymaster", 26379)).toMatch(/^OK 3 usable Sentinels/);
        stack.up(["--expect-no-changes"]);
    });

    it("removes the containers, network, volumes and image tag on destroy", () => {
        const down = stack.destroy();
        console.log(`measured: pulumi destroy of the local Docker stack took ${down.seconds.toFixed(1)} s`);
        expect(objects("container")).toEqual([]);
        expect(objects("network")).toEqual([]);
        expect(objects("volume")).toEqual([]);
        expect(imageTags()).toEqual([]);
        // The base image is the test run's, not the stack's.
        expect(dockerCli(["image", "inspect", baseImage], true).code).toBe(0);
        destroyed = true;
    });
});
