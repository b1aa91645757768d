/**
 * The Sentinel on one host: sentinel.conf (which Sentinel owns once it runs),
 * its unit and the running service.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { ClusterConfig, HostSpec } from "./config";
import { DataNode, HostStepArgs, PENDING_DIR, peerSentinels, RESTART_DIRECTIVES, SECRETS_FILE, SENTINEL_UNIT, hostStep, remoteStop } from "./host";
import { renderSentinelConf, renderSentinelUnit } from "./render";
import { shq } from "./shell";

export interface SentinelNodeArgs {
    /** The validated cluster configuration. */
    readonly config: ClusterConfig;
    /** The host this Sentinel runs on. */
    readonly host: HostSpec;
    /** The host's data node: binaries, passwords file and connection come from it. */
    readonly dataNode: DataNode;
    /** Resources that must exist before this Sentinel starts (every data node). Default none. */
    readonly startAfter?: readonly pulumi.Resource[];
}

export class SentinelNode extends pulumi.ComponentResource {
    /** The running redis-sentinel service. */
    readonly service: command.remote.Command;
    /** Every step that puts something on the host. */
    readonly steps: readonly pulumi.Resource[];

    constructor(name: string, args: SentinelNodeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("redis-sentinel:index:SentinelNode", name, {}, opts);
        const { config: cfg, host, dataNode } = args;
        const p = cfg.paths;
        const s: HostStepArgs = { host, connection: dataNode.connection, parent: this };
        const cli = `${p.installDir}/bin/redis-cli`;

        const confFile = `${p.configDir}/sentinel.conf`;
        const conf = hostStep("sentinel-config", s, "apply-config",
            ["sentinel", confFile, cfg.serviceUser, SECRETS_FILE, cli, String(cfg.sentinelPort), cfg.masterName, PENDING_DIR, RESTART_DIRECTIVES.join(" "), host.announceAddress, peerSentinels(cfg, host)],
            {
                stdin: renderSentinelConf(cfg, host),
                delete: `rm -f ${shq(confFile)} ${shq(`${confFile}.rendered`)}`,
                dependsOn: [dataNode.install, dataNode.secrets],
            });

        const unitFile = `/etc/systemd/system/${SENTINEL_UNIT}.service`;
        const unit = hostStep("sentinel-unit", s, "put-file", [unitFile, "root", "0644", `unit:${SENTINEL_UNIT}`, PENDING_DIR], {
            stdin: renderSentinelUnit(cfg, host),
            delete: `rm -f ${shq(unitFile)} && systemctl daemon-reload`,
            dependsOn: [dataNode.install],
        });

        this.service = hostStep("sentinel-service", s, "service",
            [SENTINEL_UNIT, cli, String(cfg.sentinelPort), "SENTINEL_PASSWORD", SECRETS_FILE, PENDING_DIR],
            { delete: remoteStop(SENTINEL_UNIT), dependsOn: [conf, unit, ...(args.startAfter ?? [])] });
        this.steps = [conf, unit, this.service];
        this.registerOutputs({});
    }
}
