/**
 * The secrets a host holds: a name -> value map, stored on the host in one
 * root-only file of `NAME=value` lines and read there by one shell helper
 * (sh/lib/secrets.sh: load_secrets). Rendered files carry placeholders instead
 * of values, which the host fills from that file, so no secret is ever on a
 * command line or in a preview:
 *   `@@NAME@@`         the value (masterauth, Sentinel's auth-pass);
 *   `@@NAME:HASHES@@`  `#<sha256>` of the value and of each previous value still
 *                      valid during a rotation (an ACL user's passwords).
 * During a rotation the host file also holds `PREVIOUS_NAME=old ...` (values
 * that stay valid until the rotation is retired) and `NEW_SECRETS=NAME ...`
 * (credentials that no node knew before this rotation): put-secrets writes them,
 * the acl step's retire phase removes them. A new secret (an application user's
 * password) is a new name here, not a new format.
 */
import * as pulumi from "@pulumi/pulumi";

/** The credentials every cluster has, one host secret each. */
export const BASE_SECRETS = [
    "REDIS_PASSWORD", "SENTINEL_PASSWORD", "DEPLOYER_PASSWORD",
    "REPLICATION_PASSWORD", "SENTINEL_AUTH_PASSWORD", "SENTINEL_PEER_PASSWORD",
] as const;
export type BaseSecret = typeof BASE_SECRETS[number];
/** The host secret of each password of the cluster's own users, by its config key. */
export const CLUSTER_PASSWORD_SECRETS = {
    deployerPassword: "DEPLOYER_PASSWORD",
    replicationPassword: "REPLICATION_PASSWORD",
    sentinelAuthPassword: "SENTINEL_AUTH_PASSWORD",
    sentinelPeerPassword: "SENTINEL_PEER_PASSWORD",
} as const satisfies Readonly<Record<string, BaseSecret>>;
/** The optional monitoring user's password. */
export const MONITOR_SECRET = "MONITOR_PASSWORD";
/** An application user's password: `app-orders` -> USER_APP_ORDERS_PASSWORD (names are [a-z0-9-]). */
export const userSecret = (user: string) => `USER_${user.toUpperCase().replace(/-/g, "_")}_PASSWORD`;

/** printf format of a placeholder; `%s` is the secret's name. */
export const SECRET_PLACEHOLDER = "@@%s@@";
/** printf format of a password-hashes placeholder; `%s` is the secret's name. */
export const HASHES_PLACEHOLDER = "@@%s:HASHES@@";

/** The placeholder a rendered file carries for a secret's value. */
export const placeholder = (name: string) => SECRET_PLACEHOLDER.replace("%s", name);
/** The placeholder a rendered file carries for an ACL user's password hashes. */
export const hashesPlaceholder = (name: string) => HASHES_PLACEHOLDER.replace("%s", name);

/** The secrets file's text for these values, in the given order (a secret Output). */
export function secretsFileText(values: ReadonlyArray<readonly [string, pulumi.Input<string>]>): pulumi.Output<string> {
    return pulumi.secret(pulumi.all(values.map(([, v]) => v))
        .apply((vs) => values.map(([n], i) => `${n}=${vs[i]}\n`).join("")));
}
