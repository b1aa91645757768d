/** Who the operator's drill writes as (npm run drill --user), and its messages for a login that cannot exist. */
import { describe, expect, it } from "vitest";
import { parseClusterConfig } from "../../src/config";
import { writerLogin } from "../../src/drill";
import { REDIS_PASSWORD, raw, rawWithSecrets } from "./fixtures";

const PASSWORDS = JSON.stringify({ orders: "orders-password-0123456789" });
const withUsers = (o: Record<string, string> = {}) => parseClusterConfig(rawWithSecrets({ aclUserPasswords: PASSWORDS },
    { aclUsers: JSON.stringify([{ name: "orders", rules: "~drill:* +@read +@write" }]), ...o }));
const secrets = { redisPassword: REDIS_PASSWORD, aclUserPasswords: PASSWORDS };

describe("the drill's writer login", () => {
    it("is the default user with redisPassword unless --user names an aclUsers user", () => {
        expect(writerLogin(parseClusterConfig(raw()), { redisPassword: REDIS_PASSWORD }, "", "prod")).toEqual({ password: REDIS_PASSWORD });
        expect(writerLogin(withUsers(), secrets, "orders", "prod")).toEqual({ username: "orders", password: "orders-password-0123456789" });
    });

    it("refuses a user the stack does not have, naming the stack and its users", () => {
        expect(() => writerLogin(withUsers(), secrets, "billing", "prod")).toThrow("--user billing is not one of stack prod's aclUsers (orders)");
        expect(() => writerLogin(parseClusterConfig(raw()), secrets, "billing", "prod")).toThrow("--user billing is not one of stack prod's aclUsers (none)");
    });

    it("asks for --user when the default user is off", () => {
        expect(() => writerLogin(withUsers({ defaultUserEnabled: "false" }), secrets, "", "prod"))
            .toThrow("stack prod has defaultUserEnabled false: name the user the writer logs in as with --user (one of orders)");
    });
});
