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
    source: "miles" | "slime";
    note?: string;
}
