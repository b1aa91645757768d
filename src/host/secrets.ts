/**
 * The secrets a host holds: a name -> value map, stored on the host in one
 * root-only file of `NAME=value` lines and read there by one shell helper
 * (sh/lib/secrets.sh: load_secrets). Rendered files carry placeholders instead
 * of values (`@@NAME@@`), which the host fills from that file, so no secret is
 * ever on a command line or in a preview. A new secret (an ACL user's password)
 * is a new name here, not a new format.
 */
import * as pulumi from "@pulumi/pulumi";

export const SECRET_NAMES = ["REDIS_PASSWORD", "SENTINEL_PASSWORD"] as const;
export type SecretName = typeof SECRET_NAMES[number];

/** printf format of a placeholder; `%s` is the secret's name. */
export const SECRET_PLACEHOLDER = "@@%s@@";

/** The placeholder a rendered file carries for a secret. */
export const placeholder = (name: SecretName) => SECRET_PLACEHOLDER.replace("%s", name);

/** The secrets file's text for these values (a secret Output). */
export function secretsFileText(values: Readonly<Record<SecretName, pulumi.Input<string>>>): pulumi.Output<string> {
    return pulumi.secret(pulumi.all(SECRET_NAMES.map((n) => values[n]))
        .apply((vs) => SECRET_NAMES.map((n, i) => `${n}=${vs[i]}\n`).join("")));
}
