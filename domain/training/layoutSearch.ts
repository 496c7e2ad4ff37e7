/**
 * The layout search behind `miles-cluster size` and `training.parallelism: auto`: over node counts (up
 * to a maximum), colocation or the actor/rollout split, TP/PP/CP/EP/ETP, uneven pipeline stages,
 * recomputation, optimizer CPU offload, max tokens per GPU and SGLang engine size, it keeps the layouts
 * that pass EVERY rule the plan applies — each candidate is resolved by `resolveRun` and judged by
 * `trainingProblems` (rules.ts), memory fit included; nothing here re-states a rule — with headroom
 * (the estimate ≤ 90 % of GPU and host memory by default), and ranks them: fewest nodes, then on-demand
 * cost per hour, then the throughput proxy `throughputPenalty`.
 *
 * Fast because most candidates never reach the rules:
 * 1. generation only produces layouts of the right shape (TP within a node, EP dividing the experts,
 *    TP × PP × CP and ETP × EP × PP dividing the actor world, pipeline splits whose middle stages are
 *    even) — the rules still judge every one that is kept;
 * 2. each parallelism (TP, PP, split, CP, EP, ETP) is first estimated with every memory saver on
 *    (full recompute, optimizer offload, the smallest token budget); if even that exceeds the GPU it
 *    is dropped, else the cheapest saver combination that fits is taken (one estimate each,
 *    `runMemoryFit` of memoryFitRun.ts — the estimate the rules use);
 * 3. the estimates of an actor world size are shared by every node count and split that has it;
 * 4. node counts are tried in ascending order and the search stops once `top` layouts passed the
 *    rules, which are applied in rank order to the survivors only.
 */
import type { TrainingConfig } from "../../config";
import { instanceFacts } from "../../catalog/instances";
import type { GpuNodeGroupInfo } from "../gpuNodes";
import { MEMORY_WARN_USAGE, runMemoryFit } from "./memoryFitRun";
import { resolveTraining, type RunContext } from "./resolve";
import { resolveRun } from "./run";
import { trainingProblems } from "./rules";
import type { AutoLayout, Layout, RankedLayout } from "./layoutChoice";

export interface SearchOptions {
    /** Most GPU nodes a layout may use. */
    maxNodes: number;
    /** Only colocated (true) or only disaggregated (false) layouts; both when undefined. */
    colocate?: boolean;
    /** Largest estimated share of GPU and host memory a layout may use (default 0.9, the plan's warning threshold). */
    headroom?: number;
    /** How many ranked layouts to return. */
    top?: number;
    /**
     * `size`: the run's node group is sized to each candidate's node count (no idle nodes). `auto` in a
     * stack: the node groups stay as configured, and a layout may leave some of their nodes idle.
     */
    resizeGroup: boolean;
}

export interface SearchResult extends AutoLayout {
    /** Every layout found, best first (at most `top`). */
    ranked: RankedLayout[];
}

/** Token budgets tried, largest (best throughput) first; miles' recipes use 2048–16384 (run_deepseek.py, run_qwen3_235b_a22b.py at v0.1.0). */
export const TOKEN_BUDGETS: ReadonlyArray<number> = [16384, 8192, 4096, 2048];
/** Largest pipeline size tried (the 671B recipes of miles v0.1.0 use PP 4–8). */
const MAX_PP = 16;
/** Rule checks (≈ 1 ms each) after which the search gives up on the remaining ranked survivors. */
const MAX_RULE_CHECKS = 3000;

/**
 * Throughput proxy, lower is better (a documented heuristic, not a measurement; docs/memory-fit.md):
 * +1 full recomputation (one more forward pass per step), +1 optimizer CPU offload (the optimizer step on
 * the host), +0.5 per halving of the token budget below 16384 (smaller micro-batches), +0.5 per doubling
 * of PP (pipeline bubble) and of CP (ring attention traffic), +0.25 per doubling of TP (all-reduce per
 * layer), +0.5 per doubling of an expert group (EP × ETP) beyond one node (all-to-all over EFA instead
 * of NVLink), +0.25 per doubling of the engine size (fewer, larger SGLang engines).
 */
