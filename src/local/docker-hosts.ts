/**
 * The local Docker stack's hosts: Docker containers that boot systemd and sshd
 * from the image in docker/host/, on a private network with fixed addresses,
 * each with its own volume for Redis data. The stack generates the SSH login key
 * (copied into each container when it is created, never into the image) and pins
 * the host key each container makes on first boot, so the cluster reaches them
 * exactly as it reaches VMs. For trying the project locally, not for production:
 * every "host" shares one machine.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import { ClusterConfig, HostSpec } from "../config";
import { LocalDockerConfig, localGateway } from "../local-docker-config";
import { checkHostKey } from "../ssh-keys";
import { SshKeyPair } from "./ssh-key-pair";

/**
 * The Dockerfile's directory (the build context), relative to the project root,
 * where pulumi runs the program and its providers: a checkout moved elsewhere
 * does not rebuild the image.
 */
export const HOST_IMAGE_CONTEXT = "docker/host";
/** Where each container keeps its host key; ssh-host-key.service in the image makes it. */
export const CONTAINER_HOST_KEY = "/etc/ssh/ssh_host_ed25519_key.pub";

/**
 * What systemd needs to boot as PID 1 in a container (DESIGN.md: measured with
 * Debian's docker.io; `privileged` fails where CAP_SYS_RESOURCE cannot be handed out).
 */
export const SYSTEMD_CONTAINER = {
    // As dockerd stores it (CAP_ prefix): the provider reads capabilities back, and the
    // short form would then differ from the state on every up and replace the container.
    capabilities: { adds: ["ALL"], drops: ["CAP_SYS_RESOURCE"] },
    securityOpts: ["seccomp=unconfined", "apparmor=unconfined"],
    cgroupnsMode: "host",
    cgroupVolume: { hostPath: "/sys/fs/cgroup", containerPath: "/sys/fs/cgroup" },
    tmpfs: { "/run": "", "/run/lock": "" },
    command: ["/sbin/init"],
    // systemd halts cleanly on SIGRTMIN+3; on SIGTERM it would re-execute itself.
    stopSignal: "SIGRTMIN+3",
    // Destroy and replace stop the container first (systemd halts, Redis saves) instead of killing it.
    destroyGraceSeconds: 30,
} as const;

export interface DockerHostsArgs {
    /** The validated cluster configuration; its `localDocker` says what to make. */
    readonly config: ClusterConfig & { readonly localDocker: LocalDockerConfig };
    /** Prefix of every Docker object's name (containers, network, volumes). Default `redis-sentinel-<stack>`. */
    readonly namePrefix?: string;
}

/** The containers, reachable over SSH with `sshPrivateKey`, each pinned by `hostKeys`. */
export class DockerHosts extends pulumi.ComponentResource {
    /** The generated login key (OpenSSH format); a secret. */
    readonly sshPrivateKey: pulumi.Output<string>;
    /** Each host's key as read after its first boot, by host name. */
    readonly hostKeys: Readonly<Record<string, pulumi.Output<string>>>;
    /** Container names by host name (for `docker exec`, `docker stop`). */
    readonly containerNames: Readonly<Record<string, pulumi.Output<string>>>;
    /** The private network's name. */
    readonly networkName: pulumi.Output<string>;

