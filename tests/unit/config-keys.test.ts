/** Pulumi.yaml declares exactly the keys the parser reads, with the same defaults. */
import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { CONFIG_DEFAULTS, CONFIG_KEYS } from "../../src/config";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const yaml = require("js-yaml") as { load(text: string): unknown };
const project = yaml.load(fs.readFileSync(path.join(__dirname, "..", "..", "Pulumi.yaml"), "utf8")) as {
    config: Record<string, { default?: unknown; type?: string }>;
};

describe("Pulumi.yaml", () => {
    it("declares exactly the keys the parser reads", () => {
        expect(Object.keys(project.config).sort()).toEqual([...CONFIG_KEYS].sort());
    });

    it.each(CONFIG_KEYS.map((k) => [k]))("declares %s with the parser's default", (k) => {
        expect(project.config[k].default).toEqual(CONFIG_DEFAULTS[k]);
    });
});
