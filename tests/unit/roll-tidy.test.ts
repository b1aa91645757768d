/**
 * Runs the host-side roll script's tidy pass locally against a fake redis-cli:
 * after a roll, only a Sentinel that remembers a node the cluster no longer has
 * (at another port, down or disconnected) is reset, and one still up is left alone.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { beforeEach, describe, expect, it } from "vitest";
import * as verbs from "../../src/host/verbs";
import { TEST_SECRETS, fakeCliPrelude, runScript, testContext, writeSecrets } from "./host-scripts";

let dir: string;
let log: string;

/** One SENTINEL REPLICAS / SENTINELS entry as redis-cli prints it: key and value lines. */
const entry = (ip: string, port: number, flags: string) =>
    ["name", `${ip}:${port}`, "ip", ip, "port", String(port), "runid", "x", "flags", flags].join("\n");

beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "roll-tidy-"));
    log = path.join(dir, "cli.log");
    writeSecrets(dir);
    const live = (i: number) => entry(`10.0.0.${i}`, 6380, "slave");
    const sentinels = (self: number) => [1, 2, 3].filter((i) => i !== self).map((i) => entry(`10.0.0.${i}`, 26379, "sentinel")).join("\n");
    // Sentinel 1 remembers host 2 at the old port (down); Sentinel 2 knows a 4th node
    // that is up (a host being removed); Sentinel 3 knows only the cluster.
    const replies: Record<string, { replicas: string; sentinels: string }> = {
        "10.0.0.1": { replicas: [live(2), live(3), entry("10.0.0.2", 6379, "s_down,slave,disconnected")].join("\n"), sentinels: sentinels(1) },
        "10.0.0.2": { replicas: [live(1), live(3), entry("10.0.0.4", 6380, "slave")].join("\n"), sentinels: sentinels(2) },
        "10.0.0.3": { replicas: [live(1), live(2)].join("\n"), sentinels: sentinels(3) },
    };
    for (const [ip, r] of Object.entries(replies)) {
        fs.writeFileSync(path.join(dir, `${ip}.replicas`), `${r.replicas}\n`);
        fs.writeFileSync(path.join(dir, `${ip}.sentinels`), `${r.sentinels}\n`);
    }
    fs.writeFileSync(path.join(dir, "redis-cli"), `${fakeCliPrelude(log)}
h=$2
case "$*" in
  *"SENTINEL REPLICAS"*) cat ${JSON.stringify(dir)}/$h.replicas ;;
  *"SENTINEL SENTINELS"*) cat ${JSON.stringify(dir)}/$h.sentinels ;;
  *"SENTINEL RESET"*) echo 1 ;;
  *"SENTINEL MASTER"*) printf 'name\\nmymaster\\nnum-slaves\\n2\\nnum-other-sentinels\\n2\\n' ;;
  *) echo OK ;;
esac
`, { mode: 0o755 });
});

function tidy(peers: string) {
    return runScript(verbs.tidy(testContext(dir, { redisPort: 6380, rollTimeout: 5, serviceUser: "redis" }), { peers: peers.split(" "), revision: "rev" }), dir);
}
const resets = () => fs.readFileSync(log, "utf8").split("\n").filter((l) => l.includes("SENTINEL RESET"));

describe("roll tidy", () => {
    it("resets only the Sentinel that remembers a node at a port it left, with the Sentinel password", () => {
        const r = tidy("10.0.0.1:26379 10.0.0.2:26379 10.0.0.3:26379");
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(r.out).toContain("Sentinel 10.0.0.1:26379 remembers 10.0.0.2:6379 which the cluster no longer has");
        expect(resets()).toEqual([`USER=default AUTH=${TEST_SECRETS.SENTINEL_PASSWORD} -h 10.0.0.1 -p 26379 SENTINEL RESET mymaster`]);
    });

    it("fails, naming the Sentinel, when it does not find the cluster again after the reset", () => {
        fs.writeFileSync(path.join(dir, "redis-cli"), fs.readFileSync(path.join(dir, "redis-cli"), "utf8")
            .replace("num-slaves\\n2", "num-slaves\\n1"));
        const r = tidy("10.0.0.1:26379 10.0.0.2:26379 10.0.0.3:26379");
        expect(r.code).toBe(1);
        expect(r.err).toContain("roll: Sentinel 10.0.0.1:26379 sees 1 replicas and 2 other Sentinels after RESET, expected 2 each");
    }, 20_000);
});