export function throughputPenalty(l: Layout, gpusPerNode: number): number {
    const lg = Math.log2;
    const expertGroup = l.ep * (l.etp ?? 1);
    return (
        (l.recompute ? 1 : 0) +
        (l.optimizerCpu ? 1 : 0) +
        0.5 * Math.max(0, lg(TOKEN_BUDGETS[0] / l.maxTokensPerGpu)) +
        0.5 * lg(l.pp) +
        0.5 * lg(l.cp) +
        0.25 * lg(l.tp) +
        0.5 * Math.max(0, lg(expertGroup / gpusPerNode)) +
        0.25 * lg(l.gpusPerEngine)
    );
}

/** Ranking: fewest nodes, then cost per hour, then the throughput proxy, then more DP. */
export function compareRanked(a: RankedLayout, b: RankedLayout): number {
    return a.layout.nodes - b.layout.nodes || a.usdPerHour - b.usdPerHour || a.penalty - b.penalty || b.dp - a.dp;
}

const powersOfTwo = (max: number): number[] => {
    const out: number[] = [];
    for (let x = 1; x <= max; x *= 2) out.push(x);
    return out;
};

/**
 * Pipeline splits of L layers over pp stages (Megatron's --decoder-first/last-pipeline-num-layers, the
 * middle stages even): even; a heavier first and/or last stage with ⌊L/pp⌋-layer middle stages; or
 * lighter edges around ⌈L/pp⌉-layer middle stages, the remainder split between the first and the last
 * (the larger part first) — miles' own 7 | 8 × 6 | 6 of DeepSeek-V3's 61 layers on PP 8 (radixark/miles
 * v0.1.0 scripts/run_deepseek.py:76-81, the torch_dist conversion's `--pipeline-model-parallel-size 8
 * --decoder-first-pipeline-num-layers 7 --decoder-last-pipeline-num-layers 6`).
 * Lighter edges make room for what only the edges hold: the first stage's PP micro-batches in flight
 * and its embedding, the last stage's logits. The memory estimate judges every stage (memoryFit.ts
 * `trainPhase` takes the busiest of `stageFits`), so no split hides its busiest stage.
 */
export function stageSplits(L: number, pp: number): Array<{ first?: number; last?: number }> {
    if (pp === 1) return [{}];
    if (pp > L) return [];
    const out: Array<{ first?: number; last?: number }> = L % pp === 0 ? [{}] : [];
    const each = Math.floor(L / pp);
    const edge = L - (pp - 1) * each;
    if (edge !== each) out.push({ last: edge }, { first: edge });
    const both = L - (pp - 2) * each;
    const first = Math.floor(both / 2);
    if (pp > 2 && first >= each && both - first >= each && (first !== each || both - first !== each)) out.push({ first, last: both - first });
    // Lighter edges: middle stages of ⌈L/pp⌉ layers, the remainder (at least one layer each) on the edges.
    const middle = Math.ceil(L / pp);
    const edges = L - (pp - 2) * middle;
    if (pp > 2 && edges >= 2 && edges < 2 * middle) out.push({ first: Math.ceil(edges / 2), last: Math.floor(edges / 2) });
    const seen = new Set<string>();
    return out.filter((s) => {
        const k = `${s.first ?? "-"}/${s.last ?? "-"}`;
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
    });
}

/** The base training config with a layout applied (the fields `auto` owns). */
export function applyLayout(t: TrainingConfig, l: Layout): TrainingConfig {
    return {
        ...t,
        layout: { ...t.layout, actorNodes: l.actorNodes, actorGpusPerNode: undefined, colocate: l.colocate, rolloutGpus: l.colocate ? undefined : l.rolloutGpus, gpusPerEngine: l.gpusPerEngine },
        parallelism: {
            ...t.parallelism,
            tp: l.tp,
            pp: l.pp,
            cp: l.cp,
            ep: l.ep,
            etp: l.etp,
            sequenceParallel: l.sequenceParallel,
            decoderFirstPipelineNumLayers: l.decoderFirstPipelineNumLayers,
            decoderLastPipelineNumLayers: l.decoderLastPipelineNumLayers,
            recompute: l.recompute,
        },
        offload: { ...t.offload, optimizerCpu: l.optimizerCpu },
        algorithm: { ...t.algorithm, dynamicBatch: { ...t.algorithm.dynamicBatch, maxTokensPerGpu: l.maxTokensPerGpu } },
    };
}

