// Mocha's configuration (CommonJS: mocha reads it with require).
//
// The test files run in two workers (CI and the quick start run on 2 cores). Mocha hands them out in
// spec order, so a slow file handed out last leaves one core idle while it finishes: the slowest
// files go first, the rest alphabetically. The order only changes the wall time (measured on 2 cores:
// 49.6 s slowest-first against 54.7 s alphabetical); a file missing from the list still runs, and a
// listed file that no longer exists is skipped. Refresh the list from a serial run
// (`npx mocha --no-config … --reporter json`, per-file sums of the test durations) when it drifts.
"use strict";
const fs = require("fs");
const path = require("path");

const SLOWEST_FIRST = [
    "test/sim/commandChain.test.ts",
    "test/nodeWatch.test.ts",
    "test/sim/preconditions.test.ts",
    "test/nodeCheck.test.ts",
    "test/lifecycleScripts.test.ts",
    "test/sim/awaits.test.ts",
    "test/logsAndRuns.test.ts",
    "test/addons.test.ts",
    "test/sim/spotReclaim.test.ts",
    "test/plan.test.ts",
    "test/trainingJob.test.ts",
    "test/architecture.test.ts",
];

/** Every `*.test.ts` under test/, as a path relative to the repository. */
function testFiles(dir) {
    return fs.readdirSync(path.join(__dirname, dir), { withFileTypes: true }).flatMap((e) => {
        const rel = `${dir}/${e.name}`;
        if (e.isDirectory()) return e.name === "fixtures" ? [] : testFiles(rel);
        return e.name.endsWith(".test.ts") ? [rel] : [];
    });
}

const all = testFiles("test").sort();
const spec = [...SLOWEST_FIRST.filter((f) => all.includes(f)), ...all.filter((f) => !SLOWEST_FIRST.includes(f))];

module.exports = {
    "node-option": ["import=tsx"],
    require: ["./test/assertMessages.js"],
    spec,
    parallel: true,
    jobs: 2,
    timeout: 60000,
    reporter: "./test/reporter.js",
};
