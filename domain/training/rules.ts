/**
 * The rules miles and Megatron enforce when a run starts (or the ways it hangs forever), checked
 * on the config before anything is created. Sources: shared/reference/miles-launch.md §6 (the
 * asserts in miles/utils/arguments.py, megatron/training/arguments.py, parallel_state.py) and §2.4.
 * Errors stop `pulumi up`/`plan`; warnings (paid, idle GPUs; silently ignored settings) go to the
 * plan summary.
 */
import { SPOT_ASSUMED_FRACTION_OF_ON_DEMAND } from "../../catalog/prices";
import type { TrainingConfig } from "../../config";
import { instanceFacts } from "../../catalog/instances";
import type { GpuNodeGroupInfo } from "../gpuNodes";
import { flagsOf, OVERRIDABLE_ENV } from "./argv";
import { RAY_TOKEN_AUTH_MIN_VERSION, rayTokenAuth } from "./rayJob";
import { WORKER_CPU_HEADROOM, type WorkerSizing } from "./resolve";
import type { ResolvedRun } from "./run";
import { attentionNeeds, type EffectiveRun } from "./resolve";
import { memoryFitRules } from "./memoryFitRun";
import { trueOnPolicyProblems } from "./trueOnPolicy";

/**
 * What a warning is about, where a reader treats some warnings apart: `idle-gpus` (GPUs of the run's
 * node groups it does not use), which a stack of several runs reports once for all of them (the queue).
 */
export type WarningKind = "idle-gpus";

export interface TrainingProblem {
    path: string;
    message: string;
    severity: "error" | "warning";
    kind?: WarningKind;
}

/** Moving image tags miles publishes (docs/developer/versions.md); rejected unless `image.allowLatest`. */
export const MOVING_IMAGE_TAGS: ReadonlyArray<string> = ["latest", "dev", "latest-cu12", "dev-cu12"];

type Push = (path: string, message: string, kind?: WarningKind) => void;

function imageRules(r: ResolvedRun, err: Push, warn: Push): void {
    const i = r.training.image;
    if (r.imageChoice.source === "efa-build" && r.imageChoice.platform === "existing") {
        err("training.image.source", `"efa-build" is pushed to the ECR repository an EKS stack creates; on cluster.existing push images/miles-efa to your registry and use source "named" with its repository and digest`);
    }
    if (MOVING_IMAGE_TAGS.includes(i.tag) && !i.allowLatest) {
        err("training.image.tag", `"${i.tag}" is a moving tag (republished twice a day), so two deployments may run different code; pin a release such as "v0.1.0", or set training.image.allowLatest: true`);
    }
    if (!rayTokenAuth(r.training)) {
        warn(
            "training.image.rayVersion",
            `${i.rayVersion ? `Ray ${i.rayVersion} is older than ${RAY_TOKEN_AUTH_MIN_VERSION}` : "not set (the miles image does not pin its Ray version)"}: Ray token authentication stays off, so any pod the NetworkPolicies admit can submit jobs to the head; set it to the image's Ray version once it is ${RAY_TOKEN_AUTH_MIN_VERSION} or newer`,
        );
    }
}

function modelRules(r: ResolvedRun, err: Push, warn: Push): void {
    const t = r.training;
    if (t.model.custom) {
        if (r.model.numLayers <= 0) err("training.model.custom.args", "must contain --num-layers <n> (Megatron cannot read the architecture from the HF config)");
    } else if (r.model.refused) {
        err("training.model.preset", `"${t.model.preset}" cannot be planned: ${r.model.refused}`);
    } else if (r.model.needsAdapting) {
        err("training.model.preset", `"${t.model.preset}" comes from slime and references modules the miles image does not have (slime_plugins / --use-gated-attention); use model.custom with adapted args`);
    }
    if (!r.paths.hfDownload) {
        err("training.model.hfCheckpoint", `model "${r.model.name}" has no known Hugging Face repo; set training.model.hfRepo or training.model.hfCheckpoint`);
    }
    checkpointFactRules(r, err, warn);
    if (!r.paths.promptData) err("training.data.promptData", "no prompt data: set training.data.promptData, or training.data.hfDataset to download one");
    if (t.data.rmType === "remote_rm" && !t.data.rmUrl) err("training.data.rmUrl", 'rmType "remote_rm" needs rmUrl');
    if (t.features.fp8Rollout && t.features.int4Qat.enabled) err("training.features.int4Qat.enabled", "FP8 rollout and INT4 QAT both choose the rollout checkpoint; enable one of them");
}

/**
 * What the preset's published checkpoint is (catalog/models.ext.tsv): an FP8 release must be cast to BF16
 * before the torch_dist conversion (hfCheckpointIsFp8), a BF16/INT4/MXFP4 release must not be; a gated
 * repo needs training.hfToken for the download Job. Only when the download is the preset's own repo.
 */
function checkpointFactRules(r: ResolvedRun, err: Push, warn: Push): void {
    const t = r.training;
    if (t.model.custom || t.model.hfCheckpoint !== undefined || t.model.hfRepo !== undefined) return;
    const d = r.model.ckptDtype;
    const raw = t.model.megatronToHfMode === "raw";
    if (d === "fp8" && raw && !t.model.hfCheckpointIsFp8) {
        err("training.model.hfCheckpointIsFp8", `${r.model.hfRepo} is published in FP8: set hfCheckpointIsFp8: true so the convert Job casts it to BF16 (tools/fp8_cast_bf16.py) before the torch_dist conversion`);
    }
    if (d !== undefined && d !== "fp8" && t.model.hfCheckpointIsFp8) {
        err("training.model.hfCheckpointIsFp8", `${r.model.hfRepo} is published in ${d.toUpperCase()}, not FP8: an FP8→BF16 cast of it would fail or corrupt the weights; remove hfCheckpointIsFp8`);
    }
    if (d === "int4" && raw && t.modelPrep.convert) {
        err("training.model.hfCheckpoint", `${r.model.hfRepo} is published in INT4; the convert Job has no INT4→BF16 step (miles' tools/convert_kimi_int4_to_bf16.py): set model.hfCheckpoint to a BF16 copy, or megatronToHfMode: bridge`);
    }
    if (r.model.gated && !t.hfToken && t.modelPrep.download) {
        warn("training.hfToken", `${r.model.hfRepo} is a gated Hugging Face repo: the download Job fails without a token of an account that accepted its license (pulumi config set --secret --path 'miles-cluster:training.hfToken' <token>)`);
    }
}

