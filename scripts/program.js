// The Pulumi program's entry point (package.json main): index.ts through the
// project's TypeScript loader (ts-hook.js), transpiled without type checking and
// cached, instead of Pulumi's ts-node, which type-checks the whole program on
// every run whose files changed (about 2.5 s on 2 cores) and loads the compiler
// on every run (about 0.2 s). The tests type-check with `tsc --noEmit`.
"use strict";
require("./ts-hook");
module.exports = require("../index.ts");
