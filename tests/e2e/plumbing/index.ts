// One remote command per test host through the real engine and command provider:
// proves SSH, host keys, the provider plugin and stack outputs before anything else.
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";

interface Host { name: string; address: string; user: string; hostKey: string }
const cfg = new pulumi.Config();
const hosts = cfg.requireObject<Host[]>("hosts");
const privateKey = cfg.requireSecret("sshPrivateKey");

export const facts = Object.fromEntries(hosts.map((h) => {
    const c = new command.remote.Command(`${h.name}-facts`, {
        connection: { host: h.address, user: h.user, privateKey, hostKey: h.hostKey, dialErrorLimit: 4 },
        // is-system-running exits non-zero when "degraded"; the output is what we check.
        create: "printf '%s %s\\n' \"$(uname -m)\" \"$(systemctl is-system-running || true)\"",
    });
    return [h.name, c.stdout];
}));