/** GPU placement: the node group exists, fits the run, and GPUs per node are the real ones. */
function placementRules(r: ResolvedRun, err: Push, warn: Push): void {
    const t = r.training;
    const l = t.layout;
    if (r.allGroups.length === 0) {
        err("training.nodeGroup", "the cluster has no GPU node groups (cluster.gpuNodeGroups); add one, or set training.enabled: false to provision only the cluster");
        return;
    }
    if (t.nodeGroups && !spanRules(r, err)) return;
    const g = r.group;
    if (!g) {
        err("training.nodeGroup", `no GPU node group named "${t.nodeGroup}"; the cluster has ${r.allGroups.map((x) => `"${x.name}"`).join(", ")}`);
        return;
    }
    if (l.gpusPerNode !== undefined && l.gpusPerNode !== g.gpusPerNode) {
        err("training.layout.gpusPerNode", `is ${l.gpusPerNode} but ${g.instanceType ?? `node group ${g.name}`} nodes have ${g.gpusPerNode} GPUs; miles' placement group would wait forever — remove it or set ${g.gpusPerNode}`);
    }
    if (r.actorGpusPerNode > g.gpusPerNode) {
        err("training.layout.actorGpusPerNode", `is ${r.actorGpusPerNode} but ${g.name} nodes have only ${g.gpusPerNode} GPUs`);
    } else if (r.actorNodes > 1 && r.actorGpusPerNode !== g.gpusPerNode) {
        err("training.layout.actorGpusPerNode", `is ${r.actorGpusPerNode} with ${r.actorNodes} actor nodes; multi-node actors must use every GPU of a node (${g.gpusPerNode})`);
    }
    if (l.colocate && l.rolloutGpus !== undefined && l.rolloutGpus !== r.actorGpus) {
        err("training.layout.rolloutGpus", `is ${l.rolloutGpus} but colocate is on, where miles forces rollout GPUs = actor GPUs (${r.actorNodes} × ${r.actorGpusPerNode} = ${r.actorGpus}); remove it or set colocate: false`);
    }
    if (!l.colocate && l.rolloutGpus === undefined) {
        err("training.layout.rolloutGpus", "is required when colocate is false (the SGLang engines need their own GPUs)");
    }
    const available = r.groups.reduce((n, x) => n + x.group.nodes * x.group.gpusPerNode, 0);
    const where = r.groups.length > 1 ? `node groups ${r.groups.map((x) => x.group.name).join(" + ")} have ${r.groups.map((x) => `${x.group.nodes} × ${x.group.gpusPerNode}`).join(" + ")}` : `node group ${g.name} has ${g.nodes} × ${g.gpusPerNode}`;
    const evalGpus = t.eval.numGpus > 0 ? ` + ${t.eval.numGpus} eval` : "";
    const need = l.colocate
        ? `${r.actorNodes} × ${r.actorGpusPerNode}${evalGpus} = ${r.gpusNeeded} GPUs (colocated)`
        : `${r.actorNodes} × ${r.actorGpusPerNode} actor + ${r.rolloutGpus} rollout${evalGpus} = ${r.gpusNeeded} GPUs`;
    if (r.gpusNeeded > available) {
        err("training.layout", `the run needs ${need}, but ${where} = ${available}; miles' placement group would never be ready — add nodes${t.nodeGroups ? ", add a node group to training.nodeGroups" : ""} or shrink the layout`);
    } else if (available > r.gpusNeeded) {
        const idle = available - r.gpusNeeded;
        // The plan's one cost model (domain/lifecycle/cost.ts groupCost): spot at the stated assumption, and
        // no dollars on a bring-your-own cluster, whose GPUs are priced by their owner (GPU-hours instead).
        const byo = r.imageChoice.platform === "existing";
        const od = g.instanceType && !byo ? instanceFacts(g.instanceType).onDemandUsdPerHour.usd / g.gpusPerNode : undefined;
        const price = od === undefined ? "" : g.spot ? ` (≈ $${(idle * od * SPOT_ASSUMED_FRACTION_OF_ON_DEMAND).toFixed(2)}/h at the spot assumption, ${SPOT_ASSUMED_FRACTION_OF_ON_DEMAND * 100}% of on-demand)` : ` (≈ $${(idle * od).toFixed(2)}/h on-demand)`;
        const cost = byo ? `${idle} GPUs idle (${idle} GPU-hours per hour; priced by the cluster's owner)` : `${idle} GPUs paid and idle${price}`;
        warn("training.layout", `node group${r.groups.length > 1 ? `s ${r.groups.map((x) => x.group.name).join(" + ")}` : ` ${g.name}`} provision${r.groups.length > 1 ? "" : "s"} ${available} GPUs but the run uses ${r.gpusNeeded} (${need}): ${cost}`, "idle-gpus");
    }
    for (const other of r.allGroups) {
        if (!r.groups.some((x) => x.group === other) && other.nodes > 0) warn(t.nodeGroups ? "training.nodeGroups" : "training.nodeGroup", `GPU node group ${other.name} (${other.nodes} × ${other.gpusPerNode} GPUs) is not used by the training run`, "idle-gpus");
    }
    const size = r.worker;
    if (size.cpu <= 0 || size.memoryGiB <= 0) {
        err("training.resources", `node group ${g.name} has no known instance type; set resources.workerCpu and resources.workerMemoryGiB`);
    } else {
        if (size.cpu < g.gpusPerNode) err("training.resources.workerCpu", `is ${size.cpu}; each GPU needs at least one Ray CPU (${g.gpusPerNode} GPUs per node)`);
        nodeFitRules(t, g, size, err);
        if (size.shmGiB >= size.memoryGiB) err("training.resources.shmGiB", `is ${size.shmGiB} GiB, not less than the worker memory ${size.memoryGiB} GiB (memory-backed /dev/shm counts against it)`);
    }
}

/**
 * A run over several node groups (`training.nodeGroups`): each exists once, not together with
 * `nodeGroup`, all of one instance type (one worker pod shape, GPU count and EFA layout), each
 * contributing nodes, and Capacity Blocks sharing one window (the run is saved and stopped on one
 * schedule). False when the run has no usable group at all.
 */
