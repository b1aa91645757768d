/**
 * What a drill that runs scripts on the stack's hosts is given (the partition
 * and load drills): the cluster as the drill machine reaches it, the hosts, how
 * to start a host script, and who writes.
 */
import { HostSpec } from "./config";
import { DrillTarget } from "./drill";
import { HostContext } from "./host/layout";
import { HostScript } from "./host/script";

/** Starts a host script on a host and hands its output over line by line (drill-ssh.ts over SSH). */
export type StartScript = (host: HostSpec, script: HostScript, onLine: (line: string) => void) => { readonly done: Promise<number>; stop(): void };

export interface HostDrillOptions {
    /** How the drill machine reaches the Sentinels and the master. */
    readonly target: DrillTarget;
    readonly hosts: readonly HostSpec[];
    readonly ctx: HostContext;
    /** The data nodes' user that writes on the hosts, and the host secret with its password. */
    readonly writer: { readonly user: string; readonly secret: string };
    /** How long the drill's disruption (cut, load) lasts. */
    readonly seconds: number;
    readonly start: StartScript;
}

/** The address part of "ip:port" (IPv6 too). */
export const addressOf = (hostPort: string): string => hostPort.slice(0, hostPort.lastIndexOf(":"));

/** The host whose announced address the Sentinels name as master ("ip:port"), or an error saying it is none of the stack's. */
export function hostOfMaster(hosts: readonly HostSpec[], master: string): HostSpec {
    const host = hosts.find((h) => h.announceAddress === addressOf(master));
    if (!host) throw new Error(`the Sentinels name ${master} as master, which is no host of this stack`);
    return host;
}
