/**
 * `miles-cluster size`: the best layouts of a model preset on a GPU instance type, found by the layout
 * search (domain/training/layoutSearch.ts) — every candidate judged by the plan's own rules and memory
 * fit — printed with the stack-file YAML that sets them. The run searched is the preset with the
 * config's defaults (GRPO, 32 prompts × 8 samples, BF16 rollout) and the given response length.
 */
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { formatProblems, NAMESPACE, parseSections } from "../config";
import { modelPreset } from "../catalog/models";
import { GPU_INSTANCE_TYPES, instanceFacts, type GpuInstanceType } from "../catalog/instances";
import { stackContext } from "../domain/stack";
import { searchLayouts, type SearchResult } from "../domain/training/layoutSearch";
import { describeLayout, layoutYaml } from "../domain/training/layoutChoice";
import { rawConfigFromDocument } from "../plan/stackFile";

export const SIZE_USAGE = `usage: miles-cluster size --model PRESET --instance-type TYPE [--max-nodes N] [--response-len L]
                          [--colocate | --disaggregate] [--top K] [--headroom F] [--json]

  --model PRESET        a model preset (miles-cluster presets lists them; e.g. deepseek-v3, qwen3-235B-A22B)
  --instance-type TYPE  ${GPU_INSTANCE_TYPES.join(", ")}
  --max-nodes N         most GPU nodes a layout may use (default 32)
  --response-len L      rollout.maxResponseLen in tokens (default 8192)
  --colocate            only colocated layouts (actor and engines share the GPUs)
  --disaggregate        only layouts with separate rollout nodes (default: both)
  --top K               how many layouts to print (default 3)
  --headroom F          largest estimated share of GPU and host memory (default 0.9)
  --json                print { model, instanceType, searched, layouts: [{ layout, usage, usdPerHour, yaml }] }

Searches nodes, the actor/rollout split, TP/PP/CP/EP/ETP, uneven pipeline stages, recompute,
optimizer offload, max tokens per GPU and engine size; keeps layouts that pass every rule plan
applies with headroom; ranks them by nodes, then cost per hour, then a throughput proxy
(docs/memory-fit.md "Finding a layout"). Exit 0: layouts found; 1: none, or bad input; 2: usage.`;

export class SizeUsageError extends Error {}

export interface SizeArgs {
    model: string;
    instanceType: GpuInstanceType;
    maxNodes: number;
    responseLen: number;
    colocate?: boolean;
    top: number;
    headroom: number;
}

function positiveInt(v: string | undefined, name: string, dflt: number): number {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new SizeUsageError(`${name} must be a positive integer, got "${v}"`);
    return n;
}

export function parseSizeArgs(argv: string[]): SizeArgs | "help" {
    let values: Record<string, string | boolean | undefined>;
    try {
        ({ values } = parseArgs({
            args: argv,
            options: {
                model: { type: "string" },
                "instance-type": { type: "string" },
                "max-nodes": { type: "string" },
                "response-len": { type: "string" },
                colocate: { type: "boolean" },
                disaggregate: { type: "boolean" },
                top: { type: "string" },
                headroom: { type: "string" },
                json: { type: "boolean" },
                help: { type: "boolean", short: "h" },
            },
            strict: true,
            allowPositionals: false,
        }));
    } catch (e) {
        throw new SizeUsageError((e as Error).message);
    }
    if (values.help) return "help";
    if (typeof values.model !== "string") throw new SizeUsageError("size: --model is required");
    const it = values["instance-type"];
    if (typeof it !== "string") throw new SizeUsageError("size: --instance-type is required");
    if (!(GPU_INSTANCE_TYPES as ReadonlyArray<string>).includes(it)) throw new SizeUsageError(`size: --instance-type must be one of ${GPU_INSTANCE_TYPES.join(", ")}, got "${it}"`);
    if (values.colocate && values.disaggregate) throw new SizeUsageError("size: give at most one of --colocate and --disaggregate");
    const headroom = values.headroom === undefined ? 0.9 : Number(values.headroom);
    if (!(headroom > 0 && headroom <= 1)) throw new SizeUsageError(`size: --headroom must be a number in (0, 1], got "${values.headroom}"`);
    return {
        model: values.model,
        instanceType: it as GpuInstanceType,
        maxNodes: positiveInt(values["max-nodes"] as string | undefined, "--max-nodes", 32),
        responseLen: positiveInt(values["response-len"] as string | undefined, "--response-len", 8192),
        colocate: values.colocate ? true : values.disaggregate ? false : undefined,
        top: positiveInt(values.top as string | undefined, "--top", 3),
        headroom,
    };
}