function spanRules(r: ResolvedRun, err: Push): boolean {
    const t = r.training;
    const names = t.nodeGroups ?? [];
    if (t.nodeGroup !== undefined) err("training.nodeGroups", `is set together with training.nodeGroup ("${t.nodeGroup}"): keep one (nodeGroups: [${[t.nodeGroup, ...names.filter((n) => n !== t.nodeGroup)].join(", ")}] spans several)`);
    names.forEach((n, i) => {
        if (names.indexOf(n) !== i) err(`training.nodeGroups[${i}]`, `"${n}" is listed twice`);
        else if (!r.allGroups.some((g) => g.name === n)) err(`training.nodeGroups[${i}]`, `no GPU node group named "${n}"; the cluster has ${r.allGroups.map((x) => `"${x.name}"`).join(", ")}`);
    });
    const first = r.groups[0]?.group;
    if (!first) return false;
    r.groups.forEach(({ group, nodes }) => {
        const i = names.indexOf(group.name);
        if (group.instanceType !== first.instanceType || group.gpusPerNode !== first.gpusPerNode) {
            err(`training.nodeGroups[${i}]`, `${group.name} is ${group.instanceType ?? `${group.gpusPerNode}-GPU nodes`} but ${first.name} is ${first.instanceType ?? `${first.gpusPerNode}-GPU nodes`}: a run spans node groups of one instance type (one worker pod size, GPU count and EFA layout)`);
        } else if (nodes <= 0) {
            err(`training.nodeGroups[${i}]`, `${group.name} gets no node: the run's ${r.nodesNeeded} node(s) fit in the groups before it; remove it`);
        }
    });
    const windows = r.groups.map((x) => x.group.capacityBlock?.window).filter((w): w is { start: string; end: string } => w !== undefined);
    if (windows.some((w) => w.start !== windows[0].start || w.end !== windows[0].end)) {
        err("training.nodeGroups", `spans Capacity Blocks with different windows (${windows.map((w) => `${w.start} → ${w.end}`).join(", ")}): the run is saved, stopped and resumed on one schedule, so its blocks must share their start and end (buy them for the same dates)`);
    }
    return true;
}

/**
 * An explicit worker size must fit the node: the kubelet reserves CPU and memory (EKS: ~0.5 vCPU and
 * 2-3 GiB on a p5), the DaemonSets request some, and pre-allocated huge pages leave memory
 * allocatable. A request above that keeps every worker Pending. The bounds are deliberately loose
 * (1 vCPU, 5% of memory): they catch "the whole node", not a tight fit.
 */
function nodeFitRules(t: TrainingConfig, g: GpuNodeGroupInfo, size: WorkerSizing, err: Push): void {
    if (!g.instanceType) return;
    const facts = instanceFacts(g.instanceType);
    const maxCpu = facts.vcpus - 1;
    if (t.resources.workerCpu !== undefined && size.cpu > maxCpu) {
        err("training.resources.workerCpu", `is ${size.cpu} but a ${g.instanceType} has ${facts.vcpus} vCPUs, of which the kubelet reservation and the DaemonSets take some: at most ${maxCpu}, the default ${facts.vcpus - WORKER_CPU_HEADROOM} leaves room for them`);
    }
    const maxMemGiB = Math.floor(facts.memoryGiB * 0.95 - size.hugepages2MiMi / 1024);
    if (t.resources.workerMemoryGiB !== undefined && size.memoryGiB > maxMemGiB) {
        err("training.resources.workerMemoryGiB", `is ${size.memoryGiB} GiB but a ${g.instanceType} has ${facts.memoryGiB} GiB, less the kernel, the kubelet reservation${size.hugepages2MiMi > 0 ? ` and ${size.hugepages2MiMi} MiB of huge pages` : ""}: at most ${maxMemGiB} GiB`);
    }
}

/** Megatron's parallelism arithmetic (world size = actor GPUs). */
function parallelismRules(r: ResolvedRun, err: Push, warn: Push): void {
    if (r.auto && !r.auto.choice) err("training.parallelism", `is auto, but ${r.auto.reason ?? "the layout search found no layout"}`);
    const p = r.training.parallelism;
    const world = r.actorGpus;
    const mp = r.tp * r.pp * r.cp;
    if (world % mp !== 0) {
        err("training.parallelism", `actor world size ${world} (${r.actorNodes} × ${r.actorGpusPerNode}) is not divisible by TP × PP × CP = ${r.tp} × ${r.pp} × ${r.cp} = ${mp}`);
    }
    const emp = r.etp * r.ep * r.pp;
    if (world % emp !== 0) {
        err("training.parallelism.ep", `actor world size ${world} is not divisible by ETP × EP × PP = ${r.etp} × ${r.ep} × ${r.pp} = ${emp}${p.etp === undefined ? " (ETP defaults to TP; set parallelism.etp)" : ""}`);
    }
    if (r.model.numExperts === 0 && r.ep > 1) {
        err("training.parallelism.ep", `is ${r.ep} but ${r.model.name} is a dense model (no experts)`);
    } else if (r.model.numExperts > 0 && r.model.numExperts % r.ep !== 0) {
        err("training.parallelism.ep", `${r.model.name} has ${r.model.numExperts} experts, not divisible by EP = ${r.ep}`);
    }
    const first = p.decoderFirstPipelineNumLayers;
    const last = p.decoderLastPipelineNumLayers;
    const uneven = first !== undefined || last !== undefined;
    const L = r.model.numLayers;
    if (uneven && r.pp === 1) {
        err("training.parallelism.decoderFirstPipelineNumLayers", "uneven pipeline stages need PP > 1 (PP is 1)");
    } else if (uneven && L > 0) {
        const middleStages = r.pp - (first !== undefined ? 1 : 0) - (last !== undefined ? 1 : 0);
        const middleLayers = L - (first ?? 0) - (last ?? 0);
        if (middleLayers < 0 || (middleStages === 0 && middleLayers !== 0) || (middleStages > 0 && middleLayers % middleStages !== 0)) {
            err("training.parallelism.decoderFirstPipelineNumLayers", `${L} layers minus first ${first ?? "-"} / last ${last ?? "-"} leave ${middleLayers} layers for ${middleStages} middle stages (PP = ${r.pp}); they must divide evenly`);
        }
    } else if (L > 0 && L % r.pp !== 0) {
        err("training.parallelism.pp", `${r.model.name} has ${L} layers, not divisible by PP = ${r.pp}; pick a divisor or set decoderFirstPipelineNumLayers/decoderLastPipelineNumLayers`);
    }
    const x = r.effective;
    if (x.sequenceParallel && r.tp === 1) warn("training.parallelism.sequenceParallel", "is ignored with TP = 1 (Megatron turns it off)");
    // Only a warning upstream: radixark/Megatron-LM @ 37f91617 megatron/core/model_parallel_config.py
    // `__post_init__` calls warnings.warn("When using expert parallelism and tensor parallelism for
    // training, sequence parallelism must be used") — the run starts, with more activation memory.
    if (r.ep > 1 && r.tp > 1 && !x.sequenceParallel) {
        warn("training.parallelism.sequenceParallel", `is false with EP = ${r.ep} and TP = ${r.tp}: Megatron only warns ("sequence parallelism must be used" with expert + tensor parallelism) and runs with every norm/dropout activation replicated on the ${r.tp} TP ranks; set sequenceParallel: true`);
    }
    attentionRules(r, err);
    recomputeRules(r, x, err);
}

