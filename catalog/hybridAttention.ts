/**
 * Hybrid linear-attention models: which decoder layers cache KV (full softmax attention) and how big
 * the recurrent state of the others (Gated DeltaNet) is. The Megatron argv of these presets
 * (`--spec miles_plugins.models.qwen3_5 …` / `qwen3_next`) does not say it: the layer pattern and the
 * GDN geometry come from each model's Hugging Face `config.json` (`full_attention_interval`,
 * `linear_num_key_heads`, `linear_num_value_heads`, `linear_key_head_dim`, `linear_value_head_dim`,
 * `linear_conv_kernel_dim`; every `(interval)`-th layer is full attention, the others GDN).
 *
 * Sources (config.json at https://huggingface.co/<hfRepo>/blob/main/config.json, as quoted in the
 * places named per family):
 * - Qwen3.5/3.6/3.8-27B: interval 4, 16 K heads, 48 V heads, 128/128, conv 4 — radixark/miles v0.1.0
 *   docs/models/qwen/qwen3-8.md §1 ("`full_attention_interval 4`", same config.json as Qwen3.5-27B) and
 *   §5.3 ("48 v-heads × 128 × 128 × FP32 × 48 layers").
 * - Qwen3.5-4B/9B, Qwen3.5/3.6-35B-A3B, Qwen3-Next-80B-A3B: interval 4, 16 K heads, 32 V heads,
 *   128/128, conv 4 (Qwen/Qwen3.5-9B, Qwen/Qwen3.6-35B-A3B, Qwen/Qwen3-Next-80B-A3B config.json;
 *   radixark/miles v0.1.0 scripts/run_qwen3_5_35b_a3b_lora.py docstring: "within every
 *   full_attention_interval (=4) decoder layers the last one is full softmax attention and the
 *   preceding three are GDN").
 */

export interface HybridAttention {
    /** Every n-th decoder layer is full attention (layer i is full when (i + 1) % n == 0). */
    fullAttentionInterval: number;
    linearKeyHeads: number;
    linearValueHeads: number;
    linearKeyHeadDim: number;
    linearValueHeadDim: number;
    convKernel: number;
}

const QWEN35_27B: HybridAttention = { fullAttentionInterval: 4, linearKeyHeads: 16, linearValueHeads: 48, linearKeyHeadDim: 128, linearValueHeadDim: 128, convKernel: 4 };
const QWEN35_32V: HybridAttention = { fullAttentionInterval: 4, linearKeyHeads: 16, linearValueHeads: 32, linearKeyHeadDim: 128, linearValueHeadDim: 128, convKernel: 4 };

/** By preset name prefix (the `_lora` and size variants share their base model's config.json). */
const BY_PRESET: Array<[RegExp, HybridAttention]> = [
    [/^qwen3\.[568]-27B/, QWEN35_27B],
    [/^qwen3\.[56]-(4B|9B|35B-A3B)/, QWEN35_32V],
    [/^qwen3-next-80B-A3B/, QWEN35_32V],
];

export function hybridAttentionOf(preset: string | undefined): HybridAttention | undefined {
    if (!preset) return undefined;
    return BY_PRESET.find(([re]) => re.test(preset))?.[1];
}

/** Full-attention (KV-caching) layers out of `numLayers`. */
export function fullAttentionLayers(h: HybridAttention, numLayers: number): number {
    return Math.floor(numLayers / h.fullAttentionInterval);
}

/**
 * Bytes of one sequence's recurrent state in one GDN layer on one GPU of an engine of `tp` GPUs, as
 * SGLang sizes its mamba pool: the temporal state V-heads × K-dim × V-dim in `--mamba-ssm-dtype`
 * (FP32 by default, 4 B) and the conv state (2 × K-heads × K-dim + V-heads × V-dim) × (kernel − 1)
 * in the model dtype (BF16, 2 B), heads split over TP (sgl-project/sglang
 * python/sglang/srt/configs/mamba_utils.py `Mamba2StateShape` / `mamba2_cache_params`, as used by
 * python/sglang/srt/model_executor/model_runner_kv_cache_mixin.py `handle_max_mamba_cache`).
 */
export function linearStateBytesPerLayer(h: HybridAttention, tp: number, ssmBytes = 4, convBytes = 2): number {
    const vHeads = h.linearValueHeads / tp;
    const kHeads = h.linearKeyHeads / tp;
    const temporal = vHeads * h.linearKeyHeadDim * h.linearValueHeadDim * ssmBytes;
    const conv = (2 * kHeads * h.linearKeyHeadDim + vHeads * h.linearValueHeadDim) * (h.convKernel - 1) * convBytes;
    return temporal + conv;
}
