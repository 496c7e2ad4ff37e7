#!/usr/bin/env node
/**
 * miles-cluster command line.
 *
 *   miles-cluster plan (--stack NAME | --config-file FILE) [--json] [--out DIR]
 *   miles-cluster runs (--stack NAME | --dir DIR) [--json]
 *   miles-cluster presets [FILTER] [--json]
 *   miles-cluster size --model PRESET --instance-type TYPE [--max-nodes N] … [--json]
 *
 * Every command takes --help (exit 0). With --json, stdout is always one JSON document, errors too
 * (`{ "error": ... }`, or a plan's `problems`), and the message also goes to stderr.
 * Exit codes: 0 = done; 1 = invalid or unreadable stack file, no records (problems on stderr; with
 * --json also in the JSON document on stdout); 2 = usage or internal error.
 */
import { parseArgs } from "node:util";
import * as path from "node:path";
import * as fs from "node:fs";
import { readRunRecords, renderRunRecords } from "./runs";
import { presetRows, renderPresetRows } from "./presets";
import { runSize, SIZE_USAGE, SizeUsageError } from "./size";
import { localRunRecordsDir } from "../domain/training/runRecord";
import { formatProblems, NAMESPACE } from "../config";
import { plan, type Plan } from "../plan/run";
import { renderJson, renderText, writeManifests } from "../plan/render";
import { missingProjectKeys, projectNameFor, projectRoot, readStackFile, stackFilePath, stackNames, StackFileError } from "../plan/stackFile";

const PLAN_USAGE = `usage: miles-cluster plan (--stack NAME | --config-file FILE) [--json] [--out DIR]

  --stack NAME        plan stacks/Pulumi.NAME.yaml of this project
  --config-file FILE  plan a stack file at any path (the stack is named after the file)
  --json              print the plan as JSON: { stack, summary, resources, outputs, problems }
  --out DIR           also write every Kubernetes object as YAML (secrets redacted) into DIR

Evaluates the Pulumi program offline with Pulumi's mock runtime: no engine, no credentials, no network.`;

const RUNS_USAGE = `usage: miles-cluster runs (--stack NAME | --dir DIR) [--json]

  --stack NAME        list the run records copied to ./run-records/NAME (the stack output
                      runRecordsCommand copies them there; without a copy, runs prints that command)
  --dir DIR           list the run records under DIR
  --json              print the records as a JSON list (an error as { "error", "command"? })`;

const PRESETS_USAGE = `usage: miles-cluster presets [FILTER] [--json]

  FILTER              keep presets whose name or family contains FILTER (case-insensitive);
                      when none does, list the presets FILTER most likely means
  --json              print the presets as a JSON list: { preset, family, totalParamsB,
                      activeParamsB, moe, hfRepo, plans: yes | with-checkpoint | no, reason }

A preset is training.model.preset of a stack file; PLANS says whether plan accepts it as it stands.`;

const USAGE = [PLAN_USAGE, RUNS_USAGE, PRESETS_USAGE, SIZE_USAGE].join("\n\n");

class UsageError extends Error {
    constructor(
        message: string,
        readonly usage: string = USAGE,
        readonly json = false,
    ) {
        super(message);
    }
}

/** Parses a command's options; a malformed command line is a UsageError that still knows about --json. */
function parseCommand<T extends Record<string, { type: "string" | "boolean"; short?: string }>>(argv: string[], options: T, usage: string, positionals = false) {
    const json = argv.includes("--json");
    try {
        return parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, strict: true, allowPositionals: positionals });
    } catch (e) {
        throw new UsageError((e as Error).message, usage, json);
    }
}

/** An error that is the user's to fix: stderr always, and a JSON document on stdout with --json. */
function fail(json: boolean | undefined, message: string, extra: Record<string, unknown> = {}): number {
    if (json) process.stdout.write(JSON.stringify({ error: message, ...extra }, null, 2) + "\n");
    process.stderr.write(`miles-cluster: ${message}\n`);
    return 1;
}

async function runPlan(argv: string[]): Promise<number> {
    const { values } = parseCommand(argv, { stack: { type: "string" }, "config-file": { type: "string" }, json: { type: "boolean" }, out: { type: "string" } }, PLAN_USAGE);
    if (values.help) {
        process.stdout.write(PLAN_USAGE + "\n");
        return 0;
    }
    if (!values.stack === !values["config-file"]) throw new UsageError("plan: give exactly one of --stack or --config-file", PLAN_USAGE, values.json);

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
    const { values } = parseCommand(argv, { dir: { type: "string" }, json: { type: "boolean" }, stack: { type: "string" } }, RUNS_USAGE);
    if (values.help) {
        process.stdout.write(RUNS_USAGE + "\n");
        return 0;
    }
    if (!values.dir === !values.stack) throw new UsageError("runs: give exactly one of --stack or --dir", RUNS_USAGE, values.json);
    const dir = values.dir ?? localRunRecordsDir(values.stack!);
    if (!fs.existsSync(dir)) {
        if (!values.stack) return fail(values.json, `${dir}: no such directory`);
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
        return fail(values.json, `no run records in ./${dir} yet; copy them (from the checkpoint bucket, or from a running head pod) and list them with:\n  ${how}`, { command: how });
    }
    const rows = readRunRecords(dir);
    process.stdout.write(values.json ? JSON.stringify(rows, null, 2) + "\n" : renderRunRecords(rows));
    return 0;
}

function runPresets(argv: string[]): number {
    const { values, positionals } = parseCommand(argv, { json: { type: "boolean" } }, PRESETS_USAGE, true);
    if (values.help) {
        process.stdout.write(PRESETS_USAGE + "\n");
        return 0;
    }
    if (positionals.length > 1) throw new UsageError(`presets: give at most one FILTER (got ${positionals.length})`, PRESETS_USAGE, values.json);
    const filter = positionals[0];
    const { rows, suggested } = presetRows(filter);
    if (rows.length === 0) return fail(values.json, `no preset name or family contains "${filter}", and none is spelled like it; \`miles-cluster presets\` lists them all`);
    process.stdout.write(values.json ? JSON.stringify(rows, null, 2) + "\n" : renderPresetRows(rows, filter, suggested));
    return 0;
}

export async function main(argv: string[]): Promise<number> {
    const [cmd, ...rest] = argv;
    try {
        if (cmd === "plan") return await runPlan(rest);
        if (cmd === "runs") return await runRuns(rest);
        if (cmd === "presets") return runPresets(rest);
        if (cmd === "size") return runSize(rest, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) });
        if (cmd === "--help" || cmd === "-h" || cmd === "help") {
            process.stdout.write(USAGE + "\n");
            return 0;
        }
        throw new UsageError(cmd ? `unknown command "${cmd}"` : "missing command", USAGE, argv.includes("--json"));
    } catch (e) {
        if (e instanceof SizeUsageError) {
            if (argv.includes("--json")) process.stdout.write(JSON.stringify({ error: e.message }, null, 2) + "\n");
            process.stderr.write(`miles-cluster: ${e.message}\n\n${SIZE_USAGE}\n`);
            return 2;
        }
        if (e instanceof UsageError) {
            if (e.json) process.stdout.write(JSON.stringify({ error: e.message }, null, 2) + "\n");
            process.stderr.write(`miles-cluster: ${e.message}\n\n${e.usage}\n`);
            return 2;
        }
        const err = e as Error;
        if (argv.includes("--json")) process.stdout.write(JSON.stringify({ error: `internal error: ${err?.message ?? String(e)}` }, null, 2) + "\n");
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
