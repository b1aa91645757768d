/**
 * The `localDocker` stack key: instead of listing hosts, the stack makes them as
 * Docker containers on the machine that runs `pulumi up` (src/local/). Pure: the
 * cluster config parser calls it and turns its hosts into ordinary HostSpecs.
 */
import type { HostSpec, Persistence } from "./config";

export interface LocalDockerConfig {
    /** Containers to make, 1-9 (fewer than 3 also needs allowFewerThanThreeHosts). Default 3. */
    readonly hosts: number;
    /**
     * IPv4 /24 of the stack's private Docker network, "a.b.c.0/24": gateway .1,
     * hosts .11, .12, ... Default "10.213.0.0/24" (outside Docker's default pools).
     */
    readonly subnet: string;
    /** Debian 12 image the host Dockerfile builds FROM. Default "debian:bookworm". */
    readonly baseImage: string;
    /** Docker daemon address (unix://, tcp://, ssh://). Default "": DOCKER_HOST, else the local socket. */
    readonly dockerHost: string;
}

export const LOCAL_DOCKER_DEFAULTS: LocalDockerConfig = {
    hosts: 3,
    subnet: "10.213.0.0/24",
    baseImage: "debian:bookworm",
    dockerHost: "",
};

const LOCAL_DOCKER_KEYS = Object.keys(LOCAL_DOCKER_DEFAULTS);
/** The most containers one stack makes; also what fits the .11-.19 address block. */
export const MAX_LOCAL_HOSTS = 9;

type Fail = (k: string, msg: string) => void;

/**
 * `localDocker` as given (the engine's JSON text; "{}" or unset means "not a
 * Docker stack"), validated; undefined when the stack lists its own hosts. A
 * value that is set but malformed is reported and still makes a Docker stack.
 */
export function parseLocalDocker(text: string | undefined, fail: Fail): LocalDockerConfig | undefined {
    if (text === undefined || text === "" || text === "{}") return undefined;
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch {
        fail("localDocker", "is not valid structured config (set it in Pulumi.<stack>.yaml or with `pulumi config set --path`)");
        // Still a Docker stack: no second round of errors about hosts or an SSH key.
        return LOCAL_DOCKER_DEFAULTS;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        fail("localDocker", "must be an object like {hosts: 3}");
        return LOCAL_DOCKER_DEFAULTS;
    }
    const o = value as Record<string, unknown>;
    for (const k of Object.keys(o)) {
        if (!LOCAL_DOCKER_KEYS.includes(k)) fail(`localDocker.${k}`, `unknown key (expected ${LOCAL_DOCKER_KEYS.join(", ")})`);
    }
    const D = LOCAL_DOCKER_DEFAULTS;
    let hosts = D.hosts;
    if (o.hosts !== undefined) {
        if (typeof o.hosts !== "number" || !Number.isInteger(o.hosts) || o.hosts < 1 || o.hosts > MAX_LOCAL_HOSTS) {
            fail("localDocker.hosts", `must be an integer from 1 to ${MAX_LOCAL_HOSTS}, got ${JSON.stringify(o.hosts)}`);
        } else hosts = o.hosts;
    }
    const str = (k: keyof LocalDockerConfig, ok: (s: string) => boolean, what: string): string => {
        const v = o[k];
        if (v === undefined) return D[k] as string;
        if (typeof v !== "string" || !ok(v)) {
            fail(`localDocker.${k}`, `${what}, got ${JSON.stringify(v)}`);
            return D[k] as string;
        }
        return v;
    };
    const subnet = str("subnet", (s) => subnetPrefix(s) !== undefined, 'must be an IPv4 /24 like "10.213.0.0/24"');
    // A reference docker understands: [registry[:port]/]name[:tag][@digest], lowercase name.
    const baseImage = str("baseImage", (s) => /^[a-z0-9]+([._\/:-][a-z0-9]+)*(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$/.test(s),
        'must be an image reference like "debian:bookworm"');
    const dockerHost = str("dockerHost", (s) => s === "" || /^(unix|tcp|ssh|npipe):\/\/\S+$/.test(s),
        'must be a Docker address like "unix:///var/run/docker.sock" or "tcp://HOST:2376"');
    return { hosts, subnet, baseImage, dockerHost };
}

/** "a.b.c" of an "a.b.c.0/24" subnet, or undefined when it is not one. */
export function subnetPrefix(subnet: string): string | undefined {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.0\/24$/.exec(subnet);
    if (!m || m.slice(1).some((p) => Number(p) > 255)) return undefined;
    return m.slice(1, 4).join(".");
}

/** The network's gateway: the machine's own address on it. */
export function localGateway(cfg: LocalDockerConfig): string {
    return `${subnetPrefix(cfg.subnet)}.1`;
}

/**
 * The hosts the stack makes: node1 (the initial master), node2, ... at .11,
 * .12, ...; root over SSH on port 22. No hostKey: each container makes its own
 * on first boot and the stack pins what it reads then (src/local/docker-hosts.ts).
 * Each keeps the stack's persistence (`persistence`).
 */
export function localDockerHosts(cfg: LocalDockerConfig, persistence: Persistence): HostSpec[] {
    const prefix = subnetPrefix(cfg.subnet);
    return Array.from({ length: cfg.hosts }, (_, i) => {
        const address = `${prefix}.${11 + i}`;
        return {
            name: `node${i + 1}`, address, announceAddress: address, sshPort: 22, sshUser: "root",
            role: i === 0 ? "master" : "replica", replicaPriority: 100, persistence,
        } satisfies HostSpec;
    });
}
