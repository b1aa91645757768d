/**
 * One step on a host: a `remote.Command` that runs a host script (data on
 * stdin, an optional undo on destroy), named after the host and parented to
 * the component it belongs to.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { HostSpec } from "../config";
import { HostScript, asRoot, asRootReadingAllStdin, commandLine, readingAllStdin } from "../host/script";

/** The credentials every step logs in with, and the host keys it accepts. */
export interface SshAccess {
    /** SSH private key for every host; a secret. */
    readonly privateKey: pulumi.Input<string>;
    /** Its passphrase; a secret. Default none: only an encrypted key has one (the provider refuses one for a plain key). */
    readonly privateKeyPassword?: pulumi.Input<string>;
    /**
     * Host keys learned during the deployment, by host name (the local Docker stack
     * reads each container's after boot). Default none: each host's configured hostKey.
     */
    readonly hostKeys?: Readonly<Record<string, pulumi.Input<string>>>;
}

/** The key a host must present: learned during the deployment, else configured; undefined when not checked. */
export function pinnedHostKey(host: HostSpec, access: SshAccess): pulumi.Input<string> | undefined {
    return access.hostKeys?.[host.name] ?? host.hostKey;
}

/** How every step reaches a host. */
export function connectionFor(host: HostSpec, access: SshAccess): command.types.input.remote.ConnectionArgs {
    const hostKey = pinnedHostKey(host, access);
    return {
        host: host.address,
        port: host.sshPort,
        user: host.sshUser,
        privateKey: access.privateKey,
        ...(access.privateKeyPassword !== undefined ? { privateKeyPassword: access.privateKeyPassword } : {}),
        // Unset only where the stack opted out (insecureSkipHostKeyCheck): then not checked.
        ...(hostKey !== undefined ? { hostKey } : {}),
        // A host that does not accept TCP fails its step after 5 attempts of 15 s instead
        // of retrying for long. The provider bounds only the TCP connect: a host that
        // accepts and never answers SSH hangs the step (README, Troubleshooting SSH).
        dialErrorLimit: 4,
        perDialTimeout: 15,
    };
}

export interface HostStepArgs {
    readonly host: HostSpec;
    readonly connection: command.types.input.remote.ConnectionArgs;
    readonly parent: pulumi.Resource;
}

/**
 * What a step runs when it is first created (its later runs, on any change of its
 * inputs, always run its script):
 * - "script": the script (the default);
 * - "nothing": no command at all, and so no SSH login: a step whose work only a host
 *   that already runs can need (pulumi-command runs no command on create when
 *   `create` is unset, and `update` on every later change);
 * - a HostScript: that one instead (a cheaper first run that checks whether the
 *   whole script is needed).
 */
export type OnCreate = "script" | "nothing" | HostScript;

export interface StepOptions {
    /** What runs when the step is created. Default "script". */
    readonly onCreate?: OnCreate;
    /** Data for the script (a file, secrets). Default none. */
    readonly stdin?: pulumi.Input<string>;
    /** A plain command run as root on destroy. Default none. */
    readonly delete?: string;
    /** A host script run on destroy. Default none. */
    readonly deleteScript?: HostScript;
    /** Default none. */
    readonly dependsOn?: pulumi.Input<pulumi.Input<pulumi.Resource>[]>;
}

/** `<host>-<name>`: the script run as root on the host, through sudo for a non-root SSH user. */
export function hostStep(name: string, s: HostStepArgs, script: HostScript, opts: StepOptions = {}): command.remote.Command {
    const onCreate = opts.onCreate ?? "script";
    // The provider sends stdin to every command of the step (delete too): each one
    // reads all of it, or it may fail with a bare EOF (readingAllStdin).
    const withStdin = opts.stdin !== undefined;
    const line = (sc: HostScript) => commandLine(s.host.sshUser, withStdin ? readingAllStdin(sc) : sc);
    const plain = (cmd: string) => withStdin ? asRootReadingAllStdin(s.host.sshUser, cmd) : asRoot(s.host.sshUser, cmd);
    const runs = onCreate === "script"
        ? { create: line(script) }
        : {
            ...(onCreate === "nothing" ? {} : { create: line(onCreate) }),
            update: line(script),
        };
    return new command.remote.Command(`${s.host.name}-${name}`, {
        connection: s.connection,
        ...runs,
        // The scripts do not read the previous output; sshd would refuse the env request anyway.
        addPreviousOutputInEnv: false,
        ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
        ...(opts.delete !== undefined ? { delete: plain(opts.delete) } : {}),
        ...(opts.deleteScript !== undefined ? { delete: line(opts.deleteScript) } : {}),
    }, { parent: s.parent, dependsOn: opts.dependsOn });
}
