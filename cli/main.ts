#!/usr/bin/env node
/**
 * miles-cluster command line.
 *
 *   miles-cluster plan (--stack NAME | --config-file FILE) [--json] [--out DIR]
 *   miles-cluster runs (--stack NAME | --dir DIR) [--json]
 *   miles-cluster size --model PRESET --instance-type TYPE [--max-nodes N] … [--json]
 *
 * Exit codes: 0 = planned; 1 = invalid or unreadable stack file (problems on stderr; with --json also
 * as `problems` of the JSON document on stdout); 2 = usage or internal error.
 */
import { parseArgs } from "node:util";
import * as path from "node:path";
import * as fs from "node:fs";
import { readRunRecords, renderRunRecords } from "./runs";
import { runSize, SIZE_USAGE, SizeUsageError } from "./size";
import { localRunRecordsDir } from "../domain/training/runRecord";
import { formatProblems, NAMESPACE } from "../config";
import { plan, type Plan } from "../plan/run";
import { renderJson, renderText, writeManifests } from "../plan/render";
import { missingProjectKeys, projectNameFor, projectRoot, readStackFile, stackFilePath, stackNames, StackFileError } from "../plan/stackFile";

const USAGE = `usage: miles-cluster plan (--stack NAME | --config-file FILE) [--json] [--out DIR]
       miles-cluster runs (--stack NAME | --dir DIR) [--json]
       miles-cluster size --model PRESET --instance-type TYPE [--max-nodes N] [--response-len L]
                          [--colocate | --disaggregate] [--top K] [--json]   (size --help)

  runs --stack NAME   list the run records copied to ./run-records/NAME (the stack output
                      runRecordsCommand copies them there; without a copy, runs prints that command)
  runs --dir DIR      list the run records under DIR

  --stack NAME        plan stacks/Pulumi.NAME.yaml of this project
  --config-file FILE  plan a stack file at any path (the stack is named after the file)
  --json              print the plan as JSON: { stack, summary, resources, outputs, problems }
  --out DIR           also write every Kubernetes object as YAML (secrets redacted) into DIR

Evaluates the Pulumi program offline with Pulumi's mock runtime: no engine, no credentials, no network.`;

class UsageError extends Error {}

async function runPlan(argv: string[]): Promise<number> {
    let values: { stack?: string; "config-file"?: string; json?: boolean; out?: string; help?: boolean };
    try {
        ({ values } = parseArgs({
            args: argv,
            options: { stack: { type: "string" }, "config-file": { type: "string" }, json: { type: "boolean" }, out: { type: "string" }, help: { type: "boolean", short: "h" } },
            strict: true,
            allowPositionals: false,
        }));
    } catch (e) {
        throw new UsageError((e as Error).message);
    }
    if (values.help) {
        process.stdout.write(USAGE + "\n");
        return 0;
    }
    if (!values.stack === !values["config-file"]) throw new UsageError("give exactly one of --stack or --config-file");

    const root = projectRoot();
    const file = values["config-file"] ? path.resolve(values["config-file"]) : stackFilePath(root, values.stack!);
    const stack = values.stack ?? path.basename(file).replace(/^Pulumi\./, "").replace(/\.ya?ml$/, "");
    let result: Plan;
    try {
        // Keys without a namespace belong to the project the file is in, exactly as Pulumi reads them.
        const raw = readStackFile(file, projectNameFor(file, NAMESPACE));
        result = await plan(stack, raw);
        const missing = missingProjectKeys(file, raw);
        if (missing.length > 0) result = { stack, resources: [], outputs: {}, problems: [...missing, ...result.problems] };
    } catch (e) {
        if (!(e instanceof StackFileError)) throw e;
        // The file itself is unusable: still answer --json with a document, so scripts can parse every outcome.
        const known = values.stack ? stackNames(path.dirname(file)) : [];
        const reason = known.length > 0 && e.reason === "no such stack file" ? `${e.reason}; stacks here: ${known.join(", ")}` : e.reason;
        if (values.json) process.stdout.write(renderJson({ stack, resources: [], outputs: {}, problems: [{ path: e.file, message: reason }] }));
        process.stderr.write(`miles-cluster: ${e.file}: ${reason}\n`);
        return 1;
    }

    if (values.json) process.stdout.write(renderJson(result));
    if (result.problems.length > 0) {
        process.stderr.write(`${file}: invalid configuration (${result.problems.length} problem${result.problems.length === 1 ? "" : "s"}):\n${formatProblems(result.problems).replace(/^/gm, "  ")}\n`);
        return 1;
    }
    if (!values.json) process.stdout.write(renderText(result));
    if (values.out) {
        const written = writeManifests(result, path.resolve(values.out));
        (values.json ? process.stderr : process.stdout).write(`wrote ${written.length} file(s) to ${values.out}\n`);
    }
    return 0;
}

