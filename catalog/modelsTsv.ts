import type { ModelPreset } from "./models";

const num = (s: string): number | undefined => (s === "" ? undefined : Number(s));

/** Parses shared/miles/models.tsv (tab-separated, header on the first line). */
export function parseModelsTsv(text: string): ModelPreset[] {
    const [header, ...rows] = text.split("\n").filter((l) => l.trim() !== "");
    const cols = header.split("\t");
    const at = (cells: string[], name: string) => cells[cols.indexOf(name)] ?? "";
    return rows.map((line) => {
        const c = line.split("\t");
        return {
            preset: at(c, "preset"),
            family: at(c, "family"),
            hfRepo: at(c, "hf_repo") || undefined,
            totalParamsB: num(at(c, "total_params_b")),
            activeParamsB: num(at(c, "active_params_b")),
            numLayers: Number(at(c, "num_layers")),
            hiddenSize: Number(at(c, "hidden_size")),
            numExperts: Number(at(c, "num_experts")),
            moeRouterTopk: Number(at(c, "moe_router_topk")),
            usesMla: at(c, "uses_mla") === "yes",
            mtpLayers: Number(at(c, "mtp_layers")),
            ckptMtpLayers: num(at(c, "ckpt_mtp_layers")),
            megatronArgs: at(c, "megatron_args"),
            source: at(c, "source") as "miles" | "slime",
            note: at(c, "note") || undefined,
        };
    });
}
