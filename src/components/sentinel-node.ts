/**
 * The Sentinel on one host: sentinel.conf (which Sentinel owns once it runs),
 * its unit and the running service.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { ClusterConfig, HostSpec } from "../config";
import { HostContext, SENTINEL_UNIT, unitFile, withRenderedCopy } from "../host/layout";
import { shq } from "../host/script";
import * as verbs from "../host/verbs";
import { HostPlan } from "../plan";
import { DataNode } from "./data-node";
import { HostStepArgs, hostStep } from "./step";

export interface SentinelNodeArgs {
    /** The validated cluster configuration. */
    readonly config: ClusterConfig;
    /** This host's part of the cluster plan. */
    readonly plan: HostPlan;
    /** The facts the host scripts get. */
    readonly context: HostContext;
    /** The host's data node: binaries, secrets file and connection come from it. */
    readonly dataNode: DataNode;
    /** Resources that must exist before this Sentinel starts (every data node). Default none. */
    readonly startAfter?: readonly pulumi.Resource[];
}

export class SentinelNode extends pulumi.ComponentResource {
    /** The host it runs on. */
    readonly host: HostSpec;
    /** The running redis-sentinel service. */
    readonly service: command.remote.Command;
    /** Every step that puts something on the host. */
    readonly steps: readonly pulumi.Resource[];

    constructor(name: string, args: SentinelNodeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("redis-sentinel:index:SentinelNode", name, {}, opts);
        const { config: cfg, plan, context: ctx, dataNode } = args;
        const { host } = plan;
        this.host = host;
        const s: HostStepArgs = { host, connection: dataNode.connection, parent: this };

        const conf = hostStep("sentinel-config", s, verbs.applyConfig(ctx, {
            kind: "sentinel", target: ctx.sentinelConf, port: cfg.sentinelPort, self: host.announceAddress, peers: plan.peers,
        }), {
            stdin: plan.files.sentinelConf,
            delete: `rm -f ${withRenderedCopy(ctx.sentinelConf).map(shq).join(" ")}`,
            dependsOn: [dataNode.install, dataNode.secrets],
        });

        const file = unitFile(SENTINEL_UNIT);
        const unit = hostStep("sentinel-unit", s, verbs.putFile(ctx, { dest: file, owner: "root", mode: "0644", action: `unit:${SENTINEL_UNIT}` }), {
            stdin: plan.files.sentinelUnit,
            delete: `rm -f ${shq(file)} && systemctl daemon-reload`,
            dependsOn: [dataNode.install],
        });

        this.service = hostStep("sentinel-service", s, verbs.service(ctx, { unit: SENTINEL_UNIT, who: "sentinel", port: cfg.sentinelPort }), {
            delete: `systemctl disable --now ${shq(SENTINEL_UNIT)} 2>/dev/null || true`,
            dependsOn: [conf, unit, ...(args.startAfter ?? [])],
        });
        this.steps = [conf, unit, this.service];
        this.registerOutputs({});
    }
}
