#!/usr/bin/env bash
# The README's test command: installs what it needs, type-checks, runs the unit tier, the
# harness's own tests (the Go tests of the stand-in command and docker providers), then the
# end-to-end tier (real engine, real test hosts), and prints one summary line.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
mkdir -p .test-output
rm -f .test-output/unit.json .test-output/e2e.json .test-output/harness.jsonl

# Type checking of all tsconfig.json includes (the program, tests, scripts and harness):
# the only one. vitest only transpiles, and so does the program's loader
# (scripts/ts-hook.js: pulumi up and npm run drill run transpiled, cached files).
npx tsc --noEmit -p . && typecheck=0 || typecheck=1
npx vitest run --config vitest.config.ts --reporter=default --reporter=json --outputFile=.test-output/unit.json
unit=$?
# The stand-in providers must fail wherever the real ones fail: their tests say so.
# Both modules' go test -json events go into one file.
harness=0
for mod in command docker; do
  (cd "harness/engine/$mod" && go test -count=1 -json ./...) >> .test-output/harness.jsonl || harness=1
done
scripts/test-e2e.sh
e2e=$?

# One closing line for all tiers, counted from the JSON reports (vitest, go test). A tier
# that produced no report counts as a failure: the e2e tier is never skipped silently.
TYPECHECK=$typecheck node -e '
const fs = require("fs");
let passed = 0, failed = 0, skipped = 0;
if (process.env.TYPECHECK !== "0") { console.log("typecheck (tsc --noEmit) failed"); failed++; }
// go test -json: one event per line; a test (or subtest) ends with pass, fail or skip.
const events = fs.existsSync(".test-output/harness.jsonl")
    ? fs.readFileSync(".test-output/harness.jsonl", "utf8").split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)) : [];
const count = (a) => events.filter((e) => e.Test && e.Action === a).length;
const h = { pass: count("pass"), fail: count("fail"), skip: count("skip") };
for (const e of events) if (e.Test && e.Action === "fail") console.log(`harness: FAIL ${e.Package} ${e.Test}`);
console.log(`harness tier: ${h.pass} passed, ${h.fail} failed, ${h.skip} skipped`);
if (h.pass + h.fail === 0) { console.log("harness tier ran no test"); failed++; }
passed += h.pass; failed += h.fail; skipped += h.skip;
for (const tier of ["unit", "e2e"]) {
    const f = `.test-output/${tier}.json`;
    if (!fs.existsSync(f)) { console.log(`${tier} tier: no report`); failed++; continue; }
    const r = JSON.parse(fs.readFileSync(f, "utf8"));
    console.log(`${tier} tier: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
    passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + r.numTodoTests;
    if (r.numTotalTests === 0) { console.log(`${tier} tier ran no test`); failed++; }
    if (tier === "e2e" && r.numPendingTests + r.numTodoTests > 0) { console.log("e2e tier skipped tests"); failed++; }
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
'
if ((typecheck != 0 || unit != 0 || harness != 0 || e2e != 0)); then exit 1; fi