interface TrainOption {
    layout: Omit<Layout, "nodes" | "colocate" | "actorNodes" | "rolloutGpus" | "gpusPerEngine">;
    penalty: number;
    usage: { train: number; host: number };
}

/** Searches layouts of `base` (a validated training config) on the cluster `ctx`; see the file header. */
export function searchLayouts(base: TrainingConfig, ctx: RunContext, opts: SearchOptions): SearchResult {
    const headroom = opts.headroom ?? MEMORY_WARN_USAGE;
    const top = opts.top ?? 5;
    const first = resolveTraining(base, ctx);
    const group = first.group;
    const searched = { fitChecks: 0, ruleChecks: 0 };
    if (!group?.instanceType) return { ranked: [], searched, reason: "the run's node group has no known instance type (the search needs its GPU and host memory)" };
    const g = group.gpusPerNode;
    const price = instanceFacts(group.instanceType).onDemandUsdPerHour.usd;
    const model = first.model;
    const a = model.arch;
    const L = model.numLayers;
    if (L <= 0 || a.hiddenSize <= 0) return { ranked: [], searched, reason: `${model.name}: unknown architecture (the search needs its layers and sizes)` };
    const moe = model.numExperts > 0;
    const dyn = base.algorithm.dynamicBatch.enabled;
    const seq = first.effective.seqLength.tokens;
    const sequenceParallelOk = !base.features.trueOnPolicy;

    const contextFor = (nodes: number): RunContext => {
        if (!opts.resizeGroup) return ctx;
        const groups: GpuNodeGroupInfo[] = ctx.gpuNodeGroups.map((x) => (x === group ? { ...x, nodes } : x));
        return { ...ctx, gpuNodeGroups: groups };
    };
    const estimate = (t: TrainingConfig, nodes: number) => {
        searched.fitChecks++;
        return runMemoryFit(resolveTraining(t, contextFor(nodes)));
    };

    // Memory savers, cheapest (for throughput) first; the last one saves the most GPU memory.
    const budgets = dyn ? TOKEN_BUDGETS.filter((b, i) => i === 0 || b >= 1024) : [base.algorithm.dynamicBatch.maxTokensPerGpu];
    const savers = budgets
        .flatMap((tok) => [false, true].flatMap((rc) => [false, true].map((off) => ({ tok, rc, off }))))
        .map((s) => ({ ...s, penalty: (s.rc ? 1 : 0) + (s.off ? 1 : 0) + 0.5 * Math.log2(TOKEN_BUDGETS[0] / s.tok) }))
        .sort((x, y) => x.penalty - y.penalty);
    const mostSaving = { tok: budgets[budgets.length - 1], rc: true, off: true };

    /** Parallelisms (TP, PP and its split, CP, EP, ETP) of an actor world: the right shape only (file header, step 1). */
    const structures = (world: number): Array<Omit<TrainOption["layout"], "recompute" | "optimizerCpu" | "maxTokensPerGpu">> => {
        const out: Array<Omit<TrainOption["layout"], "recompute" | "optimizerCpu" | "maxTokensPerGpu">> = [];
        for (const tp of powersOfTwo(g)) {
            for (const pp of powersOfTwo(Math.min(MAX_PP, world / tp))) {
                for (const split of stageSplits(L, pp)) {
                    for (const cp of powersOfTwo(world / (tp * pp))) {
                        // CP only pays off when a sample is longer than the smallest budget.
                        if (cp > 1 && Math.ceil(seq / (cp / 2)) <= budgets[budgets.length - 1]) continue;
                        if (world % (tp * pp * cp) !== 0) continue;
                        const eps = moe ? powersOfTwo(model.numExperts).filter((e) => model.numExperts % e === 0) : [1];
                        for (const ep of eps) {
                            for (const etp of moe ? [...new Set([1, tp])] : [undefined]) {
                                if (world % ((etp ?? 1) * ep * pp) !== 0) continue;
                                out.push({ tp, pp, cp, ep, etp, sequenceParallel: tp > 1 && sequenceParallelOk, decoderFirstPipelineNumLayers: split.first, decoderLastPipelineNumLayers: split.last });
                            }
                        }
                    }
                }
            }
        }
        return out;
    };
    type Structure = ReturnType<typeof structures>[number];
    type Saver = { tok: number; rc: boolean; off: boolean };
    const shellOf = (actorNodes: number, colocate: boolean, nodes: number): Layout => ({
        nodes,
        colocate,
        actorNodes,
        rolloutGpus: colocate ? actorNodes * g : g,
        gpusPerEngine: base.layout.gpusPerEngine,
        tp: 1,
        pp: 1,
        cp: 1,
        ep: 1,
        sequenceParallel: false,
        optimizerCpu: false,
        maxTokensPerGpu: budgets[0],
    });
    const withSavers = (shell: Layout, par: Structure, s: Saver): Layout => ({
        ...shell,
        ...par,
        recompute: s.rc ? { granularity: "full", method: "uniform", numLayers: 1 } : undefined,
        optimizerCpu: s.off,
        maxTokensPerGpu: s.tok,
    });
    const fits = (l: Layout, f: ReturnType<typeof estimate>): f is NonNullable<ReturnType<typeof estimate>> => f !== undefined && f.train.usage <= headroom && f.host.usage <= headroom;

    /**
     * Whether an actor world can fit at all: for each PP, its most sharded parallelism (largest
     * TP × EP × ETP × CP) with every saver. Under the estimate, per-GPU memory falls as each of these
     * grows, so a world whose most sharded layouts do not fit is skipped without trying the others,
     * and so is every smaller world (a larger one fits once a smaller one does).
     */
    // Feasibility grows with the world size: the largest infeasible and smallest feasible actor node count, per colocation.
    const known = new Map<boolean, { no: number; yes: number }>();
    const feasible = (actorNodes: number, colocate: boolean, nodes: number): boolean => {
        const k = known.get(colocate) ?? { no: 0, yes: Infinity };
        known.set(colocate, k);
        if (actorNodes <= k.no) return false;
        if (actorNodes >= k.yes) return true;
        const all = structures(actorNodes * g);
        const shard = (x: Structure) => x.tp * x.ep * (x.etp ?? 1) * x.cp;
        const probes = [...new Set(all.map((x) => x.pp))].map((pp) => all.filter((x) => x.pp === pp).reduce((best, x) => (shard(x) > shard(best) || (shard(x) === shard(best) && x.ep > best.ep) ? x : best)));
        const shell = shellOf(actorNodes, colocate, nodes);
        const ok = probes.some((par) => [true, false].some((off) => fits(shell, estimate(applyLayout(base, withSavers(shell, par, { ...mostSaving, off })), nodes))));
        if (ok) k.yes = actorNodes;
        else k.no = actorNodes;
        return ok;
    };

    /**
     * The best parallelisms of an actor world (colocated or not), each with its cheapest fitting savers,
     * best first. Branch and bound on the throughput proxy: parallelisms are tried from the lowest proxy
     * without savers up, and the search stops once `keep` options are known and no remaining parallelism
     * can beat the worst of them.
     */
    const keep = 4 * top + 4;
    const trainMemo = new Map<string, TrainOption[]>();
    const trainOptions = (actorNodes: number, colocate: boolean, nodes: number): TrainOption[] => {
        const key = `${actorNodes}/${colocate}`;
        const hit = trainMemo.get(key);
        if (hit) return hit;
        const out: TrainOption[] = [];
        const shell = shellOf(actorNodes, colocate, nodes);
        const bound = () => (out.length >= keep ? out[keep - 1].penalty : Infinity);
        const ordered = structures(actorNodes * g)
            .map((par) => ({ par, penalty: throughputPenalty({ ...withSavers(shell, par, { tok: budgets[0], rc: false, off: false }), gpusPerEngine: 1 }, g) }))
            .sort((x, y) => x.penalty - y.penalty);
        for (const { par, penalty } of ordered) {
            if (penalty >= bound()) break;
            const floor = estimate(applyLayout(base, withSavers(shell, par, mostSaving)), nodes);
            if (!floor || floor.train.usage > headroom) continue;
            for (const s of savers) {
                if (penalty + s.penalty >= bound()) break;
                const l = withSavers(shell, par, s);
                const f = s.tok === mostSaving.tok && s.rc && s.off ? floor : estimate(applyLayout(base, l), nodes);
                if (fits(l, f)) {
                    const { nodes: _n, colocate: _c, actorNodes: _a, rolloutGpus: _r, gpusPerEngine: _e, ...rest } = l;
                    const option = { layout: rest, penalty: throughputPenalty({ ...l, gpusPerEngine: 1 }, g), usage: { train: f.train.usage, host: f.host.usage } };
                    const at = out.findIndex((x) => x.penalty > option.penalty);
                    out.splice(at < 0 ? out.length : at, 0, option);
                    break;
                }
            }
        }
        trainMemo.set(key, out);
        return out;
    };

    /** The smallest SGLang engine whose weights and KV cache fit the rollout GPUs with headroom. */
    const engineFor = (l: Layout): { gpusPerEngine: number; rollout: number; kvTokens: number } | undefined => {
        const sizes = powersOfTwo(l.rolloutGpus).filter((e) => l.rolloutGpus % e === 0 && (e <= g || e % g === 0));
        for (const e of sizes) {
            const f = estimate(applyLayout(base, { ...l, gpusPerEngine: e }), l.nodes);
            if (!f) return undefined;
            const weights = f.rollout.items.find((i) => i.label === "weights")?.bytes ?? 0;
            if (weights <= base.rollout.memFractionStatic * f.rollout.capacityBytes && f.rollout.usage <= headroom && f.rollout.kvTokens >= base.rollout.maxResponseLen) {
                return { gpusPerEngine: e, rollout: f.rollout.usage, kvTokens: f.rollout.kvTokens };
            }
        }
        return undefined;
    };

    const ranked: RankedLayout[] = [];
    const failures = new Map<string, number>();
    for (let nodes = 1; nodes <= opts.maxNodes && ranked.length < top; nodes++) {
        const modes: Array<{ colocate: boolean; actorNodes: number }> = [];
        if (opts.colocate !== false) modes.push({ colocate: true, actorNodes: nodes });
        // Disaggregated: at least as many actor nodes as rollout nodes (miles' recipes: 8 + 8, 8 + 1).
        if (opts.colocate !== true) for (let an = nodes - 1; an >= nodes / 2; an--) modes.push({ colocate: false, actorNodes: an });
        const survivors: RankedLayout[] = [];
        for (const m of modes) {
            const rolloutGpus = m.colocate ? m.actorNodes * g : (nodes - m.actorNodes) * g;
            // The engine first (its estimate does not depend on the actor's parallelism, except the actor state
            // left on a colocated GPU with offload.train off, where the unsharded shell over-counts it).
            const engine = engineFor({ ...shellOf(m.actorNodes, m.colocate, nodes), rolloutGpus });
            if (!engine || !feasible(m.actorNodes, m.colocate, nodes)) continue;
            const options = trainOptions(m.actorNodes, m.colocate, nodes);
            for (const o of options) {
                const layout: Layout = { ...o.layout, nodes, colocate: m.colocate, actorNodes: m.actorNodes, rolloutGpus, gpusPerEngine: engine.gpusPerEngine };
                survivors.push({
                    layout,
                    training: applyLayout(base, layout),
                    usage: { train: o.usage.train, host: o.usage.host, rollout: engine.rollout },
                    kvTokens: engine.kvTokens,
                    dp: (m.actorNodes * g) / (layout.tp * layout.pp * layout.cp),
                    usdPerHour: nodes * price,
                    penalty: throughputPenalty(layout, g),
                });
            }
        }
        survivors.sort(compareRanked);
        for (const c of survivors) {
            if (ranked.length >= top || searched.ruleChecks >= MAX_RULE_CHECKS) break;
            searched.ruleChecks++;
            const run = resolveRun(c.training, contextFor(nodes));
            const errors = trainingProblems(run).filter((p) => p.severity === "error");
            if (errors.length === 0) ranked.push(c);
            else for (const e of errors) failures.set(`${e.path}: ${e.message}`, (failures.get(`${e.path}: ${e.message}`) ?? 0) + 1);
        }
    }
    if (ranked.length > 0) return { ranked, choice: ranked[0], searched };
    const common = [...failures.entries()].sort((x, y) => y[1] - x[1])[0];
    const reason = common
        ? `no layout on up to ${opts.maxNodes} node(s) passes every rule; the most frequent error of the candidates that fit in memory: ${common[0]}`
        : `no layout on up to ${opts.maxNodes} × ${group.instanceType} fits in ${Math.round(headroom * 100)} % of GPU and host memory (estimate; docs/memory-fit.md): more nodes, an FP8 or INT4 rollout, or a shorter response length`;
    return { ranked, searched, reason };
}
