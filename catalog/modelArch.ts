/**
 * Architecture facts read from a model's Megatron architecture argv (the `megatron_args` column of
 * shared/miles/models.tsv, or `training.model.custom.args`), and the parameter counts they imply.
 *
 * Defaults are Megatron's own (radixark/Megatron-LM @ 37f91617, the commit miles v0.1.0 pins):
 * - `--num-query-groups` counts only with `--group-query-attention`; otherwise every head is its own
 *   group (megatron/training/arguments.py `core_transformer_config_from_args`: `num_query_groups = None`
 *   unless `group_query_attention`; TransformerConfig then sets it to `num_attention_heads`).
 * - `--kv-channels` defaults to hidden ÷ heads and `--ffn-hidden-size` to 4 × hidden
 *   (megatron/core/transformer/transformer_config.py `__post_init__`).
 * - `--moe-ffn-hidden-size` defaults to `--ffn-hidden-size`; `--moe-layer-freq` defaults to 1 (every layer MoE).
 * - embeddings are tied unless `--untie-embeddings-and-output-weights`.
 *
 * Parameter counting covers the standard decoder (attention or MLA + dense MLP or MoE). Models with
 * their own layer modules (`--spec …`: hybrid Mamba, gated/linear attention, DSA indexers) are flagged
 * `standardLayers: false`; their counts are then only approximate and callers use the published total.
 */

export interface MlaFacts {
    qLoraRank?: number;
    kvLoraRank: number;
    qkHeadDim: number;
    qkPosEmbHeadDim: number;
    vHeadDim: number;
}

export interface ArchFacts {
    numLayers: number;
    hiddenSize: number;
    ffnHiddenSize: number;
    numAttentionHeads: number;
    /** Key/value head groups (= heads without `--group-query-attention`). */
    numQueryGroups: number;
    kvChannels: number;
    vocabSize?: number;
    untiedEmbeddings: boolean;
    swiglu: boolean;
    /** 0 for dense models. */
    numExperts: number;
    moeRouterTopk: number;
    moeFfnHiddenSize: number;
    moeSharedExpertSize: number;
    /** Per decoder layer: true where the layer is MoE. */
    moeLayers: boolean[];
    mla?: MlaFacts;
    /** `--spec` given: the layer modules are the model's own; counts below are approximate. */
    customSpec?: string;
    /** Every layer is a standard attention/MLA + MLP/MoE layer (no `--spec`). */
    standardLayers: boolean;
}

/** The value following `flag` in an argv, as a number. */
export function argNumber(argv: ReadonlyArray<string>, flag: string): number | undefined {
    const i = argv.indexOf(flag);
    if (i < 0 || i + 1 >= argv.length) return undefined;
    const n = Number(argv[i + 1]);
    return Number.isFinite(n) ? n : undefined;
}

function argString(argv: ReadonlyArray<string>, flag: string): string | undefined {
    const i = argv.indexOf(flag);
    return i >= 0 && i + 1 < argv.length ? argv[i + 1] : undefined;
}

/**
 * `--moe-layer-freq`: an int k (every k-th layer is MoE, layer i is MoE when i % k == 0) or an
 * explicit `[0,1,…]` list (megatron/training/arguments.py `moe_freq_type`; shared/miles/models.tsv
 * renders it as the list).
 */
export function moeLayerPattern(value: string | undefined, numLayers: number, numExperts: number): boolean[] {
    if (numExperts <= 0) return Array.from({ length: numLayers }, () => false);
    if (value === undefined) return Array.from({ length: numLayers }, () => true);
    const t = value.replace(/\s+/g, "");
    if (t.startsWith("[")) {
        // An explicit list, or the Python expression form some presets use: `[0]*3+[1]*89`.
        const list: boolean[] = [];
        for (const term of t.split("+")) {
            const m = /^\[([0-9,]*)\](?:\*(\d+))?$/.exec(term);
            if (!m) return Array.from({ length: numLayers }, () => true);
            const items = m[1].split(",").filter((x) => x !== "").map((x) => Number(x) === 1);
            for (let r = 0; r < Number(m[2] ?? 1); r++) list.push(...items);
        }
        return Array.from({ length: numLayers }, (_, i) => list[i] ?? false);
    }
    const k = Number(t);
    return Array.from({ length: numLayers }, (_, i) => (Number.isFinite(k) && k > 0 ? i % k === 0 : true));
}

