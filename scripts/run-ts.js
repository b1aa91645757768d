#!/usr/bin/env node
// Runs a TypeScript entry point (npm run drill) with the project's own compiler,
// a runtime dependency anyway (pulumi compiles the program with it): each .ts
// file is transpiled as it is loaded, without type checking. Needs nothing from
// devDependencies, so it works after `npm ci --omit=dev`.
"use strict";
const fs = require("fs");
const path = require("path");
const ts = require("typescript");

const root = path.join(__dirname, "..");
const { config } = ts.readConfigFile(path.join(root, "tsconfig.json"), ts.sys.readFile);
const { options } = ts.parseJsonConfigFileContent(config, ts.sys, root);
require.extensions[".ts"] = (module, filename) => {
    const out = ts.transpileModule(fs.readFileSync(filename, "utf8"), {
        fileName: filename,
        compilerOptions: { ...options, module: ts.ModuleKind.CommonJS, sourceMap: false, inlineSourceMap: true, noEmit: false },
    });
    module._compile(out.outputText, filename);
};

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
    console.error("usage: run-ts.js FILE.ts [ARGS...]");
    process.exit(2);
}
process.argv = [process.argv[0], path.resolve(entry), ...args];
require(path.resolve(entry));
