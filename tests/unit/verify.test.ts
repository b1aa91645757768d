/**
 * Runs the host-side verification locally against a fake redis-cli that plays a
 * three-node cluster (data nodes on 6379, Sentinels on 26379): it prints the
 * verified cluster once it is as asked, and fails naming the node and what is
 * wrong otherwise: a Sentinel without a working link to another, a user that may
 * run a command its job does not need.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { beforeEach, describe, expect, it } from "vitest";
import { dataDryRuns, userChecks } from "../../src/acl";
import { parseClusterConfig } from "../../src/config";
import * as verbs from "../../src/host/verbs";
import { parseVerifyOutput } from "../../src/verify";
import { raw } from "./fixtures";
import { fakeCliPrelude, runScript, secretsText, testContext } from "./host-scripts";

const cfg = parseClusterConfig(raw());
const NODES = ["redis-1=10.0.0.1", "redis-2=10.0.0.2", "redis-3=10.0.0.3"];
let dir: string;
let log: string;

beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "verify-"));
    log = path.join(dir, "cli.log");
});

const entry = (ip: string, port: number, flags: string) => ["name", `${ip}:${port}`, "ip", ip, "port", String(port), "flags", flags].join("\n");

/**
 * A healthy cluster, 10.0.0.1 its master, unless told otherwise: `brokenLink`
 * makes 10.0.0.2's Sentinel see 10.0.0.3's as disconnected; `mayRun` is a
 * "USER COMMAND" that ACL DRYRUN allows although the stack's rules deny it.
 * ACL DRYRUN is answered only in a session that reads its commands from stdin
 * (one reply per line), as verify.sh asks.
 */
function fakeCluster(o: { brokenLink?: boolean; mayRun?: string } = {}) {
    const d = JSON.stringify(dir);
    const denied = dataDryRuns(cfg).filter((r) => !r.allowed).map((r) => `${r.user} ${r.command}`).filter((r) => r !== o.mayRun);
    fs.writeFileSync(path.join(dir, "denied"), denied.map((r) => `${r}\n`).join(""));
    // What each Sentinel knows of the others.
    for (const self of ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) {
        const others = ["10.0.0.1", "10.0.0.2", "10.0.0.3"].filter((ip) => ip !== self)
            .map((ip) => entry(ip, 26379, o.brokenLink && self === "10.0.0.2" && ip === "10.0.0.3" ? "sentinel,disconnected" : "sentinel"));
        fs.writeFileSync(path.join(dir, `sentinels-${self}`), `${others.join("\n")}\n`);
    }
    fs.writeFileSync(path.join(dir, "replicas"), `${[entry("10.0.0.2", 6379, "slave"), entry("10.0.0.3", 6379, "slave")].join("\n")}\n`);
    fs.writeFileSync(path.join(dir, "redis-cli"), `${fakeCliPrelude(log)}
h=$2 p=$4
shift 4
case "$p:$*" in
  "26379:SENTINEL get-master-addr-by-name mymaster") printf '10.0.0.1\\n6379\\n' ;;
  "26379:SENTINEL MASTER mymaster") printf 'name\\nmymaster\\nflags\\nmaster\\nnum-slaves\\n2\\nnum-other-sentinels\\n2\\n' ;;
  "26379:SENTINEL SENTINELS mymaster") cat ${d}/sentinels-$h ;;
  "26379:SENTINEL REPLICAS mymaster") cat ${d}/replicas ;;
  "26379:SENTINEL CKQUORUM mymaster") echo "OK 3 usable Sentinels. Quorum and failover authorization can be reached" ;;
  "6379:INFO replication")
    if [ "$h" = 10.0.0.1 ]; then printf 'role:master\\nconnected_slaves:2\\nslave0:ip=10.0.0.2,port=6379,state=online,offset=10,lag=0\\nslave1:ip=10.0.0.3,port=6379,state=online,offset=10,lag=0\\n'
    else printf 'role:slave\\nmaster_host:10.0.0.1\\nmaster_port:6379\\nmaster_link_status:up\\n'; fi ;;
  *":PING") echo PONG ;;
  *":ACL LOG 128") ;;
  "6379:")
    while read -r acl dryrun user cmd; do
      if grep -qxF "$user $cmd" ${d}/denied; then echo "User $user has no permissions to run the '$cmd' command"; else echo OK; fi
    done ;;
  *) echo "ERR unexpected: $*" ;;
esac
`, { mode: 0o755 });
}

function verify() {
    const script = verbs.verify(testContext(dir, {}, cfg), { nodes: NODES, verifyTimeout: 1, ...userChecks(cfg) });
    return runScript(script, dir, secretsText());
}
const calls = () => fs.readFileSync(log, "utf8").trim().split("\n");

describe("verify", () => {
    it("prints the verified cluster, asking each node's dry runs in one session", () => {
        fakeCluster();
        const r = verify();
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(r.out).toMatch(/^verify: the cluster was as asked after \d+ ms; users checked in \d+ ms$/m);
        expect(parseVerifyOutput(r.out)).toEqual({
            master: { name: "redis-1", address: "10.0.0.1", port: 6379 },
            replicas: [{ name: "redis-2", address: "10.0.0.2", port: 6379 }, { name: "redis-3", address: "10.0.0.3", port: 6379 }],
            sentinels: NODES.map((n) => ({ name: n.split("=")[0], address: n.split("=")[1], port: 26379 })),
            ckquorum: "OK 3 usable Sentinels. Quorum and failover authorization can be reached",
        });
        // One redis-cli per data node for all its dry runs (no command line: they come on stdin).
        expect(calls().filter((c) => / -p 6379$/.test(c))).toEqual(["10.0.0.1", "10.0.0.2", "10.0.0.3"].map(
            (h) => `USER=deployer AUTH=d-pass-0123456789abc -h ${h} -p 6379`));
        expect(calls().some((c) => c.includes("DRYRUN"))).toBe(false);
    });

    it("fails, naming the node and the command, when a user may run what its job does not need", () => {
        fakeCluster({ mayRun: "sentinel CONFIG SET maxmemory 1" });
        const r = verify();
        expect(r.code).toBe(1);
        expect(r.err).toBe(["verify: the cluster runs, but its users are not as they must be:",
            ...["redis-1", "redis-2", "redis-3"].map((n) => `${n}: user sentinel may run CONFIG SET maxmemory 1, which it must not (OK)`), ""].join("\n"));
    });

    it("fails, naming the Sentinel, when one has no working link to another it knows", () => {
        fakeCluster({ brokenLink: true });
        const r = verify();
        expect(r.code).toBe(1);
        expect(r.err).toContain("verify: the cluster is not healthy after 1s:\nredis-2: Sentinel has no working link to 10.0.0.3:26379\n");
        expect(r.out).not.toContain("{");
    }, 20_000);
});
