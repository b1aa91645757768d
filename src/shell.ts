/**
 * Shell text for the hosts. Every command the deployer sends is one of the
 * scripts in `src/remote/`, passed as a single quoted argument to `sh -c`, with
 * its parameters quoted one by one; data (files, secrets) goes on stdin.
 */
import * as fs from "fs";
import * as path from "path";

/** Quotes one word for a POSIX shell: 'it'"'"'s' style, safe for any text. */
export function shq(word: string): string {
    return `'${word.replace(/'/g, `'"'"'`)}'`;
}

export type RemoteScript =
    | "prepare" | "put-file" | "put-secrets" | "install-binaries"
    | "apply-config" | "service" | "verify" | "roll";

/** Scripts that call another one as a shell function (roll re-merges configs with apply-config). */
const USES: Partial<Record<RemoteScript, RemoteScript[]>> = { roll: ["apply-config"] };

/** Shell functions from `remote/lib/` that a script needs, put before its text. */
const LIBS: Partial<Record<RemoteScript, string[]>> = { "apply-config": ["listening-port"], roll: ["listening-port"] };

const SCRIPT_DIR = path.join(__dirname, "remote");

export function scriptText(name: RemoteScript): string {
    const libs = (LIBS[name] ?? []).map((lib) => fs.readFileSync(path.join(SCRIPT_DIR, "lib", `${lib}.sh`), "utf8"));
    return [...libs, fs.readFileSync(path.join(SCRIPT_DIR, `${name}.sh`), "utf8")].join("");
}

/**
 * The command line that runs a remote script as root: directly for root, through
 * `sudo -n` (never prompting) for another SSH user.
 */
export function remoteCommand(sshUser: string, name: RemoteScript, args: readonly string[]): string {
    const sudo = sshUser === "root" ? "" : "sudo -n ";
    return `${sudo}sh -c ${shq(withFunctions(name))} ${[name, ...args].map(shq).join(" ")}`;
}

/** The script, preceded by the scripts it uses, each defined as a function (apply-config -> apply_config). */
export function withFunctions(name: RemoteScript): string {
    const prelude = (USES[name] ?? []).map((dep) => {
        const fn = dep.replace(/-/g, "_");
        const marker = `${fn.toUpperCase()}_SCRIPT_EOF`;
        return `${fn}_script=$(cat <<'${marker}'\n${scriptText(dep)}\n${marker}\n)\n` +
            `${fn}() { sh -c "$${fn}_script" ${dep} "$@"; }\n`;
    }).join("");
    return prelude + scriptText(name);
}
