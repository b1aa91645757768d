// Loads the project's TypeScript files with the project's own compiler, without
// type checking (`tsc --noEmit`, which the tests run, does that): each .ts file
// is transpiled once and the result kept in node_modules/.cache, keyed on the
// file, its text, tsconfig.json and the compiler's version, so a run whose files
// have not changed never loads the compiler at all. Used by `pulumi` (through
// scripts/program.js, package.json's main) and by scripts/run-ts.js (npm run drill).
// Needs nothing from devDependencies, so it works after `npm ci --omit=dev`.
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..");
const cacheDir = path.join(root, "node_modules", ".cache", "redis-sentinel-pulumi", "ts");
const tsconfigText = fs.readFileSync(path.join(root, "tsconfig.json"), "utf8");
const compilerVersion = JSON.parse(fs.readFileSync(require.resolve("typescript/package.json"), "utf8")).version;

let compiler; // { ts, options }, only once a file is not in the cache
function transpile(source, filename) {
    if (!compiler) {
        const ts = require("typescript");
        const { config } = ts.readConfigFile(path.join(root, "tsconfig.json"), ts.sys.readFile);
        const { options } = ts.parseJsonConfigFileContent(config, ts.sys, root);
        compiler = { ts, options: { ...options, module: ts.ModuleKind.CommonJS, sourceMap: false, inlineSourceMap: true, noEmit: false } };
    }
    return compiler.ts.transpileModule(source, { fileName: filename, compilerOptions: compiler.options }).outputText;
}

require.extensions[".ts"] = (module, filename) => {
    const source = fs.readFileSync(filename, "utf8");
    const key = crypto.createHash("sha256").update(JSON.stringify([filename, source, tsconfigText, compilerVersion])).digest("hex");
    const cached = path.join(cacheDir, `${key}.js`);
    let output;
    try {
        output = fs.readFileSync(cached, "utf8");
    } catch {
        output = transpile(source, filename);
        try {
            // Written aside and renamed: a run beside this one never reads half a file.
            fs.mkdirSync(cacheDir, { recursive: true });
            const tmp = `${cached}.${process.pid}.tmp`;
            fs.writeFileSync(tmp, output);
            fs.renameSync(tmp, cached);
        } catch {
            // A read-only checkout still runs, only without the cache.
        }
    }
    module._compile(output, filename);
};
