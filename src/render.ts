/**
 * Renders the files a host receives from the Handlebars templates in `templates/`.
 * Pure: same config in, same text out; secrets are passed in as values (the
 * deployer passes placeholders that the host substitutes from a root-only file,
 * so the rendered text shown in `pulumi preview` never contains a password).
 */
import * as fs from "fs";
import * as path from "path";
import Handlebars from "handlebars";
import { ClusterConfig, HostSpec, initialMaster } from "./config";
import { installedBinaries } from "./host/layout";
import { placeholder } from "./host/secrets";


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

export interface SecretValues {
    readonly redisPassword: string;
    readonly sentinelPassword: string;
}

/** Placeholders the host replaces with the real secrets (host/secrets.ts, sh/lib/secrets.sh). */
export const SECRET_TOKENS: SecretValues = {
    redisPassword: placeholder("REDIS_PASSWORD"),
    sentinelPassword: placeholder("SENTINEL_PASSWORD"),
};

function context(cfg: ClusterConfig, host: HostSpec, secrets: SecretValues) {
    const master = initialMaster(cfg);
    return {
        ...cfg,
        host,
        master,
        installed: installedBinaries(cfg.paths.installDir),
        // Only the first install uses this: later renders keep what Sentinel wrote.
        replicaOf: host.name === master.name ? false : master,
        redisPassword: secrets.redisPassword,
        sentinelPassword: secrets.sentinelPassword,
    };
}

export function renderRedisConf(cfg: ClusterConfig, host: HostSpec, secrets: SecretValues = SECRET_TOKENS): string {
    return template("redis.conf.hbs")(context(cfg, host, secrets));
}

export function renderSentinelConf(cfg: ClusterConfig, host: HostSpec, secrets: SecretValues = SECRET_TOKENS): string {
    return template("sentinel.conf.hbs")(context(cfg, host, secrets));
}

export function renderRedisUnit(cfg: ClusterConfig, host: HostSpec): string {
    return template("redis-server.service.hbs")(context(cfg, host, SECRET_TOKENS));
}

export function renderSentinelUnit(cfg: ClusterConfig, host: HostSpec): string {
    return template("redis-sentinel.service.hbs")(context(cfg, host, SECRET_TOKENS));
}

export function renderSysctl(): string {
    return template("sysctl.conf.hbs")({ somaxconn: 1024 });
}

export function renderThpTmpfiles(): string {
    return template("thp.tmpfiles.conf.hbs")({});
}
