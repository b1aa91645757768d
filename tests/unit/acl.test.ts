/**
 * Runs the host-side acl and auth-links scripts locally against a fake
 * redis-cli. acl sets each user's passwords as hashes (ACL SETUSER), the
 * current and, while a rotation is in progress, the previous ones; its retire
 * phase drops the previous ones, from the secrets file first. auth-links hands
 * the nodes the passwords they log in to each other with, on stdin only.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { beforeEach, describe, expect, it } from "vitest";
import { CLUSTER_USERS, applicationLogins, dataUsers, sentinelUsers, userLine } from "../../src/acl";
import { ClusterConfig, parseClusterConfig } from "../../src/config";
import { renderRedisConf, renderSentinelConf } from "../../src/render";
import * as verbs from "../../src/host/verbs";
import { raw, rawWithSecrets } from "./fixtures";
import { TEST_SECRETS, fakeCliPrelude, runScript, secretsText, testContext, writeSecrets } from "./host-scripts";

const S = TEST_SECRETS;
const hash = (password: string) => `#${crypto.createHash("sha256").update(password).digest("hex")}`;
const cfg = parseClusterConfig(raw());
/** A stack with an application user, whose password keepPreviousAppPasswords may keep. */
const ORDERS = "o-pass-0123456789abc";
const withApp = parseClusterConfig(rawWithSecrets({ aclUserPasswords: JSON.stringify({ orders: ORDERS }) },
    { aclUsers: JSON.stringify([{ name: "orders", rules: "~orders:* +@read" }]) }));

let dir: string;
let log: string;

beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "acl-"));
    log = path.join(dir, "cli.log");
    // No unit runs here: the scripts use the configured ports.
    fs.mkdirSync(path.join(dir, "bin"));
    fs.writeFileSync(path.join(dir, "bin", "systemctl"), "#!/bin/sh\ncase \"$1\" in show) echo 0 ;; *) exit 3 ;; esac\n", { mode: 0o755 });
});

/** Every password a test here sets, for the fake to tell which one an ACL SETUSER hash stands for. */
const PASSWORDS = [...Object.values(S), ORDERS, "r-old-0123456789abc", "d-old-0123456789abc", "repl-old-0123456789",
    "s-old-2-0123456789a", "s-old-1-0123456789a", "o-old-0123456789abc"];

/**
 * A fake redis-cli, a node's users kept in files: `users` holds "PORT NAME"
 * lines (each port starts with `default`, and `users` adds more) and
 * `accepts` "PORT USER PASSWORD" lines. With `accepts` given, only those
 * logins work, for every call (PING answers WRONGPASS, any other call "AUTH
 * failed: ..."), and the node keeps them up to date: ACL SETUSER NAME replaces
 * NAME's logins with the passwords of its hashes while the rules say `on`,
 * ACL DELUSER drops them. Without `accepts`, any login works. Nothing answers
 * on a port in `down`. ACL USERS lists the port's users, ACL DELUSER answers 1
 * (0 for a user that does not exist); ACL SETUSER, SENTINEL FLUSHCONFIG and
 * CONFIG SET answer OK; a call that contains a key of `refuse` gets its value.
 */
function fakeCli(o: { accepts?: string[]; down?: number[]; refuse?: Record<string, string>; users?: string[] } = {}) {
    const file = (name: string) => JSON.stringify(path.join(dir, name));
    fs.writeFileSync(path.join(dir, "accepts"), (o.accepts ?? []).map((a) => `${a}\n`).join(""));
    fs.writeFileSync(path.join(dir, "users"), ["6379 default", "26379 default", ...(o.users ?? [])].map((u) => `${u}\n`).join(""));
    fs.writeFileSync(path.join(dir, "hashes"), PASSWORDS.map((p) => `${hash(p)} ${p}\n`).join(""));
    fs.writeFileSync(path.join(dir, "redis-cli"), `${fakeCliPrelude(log)}
p=$4
case " ${(o.down ?? []).join(" ")} " in *" $p "*) echo "Could not connect to Redis at $2:$p: Connection refused"; exit 1 ;; esac
if ${o.accepts === undefined ? "false" : "true"} && ! grep -qxF "$p $user $REDISCLI_AUTH" ${file("accepts")}; then
  case "$*" in *" PING") echo "WRONGPASS invalid username-password pair or user is disabled." ;; *) echo "AUTH failed: WRONGPASS invalid username-password pair or user is disabled." ;; esac
  exit 0
fi
${Object.entries(o.refuse ?? {}).map(([k, v]) => `case "$*" in *${JSON.stringify(k)}*) echo ${JSON.stringify(v)}; exit 0 ;; esac`).join("\n")}
forget() { grep -v "^$p $1 " ${file("accepts")} > ${file("accepts.t")}; mv ${file("accepts.t")} ${file("accepts")}; }
case "$5 $6" in
  "ACL SETUSER")
    name=$7; shift 7
    forget "$name"
    case " $* " in *" on "*)
      for a in "$@"; do
        case $a in "#"*) sed -n "s/^$a //p" ${file("hashes")} | sed "s/^/$p $name /" >> ${file("accepts")} ;; esac
      done ;;
    esac
    grep -qxF "$p $name" ${file("users")} || echo "$p $name" >> ${file("users")}
    echo OK ;;
  "ACL USERS") sed -n "s/^$p //p" ${file("users")} | sort ;;
  "ACL DELUSER")
    if grep -qxF "$p $7" ${file("users")}; then
      grep -vxF "$p $7" ${file("users")} > ${file("users.t")}; mv ${file("users.t")} ${file("users")}
      forget "$7"; echo 1
    else echo 0; fi ;;
  *)
    case "$*" in *" PING") echo PONG ;; *) echo OK ;; esac ;;
esac
`, { mode: 0o755 });
}
/** The node's users now, as the fake has them: "PORT NAME" lines, sorted. */
const usersNow = () => fs.readFileSync(path.join(dir, "users"), "utf8").trim().split("\n").sort();
/** The logins the fake node now accepts: "PORT USER PASSWORD" lines, sorted. */
const acceptsNow = () => fs.readFileSync(path.join(dir, "accepts"), "utf8").trim().split("\n").filter((l) => l !== "").sort();

