/**
 * One typed function per host verb. Each returns the script to run (script.ts);
 * its inputs reach the host as named variables. Pure: the components turn these
 * into `remote.Command`s, tests run them locally with their own HostContext.
 */
import { HostContext } from "./layout";
import { HostScript, hostScript } from "./script";

export interface PrepareInputs {
    readonly dataDir: string;
    readonly logDir: string;
    readonly stageDir: string;
    /** Owns the stage directory the binaries are copied to. */
    readonly sshUser: string;
}
/** The service user and the directories Redis and the deployer need. */
export const prepare = (ctx: HostContext, i: PrepareInputs): HostScript => hostScript("prepare", ctx, { ...i });

export interface PutFileInputs {
    readonly dest: string;
    readonly owner: string;
    /** Octal, e.g. "0644". */
    readonly mode: string;
    /** What follows a change: none | sysctl | tmpfiles | unit:NAME (a restart then waits for the roll). */
    readonly action: "none" | "sysctl" | "tmpfiles" | `unit:${string}`;
}
/** Writes stdin to a file when it differs, then runs the action. */
export const putFile = (ctx: HostContext, i: PutFileInputs): HostScript => hostScript("put-file", ctx, { ...i });

/** Stores the secrets file (stdin: NAME=value lines). */
export const putSecrets = (ctx: HostContext): HostScript => hostScript("put-secrets", ctx);

export interface InstallBinariesInputs {
    readonly stagedServer: string;
    readonly stagedCli: string;
    readonly serverSha256: string;
    readonly cliSha256: string;
    readonly installDir: string;
    /** Where the binaries go (layout.installedBinaries). */
    readonly installedServer: string;
    readonly installedCli: string;
    readonly installedSentinel: string;
    readonly redisVersion: string;
}
/** Checks the staged binaries (checksums, version) and installs them. */
export const installBinaries = (ctx: HostContext, i: InstallBinariesInputs): HostScript => hostScript("install-binaries", ctx, { ...i });

export interface ApplyConfigInputs {
    readonly kind: "redis" | "sentinel";
    readonly target: string;
    /** The port this file configures. */
    readonly port: number;
    /** This node's announced address (a joining node does not follow itself). */
    readonly self: string;
    /** "ip:port" of the other hosts' Sentinels, asked for the current master at first install. */
    readonly peers: readonly string[];
}
/** Installs a rendered config (stdin), keeping what Redis and Sentinel own. */
export const applyConfig = (ctx: HostContext, i: ApplyConfigInputs): HostScript => hostScript("apply-config", ctx, { ...i });

export interface ServiceInputs {
    readonly unit: string;
    /** Whom it answers as: a data node or a Sentinel (which password PING uses). */
    readonly who: "data" | "sentinel";
    readonly port: number;
}
/** Enables and starts a unit and waits until it answers PING. */
export const service = (ctx: HostContext, i: ServiceInputs): HostScript => hostScript("service", ctx, { ...i });

export interface RestartInputs {
    readonly pass: "replicas" | "master";
    /** Only there so the step runs again when what it restarts for changes. */
    readonly revision: string;
}
/** One host's step of the rolling restart. */
export const restart = (ctx: HostContext, i: RestartInputs): HostScript => hostScript("restart", ctx, { ...i });

/** A planned switchover of this host's master, without a restart. */
export const handover = (ctx: HostContext): HostScript => hostScript("handover", ctx);

/** This host leaves: hands the master role over, stops, the remaining Sentinels (peers) forget it. */
export const leave = (ctx: HostContext, i: { readonly peers: readonly string[] }): HostScript => hostScript("leave", ctx, { ...i });

export interface TidyInputs {
    /** "ip:port" of every Sentinel of the cluster. */
    readonly peers: readonly string[];
    readonly revision: string;
}
/** Sentinels that remember nodes the cluster no longer has are reset, one at a time. */
export const tidy = (ctx: HostContext, i: TidyInputs): HostScript => hostScript("tidy", ctx, { ...i });

export interface VerifyInputs {
    /** "name=address" of every host. */
    readonly nodes: readonly string[];
    readonly verifyTimeout: number;
    /** "data|sentinel USER SECRET" lines: each must log in on every node with its current password. */
    readonly userLogins: string;
    /** "USER allow|deny COMMAND..." lines, asked of ACL DRYRUN on every data node. */
    readonly dryRuns: string;
    /** The cluster's own users on the data nodes and on the Sentinels: none may be denied in ACL LOG. */
    readonly internalDataUsers: readonly string[];
    readonly internalSentinelUsers: readonly string[];
}
/** Waits until the cluster is as asked, then prints it as JSON (secrets on stdin). */
export const verify = (ctx: HostContext, i: VerifyInputs): HostScript => hostScript("verify", ctx, { ...i });

