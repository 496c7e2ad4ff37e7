// Loaded by .mocharc.js (`require`, in every parallel worker) before any test file.
//
// A failing `assert.ok(value)` without a message makes Node rebuild the message from the call's
// source text: it reads the file on disk at the line and column of the executed code. Under tsx's
// module hooks the executed code is the transpiled TypeScript, so the position does not match the
// .ts file on disk and that search never ends (nodejs/node#52962, privatenumber/tsx#634). It is
// synchronous: mocha's timeout cannot fire and the suite hangs with no failure reported (it did,
// for >15 minutes, on a test that caught a real secret leak). A missing message is therefore given
// here; the stack still points to the failing line.
"use strict";
const assert = require("node:assert");
const { inspect } = require("node:util");

function withMessage(original) {
    return function ok(...args) {
        if (args.length >= 2) return original.apply(this, args);
        if (args.length === 1 && !args[0]) {
            throw new assert.AssertionError({ message: `expected a truthy value, got ${inspect(args[0])}`, actual: args[0], expected: true, operator: "==", stackStartFn: ok });
        }
        return original.apply(this, args);
    };
}

assert.ok = withMessage(assert.ok);
assert.strict.ok = withMessage(assert.strict.ok);