    constructor(name: string, args: DockerHostsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("redis-sentinel:local:DockerHosts", name, {}, opts);
        const local = args.config.localDocker;
        const stack = pulumi.getStack();
        const prefix = args.namePrefix ?? `redis-sentinel-${stack}`;
        const child = { parent: this };
        // Docker names are fixed, so a replacement must delete the old object first.
        const named = { deleteBeforeReplace: true };

        const provider = new docker.Provider(`${name}-docker`, local.dockerHost ? { host: local.dockerHost } : {}, child);
        const inDocker = { parent: this, provider };

        const key = new SshKeyPair(`${name}-ssh-key`, { comment: `${prefix}-deployer` }, child);
        this.sshPrivateKey = key.privateKey;

        // The legacy builder: it needs no BuildKit on the daemon, and the image has no
        // multi-stage or cache tricks that BuildKit would speed up.
        const image = new docker.Image(`${name}-image`, {
            imageName: `redis-sentinel-host:${stack}`,
            skipPush: true,
            build: {
                context: HOST_IMAGE_CONTEXT,
                dockerfile: `${HOST_IMAGE_CONTEXT}/Dockerfile`,
                builderVersion: "BuilderV1",
                args: { BASE_IMAGE: local.baseImage },
            },
        }, inDocker);
        // docker.Image leaves its tag behind on destroy; this one removes it (keepLocally
        // false), and gives the image ID the containers run.
        const localImage = new docker.RemoteImage(`${name}-image-tag`, {
            name: image.imageName,
            keepLocally: false,
        }, inDocker);

        const network = new docker.Network(`${name}-network`, {
            name: `${prefix}-net`,
            driver: "bridge",
            ipamConfigs: [{ subnet: local.subnet, gateway: localGateway(local) }],
        }, { ...inDocker, ...named });
        this.networkName = network.name;

        const hostKeys: Record<string, pulumi.Output<string>> = {};
        const containerNames: Record<string, pulumi.Output<string>> = {};
        for (const host of args.config.hosts) {
            const volume = new docker.Volume(`${name}-data-${host.name}`, { name: `${prefix}-${host.name}-data` }, { ...inDocker, ...named });
            const container = new docker.Container(`${name}-${host.name}`, {
                name: `${prefix}-${host.name}`,
                hostname: host.name,
                image: localImage.imageId,
                command: [...SYSTEMD_CONTAINER.command],
                capabilities: {
                    adds: [...SYSTEMD_CONTAINER.capabilities.adds],
                    drops: [...SYSTEMD_CONTAINER.capabilities.drops],
                },
                securityOpts: [...SYSTEMD_CONTAINER.securityOpts],
                cgroupnsMode: SYSTEMD_CONTAINER.cgroupnsMode,
                tmpfs: { ...SYSTEMD_CONTAINER.tmpfs },
                volumes: [
                    { ...SYSTEMD_CONTAINER.cgroupVolume },
                    { volumeName: volume.name, containerPath: args.config.paths.dataDir },
                ],
                networksAdvanced: [{ name: network.name, ipv4Address: host.address }],
                // Back after a reboot of the machine, but a `docker stop` (a drill) stays stopped.
                restart: "unless-stopped",
                stopSignal: SYSTEMD_CONTAINER.stopSignal,
                destroyGraceSeconds: SYSTEMD_CONTAINER.destroyGraceSeconds,
                // The login key arrives when the container is made, never in the image.
                uploads: [{ file: "/root/.ssh/authorized_keys", content: pulumi.interpolate`${key.publicKey}\n` }],
            }, { ...inDocker, ...named });
            containerNames[host.name] = container.name;
            hostKeys[host.name] = readHostKey(`${name}-host-key-${host.name}`, host, key.privateKey, container, this);
        }
        this.hostKeys = hostKeys;
        this.containerNames = containerNames;
        this.registerOutputs({ networkName: this.networkName });
    }
}

/**
 * The container's host key, read once over SSH right after it first booted and
 * pinned from then on (every cluster step checks it). This first login accepts
 * any host key: it happens on the machine's own private Docker network, seconds
 * after the container was made, like `ssh-keyscan` before a first deploy. A new
 * container (a new ID) is read again.
 */
function readHostKey(
    name: string, host: HostSpec, privateKey: pulumi.Output<string>, container: docker.Container, parent: pulumi.Resource,
): pulumi.Output<string> {
    const read = new command.remote.Command(name, {
        connection: {
            host: host.address, port: host.sshPort, user: host.sshUser, privateKey,
            // sshd starts a second or two after the container: retried for about a minute.
            dialErrorLimit: 20, perDialTimeout: 5,
        },
        create: `cat ${CONTAINER_HOST_KEY}`,
        triggers: [container.id],
        addPreviousOutputInEnv: false,
    }, { parent, dependsOn: [container] });
    return pulumi.unsecret(read.stdout).apply((out) => hostKeyFromPubFile(host.name, out));
}

/** "ssh-ed25519 AAAA..." from the .pub file's text; fails the up on anything else. */
export function hostKeyFromPubFile(hostName: string, pubFile: string): string {
    const pin = pubFile.trim().split(/\s+/).slice(0, 2).join(" ");
    const problem = checkHostKey(pin);
    if (problem !== undefined) {
        throw new Error(`${hostName}: ${CONTAINER_HOST_KEY} does not hold an ed25519 public key (${JSON.stringify(pubFile.slice(0, 80))})`);
    }
    return pin;
}
