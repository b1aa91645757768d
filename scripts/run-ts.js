#!/usr/bin/env node
// Runs a TypeScript entry point (npm run drill, npm run bench) through the
// project's TypeScript loader (ts-hook.js: transpiled without type checking,
// cached). Needs nothing from devDependencies, so it works after
// `npm ci --omit=dev`.
"use strict";
const path = require("path");
require("./ts-hook");

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
    console.error("usage: run-ts.js FILE.ts [ARGS...]");
    process.exit(2);
}
process.argv = [process.argv[0], path.resolve(entry), ...args];
require(path.resolve(entry));
