/**
 * The local Docker stack: its config key, the generated SSH key, and the
 * resource graph through Pulumi's mocks (what would reach dockerd and each
 * container, and that the cluster pins the host keys read after boot).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { ClusterConfig, parseClusterConfig } from "../../src/config";
import { RedisSentinelCluster } from "../../src/components/cluster";
import { LocalDockerConfig } from "../../src/local-docker-config";
import { DockerHosts, hostKeyFromPubFile } from "../../src/local/docker-hosts";
import { formatEd25519KeyPair, generateEd25519KeyPair } from "../../src/local/ssh-key-format";
import { keyPairProvider } from "../../src/local/ssh-key-pair";
import { checkPrivateKey } from "../../src/ssh-keys";
import { HOST_KEYS, REDIS_PASSWORD, problems, raw } from "./fixtures";
import { Registered, isSecret, recordGraph, registration } from "./mock-graph";

const local = (o: object, extra: Record<string, string | undefined> = {}) =>
    raw({ hosts: undefined, sshPrivateKey: undefined, localDocker: JSON.stringify(o), ...extra });

describe("localDocker config", () => {
    it("makes node1..nodeN at .11, .12, ... with node1 the initial master, and needs no hosts or SSH key", () => {
        const cfg = parseClusterConfig(local({ hosts: 5, subnet: "198.18.4.0/24", baseImage: "registry.local:5000/debian:12", dockerHost: "tcp://127.0.0.1:2375" }));
        expect(cfg.localDocker).toEqual({ hosts: 5, subnet: "198.18.4.0/24", baseImage: "registry.local:5000/debian:12", dockerHost: "tcp://127.0.0.1:2375" });
        expect(cfg.hosts.map((h) => `${h.name} ${h.address} ${h.role} ${h.sshUser}@${h.sshPort}`)).toEqual([
            "node1 198.18.4.11 master root@22", "node2 198.18.4.12 replica root@22", "node3 198.18.4.13 replica root@22",
            "node4 198.18.4.14 replica root@22", "node5 198.18.4.15 replica root@22",
        ]);
        expect(cfg.hosts.every((h) => h.hostKey === undefined && h.announceAddress === h.address)).toBe(true);
        expect(cfg.quorum).toBe(3);
    });

    it("is off for the Pulumi.yaml default {}", () => {
        expect(parseClusterConfig(raw({ localDocker: "{}" })).localDocker).toBeUndefined();
    });

    it("refuses bad values, naming each key", () => {
        expect(problems(local({ hosts: 10, subnet: "10.0.0.0/16", baseImage: "Debian", dockerHost: "/var/run/docker.sock", port: 1 }))).toEqual([
            'redis-sentinel:localDocker.port: unknown key (expected hosts, subnet, baseImage, dockerHost)',
            "redis-sentinel:localDocker.hosts: must be an integer from 1 to 9, got 10",
            'redis-sentinel:localDocker.subnet: must be an IPv4 /24 like "10.213.0.0/24", got "10.0.0.0/16"',
            'redis-sentinel:localDocker.baseImage: must be an image reference like "debian:bookworm", got "Debian"',
            'redis-sentinel:localDocker.dockerHost: must be a Docker address like "unix:///var/run/docker.sock" or "tcp://HOST:2376", got "/var/run/docker.sock"',
        ]);
        expect(problems(local({ subnet: "10.300.0.0/24" }))).toEqual([
            'redis-sentinel:localDocker.subnet: must be an IPv4 /24 like "10.213.0.0/24", got "10.300.0.0/24"',
        ]);
        expect(problems(local([3]))).toEqual(["redis-sentinel:localDocker: must be an object like {hosts: 3}"]);
    });

    it("refuses hosts and an SSH key beside it: they would be ignored", () => {
        expect(problems(raw({ localDocker: JSON.stringify({ hosts: 3 }) }))).toEqual([
            "redis-sentinel:hosts: is not used with localDocker (the stack makes its own hosts and SSH key); remove it with: pulumi config rm hosts",
            "redis-sentinel:sshPrivateKey: is not used with localDocker (the stack makes its own hosts and SSH key); remove it with: pulumi config rm sshPrivateKey",
        ]);
    });

    it("still needs three hosts unless allowFewerThanThreeHosts, and the Redis password", () => {
        expect(problems(local({ hosts: 2 }))).toEqual([
            "redis-sentinel:hosts: 2 host(s) given; Sentinel needs at least 3 to fail over safely (set allowFewerThanThreeHosts=true to deploy anyway)",
        ]);
        expect(problems(local({ hosts: 3 }, { redisPassword: undefined }))).toEqual([
            "redis-sentinel:redisPassword: is required; set it with: pulumi config set --secret redisPassword ...",
        ]);
    });
});

describe("generated SSH key", () => {
    const sshKeygenY = (privateKey: string): string => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gen-key-"));
        try {
            fs.writeFileSync(path.join(dir, "k"), privateKey, { mode: 0o600 });
            const r = spawnSync("ssh-keygen", ["-y", "-f", path.join(dir, "k")], { encoding: "utf8" });
            if (r.status !== 0) throw new Error(`ssh-keygen -y: ${r.stderr}`);
            return r.stdout.trim();
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    };

    it("is an OpenSSH ed25519 key that ssh-keygen and the key check read, with its public half", () => {
        const pair = generateEd25519KeyPair("deployer");
        expect(pair.privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END OPENSSH PRIVATE KEY-----\n$/);
        expect(sshKeygenY(pair.privateKey)).toBe(pair.publicKey);
        expect(checkPrivateKey(pair.privateKey, undefined)).toBeUndefined();
    });

    it("is the RFC 8032 key of its seed (test vector 1)", () => {
        const seed = Buffer.from("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "hex");
        const pair = formatEd25519KeyPair(seed, 0x01020304, "");
        const blob = Buffer.from(pair.publicKey.split(" ")[1], "base64");
        expect(blob.subarray(-32).toString("hex")).toBe("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        expect(sshKeygenY(pair.privateKey)).toBe(pair.publicKey);
        expect(() => formatEd25519KeyPair(Buffer.alloc(31), 1, "")).toThrow("ed25519 seed must be 32 bytes, got 31");
    });

    it("is made once: the same comment is no change, a new comment a new key", async () => {
        const created = await keyPairProvider.create({ comment: "c" });
        expect(created.outs.publicKey).toMatch(/^ssh-ed25519 \S+ c$/);
        expect(await keyPairProvider.diff!(created.id, created.outs, { comment: "c" })).toMatchObject({ changes: false, replaces: [] });
        expect(await keyPairProvider.diff!(created.id, created.outs, { comment: "d" })).toMatchObject({ changes: true, replaces: ["comment"] });
        expect((await keyPairProvider.create({ comment: "c" })).outs.privateKey).not.toBe(created.outs.privateKey);
    });
});

describe("hostKeyFromPubFile", () => {
    it("takes type and key from the .pub file and refuses anything else, naming the host", () => {
        const [type, b64] = HOST_KEYS[0].split(" ");
        expect(hostKeyFromPubFile("node1", `${type} ${b64} \n`)).toBe(`${type} ${b64}`);
        expect(hostKeyFromPubFile("node1", `${type} ${b64} root@node1\n`)).toBe(`${type} ${b64}`);
        expect(() => hostKeyFromPubFile("node2", "cat: /etc/ssh/ssh_host_ed25519_key.pub: No such file")).toThrow(/^node2: \/etc\/ssh\/ssh_host_ed25519_key.pub does not hold/);
    });
});

let registered: Map<string, Registered>;
const GENERATED_PRIVATE = "-----BEGIN OPENSSH PRIVATE KEY-----\ngenerated\n-----END OPENSSH PRIVATE KEY-----\n";
const GENERATED_PUBLIC = "ssh-ed25519 AAAAgenerated redis-sentinel-test-deployer";
const hostKeyOf = (n: number) => HOST_KEYS[(n - 1) % HOST_KEYS.length];

describe("local Docker stack resource graph", () => {
    beforeAll(async () => {
        registered = await recordGraph("laptop", (a) => {
            const m = /^redis-local-host-key-node(\d)$/.exec(a.name);
            return a.type === "pulumi-nodejs:dynamic/redis-sentinel:SshKeyPair" ? { privateKey: GENERATED_PRIVATE, publicKey: GENERATED_PUBLIC }
                : a.type === "docker:index/remoteImage:RemoteImage" ? { imageId: "sha256:0123456789abcdef" }
                    : m ? { stdout: `${hostKeyOf(Number(m[1]))} \n` }
                        : a.type === "command:remote:Command" && a.name.endsWith("-verify")
                            ? { stdout: '{"master":{"name":"node1","address":"198.18.4.11","port":6379},"replicas":[],"sentinels":[],"ckquorum":"OK 3 usable Sentinels"}' }
                            : {};
        });
    });

    const res = (name: string) => registration(registered, name);
    const plain = (v: any) => (isSecret(v) ? v.value : v);

    async function deploy(o: object = { hosts: 3, subnet: "198.18.4.0/24", dockerHost: "unix:///run/test/docker.sock" }) {
        registered.clear();
        const config = parseClusterConfig(local(o)) as ClusterConfig & { localDocker: LocalDockerConfig };
        const hosts = new DockerHosts("redis-local", { config });
        const cluster = new RedisSentinelCluster("redis", {
            config, sshPrivateKey: hosts.sshPrivateKey, hostKeys: hosts.hostKeys, redisPassword: pulumi.secret(REDIS_PASSWORD),
        });
        await new Promise<void>((resolve) => cluster.verified.apply(() => resolve()));
        return config;
    }

    it("builds the host image from docker/host with the legacy builder, and removes its tag on destroy", async () => {
        await deploy({ hosts: 3, baseImage: "debian:bookworm-slim" });
        const image = res("redis-local-image");
        expect(image.type).toBe("docker:index/image:Image");
        expect(image.inputs).toEqual({
            imageName: "redis-sentinel-host:laptop", skipPush: true, buildOnPreview: false,
            build: {
                context: "docker/host", dockerfile: "docker/host/Dockerfile",
                builderVersion: "BuilderV1", args: { BASE_IMAGE: "debian:bookworm-slim" },
            },
        });
        expect(fs.existsSync(image.inputs.build.dockerfile)).toBe(true);
        expect(res("redis-local-image-tag").inputs).toEqual({ name: "redis-sentinel-host:laptop", keepLocally: false });
        // Default daemon: the provider gets no host, so it uses DOCKER_HOST or the local socket.
        expect(res("redis-local-docker").inputs.host).toBeUndefined();
    });

    it("makes one network with fixed addresses and, per host, a volume and a systemd container", async () => {
        const cfg = await deploy();
        expect(res("redis-local-docker").inputs.host).toBe("unix:///run/test/docker.sock");
        expect(res("redis-local-network").inputs).toMatchObject({
            name: "redis-sentinel-laptop-net", driver: "bridge", ipamConfigs: [{ subnet: "198.18.4.0/24", gateway: "198.18.4.1" }],
        });
        for (const [i, h] of ["node1", "node2", "node3"].entries()) {
            expect(res(`redis-local-data-${h}`).inputs.name).toBe(`redis-sentinel-laptop-${h}-data`);
            const c = res(`redis-local-${h}`);
            expect(c.type).toBe("docker:index/container:Container");
            expect(c.inputs).toMatchObject({
                name: `redis-sentinel-laptop-${h}`, hostname: h, image: "sha256:0123456789abcdef", command: ["/sbin/init"],
                capabilities: { adds: ["ALL"], drops: ["CAP_SYS_RESOURCE"] },
                securityOpts: ["seccomp=unconfined", "apparmor=unconfined"], cgroupnsMode: "host",
                tmpfs: { "/run": "", "/run/lock": "" },
                volumes: [
                    { hostPath: "/sys/fs/cgroup", containerPath: "/sys/fs/cgroup" },
                    { volumeName: `redis-sentinel-laptop-${h}-data`, containerPath: cfg.paths.dataDir },
                ],
                networksAdvanced: [{ name: "redis-sentinel-laptop-net", ipv4Address: `198.18.4.${11 + i}` }],
                restart: "unless-stopped", stopSignal: "SIGRTMIN+3", destroyGraceSeconds: 30,
            });
            expect(c.inputs.privileged).toBeUndefined();
            // Only the public half of the login key goes into the container.
            expect(c.inputs.uploads).toEqual([{ file: "/root/.ssh/authorized_keys", content: `${GENERATED_PUBLIC}\n` }]);
            expect(JSON.stringify(c.inputs)).not.toContain("PRIVATE KEY");
        }
        for (const r of registered.values()) {
            if (!r.type.startsWith("docker:index/")) continue;
            expect(r.parent).toBe("redis-local");
            expect(r.provider).toMatch(/::redis-local-docker::/);
        }
    });

    it("reads each host key once after boot without a pin, then every cluster step pins it", async () => {
        await deploy();
        for (const [i, h] of ["node1", "node2", "node3"].entries()) {
            const read = res(`redis-local-host-key-${h}`);
            expect(read.deps).toContain(`redis-local-${h}`);
            expect(read.inputs.create).toBe("cat /etc/ssh/ssh_host_ed25519_key.pub");
            expect(read.inputs.triggers).toEqual([`redis-local-${h}-id`]);
            const conn = plain(read.inputs.connection);
            expect(conn).toMatchObject({ host: `198.18.4.${11 + i}`, port: 22, user: "root", dialErrorLimit: 20, perDialTimeout: 5 });
            expect(conn.hostKey).toBeUndefined();
            expect(plain(conn.privateKey)).toBe(GENERATED_PRIVATE);

            for (const step of [`redis-ssh-check-${h}`, `${h}-prepare`, `${h}-redis-service`, `${h}-sentinel-service`]) {
                const c = plain(res(step).inputs.connection);
                expect(c.hostKey).toBe(hostKeyOf(i + 1));
                expect(plain(c.privateKey)).toBe(GENERATED_PRIVATE);
                expect(c.host).toBe(`198.18.4.${11 + i}`);
            }
        }
        expect(isSecret(res("redis-ssh-check-node1").inputs.connection)).toBe(true);
    });
});
