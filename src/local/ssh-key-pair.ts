/**
 * A generated SSH login key kept in the stack's state (the private half as a
 * Pulumi secret): made once on the first `up`, the same on every later run, and
 * gone with `pulumi destroy`. A dynamic resource, so no extra provider plugin is
 * needed; its code runs inside the Pulumi program's own language host.
 */
import * as pulumi from "@pulumi/pulumi";
import { generateEd25519KeyPair } from "./ssh-key-format";

interface KeyPairInputs {
    readonly comment: string;
}

interface KeyPairOutputs extends KeyPairInputs {
    readonly privateKey: string;
    readonly publicKey: string;
}

/** Exported for its unit test. */
export const keyPairProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: KeyPairInputs): Promise<pulumi.dynamic.CreateResult> {
        const pair = generateEd25519KeyPair(inputs.comment);
        const outs: KeyPairOutputs = { comment: inputs.comment, ...pair };
        return { id: pair.publicKey.split(" ")[1].slice(-16), outs };
    },
    // A new comment is a new key; nothing else (not even a change to this code) is a diff,
    // so the key never changes behind the hosts' backs.
    async diff(_id: string, olds: KeyPairOutputs, news: KeyPairInputs): Promise<pulumi.dynamic.DiffResult> {
        const changed = olds.comment !== news.comment;
        return { changes: changed, replaces: changed ? ["comment"] : [], deleteBeforeReplace: false };
    },
};

export interface SshKeyPairArgs {
    /** The public key's comment. */
    readonly comment: string;
}

/** An ed25519 key pair: `privateKey` (OpenSSH format, a secret) and `publicKey` (an authorized_keys line). */
export class SshKeyPair extends pulumi.dynamic.Resource {
    declare readonly privateKey: pulumi.Output<string>;
    declare readonly publicKey: pulumi.Output<string>;

    constructor(name: string, args: SshKeyPairArgs, opts?: pulumi.CustomResourceOptions) {
        super(keyPairProvider, name, { comment: args.comment, privateKey: undefined, publicKey: undefined },
            { ...opts, additionalSecretOutputs: ["privateKey"] }, "redis-sentinel", "SshKeyPair");
    }
}
