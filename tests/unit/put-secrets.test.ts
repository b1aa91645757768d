/**
 * Runs the host-side put-secrets script locally: the first install stores the
 * secrets as they come; later, a changed value starts a rotation (the old one
 * kept as PREVIOUS_<NAME>, still valid until the acl step retires it) and a
 * name the stored file did not have is listed in NEW_SECRETS (no node knows it).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { beforeEach, describe, expect, it } from "vitest";
import { parseClusterConfig } from "../../src/config";
import * as verbs from "../../src/host/verbs";
import { rawWithSecrets } from "./fixtures";
import { TEST_SECRETS, runScript, secretsText, testContext } from "./host-scripts";

let dir: string;
let file: string;

beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "put-secrets-"));
    file = path.join(dir, "secrets.env");
});

const put = (text: string, ctx = testContext(dir)) => runScript(verbs.putSecrets(ctx), dir, text);
const stored = () => fs.readFileSync(file, "utf8");
/** The complete input with REDIS_PASSWORD set to `v`. */
const withRedis = (v: string) => secretsText({ REDIS_PASSWORD: v });
/** That input with extra lines placed after the REDIS_PASSWORD line, and at the end. */
const storedAs = (v: string, afterRedis: string[], atEnd: string[] = []) =>
    withRedis(v).replace(`REDIS_PASSWORD=${v}\n`, `REDIS_PASSWORD=${v}\n${afterRedis.map((l) => `${l}\n`).join("")}`) + atEnd.map((l) => `${l}\n`).join("");

describe("put-secrets", () => {
    it("stores the first install's secrets as they come, root-only", () => {
        const r = put(secretsText());
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(r.out).toBe("secrets stored\n");
        expect(stored()).toBe(secretsText());
        expect(fs.statSync(file).mode & 0o777).toBe(0o600);
        expect(fs.readdirSync(dir)).toEqual(["secrets.env"]);
    });

    it("leaves the file alone when nothing changed", () => {
        put(secretsText());
        fs.utimesSync(file, new Date(0), new Date(0));
        const r = put(secretsText());
        expect(r.code).toBe(0);
        expect(r.out).toBe("secrets unchanged\n");
        expect(stored()).toBe(secretsText());
        expect(fs.statSync(file).mtimeMs).toBe(0);
    });

    it("keeps a changed password's old value as PREVIOUS_<NAME>: a rotation starts", () => {
        put(withRedis("r-pass-A-0123456789ab"));
        const r = put(withRedis("r-pass-B-0123456789ab"));
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(r.out).toBe("secrets stored; rotating: REDIS_PASSWORD\n");
        expect(stored()).toBe(storedAs("r-pass-B-0123456789ab", ["PREVIOUS_REDIS_PASSWORD=r-pass-A-0123456789ab"]));
        expect(fs.statSync(file).mode & 0o777).toBe(0o600);
        // The same input again (an up that failed before the retire step): the rotation goes on.
        expect(put(withRedis("r-pass-B-0123456789ab")).out).toBe("secrets unchanged\n");
        expect(stored()).toBe(storedAs("r-pass-B-0123456789ab", ["PREVIOUS_REDIS_PASSWORD=r-pass-A-0123456789ab"]));
    });

    it("accumulates the previous values of a second change before the rotation was retired, newest first", () => {
        put(withRedis("r-pass-A-0123456789ab"));
        put(withRedis("r-pass-B-0123456789ab"));
        const r = put(withRedis("r-pass-C-0123456789ab"));
        expect(r.code).toBe(0);
        expect(stored()).toBe(storedAs("r-pass-C-0123456789ab", ["PREVIOUS_REDIS_PASSWORD=r-pass-B-0123456789ab r-pass-A-0123456789ab"]));
    });

    it("never lists a value as its own previous one when a password changes back", () => {
        put(withRedis("r-pass-A-0123456789ab"));
        put(withRedis("r-pass-B-0123456789ab"));
        put(withRedis("r-pass-A-0123456789ab"));
        expect(stored()).toBe(storedAs("r-pass-A-0123456789ab", ["PREVIOUS_REDIS_PASSWORD=r-pass-B-0123456789ab"]));
        // Back again, after the rotation was retired (no PREVIOUS_ line left): only the value it replaces.
        fs.writeFileSync(file, withRedis("r-pass-A-0123456789ab"));
        put(withRedis("r-pass-B-0123456789ab"));
        expect(stored()).toBe(storedAs("r-pass-B-0123456789ab", ["PREVIOUS_REDIS_PASSWORD=r-pass-A-0123456789ab"]));
    });

    it("lists the names a stored file did not have in NEW_SECRETS (a password-only cluster's first ACL deploy)", () => {
        // The file of a release before ACL users: two passwords.
        fs.writeFileSync(file, `REDIS_PASSWORD=${TEST_SECRETS.REDIS_PASSWORD}\nSENTINEL_PASSWORD=${TEST_SECRETS.SENTINEL_PASSWORD}\n`);
        const r = put(secretsText());
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(r.out).toBe("secrets stored; rotating: DEPLOYER_PASSWORD REPLICATION_PASSWORD SENTINEL_AUTH_PASSWORD SENTINEL_PEER_PASSWORD (new)\n");
        const fresh = "NEW_SECRETS=DEPLOYER_PASSWORD REPLICATION_PASSWORD SENTINEL_AUTH_PASSWORD SENTINEL_PEER_PASSWORD";
        expect(stored()).toBe(`${secretsText()}${fresh}\n`);
        // Still new on a re-run, and on a change made before the rotation was retired.
        expect(put(secretsText()).out).toBe("secrets unchanged\n");
        // One space between the names, none at the end.
        expect(put(secretsText({ REDIS_PASSWORD: "r-pass-B-0123456789ab" })).out)
            .toBe("secrets stored; rotating: REDIS_PASSWORD DEPLOYER_PASSWORD REPLICATION_PASSWORD SENTINEL_AUTH_PASSWORD SENTINEL_PEER_PASSWORD (new)\n");
        expect(stored()).toBe(`${storedAs("r-pass-B-0123456789ab", [`PREVIOUS_REDIS_PASSWORD=${TEST_SECRETS.REDIS_PASSWORD}`])}${fresh}\n`);
    });

    it("lists a new application user's password in NEW_SECRETS, and only that", () => {
        put(secretsText());
        const users = parseClusterConfig(rawWithSecrets({ aclUserPasswords: JSON.stringify({ orders: "o-pass-0123456789abc" }) },
            { aclUsers: JSON.stringify([{ name: "orders", rules: "~orders:* +@read" }]) }));
        const input = secretsText({ USER_ORDERS_PASSWORD: "o-pass-0123456789abc" }, [], users);
        const r = put(input, testContext(dir, {}, users));
        expect(r.code).toBe(0);
        expect(r.out).toBe("secrets stored; rotating: USER_ORDERS_PASSWORD (new)\n");
        expect(stored()).toBe(`${input}NEW_SECRETS=USER_ORDERS_PASSWORD\n`);
    });
});