/** The stack config `size` searches on: one node group of the instance type, the preset with the config's defaults. */
export function sizeStackDocument(a: SizeArgs): Record<string, unknown> {
    const preset = modelPreset(a.model);
    return {
        "aws:region": "us-east-1",
        [`${NAMESPACE}:cluster`]: { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "gpu", instanceType: a.instanceType, nodes: a.maxNodes }] },
        [`${NAMESPACE}:training`]: {
            // A published FP8 release is cast to BF16 before the torch_dist conversion (the rules require the flag).
            model: { preset: a.model, ...(preset?.ckptDtype === "fp8" ? { hfCheckpointIsFp8: true } : {}) },
            // Any prompt file: the search does not read it, the rules only want one named.
            data: { promptData: "/shared/data/prompts.jsonl" },
            rollout: { maxResponseLen: a.responseLen },
        },
    };
}

export type SizeOutcome = { problems: string } | { args: SizeArgs; result: SearchResult; seconds: number };

/** Validates the searched config and runs the search. */
export function size(a: SizeArgs): SizeOutcome {
    if (!modelPreset(a.model)) return { problems: `--model: no preset "${a.model}" (catalog/models.ts lists them)` };
    const parsed = parseSections(rawConfigFromDocument({ config: sizeStackDocument(a) }, NAMESPACE), { stack: "size" });
    if (parsed.problems.length > 0) return { problems: formatProblems(parsed.problems) };
    const t0 = performance.now();
    const result = searchLayouts(parsed.config.training, stackContext(parsed.config), { maxNodes: a.maxNodes, colocate: a.colocate, headroom: a.headroom, top: a.top, resizeGroup: true });
    return { args: a, result, seconds: (performance.now() - t0) / 1000 };
}

const pct = (u: number): string => `${Math.round(u * 100)}%`;

export function renderSize(o: Extract<SizeOutcome, { result: SearchResult }>): string {
    const { args: a, result: r } = o;
    const f = instanceFacts(a.instanceType);
    const out = [
        `${a.model} on ${a.instanceType} (${f.gpus} × ${f.gpuName}), up to ${a.maxNodes} node(s), responses up to ${a.responseLen} tokens:`,
        `${r.searched.fitChecks} layouts estimated, ${r.searched.ruleChecks} judged by every rule, in ${o.seconds.toFixed(1)} s; headroom ${pct(a.headroom)} of GPU and host memory.`,
        "",
    ];
    r.ranked.forEach((x, i) => {
        out.push(
            `#${i + 1}  ${x.layout.nodes} × ${a.instanceType}, ≈ $${x.usdPerHour.toFixed(2)}/h on-demand, throughput penalty ${x.penalty.toFixed(2)}, DP ${x.dp}`,
            `    ${describeLayout(x.layout)}`,
            `    estimate: GPU ${pct(x.usage.train)} training, ${pct(x.usage.rollout)} rollout (${x.kvTokens.toLocaleString("en-US")} KV tokens per engine GPU); host ${pct(x.usage.host)}`,
            `    stack file: cluster.gpuNodeGroups[…] instanceType ${a.instanceType}, nodes ${x.layout.nodes}; and`,
            `  ${NAMESPACE}:training:`,
            layoutYaml(x.layout),
            "",
        );
    });
    return out.join("\n") + "\n";
}

export function sizeJson(o: Extract<SizeOutcome, { result: SearchResult }>): string {
    const { args: a, result: r } = o;
    const doc = {
        model: a.model,
        instanceType: a.instanceType,
        maxNodes: a.maxNodes,
        responseLen: a.responseLen,
        headroom: a.headroom,
        searched: r.searched,
        ...(r.reason ? { reason: r.reason } : {}),
        layouts: r.ranked.map((x, i) => ({ rank: i + 1, layout: x.layout, usage: x.usage, kvTokens: x.kvTokens, dp: x.dp, usdPerHour: x.usdPerHour, penalty: x.penalty, yaml: layoutYaml(x.layout, "") })),
    };
    return JSON.stringify(doc, null, 2) + "\n";
}

/** The `size` command: exit 0 with layouts, 1 with none (or an invalid preset), usage errors thrown. */
export function runSize(argv: string[], io: { out: (s: string) => void; err: (s: string) => void }): number {
    const a = parseSizeArgs(argv);
    if (a === "help") {
        io.out(SIZE_USAGE + "\n");
        return 0;
    }
    const json = argv.includes("--json");
    const o = size(a);
    if ("problems" in o) {
        io.err(`miles-cluster size: ${o.problems}\n`);
        return 1;
    }
    io.out(json ? sizeJson(o) : renderSize(o));
    if (o.result.ranked.length === 0) {
        io.err(`miles-cluster size: ${o.result.reason ?? "no layout found"}\n`);
        return 1;
    }
    return 0;
}
