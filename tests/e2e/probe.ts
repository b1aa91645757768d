/**
 * Looks at a deployed cluster on the test hosts from the outside: redis-cli on
 * a host, service PIDs and start times, and the master as the Sentinels say.
 */
import { DrillTarget, masterAddress } from "../../src/drill";
import { TestHosts, onHost } from "./lib";

/**
 * MainPID of redis-server and redis-sentinel on test host i, keyed `host<i>/<unit>`.
 * Throws unless both run, so equal PIDs always mean "not restarted".
 */
export function servicePids(i: number): Record<string, string> {
    const out: Record<string, string> = {};
    for (const unit of ["redis-server", "redis-sentinel"]) {
        const pid = onHost(i, `systemctl show -p MainPID --value ${unit}`).stdout.trim();
        if (!/^[1-9]\d*$/.test(pid)) throw new Error(`host${i}: ${unit} is not running (MainPID '${pid}')`);
        out[`host${i}/${unit}`] = pid;
    }
    return out;
}

/** Every file the deployer puts on test host i, with its sha256 ("- FILE" for a missing one). */
export function deployedFileHashes(i: number, version: string): string {
    const files = [
        "/etc/redis/redis.conf.rendered", "/etc/redis/sentinel.conf.rendered", "/etc/redis/redis.conf",
        "/etc/systemd/system/redis-server.service", "/etc/systemd/system/redis-sentinel.service",
        "/etc/sysctl.d/60-redis.conf", "/etc/tmpfiles.d/redis-thp.conf", "/var/lib/redis-sentinel-pulumi/secrets.env",
        `/opt/redis-${version}/bin/redis-server`, `/opt/redis-${version}/bin/redis-cli`,
    ];
    return onHost(i, files.map((f) => `{ sha256sum ${f} 2>/dev/null || echo "- ${f}"; }`).join("; ")).stdout;
}

/** The value after `key` in a one-item-per-line reply (SENTINEL MASTER). */
export const kv = (reply: string, key: string): string => { const l = reply.split("\n"); return l[l.indexOf(key) + 1]; };

export interface ProbeArgs {
    /** The test hosts of this file (read when used: they are booted in beforeAll). */
    readonly hosts: () => TestHosts;
    /** How many of them are in the cluster now. */
    readonly count: () => number;
    /** The Redis version installed now: redis-cli is run from /opt/redis-<version>. */
    readonly version: () => string;
    readonly password: string;
    /** Default: `password`. */
    readonly sentinelPassword?: string;
    /** The ports now. Default 6379 and 26379. */
    readonly ports?: () => { readonly redis: number; readonly sentinel: number };
}

export class ClusterProbe {
    constructor(private readonly a: ProbeArgs) {}

    private ports() {
        return this.a.ports?.() ?? { redis: 6379, sentinel: 26379 };
    }

    /** What a Sentinel-aware client of this cluster needs. */
    target(): DrillTarget {
        return {
            sentinels: this.a.hosts().hosts.slice(0, this.a.count()).map((h) => ({ host: h.address, port: this.ports().sentinel })),
            masterName: "mymaster", password: this.a.password, sentinelPassword: this.a.sentinelPassword ?? this.a.password,
        };
    }

    /** redis-cli on test host i (1-based) against its local data node (or Sentinel, with its port). */
    cli(i: number, args: string, port = this.ports().redis): string {
        const pw = port === this.ports().sentinel ? this.a.sentinelPassword ?? this.a.password : this.a.password;
        return onHost(i, `REDISCLI_AUTH='${pw}' /opt/redis-${this.a.version()}/bin/redis-cli -h 127.0.0.1 -p ${port} ${args}`).stdout.trim();
    }

    sentinel(i: number, args: string): string {
        return this.cli(i, args, this.ports().sentinel);
    }

    /** MainPID of both services on the first n hosts: unchanged PIDs mean nothing restarted. */
    pids(n = this.a.count()): Record<string, string> {
        const out: Record<string, string> = {};
        for (let i = 1; i <= n; i++) Object.assign(out, servicePids(i));
        return out;
    }

    /** 1-based index of the test host that is master now, as the Sentinels say. */
    async masterIndex(): Promise<number> {
        const ip = (await masterAddress(this.target())).split(":")[0];
        return this.a.hosts().hosts.findIndex((h) => h.address === ip) + 1;
    }

    /** The master's config epoch as Sentinel i knows it: it grows by one with every failover. */
    configEpoch(i: number): number {
        return Number(kv(this.sentinel(i, "SENTINEL MASTER mymaster"), "config-epoch"));
    }

    /** When host i's redis-server last started (CLOCK_MONOTONIC, shared by all test hosts). */
    startedAt(i: number): number {
        return Number(onHost(i, "systemctl show -p ExecMainStartTimestampMonotonic --value redis-server").stdout.trim());
    }

    /** The version a running server reports (with the Sentinel's port: the Sentinel's). */
    runningVersion(i: number, port = this.ports().redis): string {
        return /^redis_version:(\S+)/m.exec(this.cli(i, "INFO server", port))?.[1] ?? "";
    }
}