/** Every call but PING, as logged: "USER=u AUTH=p -h HOST -p PORT ARGS". */
const calls = () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n").filter((l) => l !== "" && !l.endsWith(" PING")) : []);
const pings = () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n").filter((l) => l.endsWith(" PING")) : []);

/** The acl step's users, as the cluster component passes them. */
const usersOf = (c: ClusterConfig) => ({ dataUsers: dataUsers(c).map(userLine).join("\n"), sentinelUsers: sentinelUsers().map(userLine).join("\n") });
const runAcl = (c: ClusterConfig, phase: "add" | "retire", keepPrevious: "yes" | "no" = "no") =>
    runScript(verbs.acl(testContext(dir, {}, c), phase === "add" ? { phase, ...usersOf(c) } : { phase, ...usersOf(c), keepPrevious }), dir);

/** The config files as the config steps install them (nothing running yet: no redis-cli call). */
function installConfigs(c: ClusterConfig) {
    const ctx = testContext(dir, {}, c);
    for (const [kind, target, text, port] of [
        ["redis", ctx.redisConf, renderRedisConf(c, c.hosts[1]), 6379],
        ["sentinel", ctx.sentinelConf, renderSentinelConf(c, c.hosts[1]), 26379],
    ] as const) {
        const r = runScript(verbs.applyConfig(ctx, { kind, target, port, self: "10.0.0.2", peers: [] }), dir, text);
        expect(r.code, r.err).toBe(0);
    }
    expect(calls()).toEqual([]);
    fs.rmSync(log, { force: true });
}
const userLines = (file: string) => fs.readFileSync(path.join(dir, file), "utf8").split("\n").filter((l) => l.startsWith("user "));

const DATA = `USER=deployer AUTH=${S.DEPLOYER_PASSWORD} -h 127.0.0.1 -p 6379`;
const SENTINEL = `USER=default AUTH=${S.SENTINEL_PASSWORD} -h 127.0.0.1 -p 26379`;
const RULES = {
    replication: "resetchannels -@all +psync +replconf +ping",
    sentinel: "resetchannels &__sentinel__:hello -@all +multi +slaveof +ping +exec +subscribe +config|rewrite +role +publish +info +client|setname +client|kill +script|kill",
    peer: "resetchannels &__sentinel__:hello -@all +ping +publish +client|setname +sentinel|is-master-down-by-addr",
};

describe("the stack's users", () => {
    const full = parseClusterConfig(rawWithSecrets({
        monitorPassword: "m-pass-0123456789abc", aclUserPasswords: JSON.stringify({ orders: ORDERS, "app-2": "a-pass-0123456789abc" }),
    }, { aclUsers: JSON.stringify([{ name: "orders", rules: "~orders:* +@read" }, { name: "app-2", rules: "~app2:* +get" }]) }));

    it("sets the deployer first and the default user last on the data nodes", () => {
        expect(dataUsers(full).map((u) => u.name)).toEqual(["deployer", "replication", "sentinel", "monitor", "orders", "app-2", "default"]);
        const off = parseClusterConfig(rawWithSecrets({ aclUserPasswords: JSON.stringify({ orders: ORDERS }) },
            { defaultUserEnabled: "false", aclUsers: JSON.stringify([{ name: "orders", rules: "~orders:* +@read" }]) }));
        expect(dataUsers(off).map(userLine)).toEqual([
            "user deployer reset on @@DEPLOYER_PASSWORD:HASHES@@ ~* &* +@all",
            `user replication reset on @@REPLICATION_PASSWORD:HASHES@@ ${RULES.replication}`,
            `user sentinel reset on @@SENTINEL_AUTH_PASSWORD:HASHES@@ ${RULES.sentinel}`,
            "user orders reset on @@USER_ORDERS_PASSWORD:HASHES@@ ~orders:* +@read",
            "user default reset off -@all",
        ]);
    });

    it("still lists the default user first among the applications' logins", () => {
        expect(applicationLogins(full)).toEqual([
            { name: "default", rules: "~* &* +@all", password: "<redisPassword>" },
            { name: "orders", rules: "~orders:* +@read", password: "<aclUserPasswords.orders>" },
            { name: "app-2", rules: "~app2:* +get", password: "<aclUserPasswords.app-2>" },
        ]);
    });

    it("gives the Sentinels' peer user what one Sentinel sends another, and no HELLO", () => {
        expect(sentinelUsers().map(userLine)).toEqual([
            "user default reset on @@SENTINEL_PASSWORD:HASHES@@ ~* &* +@all",
            `user sentinel-peer reset on @@SENTINEL_PEER_PASSWORD:HASHES@@ ${RULES.peer}`,
        ]);
        expect(userLine(sentinelUsers()[1]).split(" ")).not.toContain("+hello");
    });
});

