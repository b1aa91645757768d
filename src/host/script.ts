/**
 * Assembles the text a host runs for one verb: the facts and inputs it needs as
 * named shell variables (a generated header, never positional arguments), the
 * shell helpers it uses (sh/lib/), then the verb itself (sh/bin/). The result
 * is run as root with `sh -c`, data on stdin.
 */
import * as fs from "fs";
import * as path from "path";
import { HostContext } from "./layout";

export type Verb =
    | "prepare" | "put-file" | "put-secrets" | "install-binaries" | "apply-config"
    | "service" | "restart" | "handover" | "leave" | "tidy" | "verify" | "acl" | "auth-links"
    | "isolate" | "heal" | "drill-writer" | "drill-load"
    | "install-guard" | "start-guard" | "put-tls" | "tls-switched";

type Lib = "secrets" | "redis" | "deadline" | "listening-port" | "sentinel" | "apply-config" | "roll" | "tls";
// `tls` chooses libraries; it is no shell variable.
type ContextKey = Exclude<keyof HostContext, "tls">;

/** The context each shell helper reads. */
const LIB_CONTEXT: Readonly<Record<Lib, readonly ContextKey[]>> = {
    "secrets": ["secretNames", "secretPlaceholder", "hashesPlaceholder"],
    "redis": ["redisCli", "dataAuthUser", "dataAuthSecret", "dataFallbackUser", "dataFallbackSecret", "sentinelAuthUser", "sentinelAuthSecret",
        "peerProbeTimeout"],
    "deadline": [],
    "listening-port": [],
    "tls": [],
    "sentinel": ["masterName", "rollTimeout", "pollSeconds"],
    "apply-config": ["secretsFile", "serviceUser", "masterName", "redisUnit", "sentinelUnit", "restartDirectives", "sentinelLiveOptions",
        "sentinelStateOptions", "authDirectives", "pendingDir", "renderedSuffix", "configLockTimeout"],
    "roll": ["redisConf", "sentinelConf", "renderedSuffix", "redisPort", "sentinelPort", "redisUnit", "sentinelUnit", "pendingDir", "masterName",
        "rollTimeout", "catchUpTimeout", "sentinelsAgreeTimeout", "pollSeconds"],
};

const ROLL_LIBS: readonly Lib[] = ["secrets", "redis", "deadline", "listening-port", "sentinel", "apply-config", "roll"];

/** Per verb: the helpers it uses (in order) and the context its own text reads. */
const VERBS: Readonly<Record<Verb, { readonly libs: readonly Lib[]; readonly context: readonly ContextKey[] }>> = {
    "prepare": { libs: [], context: ["serviceUser", "configDir"] },
    "put-file": { libs: [], context: ["pendingDir"] },
    "put-secrets": { libs: [], context: ["secretsFile", "secretNames", "redisUnit", "sentinelUnit"] },
    "install-binaries": { libs: [], context: ["pendingDir", "redisUnit", "sentinelUnit"] },
    "apply-config": { libs: ["secrets", "redis", "listening-port", "apply-config"], context: [] },
    "service": { libs: ["secrets", "redis", "deadline"], context: ["pendingDir", "secretsFile", "serviceStartTimeout", "pollSeconds"] },
    "restart": { libs: ROLL_LIBS, context: ["secretsFile"] },
    "handover": { libs: ROLL_LIBS, context: ["secretsFile"] },
    "leave": { libs: ROLL_LIBS, context: ["secretsFile"] },
    "tidy": { libs: ROLL_LIBS, context: ["secretsFile"] },
    "verify": { libs: ["secrets", "redis", "deadline", "sentinel"], context: ["masterName", "redisPort", "sentinelPort", "aclLogWindow", "verifyPollSeconds"] },
    "acl": { libs: ["secrets", "redis", "listening-port", "apply-config"], context: ["redisPort", "sentinelPort", "redisConf", "sentinelConf", "appSecrets"] },
    "auth-links": { libs: ["secrets", "redis", "listening-port", "apply-config"], context: ["redisPort", "sentinelPort", "redisConf", "sentinelConf"] },
    // The partition drill's (npm run drill -- --mode partition); never part of a deploy.
    "isolate": { libs: ["deadline"], context: ["partitionTable", "partitionHealUnit", "partitionHealScript"] },
    "heal": { libs: ["deadline"], context: ["partitionHealUnit", "partitionHealScript"] },
    "drill-writer": { libs: ["secrets", "redis", "deadline"],
        context: ["secretsFile", "sentinelPort", "masterName", "writeTimeoutSeconds", "writeRetrySeconds"] },
    "drill-load": { libs: ["secrets", "redis", "deadline"], context: ["secretsFile", "sentinelPort", "masterName"] },
    "install-guard": { libs: [], context: ["startGuardScript", "startGuardMarker", "startGuardOverride", "redisUnit"] },
    "put-tls": { libs: ["secrets", "redis"], context: ["redisCli", "redisConf", "tlsSwitchMarker", "serviceUser", "secretsFile", "pendingDir", "redisPort", "redisUnit", "sentinelUnit"] },
    "tls-switched": { libs: ROLL_LIBS, context: ["secretsFile", "tlsSwitchMarker"] },
    // Not run by the deployer: the file systemd runs before redis-server (install-guard puts it there).
    "start-guard": { libs: ["secrets", "redis", "deadline"], context: ["secretsFile", "redisConf", "serviceUser", "masterName", "redisPort",
        "configLockTimeout", "startGuardMarker", "startGuardOverride", "startGuardTimeout", "startGuardPollSeconds"] },
};

