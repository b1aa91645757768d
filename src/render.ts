/**
 * Renders the files a host receives from the Handlebars templates in `templates/`.
 * Pure: same config in, same text out. Secrets are placeholders that the host
 * fills from its root-only secrets file (host/secrets.ts), so the rendered text
 * shown in `pulumi preview` never contains a password or a password's hash.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import Handlebars from "handlebars";
import { ClusterConfig, HostSpec, initialMaster } from "./config";
import { START_GUARD, TIMEOUTS, installedBinaries, tlsFiles } from "./host/layout";
import { masterRebootDownAfterPeriod } from "./start-guard";
import { CLUSTER_USERS, dataUsers, sentinelUsers, userLine } from "./acl";
import { CLUSTER_PASSWORD_SECRETS as PW, placeholder } from "./host/secrets";


export const TEMPLATE_DIR = path.join(__dirname, "..", "templates");

const hb = Handlebars.create();
const cache = new Map<string, Handlebars.TemplateDelegate>();

function template(name: string): Handlebars.TemplateDelegate {
    let t = cache.get(name);
    if (!t) {
        const text = fs.readFileSync(path.join(TEMPLATE_DIR, name), "utf8");
        // strict: a field missing from the context is a bug, not an empty string.
        t = hb.compile(text, { noEscape: true, strict: true });
        cache.set(name, t);
    }
    return t;
}

/**
 * The id (`sentinel myid`, 40 hex characters) the Sentinel on `host` gets at its
 * first install: derived from the master name and the Sentinel's address, so
 * every host's render names every other Sentinel by the id it will have. Not a
 * secret; unique within a cluster, whose Sentinels' addresses are.
 */
export function sentinelId(cfg: ClusterConfig, host: HostSpec): string {
    return crypto.createHash("sha1").update(`redis-sentinel-pulumi/${cfg.masterName}/${host.announceAddress}:${cfg.sentinelPort}`).digest("hex");
}

function context(cfg: ClusterConfig, host: HostSpec) {
    const master = initialMaster(cfg);
    const others = cfg.hosts.filter((h) => h.name !== host.name);
    return {
        ...cfg,
        host,
        master,
        installed: installedBinaries(cfg.paths.installDir),
        // Only the first install uses this: later renders keep what Sentinel wrote.
        replicaOf: host.name === master.name ? false : master,
        // Whichever node is the master, the others are its replicas.
        replicaCount: cfg.hosts.length - 1,
        // Sentinel's state at its first install: who it is and whom it will meet.
        sentinelId: sentinelId(cfg, host),
        knownSentinels: others.map((h) => ({ address: h.announceAddress, id: sentinelId(cfg, h) })),
        knownReplicas: cfg.hosts.filter((h) => h.name !== master.name).map((h) => h.announceAddress),
        dataUsers: dataUsers(cfg).map(userLine),
        sentinelUsers: sentinelUsers().map(userLine),
        replicationUser: CLUSTER_USERS.replication,
        replicationPassword: placeholder(PW.replicationPassword),
        sentinelUser: CLUSTER_USERS.sentinel,
        sentinelAuthPassword: placeholder(PW.sentinelAuthPassword),
        peerUser: CLUSTER_USERS.sentinelPeer,
        peerPassword: placeholder(PW.sentinelPeerPassword),
        masterRebootDownAfterPeriod: masterRebootDownAfterPeriod(cfg),
        // Unset (plaintext) renders no TLS line: the files stay as they were before TLS existed.
        tls: cfg.tls ?? false,
        tlsFiles: tlsFiles(cfg.paths.configDir),
    };
}

export function renderRedisConf(cfg: ClusterConfig, host: HostSpec): string {
    return template("redis.conf.hbs")(context(cfg, host));
}

export function renderSentinelConf(cfg: ClusterConfig, host: HostSpec): string {
    return template("sentinel.conf.hbs")(context(cfg, host));
}

export function renderRedisUnit(cfg: ClusterConfig, host: HostSpec): string {
    return template("redis-server.service.hbs")(context(cfg, host));
}

export function renderSentinelUnit(cfg: ClusterConfig, host: HostSpec): string {
    return template("redis-sentinel.service.hbs")(context(cfg, host));
}

/** The redis-server unit's drop-in that runs the start guard (a node without persistence). */
export function renderStartGuardDropIn(host: HostSpec): string {
    return template("redis-server-guard.conf.hbs")({
        host, guardScript: START_GUARD.script, guardTimeout: TIMEOUTS.startGuard,
        // The guard's wait, its last round of probes, then redis-server's own start.
        startTimeout: TIMEOUTS.startGuard + 30,
    });
}

export function renderSysctl(): string {
    return template("sysctl.conf.hbs")({ somaxconn: 1024 });
}

export function renderThpTmpfiles(): string {
    return template("thp.tmpfiles.conf.hbs")({});
}
