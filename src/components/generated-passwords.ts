/**
 * The passwords the program makes for the cluster's own users the stack does
 * not set: 32 random letters and digits each, kept in the stack's state as a
 * secret, the same on every later run. One resource for all of them: a
 * dynamic resource's provider is serialized with each resource, about 0.2 s of
 * every preview and up apiece. Setting the config key of one rotates it (it is
 * then no longer generated); `pulumi up --replace` of this resource rotates all
 * it holds (README: "Rotating passwords"). No extra provider plugin is needed.
 */
import * as pulumi from "@pulumi/pulumi";

interface PasswordsInputs {
    /** What each is for (the config key it stands in for), sorted. */
    readonly purposes: readonly string[];
}

interface PasswordsOutputs extends PasswordsInputs {
    /** purpose -> password */
    readonly values: Readonly<Record<string, string>>;
}

/** Exported for its unit test. */
export const passwordsProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: PasswordsInputs): Promise<pulumi.dynamic.CreateResult> {
        // Required here, not imported: the provider is serialized with its closure.
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        const crypto = require("crypto") as typeof import("crypto");
        const outs: PasswordsOutputs = { purposes: inputs.purposes, values: generate(crypto, inputs.purposes, {}) };
        // The id is shown in plain text: random, never derived from a value.
        return { id: crypto.randomBytes(8).toString("hex"), outs };
    },
    // A purpose added or dropped is an update that keeps every other password;
    // nothing else (not even a change to this code) is a diff.
    async diff(_id: string, olds: PasswordsOutputs, news: PasswordsInputs): Promise<pulumi.dynamic.DiffResult> {
        const changed = [...olds.purposes].sort().join(",") !== [...news.purposes].sort().join(",");
        return { changes: changed, replaces: [], deleteBeforeReplace: false };
    },
    async update(_id: string, olds: PasswordsOutputs, news: PasswordsInputs): Promise<pulumi.dynamic.UpdateResult> {
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        const crypto = require("crypto") as typeof import("crypto");
        const outs: PasswordsOutputs = { purposes: news.purposes, values: generate(crypto, news.purposes, olds.values) };
        return { outs };
    },
};

/** The kept password of each purpose, a new one for each purpose without. Serialized with the provider. */
function generate(crypto: typeof import("crypto"), purposes: readonly string[], kept: Readonly<Record<string, string>>): Record<string, string> {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const values: Record<string, string> = {};
    for (const p of purposes) {
        let value = kept[p] ?? "";
        while (value.length < 32) {
            for (const b of crypto.randomBytes(64)) {
                // 248 = 4 * 62: no bias toward the first letters.
                if (b < 248 && value.length < 32) value += alphabet[b % alphabet.length];
            }
        }
        values[p] = value;
    }
    return values;
}

export interface GeneratedPasswordsArgs {
    /** What each password is for, e.g. "replicationPassword". */
    readonly purposes: readonly string[];
}

/** `values`: purpose -> generated password, a secret. */
export class GeneratedPasswords extends pulumi.dynamic.Resource {
    declare readonly values: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: GeneratedPasswordsArgs, opts?: pulumi.CustomResourceOptions) {
        super(passwordsProvider, name, { purposes: [...args.purposes].sort(), values: undefined },
            { ...opts, additionalSecretOutputs: ["values"] }, "redis-sentinel", "GeneratedPasswords");
    }
}