describe("acl retire", () => {
    const rotation = [
        "PREVIOUS_REDIS_PASSWORD=r-old-0123456789abc",
        "PREVIOUS_DEPLOYER_PASSWORD=d-old-0123456789abc",
        "PREVIOUS_REPLICATION_PASSWORD=repl-old-0123456789",
        "PREVIOUS_SENTINEL_PASSWORD=s-old-2-0123456789a s-old-1-0123456789a",
        `PREVIOUS_USER_ORDERS_PASSWORD=o-old-0123456789abc`,
        "NEW_SECRETS=SENTINEL_PEER_PASSWORD",
    ];

    it("drops every previous password from the secrets file, then sets each user with its current hash only", () => {
        writeSecrets(dir, { USER_ORDERS_PASSWORD: ORDERS }, rotation, withApp);
        installConfigs(withApp);
        // The default user is the last of the data node's users.
        expect(userLines("redis.conf").at(-1)).toBe(`user default reset on ${hash(S.REDIS_PASSWORD)} ${hash("r-old-0123456789abc")} ~* &* +@all`);
        fakeCli({ users: ["6379 deployer", "6379 replication", "6379 sentinel", "6379 orders", "26379 sentinel-peer"] });
        const r = runAcl(withApp, "retire");
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        const file = path.join(dir, "secrets.env");
        expect(fs.readFileSync(file, "utf8")).toBe(secretsText({ USER_ORDERS_PASSWORD: ORDERS }, [], withApp));
        expect(fs.statSync(file).mode & 0o777).toBe(0o600);
        for (const n of ["REDIS_PASSWORD", "DEPLOYER_PASSWORD", "REPLICATION_PASSWORD", "SENTINEL_PASSWORD", "USER_ORDERS_PASSWORD"]) {
            expect(r.out).toContain(`retired the previous ${n}\n`);
        }
        // The deployer logs in with its current password: the previous one is gone from the file first.
        expect(calls()).toEqual([
            `${DATA} ACL SETUSER deployer reset on ${hash(S.DEPLOYER_PASSWORD)} ~* &* +@all`,
            `${DATA} ACL SETUSER replication reset on ${hash(S.REPLICATION_PASSWORD)} ${RULES.replication}`,
            `${DATA} ACL SETUSER sentinel reset on ${hash(S.SENTINEL_AUTH_PASSWORD)} ${RULES.sentinel}`,
            `${DATA} ACL SETUSER orders reset on ${hash(ORDERS)} ~orders:* +@read`,
            `${DATA} ACL SETUSER default reset on ${hash(S.REDIS_PASSWORD)} ~* &* +@all`,
            `${DATA} ACL USERS`,
            `${SENTINEL} ACL SETUSER default reset on ${hash(S.SENTINEL_PASSWORD)} ~* &* +@all`,
            `${SENTINEL} ACL SETUSER sentinel-peer reset on ${hash(S.SENTINEL_PEER_PASSWORD)} ${RULES.peer}`,
            `${SENTINEL} ACL USERS`,
            `${SENTINEL} SENTINEL FLUSHCONFIG`,
        ]);
        expect(r.out).toContain("redis-server: users set (deployer replication sentinel orders default)\n");
        expect(r.out).toContain("redis-sentinel: users set (default sentinel-peer)\n");
        expect(r.out).not.toContain("deleted");
        // The files as the nodes now are.
        expect(userLines("redis.conf").at(-1)).toBe(`user default reset on ${hash(S.REDIS_PASSWORD)} ~* &* +@all`);
        expect(userLines("sentinel.conf")[0]).toBe(`user default reset on ${hash(S.SENTINEL_PASSWORD)} ~* &* +@all`);
        const olds = ["r-old-0123456789abc", "d-old-0123456789abc", "repl-old-0123456789", "s-old-2-0123456789a", "s-old-1-0123456789a", "o-old-0123456789abc"];
        for (const f of ["redis.conf", "sentinel.conf"]) {
            const text = fs.readFileSync(path.join(dir, f), "utf8");
            for (const o of olds) expect(text, `${f} ${o}`).not.toContain(hash(o));
            expect(text.match(/#[0-9a-f]{64}/g)).toHaveLength(f === "redis.conf" ? 5 : 2);
        }
    });

    it("keeps the applications' previous passwords with keepPrevious, and drops the cluster's own", () => {
        writeSecrets(dir, { USER_ORDERS_PASSWORD: ORDERS }, rotation, withApp);
        // The Sentinel knows only the current password of its default user: the deployer finds it.
        fakeCli({ accepts: [`6379 deployer ${S.DEPLOYER_PASSWORD}`, `26379 default ${S.SENTINEL_PASSWORD}`] });
        const r = runAcl(withApp, "retire", "yes");
        const sentinelOld = "USER=default AUTH=s-old-2-0123456789a -h 127.0.0.1 -p 26379";
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(fs.readFileSync(path.join(dir, "secrets.env"), "utf8")).toBe(secretsText({ USER_ORDERS_PASSWORD: ORDERS }, [
            "PREVIOUS_REDIS_PASSWORD=r-old-0123456789abc",
            "PREVIOUS_SENTINEL_PASSWORD=s-old-2-0123456789a s-old-1-0123456789a",
            "PREVIOUS_USER_ORDERS_PASSWORD=o-old-0123456789abc",
        ], withApp));
        expect(r.out).toContain("retired the previous DEPLOYER_PASSWORD\n");
        expect(r.out).toContain("retired the previous REPLICATION_PASSWORD\n");
        expect(r.out).not.toContain("retired the previous REDIS_PASSWORD");
        expect(calls()).toEqual([
            `${DATA} ACL SETUSER deployer reset on ${hash(S.DEPLOYER_PASSWORD)} ~* &* +@all`,
            `${DATA} ACL SETUSER replication reset on ${hash(S.REPLICATION_PASSWORD)} ${RULES.replication}`,
            `${DATA} ACL SETUSER sentinel reset on ${hash(S.SENTINEL_AUTH_PASSWORD)} ${RULES.sentinel}`,
            `${DATA} ACL SETUSER orders reset on ${hash(ORDERS)} ${hash("o-old-0123456789abc")} ~orders:* +@read`,
            `${DATA} ACL SETUSER default reset on ${hash(S.REDIS_PASSWORD)} ${hash("r-old-0123456789abc")} ~* &* +@all`,
            `${DATA} ACL USERS`,
            `${SENTINEL} ACL SETUSER default reset on ${hash(S.SENTINEL_PASSWORD)} ${hash("s-old-2-0123456789a")} ${hash("s-old-1-0123456789a")} ~* &* +@all`,
            // The Sentinel's default user has its kept previous passwords again: the deployer tries those first.
            `${sentinelOld} ACL SETUSER sentinel-peer reset on ${hash(S.SENTINEL_PEER_PASSWORD)} ${RULES.peer}`,
            `${sentinelOld} ACL USERS`,
            `${sentinelOld} SENTINEL FLUSHCONFIG`,
        ]);
        // The Sentinel's default user still had previous passwords: they were tried (PING) before the current one.
        expect(pings().filter((p) => p.includes("-p 26379 "))).toEqual(expect.arrayContaining([
            "USER=default AUTH=s-old-2-0123456789a -h 127.0.0.1 -p 26379 PING",
            "USER=default AUTH=s-old-1-0123456789a -h 127.0.0.1 -p 26379 PING",
        ]));
    });
});

describe("acl add", () => {
    it("sets the current and the previous passwords, logging in with the one the node still knows", () => {
        const rotation = ["PREVIOUS_DEPLOYER_PASSWORD=d-old-0123456789abc"];
        writeSecrets(dir, {}, rotation);
        const before = fs.readFileSync(path.join(dir, "secrets.env"), "utf8");
        // This node has not had the new deployer password yet.
        fakeCli({ accepts: ["6379 deployer d-old-0123456789abc", `26379 default ${S.SENTINEL_PASSWORD}`] });
        const r = runAcl(cfg, "add");
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        const old = "USER=deployer AUTH=d-old-0123456789abc -h 127.0.0.1 -p 6379";
        expect(calls()).toEqual([
            `${old} ACL SETUSER deployer reset on ${hash(S.DEPLOYER_PASSWORD)} ${hash("d-old-0123456789abc")} ~* &* +@all`,
            `${old} ACL SETUSER replication reset on ${hash(S.REPLICATION_PASSWORD)} ${RULES.replication}`,
            `${old} ACL SETUSER sentinel reset on ${hash(S.SENTINEL_AUTH_PASSWORD)} ${RULES.sentinel}`,
            `${old} ACL SETUSER default reset on ${hash(S.REDIS_PASSWORD)} ~* &* +@all`,
            `${old} ACL USERS`,
            `${SENTINEL} ACL SETUSER default reset on ${hash(S.SENTINEL_PASSWORD)} ~* &* +@all`,
            `${SENTINEL} ACL SETUSER sentinel-peer reset on ${hash(S.SENTINEL_PEER_PASSWORD)} ${RULES.peer}`,
            `${SENTINEL} ACL USERS`,
            `${SENTINEL} SENTINEL FLUSHCONFIG`,
        ]);
        // The node now takes the deployer's current and previous passwords.
        expect(acceptsNow().filter((a) => a.startsWith("6379 deployer "))).toEqual(
            ["6379 deployer d-old-0123456789abc", `6379 deployer ${S.DEPLOYER_PASSWORD}`]);
        // The add phase never touches the rotation's state.
        expect(fs.readFileSync(path.join(dir, "secrets.env"), "utf8")).toBe(before);
        expect(r.out).not.toContain("retired");
    });

    it("logs in as the default user on a node from before ACL users (the deployer's password is new)", () => {
        writeSecrets(dir, {}, ["NEW_SECRETS=DEPLOYER_PASSWORD REPLICATION_PASSWORD SENTINEL_AUTH_PASSWORD SENTINEL_PEER_PASSWORD"]);
        fakeCli({ accepts: [`6379 default ${S.REDIS_PASSWORD}`, `26379 default ${S.SENTINEL_PASSWORD}`] });
        const r = runAcl(cfg, "add");
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        const asDefault = `USER=default AUTH=${S.REDIS_PASSWORD} -h 127.0.0.1 -p 6379`;
        expect(calls().filter((c) => c.includes(" -p 6379 "))).toEqual([
            `${asDefault} ACL SETUSER deployer reset on ${hash(S.DEPLOYER_PASSWORD)} ~* &* +@all`,
            `${asDefault} ACL SETUSER replication reset on ${hash(S.REPLICATION_PASSWORD)} ${RULES.replication}`,
            `${asDefault} ACL SETUSER sentinel reset on ${hash(S.SENTINEL_AUTH_PASSWORD)} ${RULES.sentinel}`,
            `${asDefault} ACL SETUSER default reset on ${hash(S.REDIS_PASSWORD)} ~* &* +@all`,
            `${asDefault} ACL USERS`,
        ]);
    });

    it("turns the default user off last on a node from before ACL users, so the deployer is never locked out", () => {
        // defaultUserEnabled false on a password-only node being upgraded: until the
        // deployer user exists, the only way in is `default` with redisPassword.
        const off = parseClusterConfig(rawWithSecrets({ aclUserPasswords: JSON.stringify({ orders: ORDERS }) },
            { defaultUserEnabled: "false", aclUsers: JSON.stringify([{ name: "orders", rules: "~orders:* +@read" }]) }));
        writeSecrets(dir, { USER_ORDERS_PASSWORD: ORDERS },
            ["NEW_SECRETS=DEPLOYER_PASSWORD REPLICATION_PASSWORD SENTINEL_AUTH_PASSWORD SENTINEL_PEER_PASSWORD USER_ORDERS_PASSWORD"], off);
        const nodeBefore = [`6379 default ${S.REDIS_PASSWORD}`, `26379 default ${S.SENTINEL_PASSWORD}`];
        const asDefault = `USER=default AUTH=${S.REDIS_PASSWORD} -h 127.0.0.1 -p 6379`;

        // The fake models the lock-out: with `default` turned off first, the deployer's user is never set.
        fakeCli({ accepts: nodeBefore });
        const lines = dataUsers(off).map(userLine);
        const defaultFirst = [lines[lines.length - 1], ...lines.slice(0, -1)].join("\n");
        const locked = runScript(verbs.acl(testContext(dir, {}, off), { phase: "add", dataUsers: defaultFirst, sentinelUsers: usersOf(off).sentinelUsers }), dir);
        expect(locked.code).toBe(4);
        expect(locked.err).toBe("acl: redis-server refused the rules of user deployer: AUTH failed: WRONGPASS invalid username-password pair or user is disabled.\n");

        fs.rmSync(log);
        fakeCli({ accepts: nodeBefore });
        const r = runAcl(off, "add");
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(calls().filter((c) => c.includes(" -p 6379 "))).toEqual([
            `${asDefault} ACL SETUSER deployer reset on ${hash(S.DEPLOYER_PASSWORD)} ~* &* +@all`,
            `${asDefault} ACL SETUSER replication reset on ${hash(S.REPLICATION_PASSWORD)} ${RULES.replication}`,
            `${asDefault} ACL SETUSER sentinel reset on ${hash(S.SENTINEL_AUTH_PASSWORD)} ${RULES.sentinel}`,
            `${asDefault} ACL SETUSER orders reset on ${hash(ORDERS)} ~orders:* +@read`,
            `${asDefault} ACL SETUSER default reset off -@all`,
            // `default` is off now: the deployer's own user, set first, gets in.
            `${DATA} ACL USERS`,
        ]);
        const dataPings = pings().filter((p) => p.includes(" -p 6379 "));
        expect(dataPings.slice(-2)).toEqual([`${asDefault} PING`, `${DATA} PING`]);
        expect(r.out).toContain("redis-server: users set (deployer replication sentinel orders default)\n");
        expect(r.out).toContain("redis-sentinel: users set (default sentinel-peer)\n");
        expect(r.out).not.toContain("deleted");
        // The node takes the stack's users, and `default` no more.
        expect(acceptsNow().filter((a) => a.startsWith("6379 "))).toEqual([
            `6379 deployer ${S.DEPLOYER_PASSWORD}`, `6379 orders ${ORDERS}`,
            `6379 replication ${S.REPLICATION_PASSWORD}`, `6379 sentinel ${S.SENTINEL_AUTH_PASSWORD}`,
        ]);
    });

    it("deletes the users the stack no longer lists, and none it lists", () => {
        writeSecrets(dir, { USER_ORDERS_PASSWORD: ORDERS }, [], withApp);
        // monitor (monitorPassword unset since) and billing (an aclUsers entry removed) were the stack's once.
        fakeCli({
            users: ["6379 deployer", "6379 replication", "6379 sentinel", "6379 orders", "6379 monitor", "6379 billing", "26379 sentinel-peer", "26379 old-peer"],
        });
        const r = runAcl(withApp, "add");
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        const deletes = calls().filter((c) => c.includes("ACL DELUSER"));
        expect(deletes).toEqual([`${DATA} ACL DELUSER billing`, `${DATA} ACL DELUSER monitor`, `${SENTINEL} ACL DELUSER old-peer`]);
        // After every user is set; the Sentinel saves its file without the deleted one.
        const all = calls();
        expect(all.indexOf(`${DATA} ACL DELUSER billing`)).toBeGreaterThan(all.indexOf(`${DATA} ACL SETUSER default reset on ${hash(S.REDIS_PASSWORD)} ~* &* +@all`));
        expect(all.at(-1)).toBe(`${SENTINEL} SENTINEL FLUSHCONFIG`);
        expect(r.out).toContain("redis-server: deleted user billing, which the stack no longer has\n");
        expect(r.out).toContain("redis-server: deleted user monitor, which the stack no longer has\n");
        expect(r.out).toContain("redis-sentinel: deleted user old-peer, which the stack no longer has\n");
        expect(r.out.match(/deleted user/g)).toHaveLength(3);
        expect(usersNow()).toEqual([
            "26379 default", "26379 sentinel-peer",
            "6379 default", "6379 deployer", "6379 orders", "6379 replication", "6379 sentinel",
        ]);
    });

    it("never deletes the default user, even turned off", () => {
        const off = parseClusterConfig(rawWithSecrets({ aclUserPasswords: JSON.stringify({ orders: ORDERS }) },
            { defaultUserEnabled: "false", aclUsers: JSON.stringify([{ name: "orders", rules: "~orders:* +@read" }]) }));
        writeSecrets(dir, { USER_ORDERS_PASSWORD: ORDERS }, [], off);
        fakeCli({ users: ["6379 deployer", "6379 replication", "6379 sentinel", "6379 orders", "26379 sentinel-peer"] });
        const r = runAcl(off, "add");
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(calls()).toContain(`${DATA} ACL SETUSER default reset off -@all`);
        expect(calls().filter((c) => c.includes("ACL DELUSER"))).toEqual([]);
        expect(usersNow()).toContain("6379 default");
    });

    it("fails, naming the node and the user, when a node does not delete a user", () => {
        writeSecrets(dir);
        fakeCli({ users: ["6379 billing"], refuse: { "ACL DELUSER billing": "NOPERM User deployer has no permissions to run the 'acl|deluser' command" } });
        const r = runAcl(cfg, "add");
        expect(r.code).toBe(4);
        expect(r.err).toBe("acl: redis-server did not delete user billing: NOPERM User deployer has no permissions to run the 'acl|deluser' command\n");
        expect(r.out).not.toContain("deleted user");
        expect(r.out).not.toContain("users set");
        expect(calls().some((c) => c.includes("-p 26379"))).toBe(false);
    });

    it("fails, naming the node, when it cannot list its users, and deletes nothing", () => {
        writeSecrets(dir);
        fakeCli({ users: ["6379 billing"], refuse: { "ACL USERS": "ERR something went wrong" } });
        const r = runAcl(cfg, "add");
        expect(r.code).toBe(4);
        expect(r.err).toBe("acl: redis-server did not list its users: ERR something went wrong\n");
        expect(calls().some((c) => c.includes("ACL DELUSER"))).toBe(false);
    });

    it("fails when a node answers 0 to the delete (a user that was not there)", () => {
        writeSecrets(dir);
        fakeCli({ users: ["26379 old-peer"], refuse: { "ACL DELUSER old-peer": "0" } });
        const r = runAcl(cfg, "add");
        expect(r.code).toBe(4);
        expect(r.err).toBe("acl: redis-sentinel did not delete user old-peer: 0\n");
        // Its file is not saved as if the users were right.
        expect(calls()).not.toContain(`${SENTINEL} SENTINEL FLUSHCONFIG`);
    });

    it("leaves a node that does not answer to its config file", () => {
        writeSecrets(dir);
        fakeCli({ down: [6379] });
        const r = runAcl(cfg, "add");
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(r.out).toContain("redis-server: not answering; its users are in its config file\n");
        expect(calls().filter((c) => c.includes(" -p 6379 "))).toEqual([]);
        expect(calls()).toEqual([
            `${SENTINEL} ACL SETUSER default reset on ${hash(S.SENTINEL_PASSWORD)} ~* &* +@all`,
            `${SENTINEL} ACL SETUSER sentinel-peer reset on ${hash(S.SENTINEL_PEER_PASSWORD)} ${RULES.peer}`,
            `${SENTINEL} ACL USERS`,
            `${SENTINEL} SENTINEL FLUSHCONFIG`,
        ]);
    });

    it("fails, naming the node and the user, when a node refuses a user's rules", () => {
        writeSecrets(dir, { USER_ORDERS_PASSWORD: ORDERS }, [], withApp);
        fakeCli({ refuse: { "ACL SETUSER orders": "ERR Error in ACL SETUSER modifier '+@nope': Unknown command or category name in ACL" } });
        const r = runAcl(withApp, "add");
        expect(r.code).toBe(4);
        expect(r.err).toBe("acl: redis-server refused the rules of user orders: ERR Error in ACL SETUSER modifier '+@nope': Unknown command or category name in ACL\n");
        expect(calls().some((c) => c.includes("-p 26379"))).toBe(false);
        // Nothing is deleted on a node whose users were not all set.
        expect(calls().some((c) => c.includes("ACL USERS") || c.includes("ACL DELUSER"))).toBe(false);
    });
});

describe("the first run of the user and link steps", () => {
    const firstRun = (phase: "add" | "retire") =>
        runScript(verbs.acl(testContext(dir, {}, cfg), phase === "add"
            ? { phase, ...usersOf(cfg), firstRun: "yes" } : { phase, ...usersOf(cfg), keepPrevious: "no", firstRun: "yes" }), dir);
    const firstLinks = () => runScript(verbs.authLinks(testContext(dir), {
        replUser: CLUSTER_USERS.replication, replSecret: "REPLICATION_PASSWORD",
        sentinelUser: CLUSTER_USERS.sentinel, sentinelSecret: "SENTINEL_AUTH_PASSWORD",
        peerUser: CLUSTER_USERS.sentinelPeer, peerSecret: "SENTINEL_PEER_PASSWORD", firstRun: "yes",
    }), dir);

    it("does nothing on a host installed by the same up (its nodes started with these users from their config files)", () => {
        writeSecrets(dir);
        installConfigs(cfg);
        const files = ["redis.conf", "sentinel.conf", "secrets.env"].map((f) => fs.readFileSync(path.join(dir, f), "utf8"));
        fakeCli();
        for (const [run, said] of [
            [() => firstRun("add"), "users (add): as the config files have them (first install)\n"],
            [firstLinks, "links: as the config files have them (first install)\n"],
            [() => firstRun("retire"), "users (retire): as the config files have them (first install)\n"],
        ] as const) {
            const r = run();
            expect(r.err).toBe("");
            expect(r.code).toBe(0);
            expect(r.out).toBe(said);
        }
        // Not one redis-cli call, not even a PING, and every file as it was.
        expect(fs.existsSync(log)).toBe(false);
        expect(["redis.conf", "sentinel.conf", "secrets.env"].map((f) => fs.readFileSync(path.join(dir, f), "utf8"))).toEqual(files);
    });

    it("does the whole work on a host that ran before these steps existed (credentials new to it: an upgrade to ACL users)", () => {
        writeSecrets(dir, {}, ["NEW_SECRETS=DEPLOYER_PASSWORD REPLICATION_PASSWORD SENTINEL_AUTH_PASSWORD SENTINEL_PEER_PASSWORD"]);
        fakeCli({ accepts: [`6379 default ${S.REDIS_PASSWORD}`, `26379 default ${S.SENTINEL_PASSWORD}`] });
        const r = firstRun("add");
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(calls().filter((c) => c.includes("ACL SETUSER")).length).toBe(6);
        // The retire step's first run then ends the rotation: NEW_SECRETS leaves the file.
        const retired = firstRun("retire");
        expect(retired.code, retired.err).toBe(0);
        expect(fs.readFileSync(path.join(dir, "secrets.env"), "utf8")).not.toContain("NEW_SECRETS=");
    });

    it("does the whole work while a password rotates (previous values in the secrets file)", () => {
        writeSecrets(dir, {}, ["PREVIOUS_DEPLOYER_PASSWORD=d-old-0123456789abc"]);
        fakeCli({ accepts: ["6379 deployer d-old-0123456789abc", `26379 default ${S.SENTINEL_PASSWORD}`] });
        const r = firstRun("add");
        expect(r.code, r.err).toBe(0);
        expect(calls()[0]).toContain(`ACL SETUSER deployer reset on ${hash(S.DEPLOYER_PASSWORD)} ${hash("d-old-0123456789abc")} `);
    });
});

describe("auth-links", () => {
    let calls: { user: string; auth: string; args: string; stdin: string }[];

    /** A fake redis-cli that records, per call, its user, password, arguments and (for -x) its stdin, apart. */
    function recordingCli(refuse = "") {
        fs.writeFileSync(path.join(dir, "redis-cli"), `${fakeCliPrelude(path.join(dir, "plain.log"))}
case " $* " in *" -x "*) in=$(cat) ;; *) in= ;; esac
printf '%s\\t%s\\t%s\\t%s\\n' "$user" "$REDISCLI_AUTH" "$*" "$in" >> ${JSON.stringify(log)}
case "$*" in
  *" PING") echo PONG ;;
  ${refuse ? `*${JSON.stringify(refuse)}*) echo "ERR refused" ;;` : ""}
  *) echo OK ;;
esac
`, { mode: 0o755 });
    }
    const record = () => fs.readFileSync(log, "utf8").trim().split("\n").map((l) => {
        const [user, auth, args, stdin] = l.split("\t");
        return { user, auth, args, stdin };
    });
    const authLinks = () => runScript(verbs.authLinks(testContext(dir), {
        replUser: CLUSTER_USERS.replication, replSecret: "REPLICATION_PASSWORD",
        sentinelUser: CLUSTER_USERS.sentinel, sentinelSecret: "SENTINEL_AUTH_PASSWORD",
        peerUser: CLUSTER_USERS.sentinelPeer, peerSecret: "SENTINEL_PEER_PASSWORD",
    }), dir);

    it("hands each node its logins' passwords on stdin (-x), never as an argument", () => {
        const NEW_REPL = "repl-new-0123456789a";
        writeSecrets(dir, { REPLICATION_PASSWORD: NEW_REPL }, [`PREVIOUS_REPLICATION_PASSWORD=${S.REPLICATION_PASSWORD}`]);
        installConfigs(cfg);
        recordingCli();
        const r = authLinks();
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        calls = record().filter((c) => !c.args.endsWith(" PING"));
        const d = { user: "deployer", auth: S.DEPLOYER_PASSWORD };
        const s = { user: "default", auth: S.SENTINEL_PASSWORD };
        expect(calls).toEqual([
            // User and password in one command: a user never meets the other's password.
            { ...d, args: "-h 127.0.0.1 -p 6379 -x CONFIG SET masteruser replication masterauth", stdin: NEW_REPL },
            { ...s, args: "-h 127.0.0.1 -p 26379 -x SENTINEL SET mymaster auth-user sentinel auth-pass", stdin: S.SENTINEL_AUTH_PASSWORD },
            // One option per SENTINEL CONFIG SET (before Redis 7.2): the password first.
            { ...s, args: "-h 127.0.0.1 -p 26379 -x SENTINEL CONFIG SET sentinel-pass", stdin: S.SENTINEL_PEER_PASSWORD },
            { ...s, args: "-h 127.0.0.1 -p 26379 SENTINEL CONFIG SET sentinel-user sentinel-peer", stdin: "" },
        ]);
        // No password is ever an argument of redis-cli, nor in the step's output.
        const passwords = [...Object.values(S), NEW_REPL];
        for (const c of record()) for (const p of passwords) expect(c.args).not.toContain(p);
        for (const p of passwords) expect(r.out + r.err).not.toContain(p);
        expect(r.out).toContain("redis-server: replicates as replication with the current password\n");
        // The files say what the nodes now use.
        const redisConf = fs.readFileSync(path.join(dir, "redis.conf"), "utf8");
        expect(redisConf).toContain(`masteruser replication\nmasterauth ${NEW_REPL}\n`);
        expect(fs.readFileSync(path.join(dir, "sentinel.conf"), "utf8")).toContain(`sentinel auth-pass mymaster ${S.SENTINEL_AUTH_PASSWORD}\n`);
    });

    it("fails, naming what was refused", () => {
        writeSecrets(dir);
        recordingCli("SENTINEL CONFIG SET sentinel-pass");
        const r = authLinks();
        expect(r.code).toBe(4);
        expect(r.err).toBe("auth-links: SENTINEL CONFIG SET sentinel-pass was refused: ERR refused\n");
        // The Sentinel's user is not switched to a password it was refused.
        expect(record().some((c) => c.args.includes("sentinel-user"))).toBe(false);
    });
});