const SH_DIR = path.join(__dirname, "sh");

/** A shell variable's value: a word, a number, or words joined by spaces. */
export type ShellValue = string | number | readonly string[];
export type ScriptInputs = Readonly<Record<string, ShellValue>>;

/** A verb's complete text, ready for `sh -c`. */
export interface HostScript {
    readonly verb: Verb;
    readonly text: string;
}

/** Quotes one word for a POSIX shell: 'it'"'"'s' style, safe for any text. */
export function shq(word: string): string {
    return `'${word.replace(/'/g, `'"'"'`)}'`;
}

/** The shell name of an input or context field: redisCli -> REDIS_CLI. */
export function shellName(key: string): string {
    return key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

function assignments(values: ScriptInputs): string {
    return Object.entries(values).map(([k, v]) => {
        const text = typeof v === "string" ? v : typeof v === "number" ? String(v) : v.join(" ");
        return `${shellName(k)}=${shq(text)}\n`;
    }).join("");
}

/**
 * A shell file without its comment lines and blank lines: they are for the
 * reader of sh/, and would otherwise be a third of every step's command, stored
 * twice per step in the stack's state, compared on every preview and sent over
 * SSH on every run. A `#` that is not the first character of its line stays.
 */
export function withoutComments(text: string): string {
    return text.split("\n").filter((l) => !/^\s*(#|$)/.test(l)).map((l) => `${l}\n`).join("");
}

/** The text of a verb with these inputs, for a host described by `ctx`. */
export function hostScript(verb: Verb, ctx: HostContext, inputs: ScriptInputs = {}): HostScript {
    const spec = VERBS[verb];
    // A TLS cluster's scripts get sh/lib/tls.sh after the libs it adjusts; a
    // plaintext cluster's stay exactly as they were.
    const libs: readonly Lib[] = ctx.tls && spec.libs.includes("listening-port") ? [...spec.libs, "tls"] : spec.libs;
    const keys = [...new Set([...spec.libs.flatMap((l) => LIB_CONTEXT[l]), ...spec.context])];
    const context: Record<string, ShellValue> = {};
    for (const k of keys) context[k] = ctx[k];
    for (const k of Object.keys(inputs)) {
        if (Object.keys(ctx).some((c) => shellName(c) === shellName(k))) throw new Error(`${verb}: input ${k} would shadow a host fact`);
    }
    const read = (rel: string) => withoutComments(fs.readFileSync(path.join(SH_DIR, rel), "utf8"));
    const text = [
        `# ${verb} (redis-sentinel-pulumi)\nset -eu\n`,
        assignments(context),
        assignments(inputs),
        ...libs.map((l) => read(`lib/${l}.sh`)),
        read(`bin/${verb}.sh`),
    ].join("");
    return { verb, text };
}

/**
 * The command line that runs a host script as root: directly for root, through
 * `sudo -n` (never prompting) for another SSH user.
 */
export function commandLine(sshUser: string, script: HostScript): string {
    const sudo = sshUser === "root" ? "" : "sudo -n ";
    return `${sudo}sh -c ${shq(script.text)} ${shq(script.verb)}`;
}

/** A plain command run as root (through sudo for a non-root SSH user). */
export function asRoot(sshUser: string, cmd: string): string {
    return sshUser === "root" ? cmd : `sudo -n sh -c ${shq(cmd)}`;
}

/**
 * sh code that runs `text`, then reads whatever is left on stdin, and ends with
 * the exit status of `text`: what every command of a step that gets data on
 * stdin runs (see hostStep). The provider (pulumi-command, through x/crypto's
 * SSH client) sends a step's stdin to each of its commands, create, update and
 * delete alike, and writes it while the command runs. A command that ends
 * without reading all of it (an `rm -f` on delete, a script that returns early
 * or takes its data from a file) lets sshd close the channel, and a write that
 * comes after that fails the step with a bare `EOF` although the command
 * succeeded: a race that a busy machine loses now and then. Read to the end,
 * the channel stays open until the provider has sent everything and closed
 * stdin. The subshell keeps an `exit` in `text` from skipping the read.
 */
function thenReadAllStdin(text: string): string {
    return `(\n${text.endsWith("\n") ? text : `${text}\n`})\ns=$?\ncat >/dev/null\nexit "$s"\n`;
}

/** The script, then a read of the rest of its stdin (thenReadAllStdin). */
export function readingAllStdin(script: HostScript): HostScript {
    return { verb: script.verb, text: thenReadAllStdin(script.text) };
}

/** asRoot for a command of a step that gets data on stdin: it reads all of it (thenReadAllStdin). */
export function asRootReadingAllStdin(sshUser: string, cmd: string): string {
    const sudo = sshUser === "root" ? "" : "sudo -n ";
    return `${sudo}sh -c ${shq(thenReadAllStdin(cmd))}`;
}

/** A host script as a file of its own that systemd can run: its interpreter line first. */
export function executableFile(script: HostScript): string {
    return `#!/bin/sh\n${script.text}`;
}