/**
 * TP against the attention heads, as Megatron's TransformerConfig checks them (radixark/Megatron-LM @ 37f91617
 * megatron/core/transformer/transformer_config.py `__post_init__`): num_attention_heads must be a multiple of
 * TP, and num_query_groups a multiple OR a divisor of TP (fewer groups than TP ranks are replicated,
 * megatron/core/transformer/attention.py). Heads and groups come from the architecture args.
 */
function attentionRules(r: ResolvedRun, err: Push): void {
    const a = r.model.arch;
    if (a.numAttentionHeads <= 0) return;
    if (a.numAttentionHeads % r.tp !== 0) {
        err("training.parallelism.tp", `${r.model.name} has ${a.numAttentionHeads} attention heads, not a multiple of TP = ${r.tp} (Megatron's TransformerConfig raises); use a TP that divides ${a.numAttentionHeads}`);
    }
    const g = a.numQueryGroups;
    if (g > 0 && g % r.tp !== 0 && r.tp % g !== 0) {
        err("training.parallelism.tp", `${r.model.name} has ${g} query groups (KV heads): TP = ${r.tp} is neither a divisor nor a multiple of ${g} (Megatron's TransformerConfig raises "num_query_groups must be a multiple or divisor of tensor_model_parallel_size")`);
    }
}

/**
 * Recomputation as Megatron validates it: full granularity needs `--recompute-method` (uniform|block)
 * and `--recompute-num-layers` (transformer_config.py raises without either); selective takes neither
 * (megatron/training/arguments.py asserts "recompute method is not yet supported for selective
 * recomputing granularity"; transformer_config.py: "recompute_num_layers must be None").
 */
function recomputeRules(r: ResolvedRun, x: EffectiveRun, err: Push): void {
    const rc = x.recompute;
    if (!rc) return;
    if (rc.granularity === "full") {
        if (rc.method === undefined) err(x.recomputeAt("method"), 'full recomputation needs a method: "uniform" (recompute every numLayers-layer chunk) or "block" (the first numLayers layers of each stage)');
        if (rc.numLayers === undefined) err(x.recomputeAt("numLayers"), `full recomputation needs numLayers (1 … layers per pipeline stage, ${r.model.numLayers > 0 ? Math.floor(r.model.numLayers / r.pp) : "?"} here)`);
        else if (r.model.numLayers > 0 && rc.numLayers > Math.ceil(r.model.numLayers / r.pp)) {
            err(x.recomputeAt("numLayers"), `is ${rc.numLayers}, more than the ${Math.ceil(r.model.numLayers / r.pp)} layers of a pipeline stage (${r.model.numLayers} layers ÷ PP ${r.pp})`);
        }
    } else {
        if (rc.method !== undefined) err(x.recomputeAt("method"), "must be unset with selective recomputation (Megatron asserts a method is not supported for selective granularity)");
        if (rc.numLayers !== undefined) err(x.recomputeAt("numLayers"), "must be unset with selective recomputation (Megatron: recompute_num_layers must be None)");
    }
}

/**
 * The recipe knobs and the rules miles, Megatron and SGLang apply between them (each read from
 * ResolvedRun.effective, so a flag in extraArgs is held to the same rule as the field):
 * - DeepEP needs the flex dispatcher: radixark/Megatron-LM @ 37f91617 megatron/core/transformer/
 *   transformer_config.py `__post_init__` raises "DeepEP backend is only supported with flex token dispatcher.";
 * - gpt-oss needs TE fused attention on BSHD, Gemma-4 unfused on BSHD (resolve.ts MODEL_ATTENTION);
 * - `--qkv-format bshd` refuses dynamic batching (radixark/miles v0.1.0 miles/utils/arguments.py:3514-3518);
 * - `--use-dynamic-global-batch-size` requires `--use-dynamic-batch-size` (arguments.py:3167-3172);
 * - LoRA requires `--target-modules` (arguments.py:3085-3086);
 * - SGLang DP attention: `tp_size % dp_size == 0` and moe_dense_tp_size ∈ {1, None} (sglang
 *   python/sglang/srt/server_args.py, `enable_dp_attention` handling and check_server_args); an engine's
 *   TP size is miles' `--rollout-num-gpus-per-engine`;
 * - prefill/decode disaggregation needs a decode engine left over.
 */
