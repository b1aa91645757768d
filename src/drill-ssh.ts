/**
 * The drill's way onto a stack's hosts: the system `ssh` with the stack's own
 * key and host key pins (never the operator's ~/.ssh/config or known_hosts).
 * Asynchronous: the drill's writers share the process, and a blocked event
 * loop would count an SSH session as a write pause.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HostSpec } from "./config";

/** The stack's login: its SSH private key and, for an encrypted one, the passphrase. */
export interface SshLogin {
    readonly privateKey: string;
    readonly passphrase?: string;
}

/** A command running on a host: its output line by line, until it ends or is stopped. */
export interface HostSession {
    /** Resolves with the exit code when the command (or its SSH session) ends. */
    readonly done: Promise<number>;
    /** Ends the SSH session (the command's next output then fails and it exits). */
    stop(): void;
}

/**
 * Starts `commandLine` (already wrapped for sudo where needed) on `host`; each
 * line of its standard output goes to `onLine`, standard error to ours.
 */
export function startOnHost(host: HostSpec, login: SshLogin, commandLine: string, onLine: (line: string) => void): HostSession {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drill-"));
    const key = path.join(dir, "key");
    fs.writeFileSync(key, login.privateKey.replace(/\n?$/, "\n"), { mode: 0o600 });
    const known = path.join(dir, "known_hosts");
    fs.writeFileSync(known, host.hostKey ? `${host.address} ${host.hostKey}\n` : "");
    // An encrypted key's passphrase reaches ssh through SSH_ASKPASS, read from the
    // child's environment: never a file or a command line. BatchMode would refuse to ask.
    let prompt: string[] = ["-o", "BatchMode=yes"];
    let env: NodeJS.ProcessEnv = process.env;
    if (login.passphrase) {
        const askpass = path.join(dir, "askpass");
        fs.writeFileSync(askpass, "#!/bin/sh\nprintf '%s\\n' \"$DRILL_SSH_KEY_PASSPHRASE\"\n", { mode: 0o700 });
        prompt = ["-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no", "-o", "IdentitiesOnly=yes"];
        env = { ...process.env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force", DRILL_SSH_KEY_PASSPHRASE: login.passphrase };
    }
    const child = spawn("ssh", [
        "-i", key, "-p", String(host.sshPort), ...prompt, "-o", `UserKnownHostsFile=${known}`,
        "-o", `StrictHostKeyChecking=${host.hostKey ? "yes" : "accept-new"}`,
        // A host cut off by the partition drill is still reached (only its peers are cut),
        // but a session must not hang for ever on a host that stops answering.
        "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=6",
        `${host.sshUser}@${host.address}`, commandLine,
    ], { stdio: ["ignore", "pipe", "inherit"], env });
    let rest = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
        const lines = (rest + chunk).split("\n");
        rest = lines.pop() ?? "";
        for (const l of lines) onLine(l);
    });
    const done = new Promise<number>((resolve, reject) => {
        child.on("error", (e) => { fs.rmSync(dir, { recursive: true, force: true }); reject(e); });
        child.on("close", (code) => {
            if (rest) onLine(rest);
            fs.rmSync(dir, { recursive: true, force: true });
            resolve(code ?? -1);
        });
    });
    return { done, stop: () => { child.kill("SIGTERM"); } };
}

/** Runs `commandLine` on `host` to its end; its output lines, or an error naming the host. */
export async function runOnHost(host: HostSpec, login: SshLogin, commandLine: string): Promise<string[]> {
    const lines: string[] = [];
    const code = await startOnHost(host, login, commandLine, (l) => lines.push(l)).done;
    if (code !== 0) throw new Error(`ssh ${host.name} (${host.address}) exited with ${code}${lines.length ? `: ${lines.slice(-5).join(" | ")}` : ""}`);
    return lines;
}
