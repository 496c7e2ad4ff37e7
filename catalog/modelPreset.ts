/** The shape of one model preset (a row of shared/miles/models.tsv); catalog/models.ts holds the table. */
export interface ModelPreset {
    preset: string;
    family: string;
    hfRepo?: string;
    /** Total parameters in billions (undefined for pruned test slices). */
    totalParamsB?: number;
    activeParamsB?: number;
    numLayers: number;
    hiddenSize: number;
    /** 0 for dense models. */
    numExperts: number;
    moeRouterTopk: number;
    usesMla: boolean;
    /** The preset's own `--mtp-num-layers` (0 when it sets none). */
    mtpLayers: number;
    /** MTP heads in the released checkpoint, where known. */
    ckptMtpLayers?: number;
    /** The Megatron architecture flags the preset emits, one string. */
    megatronArgs: string;
    /** miles, slime (shared/miles/models.tsv), or this package's catalog/models.ext.tsv. */
    source: "miles" | "slime" | "extension";
    note?: string;
    /** Dtype of the published Hugging Face checkpoint, where a source states it (catalog/models.ext.tsv). */
    ckptDtype?: "bf16" | "fp8" | "int4" | "mxfp4";
    /** The Hugging Face repo is gated (a token of an account that accepted the license is needed). */
    gated?: boolean;
    /** How the checkpoint converts between HF and Megatron (miles' raw converter or a bridge). */
    conversion?: string;
    /** Why `plan` refuses the preset and what would make it work. */
    refused?: string;
    /** Where the extension facts come from. */
    factsSource?: string;
}