function knobRules(r: ResolvedRun, err: Push, warn: Push): void {
    const t = r.training;
    const x = r.effective;
    const at = (field: string, flag: string, from: string) => (from === "extraArgs" ? `training.extraArgs[${x.extra.get(flag)?.index ?? 0}]` : field);
    const deepepAt = t.parallelism.moe.deepep ? "training.parallelism.moe.deepep" : at("", "--moe-enable-deepep", "extraArgs");
    if (x.moe.deepep && r.model.numExperts === 0) err(deepepAt, `DeepEP dispatches MoE tokens, but ${r.model.name} is dense`);
    else if (x.moe.deepep && x.moe.dispatcher !== "flex") {
        const where = x.moe.dispatcherFrom === "model" ? `the ${r.model.name} preset's --moe-token-dispatcher-type ${x.moe.dispatcher}` : `--moe-token-dispatcher-type ${x.moe.dispatcher}`;
        err(deepepAt, `needs the flex token dispatcher, but the run has ${where}: Megatron raises "DeepEP backend is only supported with flex token dispatcher."; set parallelism.moe.tokenDispatcherType: flex`);
    }
    const cpc = t.parallelism.cpCommType;
    if (cpc !== undefined && r.cp === 1) warn("training.parallelism.cpCommType", "is ignored with CP = 1 (no context parallelism)");
    if (cpc !== undefined && cpc !== "a2a" && t.features.trueOnPolicy) err("training.parallelism.cpCommType", `is ${cpc}, but features.trueOnPolicy runs CP with a2a (miles v0.1.0 miles/true_on_policy/config.py); remove it`);
    if (t.parallelism.moe.tokenDispatcherType !== undefined && r.model.numExperts === 0) warn("training.parallelism.moe.tokenDispatcherType", `is ignored: ${r.model.name} is dense`);
    const need = attentionNeeds(r.model);
    const a = x.attention;
    if (need && a.backendFrom !== "model" && a.backend !== need.backend) {
        err(at("training.parallelism.attentionBackend", "--attention-backend", a.backendFrom), `is ${a.backend}, but ${r.model.name} needs ${need.backend} (${need.source}); remove it to get ${need.backend}`);
    }
    if (need && a.qkvFrom !== "model" && a.qkvFormat !== need.qkvFormat) {
        err(at("training.parallelism.qkvFormat", "--qkv-format", a.qkvFrom), `is ${a.qkvFormat}, but ${r.model.name}'s attention backend needs ${need.qkvFormat} (${need.source})`);
    }
    if (a.qkvFormat === "bshd" && t.algorithm.dynamicBatch.enabled) {
        err("training.algorithm.dynamicBatch.enabled", `dynamic batching is not supported with --qkv-format bshd${a.qkvFrom === "model" ? ` (which ${r.model.name} needs)` : ""}: miles asserts "Dynamic batch size is not supported for bshd format. Please specify --micro-batch-size instead."; set dynamicBatch.enabled: false and algorithm.microBatchSize`);
    }
    if (t.algorithm.dynamicGlobalBatchSize && !t.algorithm.dynamicBatch.enabled) {
        err("training.algorithm.dynamicGlobalBatchSize", "needs algorithm.dynamicBatch.enabled (miles asserts --use-dynamic-global-batch-size requires --use-dynamic-batch-size)");
    }
    if (x.lora.rank > 0 && !x.lora.targetModules) {
        err("training.features.lora.targetModules", `is required with LoRA rank ${x.lora.rank} (miles asserts "'--target-modules' is required when LoRA is enabled."): all-linear, or comma-separated module names`);
    }
    if (x.rematerializeParams) {
        // miles v0.1.0 miles/utils/arguments.py:2803-2846 `_validate_rematerialize_param_from_master_weight`.
        const path = t.offload.rematerializeParams ? "training.offload.rematerializeParams" : at("", "--rematerialize-param-from-master-weight", "extraArgs");
        if (!t.layout.colocate || !x.offloadTrain) err(path, `needs a colocated run with offload.train on (miles asserts "args.colocate and args.offload_train"): the weights it drops are the offloaded trainer's backup`);
        if (x.lora.rank > 0) err(path, `does not work with LoRA (miles asserts "--rematerialize-param-from-master-weight does not support LoRA")`);
        if (x.extra.has("--keep-old-actor")) err(at("", "--keep-old-actor", "extraArgs"), `--keep-old-actor does not work with --rematerialize-param-from-master-weight (miles asserts not args.keep_old_actor)`);
        if (x.extra.has("--overlap-param-gather")) err(at("", "--overlap-param-gather", "extraArgs"), `--overlap-param-gather does not work with --rematerialize-param-from-master-weight (miles: "the rebuild calls DDP.start_param_sync outside the training step")`);
        if (x.extra.get("--offload-train-target")?.values[0] === "disk") err(at("", "--offload-train-target", "extraArgs"), `--offload-train-target disk does not work with --rematerialize-param-from-master-weight (miles: "there is no backup for the rebuild to replace")`);
    }
    // Every run's node watcher restarts it without an unhealthy node through a KubeRay retry (domain/lifecycle/nodeWatch.ts).
    if (t.lifecycle.backoffLimit === 0) warn("training.lifecycle.backoffLimit", "is 0: a node the run's node watcher takes out of the run (or any other failure) ends the run Failed instead of retrying it on healthy nodes; set it to 1 or more");
    const s = t.rollout.sglang;
    const engineTp = t.layout.gpusPerEngine;
    if (x.sglang.dpAttention && x.sglang.dpSize > 1 && engineTp % x.sglang.dpSize !== 0) {
        err(s.dpAttention ? "training.rollout.sglang.dpAttention.dpSize" : at("", "--sglang-dp-size", "extraArgs"), `${x.sglang.dpSize} does not divide the engine's TP size ${engineTp} (layout.gpusPerEngine); SGLang asserts tp_size % dp_size == 0 with DP attention`);
    }
    if (s.dpAttention?.moeDenseTpSize !== undefined && s.dpAttention.moeDenseTpSize !== 1) {
        err("training.rollout.sglang.dpAttention.moeDenseTpSize", `is ${s.dpAttention.moeDenseTpSize}; SGLang asserts "moe_dense_tp_size only support 1 and None currently"`);
    }
    if (x.sglang.epSize !== undefined && x.sglang.epSize > 1) {
        if (r.model.numExperts === 0) err("training.rollout.sglang.epSize", `is ${x.sglang.epSize}, but ${r.model.name} is dense (no experts)`);
        else if (engineTp % x.sglang.epSize !== 0) err("training.rollout.sglang.epSize", `${x.sglang.epSize} does not divide the engine's ${engineTp} GPUs (layout.gpusPerEngine): SGLang's expert-parallel group lives inside the engine's TP group`);
    }
    if (s.kvCacheDtype !== undefined && t.features.fp8KvCache && s.kvCacheDtype !== "fp8_e4m3") {
        err("training.features.fp8KvCache", `sets --sglang-kv-cache-dtype fp8_e4m3, but rollout.sglang.kvCacheDtype is ${s.kvCacheDtype}; keep one`);
    }
    if (s.deepepMode !== undefined && s.moeA2aBackend !== "deepep" && !x.extra.get("--sglang-moe-a2a-backend")?.values.includes("deepep")) {
        warn("training.rollout.sglang.deepepMode", "is only read with moeA2aBackend: deepep; SGLang ignores it here");
    }
    if (x.prefillNumServers > 0 && x.prefillNumServers >= r.engines) {
        err(t.layout.prefillNumServers !== undefined ? "training.layout.prefillNumServers" : at("", "--prefill-num-servers", "extraArgs"), `${x.prefillNumServers} prefill servers leave no decode engine of the run's ${r.engines} (rollout GPUs ${r.rolloutGpus} ÷ ${engineTp} per engine)`);
    }
}