async function runRuns(argv: string[]): Promise<number> {
    let values: { dir?: string; json?: boolean; stack?: string };
    try {
        ({ values } = parseArgs({ args: argv, options: { dir: { type: "string" }, json: { type: "boolean" }, stack: { type: "string" } }, strict: true, allowPositionals: false }));
    } catch (e) {
        throw new UsageError((e as Error).message);
    }
    if (!values.dir === !values.stack) throw new UsageError("runs: give exactly one of --stack or --dir");
    const dir = values.dir ?? localRunRecordsDir(values.stack!);
    if (!fs.existsSync(dir)) {
        if (!values.stack) {
            process.stderr.write(`miles-cluster: ${dir}: no such directory\n`);
            return 1;
        }
        // The records live next to the checkpoints: say how to copy them here (the stack output, planned offline).
        const stack = values.stack;
        let how = `pulumi stack output runRecordsCommand --stack ${stack}`;
        try {
            const file = stackFilePath(projectRoot(), stack);
            const p = await plan(stack, readStackFile(file, projectNameFor(file, NAMESPACE)));
            if (typeof p.outputs.runRecordsCommand === "string") how = p.outputs.runRecordsCommand;
        } catch {
            // No stack file here: the stack output still says it.
        }
        process.stderr.write(`miles-cluster: no run records in ./${dir} yet; copy them (from the checkpoint bucket, or from a running head pod) and list them with:\n  ${how}\n`);
        return 1;
    }
    const rows = readRunRecords(dir);
    process.stdout.write(values.json ? JSON.stringify(rows, null, 2) + "\n" : renderRunRecords(rows));
    return 0;
}

export async function main(argv: string[]): Promise<number> {
    const [cmd, ...rest] = argv;
    try {
        if (cmd === "plan") return await runPlan(rest);
        if (cmd === "runs") return await runRuns(rest);
        if (cmd === "size") return runSize(rest, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) });
        if (cmd === "--help" || cmd === "-h" || cmd === "help") {
            process.stdout.write(USAGE + "\n");
            return 0;
        }
        throw new UsageError(cmd ? `unknown command "${cmd}"` : "missing command");
    } catch (e) {
        if (e instanceof SizeUsageError) {
            process.stderr.write(`miles-cluster: ${e.message}\n\n${SIZE_USAGE}\n`);
            return 2;
        }
        if (e instanceof UsageError) {
            process.stderr.write(`miles-cluster: ${e.message}\n\n${USAGE}\n`);
            return 2;
        }
        const err = e as Error;
        process.stderr.write(`miles-cluster: internal error: ${err?.message ?? String(e)}\n${process.env.MILES_CLUSTER_DEBUG ? `${err?.stack}\n` : "(set MILES_CLUSTER_DEBUG=1 for the stack trace)\n"}`);
        return 2;
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => {
            process.exitCode = code;
        },
        () => {
            process.exitCode = 2;
        },
    );
}
