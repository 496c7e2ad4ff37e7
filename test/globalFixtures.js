// Loaded by .mocharc.js (`require`). Mocha runs global fixtures once, in the main process (also with
// --parallel): the teardown removes the run's scratch directory, which .mocharc.js made and gave every
// worker as TMPDIR, so the test files' mkdtemp directories do not pile up in the system's /tmp.
"use strict";
const fs = require("node:fs");

exports.mochaGlobalTeardown = function () {
    const dir = process.env.MILES_CLUSTER_TEST_TMP;
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
};