function engineRules(r: ResolvedRun, err: Push): void {
    const e = r.training.layout.gpusPerEngine;
    if (r.rolloutGpus > 0 && r.rolloutGpus % e !== 0) {
        err("training.layout.gpusPerEngine", `rollout GPUs ${r.rolloutGpus} are not divisible by GPUs per engine ${e}`);
    }
    if (e > r.gpusPerNode && e % r.gpusPerNode !== 0) {
        err("training.layout.gpusPerEngine", `an engine of ${e} GPUs spans nodes of ${r.gpusPerNode} GPUs and must be a multiple of ${r.gpusPerNode}`);
    }
}

/** miles' batch arithmetic. */
function batchRules(r: ResolvedRun, err: Push): void {
    const a = r.training.algorithm;
    const n = `rolloutBatchSize × nSamplesPerPrompt = ${a.rolloutBatchSize} × ${a.nSamplesPerPrompt} = ${r.samplesPerRollout}`;
    if (a.globalBatchSize !== undefined && a.numStepsPerRollout !== undefined) {
        if (r.samplesPerRollout !== a.globalBatchSize * a.numStepsPerRollout) {
            err("training.algorithm.globalBatchSize", `${n} must equal globalBatchSize × numStepsPerRollout = ${a.globalBatchSize} × ${a.numStepsPerRollout} = ${a.globalBatchSize * a.numStepsPerRollout}`);
        }
    } else if (!Number.isInteger(r.globalBatchSize) || !Number.isInteger(r.numStepsPerRollout)) {
        const which = a.globalBatchSize !== undefined ? `globalBatchSize ${a.globalBatchSize}` : `numStepsPerRollout ${r.numStepsPerRollout}`;
        err(a.globalBatchSize !== undefined ? "training.algorithm.globalBatchSize" : "training.algorithm.numStepsPerRollout", `${n} is not divisible by ${which}; rollout_batch_size × n_samples_per_prompt must equal global_batch_size × num_steps_per_rollout`);
        return;
    }
    const dp = r.effective.dp;
    if (Number.isInteger(dp) && r.globalBatchSize % (dp * a.microBatchSize) !== 0) {
        err("training.algorithm.globalBatchSize", `global batch ${r.globalBatchSize} is not divisible by DP × microBatchSize = ${dp} × ${a.microBatchSize} = ${dp * a.microBatchSize} (DP = ${r.actorGpus} GPUs ÷ (TP ${r.tp} × PP ${r.pp} × CP ${r.cp}))`);
    }
    const pr = r.training.features.partialRollout;
    if (pr.overSamplingBatchSize !== undefined && pr.overSamplingBatchSize < a.rolloutBatchSize) {
        err("training.features.partialRollout.overSamplingBatchSize", `is ${pr.overSamplingBatchSize}, less than rolloutBatchSize ${a.rolloutBatchSize}`);
    }
    const ro = r.training.rollout;
    if (ro.maxPromptLen !== undefined && ro.maxContextLen !== undefined && ro.maxPromptLen > ro.maxContextLen - 1) {
        err("training.rollout.maxPromptLen", `is ${ro.maxPromptLen}; it must be at most maxContextLen − 1 = ${ro.maxContextLen - 1}`);
    }
}

/** Feature and algorithm combinations miles rejects at start-up. */
function featureRules(r: ResolvedRun, err: Push, warn: Push): void {
    const t = r.training;
    const f = t.features;
    const a = t.algorithm;
    if (t.entry === "train_async.py" && t.layout.colocate) {
        err("training.entry", "train_async.py overlaps rollout and training and asserts not --colocate; set layout.colocate: false and layout.rolloutGpus");
    }
    if (t.entry === "train_async.py" && a.advantageEstimator === "ppo" && !f.useRolloutLogprobs && !f.tis.enabled) {
        err("training.algorithm.advantageEstimator", "ppo with train_async.py needs features.useRolloutLogprobs or features.tis.enabled");
    }
    if (f.mtp.training && r.model.mtpLayers < 1) {
        err("training.features.mtp.training", `needs MTP layers: set features.mtp.numLayers ≥ 1 (${r.model.name} sets ${r.model.mtpLayers})`);
    }
    if (f.mtp.training && r.model.ckptMtpLayers !== undefined && r.model.mtpLayers > r.model.ckptMtpLayers) {
        warn("training.features.mtp.numLayers", `${r.model.mtpLayers} MTP layers but the released ${r.model.name} checkpoint has ${r.model.ckptMtpLayers}; the extra layers start from random weights`);
    }
    if (f.tis.enabled && f.useRolloutLogprobs) {
        err("training.features.useRolloutLogprobs", "cannot be combined with features.tis.enabled (miles asserts one or the other)");
    }
    const kl = a.kl.useKlLoss || a.kl.klCoef > 0;
    if (kl && r.paths.refLoad === null) {
        err("training.algorithm.kl", `KL (${a.kl.useKlLoss ? "useKlLoss" : `klCoef ${a.kl.klCoef}`}) needs the reference model, but model.refLoad is null`);
    }
    if (a.kl.klCoef > 0 && a.kl.useKlLoss && a.kl.klLossCoef > 0) {
        err("training.algorithm.kl.klCoef", `klCoef ${a.kl.klCoef} and klLossCoef ${a.kl.klLossCoef} cannot both be non-zero`);
    }
    if (a.advantageEstimator.startsWith("reinforce_plus_plus") && a.normalizeAdvantages === false) {
        err("training.algorithm.normalizeAdvantages", `${a.advantageEstimator} requires normalizeAdvantages`);
    }
    if (f.routingReplay && r.model.numExperts === 0) {
        err("training.features.routingReplay", `R3 replays MoE routing, but ${r.model.name} is dense`);
    }
    if (f.speculative.enabled && !f.speculative.draftModelPath && r.model.mtpLayers === 0 && !r.model.ckptMtpLayers) {
        warn("training.features.speculative.draftModelPath", `${r.model.name} has no MTP head to draft with; set draftModelPath to an EAGLE draft model`);
    }
    const ck = t.checkpoints;
    if (ck.retainInterval !== null && ck.retainInterval % ck.saveInterval !== 0) {
        err("training.checkpoints.retainInterval", `${ck.retainInterval} is not a multiple of saveInterval ${ck.saveInterval}`);
    }
    if (t.wandb.enabled && !t.wandb.apiKey) {
        err("training.wandb.apiKey", "wandb.enabled needs the API key: pulumi config set --secret --path 'miles-cluster:training.wandb.apiKey' <key>");
    }
    if (f.trueOnPolicy) {
        const x = r.effective;
        for (const p of trueOnPolicyProblems({ preset: t.model.custom ? undefined : r.model.name, tp: r.tp, pp: r.pp, cp: r.cp, gpusPerEngine: t.layout.gpusPerEngine, sequenceParallel: x.sequenceParallel, fp8Training: f.fp8Training })) err(p.path, p.message);
    }
}

