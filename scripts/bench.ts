// Plan-evaluation benchmark: plans a generated 128-node (1,024-GPU) config several times in-process
// and reports the median evaluation time and the resource count, next to a 1-node config, to show
// that the resource count does not grow with the node count (nodes are a NodeGroup's size, not resources).
// Then the layout search of `miles-cluster size` for a 671B MoE (DeepSeek-V3) on up to 32 p5en nodes.
import { performance } from "node:perf_hooks";
import { plan } from "../plan/run";
import type { RawConfig } from "../config";
import { rawConfigFromDocument } from "../plan/stackFile";
import { size } from "../cli/size";

const RUNS = Number(process.env.BENCH_RUNS ?? 7);

function config(nodes: number): RawConfig {
    const values: Record<string, unknown> = {
        "aws:region": "us-east-1",
        "miles-cluster:cluster": {
            availabilityZone: "us-east-1a",
            gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes, capacity: { type: "on-demand" } }],
        },
        "miles-cluster:storage": { type: "fsx-lustre", capacityGiB: 9600, throughputPerTiB: 500 },
    };
    return rawConfigFromDocument({ config: values }, "miles-cluster");
}

async function measure(nodes: number): Promise<{ median: number; min: number; max: number; resources: number; problems: number }> {
    const times: number[] = [];
    let resources = 0;
    let problems = 0;
    for (let i = 0; i < RUNS + 1; i++) {
        const t0 = performance.now();
        const p = await plan(`bench-${nodes}`, config(nodes));
        const dt = performance.now() - t0;
        if (i > 0) times.push(dt); // the first run pays module loading; report warm runs
        resources = p.resources.length;
        problems = p.problems.length;
        if (problems > 0) throw new Error(`bench config invalid: ${p.problems.map((x) => `${x.path}: ${x.message}`).join("; ")}`);
    }
    times.sort((a, b) => a - b);
    return { median: times[Math.floor(times.length / 2)], min: times[0], max: times[times.length - 1], resources, problems };
}

async function main() {
    const t0 = performance.now();
    await plan("bench-cold", config(1));
    const cold = performance.now() - t0;
    const small = await measure(1);
    const large = await measure(128);
    const f = (n: number) => `${n.toFixed(0)} ms`;
    console.log(`plan evaluation benchmark (${RUNS} warm runs each, node ${process.version})`);
    console.log(`  first plan in process (module load + evaluation): ${f(cold)}`);
    console.log(`  1 node    (8 GPUs):     median ${f(small.median)} (min ${f(small.min)}, max ${f(small.max)}), ${small.resources} resources`);
    console.log(`  128 nodes (1,024 GPUs): median ${f(large.median)} (min ${f(large.min)}, max ${f(large.max)}), ${large.resources} resources`);
    console.log(`  target: < 2000 ms median and a resource count independent of nodes -> ${large.median < 2000 && large.resources === small.resources ? "met" : "NOT met"}`);
    // The issue's sizing case: DeepSeek-V3 on up to 32 p5en nodes, miles' run_deepseek.py response length.
    const o = size({ model: "deepseek-v3", instanceType: "p5en.48xlarge", maxNodes: 32, responseLen: 32768, top: 3, headroom: 0.9 });
    if ("problems" in o) throw new Error(o.problems);
    const best = o.result.ranked[0]?.layout;
    console.log(`layout search (miles-cluster size --model deepseek-v3 --instance-type p5en.48xlarge --max-nodes 32 --response-len 32768 --top 3)`);
    console.log(`  ${o.seconds.toFixed(2)} s: ${o.result.searched.fitChecks} layouts estimated, ${o.result.searched.ruleChecks} judged by every rule; best ${best ? `${best.nodes} nodes` : "none"}`);
    console.log(`  target: < 10 s -> ${o.seconds < 10 ? "met" : "NOT met"}`);
}

main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
});