export interface AclInputs {
    /** add: current and previous passwords valid; retire: previous ones dropped. */
    readonly phase: "add" | "retire";
    /** The data node's `user` lines (acl.ts userLine), one per line. */
    readonly dataUsers: string;
    /** The Sentinel's `user` lines. */
    readonly sentinelUsers: string;
    /**
     * "yes": the step's first run, which does nothing unless the host's secrets show a
     * rotation (a host that ran before this step existed). Default "no".
     */
    readonly firstRun?: "yes" | "no";
}
export interface AclRetireInputs extends AclInputs {
    readonly phase: "retire";
    /** "yes": the applications' previous passwords stay (keepPreviousAppPasswords). */
    readonly keepPrevious: "yes" | "no";
}
/** Sets this host's ACL users live and in its files (secrets on the host). */
export const acl = (ctx: HostContext, i: (AclInputs & { readonly phase: "add" }) | AclRetireInputs): HostScript =>
    hostScript("acl", ctx, { keepPrevious: "no", firstRun: "no", ...i });

export interface AuthLinksInputs {
    readonly replUser: string;
    readonly replSecret: string;
    /** The user Sentinels log in to the data nodes as. */
    readonly sentinelUser: string;
    readonly sentinelSecret: string;
    /** The user Sentinels log in to each other as. */
    readonly peerUser: string;
    readonly peerSecret: string;
    /** As AclInputs.firstRun. Default "no". */
    readonly firstRun?: "yes" | "no";
}
/** Switches replication and Sentinel logins to the current passwords, live. */
export const authLinks = (ctx: HostContext, i: AuthLinksInputs): HostScript => hostScript("auth-links", ctx, { firstRun: "no", ...i });

export interface IsolateInputs {
    /** Addresses of the cluster's other hosts: what this host is cut off from. */
    readonly peers: readonly string[];
    /** How long the cut lasts at most (a timer on the host ends it). */
    readonly partitionSeconds: number;
}
/** The partition drill: cuts this host off from its peers with firewall rules that remove themselves. */
export const isolate = (ctx: HostContext, i: IsolateInputs): HostScript => hostScript("isolate", ctx, { ...i });

/** Ends the partition drill's cut on this host now. */
export const heal = (ctx: HostContext): HostScript => hostScript("heal", ctx);

export interface DrillWriterInputs {
    /** The data nodes' user it writes as, and the host secret holding that user's password. */
    readonly writerUser: string;
    readonly writerSecret: string;
    /** Keys are `<keyPrefix>:<n>`, each expiring after keyTtl seconds. */
    readonly keyPrefix: string;
    readonly keyTtl: number;
    /** It stops by itself after this long, should nobody stop it. */
    readonly maxSeconds: number;
}
/** A writer on the host that finds the master through the host's own Sentinel; one line per write. */
export const drillWriter = (ctx: HostContext, i: DrillWriterInputs): HostScript => hostScript("drill-writer", ctx, { ...i });

export interface DrillLoadInputs {
    readonly writerUser: string;
    readonly writerSecret: string;
    /** Keys are `<keyPrefix>:<n mod loadKeys>`, each expiring after loadKeyTtl seconds. */
    readonly keyPrefix: string;
    readonly loadKeys: number;
    readonly loadKeyTtl: number;
    readonly valueBytes: number;
    readonly loadSeconds: number;
}
/** Writes to the master at full speed for a while; reports its errors and the replicas' lag (load drill). */
export const drillLoad = (ctx: HostContext, i: DrillLoadInputs): HostScript => hostScript("drill-load", ctx, { ...i });

export interface StartGuardInputs {
    /** This node's announced address: a Sentinel naming it names this node. */
    readonly self: string;
    /** "ip:port" of every Sentinel of the cluster, this host's own too. */
    readonly sentinels: readonly string[];
}
/**
 * The start guard (sh/bin/start-guard.sh), which systemd runs as root before
 * redis-server on a node without persistence: install-guard puts it in a file
 * (script.ts executableFile).
 */
export const startGuard = (ctx: HostContext, i: StartGuardInputs): HostScript => hostScript("start-guard", ctx, { ...i });

export interface InstallGuardInputs {
    /** The redis-server unit's drop-in that runs the guard (layout.unitDropIn). */
    readonly dropIn: string;
    /** Its text (render.ts). */
    readonly dropInText: string;
}
/** Installs the start guard (stdin: its file, startGuard) and the unit's drop-in that runs it. */
export const installGuard = (ctx: HostContext, i: InstallGuardInputs): HostScript => hostScript("install-guard", ctx, { ...i });

export interface PutTlsInputs {
    /** The CA's certificate (PEM, public). */
    readonly tlsCa: string;
    /** This host's certificate (PEM, public). */
    readonly tlsCert: string;
    /** Where the CA, the certificate and the key go (layout.tlsFiles). */
    readonly caFile: string;
    readonly certFile: string;
    readonly keyFile: string;
    /** The redis-cli wrapper's text (layout.tlsCliWrapper), written at the context's redisCli. */
    readonly cliWrapper: string;
}
/** Writes a TLS host's certificates, its key (stdin, a secret) and the redis-cli wrapper; marks a plaintext host as switching. */
export const putTls = (ctx: HostContext, i: PutTlsInputs): HostScript => hostScript("put-tls", ctx, { ...i });

export interface TlsSwitchedInputs {
    /** The verification's revision: the step runs again whenever the verification does. */
    readonly revision: string;
}
/** Once the cluster is verified over TLS: the host's switch from plaintext is over (TLS_SWITCH_MARKER goes). */
export const tlsSwitched = (ctx: HostContext, i: TlsSwitchedInputs): HostScript => hostScript("tls-switched", ctx, { ...i });