/**
 * MIS, eval, HF export and weight transfer, with the asserts miles v0.1.0 makes around them
 * (radixark/miles v0.1.0 miles/utils/arguments.py): p2p/disk-delta transfer refuse --colocate, prefill
 * servers (PD) and LoRA, disk-delta needs both directories (3262-3292); --eval-interval needs eval
 * datasets, --eval-num-gpus divisible by its per-engine size (3060-3073); a dedicated eval fleet needs
 * --eval-interval, --eval-hf-dir or --save-hf, no --colocate, and reusing --save-hf exports needs
 * eval_interval % save_interval == 0 (3411-3428). Each also looks at the same flags in extraArgs.
 */
function switchRules(r: ResolvedRun, err: Push, warn: Push): void {
    const t = r.training;
    const x = r.effective;
    const colocate = t.layout.colocate;
    const w = t.rollout.weightTransfer;
    const mode = w.mode !== "broadcast" ? w.mode : (x.extra.get("--update-weight-transfer-mode")?.values[0] ?? "broadcast");
    const modePath = w.mode !== "broadcast" ? "training.rollout.weightTransfer.mode" : `training.extraArgs[${x.extra.get("--update-weight-transfer-mode")?.index ?? 0}]`;
    if (mode === "p2p" || mode === "disk-delta") {
        if (colocate) err(modePath, `${mode} weight transfer is not compatible with --colocate (colocated runs hand weights over through CUDA IPC); set layout.colocate: false or keep broadcast`);
        if (x.extra.has("--prefill-num-servers")) err(modePath, `${mode} weight transfer has not been tested with prefill/decode disaggregation (--prefill-num-servers); miles asserts against it`);
        if (x.lora.rank > 0) err(modePath, `LoRA weight sync is not supported for ${mode} weight transfer (miles asserts lora_rank <= 0)`);
    }
    if (mode === "disk-delta") {
        if (!w.diskDir && !x.extra.has("--update-weight-disk-dir")) err("training.rollout.weightTransfer.diskDir", "is required with disk-delta: a directory the actor and the engines share, e.g. /shared/weight-deltas/<run>");
        else if (w.diskDir && !w.diskDir.startsWith("/shared/")) warn("training.rollout.weightTransfer.diskDir", `${w.diskDir} is not on the shared volume (/shared): the actor and the engines run in different pods`);
        if (!w.localCheckpointDir && !x.extra.has("--update-weight-local-checkpoint-dir")) err("training.rollout.weightTransfer.localCheckpointDir", "is required with disk-delta: a directory local to each rollout host (node NVMe), not the shared volume");
        else if (w.localCheckpointDir?.startsWith("/shared/")) err("training.rollout.weightTransfer.localCheckpointDir", `${w.localCheckpointDir} is on the shared volume; miles wants a rollout-host-local directory (--update-weight-local-checkpoint-dir)`);
    } else if (w.diskDir || w.localCheckpointDir) {
        err("training.rollout.weightTransfer.mode", `is ${mode}: diskDir and localCheckpointDir are only used by disk-delta`);
    }
    const e = t.eval;
    if (e.interval !== undefined && e.datasets.length === 0 && !x.extra.has("--eval-prompt-data") && !x.extra.has("--eval-config")) {
        err("training.eval.datasets", `eval.interval ${e.interval} needs eval datasets (miles asserts "Evaluation datasets must be configured when eval_interval is set")`);
    }
    if (e.interval === undefined && e.datasets.length > 0) warn("training.eval.interval", "is unset, so the eval datasets are never evaluated; set eval.interval (rollouts between evaluations)");
    const names = e.datasets.map((d) => d.name);
    names.forEach((n, i) => {
        if (names.indexOf(n) !== i) err(`training.eval.datasets[${i}].name`, `"${n}" is used twice; eval metrics are logged per dataset name`);
    });
    if (e.numGpus > 0) {
        if (e.numGpus % e.numGpusPerEngine !== 0) err("training.eval.numGpus", `${e.numGpus} eval GPUs are not divisible by numGpusPerEngine ${e.numGpusPerEngine} (miles asserts it)`);
        if (colocate) err("training.eval.numGpus", "a dedicated eval fleet (snapshot eval) is not supported with --colocate; set layout.colocate: false or numGpus: 0 (evaluate on the rollout engines)");
        if (e.interval === undefined) err("training.eval.interval", "is required with eval.numGpus > 0 (snapshot eval)");
        if (!e.hfDir && !r.paths.hfExport) err("training.eval.hfDir", "snapshot eval needs a snapshot source: set eval.hfDir (staging exports) or checkpoints.exportHf.enabled (reuse the periodic HF exports)");
        else if (!e.hfDir && e.interval !== undefined && e.interval % t.checkpoints.saveInterval !== 0) {
            err("training.eval.interval", `is ${e.interval}; reusing the HF exports for eval needs a multiple of checkpoints.saveInterval ${t.checkpoints.saveInterval} (or set eval.hfDir)`);
        }
    }
    const top = x.extra.get("--true-on-policy-mode");
    if (top && !t.features.trueOnPolicy) err(`training.extraArgs[${top.index}]`, "--true-on-policy-mode alone is not miles' contract (profile, kernels, env); set features.trueOnPolicy instead");
    // megatron/training/arguments.py (37f91617): optimizer_cpu_offload asserts use_precision_aware_optimizer, and
    // fp8_param_gather with it asserts fp8_recipe == "delayed" (features.fp8Training uses blockwise).
    const cpuOff = x.extra.get("--optimizer-cpu-offload");
    if (cpuOff && !x.extra.has("--use-precision-aware-optimizer")) err(`training.extraArgs[${cpuOff.index}]`, "--optimizer-cpu-offload needs --use-precision-aware-optimizer (Megatron asserts it); set offload.optimizerCpu: true instead");
    const pg = x.extra.get("--fp8-param-gather");
    if (pg && (t.offload.optimizerCpu || cpuOff) && t.features.fp8Training) err(`training.extraArgs[${pg.index}]`, "--fp8-param-gather with optimizer CPU offload needs --fp8-recipe delayed, but features.fp8Training uses blockwise (Megatron asserts it)");
    const m = t.features.mis;
    if (m.enabled) {
        if (t.features.tis.enabled) err("training.features.mis.enabled", "MIS replaces TIS (its config sets use_tis with its own bounds); disable features.tis");
        if (t.features.useRolloutLogprobs) err("training.features.mis.enabled", "MIS corrects the mismatch between training and rollout log-probs, which useRolloutLogprobs removes; disable one of them");
        if (m.tisBatchNormalize && m.tisLevel === "geometric") err("training.features.mis.tisBatchNormalize", 'the MIS function supports batch normalization only for tisLevel "token" or "sequence" (mis.py raises Unsupported tis_level)');
        if (m.tisLowerBound >= m.tisUpperBound) err("training.features.mis.tisLowerBound", `${m.tisLowerBound} is not below tisUpperBound ${m.tisUpperBound}`);
    }
    if (r.paths.hfExport && r.model.totalParamsB !== undefined) {
        const saves = Math.floor(t.algorithm.numRollout / t.checkpoints.saveInterval);
        const tb = (saves * r.model.totalParamsB * 2e9) / 1e12;
        warn("training.checkpoints.exportHf", `writes a ${(r.model.totalParamsB * 2).toFixed(0)} GB BF16 copy of ${r.model.name} at each of ${saves} saves (≈ ${tb.toFixed(1)} TB in ${r.paths.hfExport.replace("/{rollout_id}", "")}); Megatron's retention does not prune them — delete old exports or raise saveInterval`);
    }
}

