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
}

/** The Sentinel's config and unit; the cluster starts it (startService) once every data node runs. */
export class SentinelNode extends pulumi.ComponentResource {
    /** The host it runs on. */
    readonly host: HostSpec;
    /** Every step that puts something on the host, before the service. */
    readonly steps: readonly pulumi.Resource[];
    private readonly startArgs: { readonly s: HostStepArgs; readonly ctx: HostContext; readonly port: number; readonly before: readonly pulumi.Resource[] };

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
            dependsOn: [dataNode.install, dataNode.secrets, ...(dataNode.tls ? [dataNode.tls] : [])],
        });

        const file = unitFile(SENTINEL_UNIT);
        const unit = hostStep("sentinel-unit", s, verbs.putFile(ctx, { dest: file, owner: "root", mode: "0644", action: `unit:${SENTINEL_UNIT}` }), {
            stdin: plan.files.sentinelUnit,
            delete: `rm -f ${shq(file)} && systemctl daemon-reload`,
            dependsOn: [dataNode.install],
        });

        this.steps = [conf, unit];
        this.startArgs = { s, ctx, port: cfg.sentinelPort, before: [conf, unit] };
        this.registerOutputs({});
    }

    /**
     * The running redis-sentinel service (`<host>-sentinel-service`), started after
     * its config and unit and after `after` (every data node, so that it finds all
     * replicas at once). Called once, by the cluster.
     */
    startService(after: readonly pulumi.Resource[]): command.remote.Command {
        const { s, ctx, port, before } = this.startArgs;
        return hostStep("sentinel-service", s, verbs.service(ctx, { unit: SENTINEL_UNIT, who: "sentinel", port }), {
            delete: `systemctl disable --now ${shq(SENTINEL_UNIT)} 2>/dev/null || true`,
            dependsOn: [...before, ...after],
        });
    }
}
