// Reads the stack configuration and wires the cluster; everything else lives in src/.
import * as pulumi from "@pulumi/pulumi";
import { applicationLogins } from "./src/acl";
import { readStackConfig } from "./src/stack-config";
import { RedisSentinelCluster } from "./src/components/cluster";
import { DockerHosts } from "./src/local/docker-hosts";

const stack = readStackConfig(__dirname);
const local = stack.cluster.localDocker;
// A local Docker stack makes its hosts, login key and host key pins itself.
const dockerHosts = local ? new DockerHosts("redis-local", { config: { ...stack.cluster, localDocker: local } }) : undefined;
const cluster = new RedisSentinelCluster("redis", {
    config: stack.cluster,
    sshPrivateKey: dockerHosts?.sshPrivateKey ?? stack.sshPrivateKey!,
    sshPrivateKeyPassword: stack.sshPrivateKeyPassword,
    ...(dockerHosts ? { hostKeys: dockerHosts.hostKeys } : {}),
    redisPassword: stack.redisPassword,
    sentinelPassword: stack.sentinelPassword,
    clusterPasswords: stack.clusterPasswords,
    monitorPassword: stack.monitorPassword,
    userPasswords: stack.userPasswords,
    tlsKeys: stack.tlsKeys,
});

// currentMaster and replicas are as verified by the last `up` that changed the
// cluster; after a failover the Sentinels are the source of truth.
export const masterName = stack.cluster.masterName;
export const sentinels = cluster.sentinelEndpoints;
export const currentMaster = cluster.verified.master;
export const replicas = cluster.verified.replicas;
export const sentinelQuorum = cluster.verified.ckquorum;
export const connection = cluster.connection;
export const redisVersion = stack.cluster.redisVersion;
/** Who applications log in to the data nodes as, with their rules (passwords as placeholders). */
export const applicationUsers = applicationLogins(stack.cluster);
/**
 * Local Docker stack only: the containers and their pinned host keys by host name,
 * and the generated login key (for `ssh -i` and `npm run drill`), a secret.
 */
export const dockerContainers = dockerHosts ? pulumi.output(dockerHosts.containerNames) : undefined;
export const dockerHostKeys = dockerHosts ? pulumi.output(dockerHosts.hostKeys) : undefined;
export const dockerSshPrivateKey = dockerHosts?.sshPrivateKey;
