// Reads the stack configuration and wires the cluster; everything else lives in src/.
import { readStackConfig } from "./src/stack-config";
import { RedisSentinelCluster } from "./src/components/cluster";

const stack = readStackConfig(__dirname);
const cluster = new RedisSentinelCluster("redis", {
    config: stack.cluster,
    sshPrivateKey: stack.sshPrivateKey,
    sshPrivateKeyPassword: stack.sshPrivateKeyPassword,
    redisPassword: stack.redisPassword,
    sentinelPassword: stack.sentinelPassword,
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