export function architectureFacts(argv: ReadonlyArray<string>): ArchFacts {
    const numLayers = argNumber(argv, "--num-layers") ?? 0;
    const hiddenSize = argNumber(argv, "--hidden-size") ?? 0;
    const numAttentionHeads = argNumber(argv, "--num-attention-heads") ?? 0;
    const gqa = argv.includes("--group-query-attention");
    const numQueryGroups = gqa ? (argNumber(argv, "--num-query-groups") ?? 1) : numAttentionHeads;
    const ffnHiddenSize = argNumber(argv, "--ffn-hidden-size") ?? 4 * hiddenSize;
    const numExperts = argNumber(argv, "--num-experts") ?? 0;
    const mla = argv.includes("--multi-latent-attention")
        ? {
              qLoraRank: argNumber(argv, "--q-lora-rank"),
              kvLoraRank: argNumber(argv, "--kv-lora-rank") ?? 512,
              qkHeadDim: argNumber(argv, "--qk-head-dim") ?? 128,
              qkPosEmbHeadDim: argNumber(argv, "--qk-pos-emb-head-dim") ?? 64,
              vHeadDim: argNumber(argv, "--v-head-dim") ?? 128,
          }
        : undefined;
    const spec = argString(argv, "--spec");
    return {
        numLayers,
        hiddenSize,
        ffnHiddenSize,
        numAttentionHeads,
        numQueryGroups,
        kvChannels: argNumber(argv, "--kv-channels") ?? (numAttentionHeads > 0 ? hiddenSize / numAttentionHeads : 0),
        vocabSize: argNumber(argv, "--vocab-size"),
        untiedEmbeddings: argv.includes("--untie-embeddings-and-output-weights"),
        swiglu: argv.includes("--swiglu"),
        numExperts,
        moeRouterTopk: argNumber(argv, "--moe-router-topk") ?? (numExperts > 0 ? 2 : 0),
        moeFfnHiddenSize: argNumber(argv, "--moe-ffn-hidden-size") ?? ffnHiddenSize,
        moeSharedExpertSize: argNumber(argv, "--moe-shared-expert-intermediate-size") ?? 0,
        moeLayers: moeLayerPattern(argString(argv, "--moe-layer-freq"), numLayers, numExperts),
        mla,
        customSpec: spec,
        standardLayers: spec === undefined,
    };
}

/** Parameters of one layer's attention block (projections; norms are negligible and left out). */
export function attentionParams(a: ArchFacts): number {
    const h = a.hiddenSize;
    if (a.mla) {
        const m = a.mla;
        const qk = m.qkHeadDim + m.qkPosEmbHeadDim;
        const q = m.qLoraRank ? h * m.qLoraRank + m.qLoraRank * a.numAttentionHeads * qk : h * a.numAttentionHeads * qk;
        const kv = h * (m.kvLoraRank + m.qkPosEmbHeadDim) + m.kvLoraRank * a.numAttentionHeads * (m.qkHeadDim + m.vHeadDim);
        return q + kv + a.numAttentionHeads * m.vHeadDim * h;
    }
    const qDim = a.numAttentionHeads * a.kvChannels;
    const kvDim = a.numQueryGroups * a.kvChannels;
    return h * (qDim + 2 * kvDim) + qDim * h;
}

/** Parameters of one FFN of width `ffn` (SwiGLU: gate + up + down). */
export function mlpParams(a: ArchFacts, ffn: number): number {
    return (a.swiglu ? 3 : 2) * a.hiddenSize * ffn;
}

/** Dense (non-expert) and routed-expert parameters of decoder layer `i`. */
export function layerParams(a: ArchFacts, i: number): { dense: number; expert: number } {
    const attn = attentionParams(a);
    if (!a.moeLayers[i]) return { dense: attn + mlpParams(a, a.ffnHiddenSize), expert: 0 };
    const shared = a.moeSharedExpertSize > 0 ? mlpParams(a, a.moeSharedExpertSize) : 0;
    const router = a.hiddenSize * a.numExperts;
    return { dense: attn + shared + router, expert: a.numExperts * mlpParams(a, a.moeFfnHiddenSize) };
}

/** Input embedding (and the output layer when untied) parameters. */
export function embeddingParams(a: ArchFacts): { input: number; output: number } {
    const e = (a.vocabSize ?? 0) * a.hiddenSize;
    return { input: e, output: a.untiedEmbeddings ? e : 0 };
}

export interface ParamCounts {
    total: number;
    /** Routed-expert parameters (the part EP shards). */
    expert: number;
    /** Everything else: attention, dense MLPs, shared experts, routers, embeddings. */
    dense: number;
    /** Parameters each token uses (top-k experts only). */
    active: number;
}

/** Parameter counts of the decoder (MTP heads not included, as model cards count them separately). */
export function paramCounts(a: ArchFacts): ParamCounts {
    let dense = 0;
    let expert = 0;
    for (let i = 0; i < a.numLayers; i++) {
        const l = layerParams(a, i);
        dense += l.dense;
        expert += l.expert;
    }
    const emb = embeddingParams(a);
    dense += emb.input + emb.output;
    const activeExpert = a.numExperts > 0 ? (expert * a.moeRouterTopk) / a.numExperts : 0;
    return { total: dense + expert, expert, dense, active: dense + activeExpert };
}