/** Shape of extraArgs and extraEnv: flags first, no repeats, nothing the config already generates. */
function escapeHatchRules(r: ResolvedRun, err: Push, warn: Push): void {
    const t = r.training;
    const extra = t.extraArgs;
    if (extra.length > 0 && !extra[0].startsWith("--")) err("training.extraArgs[0]", `"${extra[0]}" must be a flag starting with --`);
    const cmd = r.command;
    const generated = new Set([...flagsOf(cmd.generated), ...flagsOf(cmd.groups[0].args)]);
    const seen = new Set<string>();
    extra.forEach((tok, i) => {
        if (!tok.startsWith("--")) return;
        const flag = tok.split("=")[0];
        if (flag === "--") err(`training.extraArgs[${i}]`, "a bare -- is not a flag");
        else if (generated.has(flag)) err(`training.extraArgs[${i}]`, `${flag} is already generated from the config; set the matching training.* field instead`);
        else if (seen.has(flag)) err(`training.extraArgs[${i}]`, `${flag} is repeated`);
        seen.add(flag);
    });
    const dpAt = extra.indexOf("--sglang-dp-size");
    if (dpAt >= 0 && Number(extra[dpAt + 1]) > 1 && !extra.includes("--sglang-enable-dp-attention")) {
        err(`training.extraArgs[${dpAt}]`, `--sglang-dp-size ${extra[dpAt + 1]} needs --sglang-enable-dp-attention (miles asserts it)`);
    }
    const envNames = new Set([...cmd.generatedEnvNames, "WANDB_API_KEY", "HF_TOKEN"]);
    for (const name of Object.keys(t.extraEnv)) {
        if (envNames.has(name) && OVERRIDABLE_ENV.has(name)) warn(`training.extraEnv.${name}`, `${name}=${t.extraEnv[name]} replaces the value the config generates for it (a recipe switch, not a cluster setting): check it is the one you mean`);
        else if (envNames.has(name)) err(`training.extraEnv.${name}`, `${name} is already set from the config; change the matching training.* field instead`);
    }
    for (const name of Object.keys(t.secretEnv)) {
        if (envNames.has(name)) err(`training.secretEnv.${name}`, `${name} is already set from the config; change the matching training.* field instead`);
        else if (name in t.extraEnv) err(`training.secretEnv.${name}`, `${name} is also in training.extraEnv; keep one`);
    }
}

/** Every rule, errors and warnings, for an enabled training config. */
export function trainingProblems(r: ResolvedRun): TrainingProblem[] {
    const out: TrainingProblem[] = [];
    const err: Push = (path, message) => out.push({ path, message, severity: "error" });
    const warn: Push = (path, message, kind) => out.push({ path, message, severity: "warning", ...(kind ? { kind } : {}) });
    imageRules(r, err, warn);
    modelRules(r, err, warn);
    placementRules(r, err, warn);
    parallelismRules(r, err, warn);
    engineRules(r, err);
    batchRules(r, err);
    featureRules(r, err, warn);
    knobRules(r, err, warn);
    escapeHatchRules(r, err, warn);
    switchRules(r, err, warn);
    // With `parallelism: auto` and no layout found, the search's reason stands for the estimate (of a layout nobody chose).
    if (!r.auto || r.auto.choice) memoryFitRules(r, err, warn);
    return out;
}

/** Warnings only (for the plan summary). */
export function trainingWarnings(r: ResolvedRun, opts: { except?: ReadonlyArray<WarningKind> } = {}): string[] {
    if (!r.training.enabled) return [];
    return trainingProblems(r)
        .filter((p) => p.severity === "warning" && !(p.kind && opts.except?.includes(p.kind)))
        .map((p) => `${p.path}: ${p.message}`);
}
