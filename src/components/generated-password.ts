/**
 * A password the program makes for one of the cluster's own users when the
 * stack does not set it: 32 random letters and digits, kept in the stack's
 * state as a secret, the same on every later run. `pulumi up --replace` of the
 * resource rotates it (README: "Rotating passwords"). A dynamic resource, so no
 * extra provider plugin is needed.
 */
import * as pulumi from "@pulumi/pulumi";

interface PasswordInputs {
    /** What it is for (the config key it stands in for). */
    readonly purpose: string;
}

interface PasswordOutputs extends PasswordInputs {
    readonly value: string;
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LENGTH = 32;

/** Exported for its unit test. */
export const passwordProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: PasswordInputs): Promise<pulumi.dynamic.CreateResult> {
        // Required here, not imported: the provider is serialized with its closure.
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        const crypto = require("crypto") as typeof import("crypto");
        let value = "";
        while (value.length < LENGTH) {
            for (const b of crypto.randomBytes(64)) {
                // 248 = 4 * 62: no bias toward the first letters.
                if (b < 248 && value.length < LENGTH) value += ALPHABET[b % ALPHABET.length];
            }
        }
        const outs: PasswordOutputs = { purpose: inputs.purpose, value };
        // The id is shown in plain text: random, never derived from the value.
        return { id: crypto.randomBytes(8).toString("hex"), outs };
    },
    // Only a new purpose is a new password; a change to this code never is.
    async diff(_id: string, olds: PasswordOutputs, news: PasswordInputs): Promise<pulumi.dynamic.DiffResult> {
        const changed = olds.purpose !== news.purpose;
        return { changes: changed, replaces: changed ? ["purpose"] : [], deleteBeforeReplace: false };
    },
};

export interface GeneratedPasswordArgs {
    /** What it is for, e.g. "replicationPassword". */
    readonly purpose: string;
}

/** `value`: the generated password, a secret. */
export class GeneratedPassword extends pulumi.dynamic.Resource {
    declare readonly value: pulumi.Output<string>;

    constructor(name: string, args: GeneratedPasswordArgs, opts?: pulumi.CustomResourceOptions) {
        super(passwordProvider, name, { purpose: args.purpose, value: undefined },
            { ...opts, additionalSecretOutputs: ["value"] }, "redis-sentinel", "GeneratedPassword");
    }
}
