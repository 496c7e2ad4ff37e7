#!/usr/bin/env node
/**
 * miles-cluster command line.
 *
 *   miles-cluster plan (--stack NAME | --config-file FILE) [--json] [--out DIR]
 *
 * Exit codes: 0 = planned; 1 = invalid stack config (problems on stderr); 2 = usage or internal error.
 */
import { parseArgs } from "node:util";
import * as path from "node:path";
import { formatProblems, NAMESPACE } from "../config";
import { plan } from "../plan/run";
import { renderJson, renderText, writeManifests } from "../plan/render";
import { projectRoot, readStackFile, stackFilePath, StackFileError } from "../plan/stackFile";

const USAGE = `usage: miles-cluster plan (--stack NAME | --config-file FILE) [--json] [--out DIR]

  --stack NAME        plan stacks/Pulumi.NAME.yaml of this project
  --config-file FILE  plan a stack file at any path (the stack is named after the file)
  --json              print the plan as JSON: { stack, summary, resources, outputs, problems }
  --out DIR           also write every Kubernetes object as YAML (secrets redacted) into DIR

Evaluates the Pulumi program offline with Pulumi's mock runtime: no engine, no credentials, no network.`;

class UsageError extends Error {}

async function runPlan(argv: string[]): Promise<number> {
    let values: { stack?: string; "config-file"?: string; json?: boolean; out?: string };
    try {
        ({ values } = parseArgs({
            args: argv,
            options: { stack: { type: "string" }, "config-file": { type: "string" }, json: { type: "boolean" }, out: { type: "string" } },
            strict: true,
            allowPositionals: false,
        }));
    } catch (e) {
        throw new UsageError((e as Error).message);
    }
    if (!values.stack === !values["config-file"]) throw new UsageError("give exactly one of --stack or --config-file");

    const file = values["config-file"] ? path.resolve(values["config-file"]) : stackFilePath(projectRoot(), values.stack!);
    const stack = values.stack ?? path.basename(file).replace(/^Pulumi\./, "").replace(/\.ya?ml$/, "");
    const raw = readStackFile(file, NAMESPACE);
    const result = await plan(stack, raw);

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

export async function main(argv: string[]): Promise<number> {
    const [cmd, ...rest] = argv;
    try {
        if (cmd === "plan") return await runPlan(rest);
        if (cmd === "--help" || cmd === "-h" || cmd === "help") {
            process.stdout.write(USAGE + "\n");
            return 0;
        }
        throw new UsageError(cmd ? `unknown command "${cmd}"` : "missing command");
    } catch (e) {
        if (e instanceof UsageError) {
            process.stderr.write(`miles-cluster: ${e.message}\n\n${USAGE}\n`);
            return 2;
        }
        if (e instanceof StackFileError) {
            process.stderr.write(`miles-cluster: ${e.message}\n`);
            return 1;
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
