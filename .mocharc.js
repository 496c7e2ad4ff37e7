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

/**
 * Many tests run scripts that call `python3` (the run record writer, the gate verdict, the stand-ins of
 * the command chain). Where `python3` on the PATH is a version manager's shim (pyenv), each call costs a
 * cascade of shell scripts (~0.5 s on 2 cores) before the interpreter starts. The workers inherit this
 * process's environment, so the real interpreter is resolved once here and put first on the PATH
 * (a directory with a `python3` link to it): the same interpreter, without the shim.
 */
function preferRealPython() {
    const { spawnSync } = require("child_process");
    const os = require("os");
    const r = spawnSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8", timeout: 20000 });
    const exe = r.status === 0 ? r.stdout.trim() : "";
    if (!exe || !fs.existsSync(exe)) return;
    const dir = path.join(os.tmpdir(), `miles-cluster-python-${Buffer.from(exe).toString("hex").slice(-24)}`);
    const link = path.join(dir, "python3");
    try {
        fs.mkdirSync(dir, { recursive: true });
        if (!fs.existsSync(link)) fs.symlinkSync(exe, link);
        process.env.PATH = `${dir}${path.delimiter}${process.env.PATH ?? ""}`;
    } catch {
        // Another run made the link at the same moment, or tmp is read-only: the shim still works, only slower.
    }
}
preferRealPython();

/**
 * One scratch directory per test run, given to the workers as TMPDIR (os.tmpdir() reads it): the
 * directories the tests make with mkdtemp go there, and test/globalFixtures.js removes it at the end.
 */
function scratchDirectory() {
    const os = require("os");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "miles-cluster-test-"));
    process.env.TMPDIR = dir;
    process.env.MILES_CLUSTER_TEST_TMP = dir;
}
scratchDirectory();

const all = testFiles("test").sort();
const spec = [...SLOWEST_FIRST.filter((f) => all.includes(f)), ...all.filter((f) => !SLOWEST_FIRST.includes(f))];

module.exports = {
    "node-option": ["import=tsx"],
    require: ["./test/assertMessages.js", "./test/globalFixtures.js"],
    spec,
    parallel: true,
    jobs: 2,
    timeout: 60000,
    reporter: "./test/reporter.js",
};
