import type { MilesConfig } from "../../config";
import { linkS3Prefix } from "../../domain/storage";
import { SHARED_MOUNT_PATH, SHARED_DIRS } from "../../catalog/sharedPaths";
import { EFS_PRICE_PER_GIB_MONTH, EFS_PRICE_SOURCE, FSX_PRICE_PER_GIB_MONTH, FSX_PRICE_SOURCE, HOURS_PER_MONTH } from "../../catalog/prices";
import { GIB, MAX_WRITE_SECONDS, STORAGE_HEADROOM, combinedStorageNeed, formatBytes, formatSeconds, runStorageNeeds as needsOfRuns, sizeFsx, sizeFsxBytes, storageNeedBytes, storageNeedOf, suggestFsx, type CombinedStorageNeed, type RunStorageNeed, type StorageNeed } from "../../domain/sizing";
import type { ResolvedStack } from "../../domain/stack";
import { SHARED_CLAIM_NAME } from "../../components/checkpointStorage";
import { bucketPrefixFor } from "../../domain/storage";
import type { CostItem, SectionProducer, SectionResult } from "../types";

type Lines = Array<[string, string]>;

const events = (e: string[]) => (e.length > 0 ? e.join(",") : "none");

/** Lines for the bucket and the linked prefixes (FSx only). */
function fsxLinkLines(cfg: MilesConfig, lines: Lines, warnings: string[]): Record<string, unknown> {
    const s = cfg.storage;
    const b = s.bucket;
    const bucketLabel = b.name ?? `${bucketPrefixFor(cfg.stack)}<random>`;
    lines.push([
        "bucket",
        b.existing
            ? `existing s3://${b.name} (not changed or deleted by miles-cluster; its versioning/encryption are yours to set)`
            : `new s3://${bucketLabel}: versioned (old versions kept ${s.noncurrentVersionDays} days), ${s.kmsKeyArn ? "SSE-KMS (your key)" : "SSE-S3"}, public access blocked; KEPT when the stack is destroyed`,
    ]);
    for (const l of s.links) {
        lines.push([`link ${l.path}`, `s3://${bucketLabel}/${linkS3Prefix(l)}/ — import ${events(l.import)}; export ${events(l.export)}`]);
    }
    const ckptPath = `/${SHARED_DIRS.checkpoints}`;
    const exportsCheckpoints = s.links.some((l) => (ckptPath === l.path || ckptPath.startsWith(`${l.path}/`)) && l.export.includes("NEW") && l.export.includes("CHANGED"));
    if (!exportsCheckpoints) {
        warnings.push(`storage: no link exports ${ckptPath} to S3 on NEW and CHANGED; checkpoints live only on the FSx file system (which cannot be backed up while linked to S3) and are lost with it`);
    }
    return { name: b.name, existing: b.existing, retainedOnDestroy: !b.existing, links: s.links.map((l) => ({ ...l, s3Prefix: linkS3Prefix(l) })) };
}

function needLines(need: StorageNeed, model: string, basis: string, notes: string[], lines: Lines): void {
    const n = storageNeedBytes(need);
    const bpp = n.bytesPerParam === 14 ? "BF16 weights 2 + FP32 main params 4 + FP32 Adam moments 4 + 4" : "FP32 weights 4 + FP32 Adam moments 4 + 4";
    lines.push(["checkpoint size", `${formatBytes(n.checkpointBytes)} per full checkpoint: ${model} ${need.paramsB}B params × ${n.bytesPerParam} bytes/param (${bpp}; Megatron distributed optimizer)`]);
    const parts = [`${need.retained} checkpoints (${basis})`];
    if (n.referenceBytes > 0) parts.push(`torch_dist reference ${formatBytes(n.referenceBytes)}`);
    parts.push(`HF checkpoint${need.hfBytesPerParam && need.hfBytesPerParam !== 2 ? "s" : ""} ${formatBytes(n.hfBytes)}`);
    lines.push(["space needed", `${formatBytes(n.requiredBytes)} = ${parts.join(" + ")}`]);
    for (const note of notes) lines.push(["sizing note", note]);
}

/** The storage section with the capacity the stack resolved (set, or sized from its runs). */
type SizedStorage = { storage: MilesConfig["storage"] & { capacityGiB: number } };

function fsxSizing(cfg: SizedStorage, need: StorageNeed, lines: Lines, warnings: string[]): Record<string, unknown> {
    const s = cfg.storage;
    const z = sizeFsx(need, s.capacityGiB, s.throughputPerTiB);
    lines.push([
        "fits",
        z.fits
            ? `yes: ${formatBytes(z.requiredBytes)} of ${formatBytes(s.capacityGiB * GIB)} (room for ${z.checkpointsThatFit} checkpoints beside the model copies; LZ4 savings not counted)`
            : `NO: ${formatBytes(z.requiredBytes)} needed, ${formatBytes(s.capacityGiB * GIB)} provisioned (room for ${z.checkpointsThatFit} checkpoints)`,
    ]);
    lines.push(["checkpoint write", `${formatSeconds(z.writeSeconds)} at ${Math.round(z.throughputMBps)} MB/s (${s.capacityGiB} GiB = ${(s.capacityGiB / 1024).toFixed(2)} TiB × ${s.throughputPerTiB} MB/s/TiB; target ≤ ${MAX_WRITE_SECONDS / 60} min)`]);
    const sug = suggestFsx(need);
    const sugText = sug
        ? `capacityGiB: ${sug.capacityGiB}, throughputPerTiB: ${sug.throughputPerTiB} (~$${Math.round(sug.usdPerMonth).toLocaleString("en-US")}/month, writes a checkpoint in ${formatSeconds(sug.writeSeconds)})`
        : "none up to 2.4 PB; reduce retained checkpoints or use several file systems";
    const current = sug && sug.capacityGiB === s.capacityGiB && sug.throughputPerTiB === s.throughputPerTiB;
    lines.push(["suggestion", current ? `current settings are the cheapest that hold the data and write a checkpoint within ${MAX_WRITE_SECONDS / 60} min` : `cheapest that holds the data and writes within ${MAX_WRITE_SECONDS / 60} min: ${sugText}`]);
    if (!z.writeWithinLimit) {
        warnings.push(`storage: one full checkpoint (${formatBytes(z.checkpointBytes)}) takes ${formatSeconds(z.writeSeconds)} to write at ${Math.round(z.throughputMBps)} MB/s, over ${MAX_WRITE_SECONDS / 60} min (training stalls while it saves); suggested ${sugText}`);
    }
    if (!z.fits) {
        // With storage.fitCheck: error (the default) validation stopped the stack already (validation/storage.ts).
        warnings.push(`storage: ${formatBytes(z.requiredBytes)} needed (${need.retained} checkpoints + model copies) but ${s.capacityGiB} GiB provisioned: a save will fail when the file system is full (storage.fitCheck: warn); suggested ${sugText}, or set training.checkpoints.retainInterval`);
    }
    return { ...z, suggestion: sug };
}

function fsxLines(cfg: MilesConfig & SizedStorage, lines: Lines, cost: CostItem[]): void {
    const s = cfg.storage;
    lines.push([
        "storage",
        `FSx for Lustre PERSISTENT_2, ${s.capacityGiB} GiB, ${s.throughputPerTiB} MB/s/TiB = ${Math.round((s.capacityGiB / 1024) * s.throughputPerTiB)} MB/s, Lustre 2.15, LZ4, KMS ${s.kmsKeyArn ?? "aws/fsx (AWS-managed)"}, GPU-AZ subnet; TCP 988, 1018-1023 from the nodes`,
    ]);
    cost.push({ item: `FSx for Lustre ${s.capacityGiB} GiB at ${s.throughputPerTiB} MB/s/TiB`, usdPerHour: (s.capacityGiB * FSX_PRICE_PER_GIB_MONTH[s.throughputPerTiB]) / HOURS_PER_MONTH, source: FSX_PRICE_SOURCE });
}

/** Storage: what is created, the S3 links, the claim, checkpoint sizing, warnings and the hourly cost. */
export const storageSection: SectionProducer = (stack) => {
    const capacityGiB = stack.storage.capacityGiB;
    const cfg = { ...stack.config, storage: { ...stack.config.storage, capacityGiB: capacityGiB ?? 0 } };
    const s = cfg.storage;
    const lines: Lines = [];
    const warnings: string[] = [];
    const cost: CostItem[] = [];
    const data: Record<string, unknown> = { type: s.type };
    const ex = s.existingFileSystem;
    if (ex && s.type !== "existing-claim") {
        lines.push([
            "storage",
            s.type === "fsx-lustre"
                ? `existing FSx for Lustre ${ex.id} (${ex.dnsName}@tcp:/${ex.mountName}): only a static volume points at it; miles-cluster never modifies or deletes it. Its security group must admit TCP 988 and 1018-1023 from the nodes; its S3 links (and the export the lifecycle waits for) are yours`
                : `existing Amazon EFS ${ex.id}, mounted at its root by id (EFS CSI add-on); miles-cluster never modifies or deletes it. It needs a mount target in ${cfg.cluster.availabilityZone ?? "the GPU zone"} that admits NFS 2049 from the nodes`,
        ]);
        data.existingFileSystem = ex;
    } else if (s.type === "fsx-lustre") {
        fsxLines(cfg, lines, cost);
        lines.push(["capacity", capacityLine(stack.storage.capacitySource, capacityGiB ?? 0, stack.storage.need.requiredBytes)]);
        data.capacitySource = stack.storage.capacitySource;
        Object.assign(data, { capacityGiB: s.capacityGiB, throughputPerTiB: s.throughputPerTiB, throughputMBps: (s.capacityGiB / 1024) * s.throughputPerTiB });
        data.bucket = fsxLinkLines(cfg, lines, warnings);
        data.protect = s.protect;
        lines.push([
            "deletion",
            s.protect
                ? "file system PROTECTED (Pulumi protect): a replacing `pulumi up` or `pulumi destroy` fails until storage.protect is false; no final backup (FSx cannot back up an S3-linked file system): flush the export queue first (docs/storage.md)"
                : "file system NOT protected (storage.protect: false): a replacing `pulumi up` or `pulumi destroy` deletes it, and whatever is not exported to S3 yet is lost; no final backup is possible",
        ]);
        if (!s.protect) warnings.push("storage.protect is false: the FSx file system can be deleted by `pulumi destroy` or a replacement, with checkpoints not yet exported to S3 (flush first: docs/storage.md)");
    } else if (s.type === "efs") {
        const e = s.efs;
        lines.push(["storage", `Amazon EFS (encrypted, ${e.performanceMode}, ${e.throughputMode}${e.provisionedThroughputMibps ? ` ${e.provisionedThroughputMibps} MiB/s` : ""}), mount target in the GPU-AZ subnet, NFS 2049 from the nodes, EFS CSI add-on; KEPT when the stack is destroyed`]);
        Object.assign(data, { efs: e });
    } else {
        lines.push(["storage", `existing claim ${s.claimName} in namespace ${cfg.training.namespace} (nothing created)`]);
    }
    const claim = s.type === "existing-claim" ? s.claimName : SHARED_CLAIM_NAME;
    lines.push(["claim", `PVC ${claim} (ReadWriteMany${s.type === "existing-claim" ? "" : `, static PV ${cfg.training.namespace}-shared, reclaim Retain`}) mounted at ${SHARED_MOUNT_PATH} in namespace ${cfg.training.namespace}`]);
    data.claimName = claim;

    if (cfg.training.runs !== undefined) {
        data.sizing = runsSizing({ storage: { ...cfg.storage, capacityGiB } }, runStorageNeeds(stack), lines, warnings, cost, "every run of training.runs");
        return { data, lines, warnings, cost };
    }
    const single = stack.all[0]?.run;
    const t = single ? storageNeedOf(single) : undefined;
    if (t?.need) {
        needLines(t.need, t.model, t.retainedBasis, t.notes, lines);
        if (s.type === "fsx-lustre" && capacityGiB !== undefined) data.sizing = fsxSizing(cfg, t.need, lines, warnings);
        else data.sizing = storageNeedBytes(t.need);
        if (s.type === "efs") {
            const gib = storageNeedBytes(t.need).requiredBytes / GIB;
            cost.push({ item: `EFS storage for ~${Math.round(gib)} GiB (the space needed above)`, usdPerHour: (gib * EFS_PRICE_PER_GIB_MONTH) / HOURS_PER_MONTH, source: EFS_PRICE_SOURCE });
        }
    } else if (t) {
        for (const note of t.notes) lines.push(["sizing", note]);
    }
    const result: SectionResult = { data, lines, warnings, cost };
    return result;
};

/**
 * What each run of the stack keeps on the shared volume — disabled runs too: their checkpoints stay
 * until deleted. Runs reading the same HF, reference and rollout directories share those copies.
 */
export function runStorageNeeds(stack: ResolvedStack): RunStorageNeed[] {
    return needsOfRuns(stack.all);
}

/** Where the FSx capacity comes from, for the plan. */
function capacityLine(source: "set" | "sized" | undefined, capacityGiB: number, requiredBytes: number): string {
    if (source === "sized") {
        return `${capacityGiB} GiB, sized from the runs (storage.capacityGiB unset): ${formatBytes(requiredBytes)} they keep + ${Math.round(STORAGE_HEADROOM * 100)}% headroom, rounded up to a valid FSx size (1200, 2400, then multiples of 2400)`;
    }
    return `${capacityGiB} GiB (storage.capacityGiB)`;
}

/** Lines of the combined need of several runs and, on FSx, whether the file system holds it and writes a checkpoint in time. */
export function runsSizing(cfg: { storage: MilesConfig["storage"] }, needs: RunStorageNeed[], lines: Lines, warnings: string[], cost: CostItem[], which: string): Record<string, unknown> {
    const s = cfg.storage;
    const c: CombinedStorageNeed = combinedStorageNeed(needs);
    for (const r of c.runs) lines.push([`checkpoints · ${r.run}`, `${r.retained} × ${formatBytes(r.checkpointBytes)} = ${formatBytes(r.retainedBytes)} (${r.model}; ${r.retainedBasis})`]);
    for (const n of needs) for (const note of n.notes) lines.push([`sizing note · ${n.run}`, note]);
    const copies = c.copies.map((x) => `${formatBytes(x.bytes)} read by ${x.runs.join(", ")}`).join("; ");
    lines.push(["model copies", `${formatBytes(c.modelCopyBytes)} (torch_dist reference + HF checkpoints, stored once per distinct model: ${copies || "none"})`]);
    lines.push(["space needed", `${formatBytes(c.requiredBytes)} = checkpoints of ${which} (${c.runs.length} run${c.runs.length === 1 ? "" : "s"}, ${formatBytes(c.retainedBytes)}) + model copies (${formatBytes(c.modelCopyBytes)})`]);
    if (c.unsized.length > 0) warnings.push(`storage: ${c.unsized.join(", ")}: parameter count unknown, not counted in the space needed (set training.model.custom.totalParamsB)`);
    const data: Record<string, unknown> = { ...c };
    if (s.type === "efs") {
        const gib = c.requiredBytes / GIB;
        cost.push({ item: `EFS storage for ~${Math.round(gib)} GiB (the space needed above)`, usdPerHour: (gib * EFS_PRICE_PER_GIB_MONTH) / HOURS_PER_MONTH, source: EFS_PRICE_SOURCE });
    }
    if (s.type !== "fsx-lustre" || s.existingFileSystem || s.capacityGiB === undefined) return data;
    const z = sizeFsxBytes(c, s.capacityGiB, s.throughputPerTiB);
    lines.push([
        "fits",
        z.fits
            ? `yes: ${formatBytes(z.requiredBytes)} of ${formatBytes(s.capacityGiB * GIB)} (LZ4 savings not counted)`
            : `NO: ${formatBytes(z.requiredBytes)} needed, ${formatBytes(s.capacityGiB * GIB)} provisioned`,
    ]);
    lines.push([
        "checkpoint write",
        `${formatSeconds(z.writeSeconds)} for the largest checkpoint (${formatBytes(c.checkpointBytes)}) at ${Math.round(z.throughputMBps)} MB/s (target ≤ ${MAX_WRITE_SECONDS / 60} min); runs saving at the same time share the throughput`,
    ]);
    const sug = suggestFsx(c);
    const sugText = sug
        ? `capacityGiB: ${sug.capacityGiB}, throughputPerTiB: ${sug.throughputPerTiB} (~$${Math.round(sug.usdPerMonth).toLocaleString("en-US")}/month, writes the largest checkpoint in ${formatSeconds(sug.writeSeconds)})`
        : "none up to 2.4 PB; reduce retained checkpoints or use several file systems";
    const current = sug && sug.capacityGiB === s.capacityGiB && sug.throughputPerTiB === s.throughputPerTiB;
    lines.push(["suggestion", current ? `current settings are the cheapest that hold every run's data and write a checkpoint within ${MAX_WRITE_SECONDS / 60} min` : `cheapest that holds every run's data and writes within ${MAX_WRITE_SECONDS / 60} min: ${sugText}`]);
    if (!z.writeWithinLimit) warnings.push(`storage: the largest checkpoint (${formatBytes(c.checkpointBytes)}) takes ${formatSeconds(z.writeSeconds)} to write at ${Math.round(z.throughputMBps)} MB/s, over ${MAX_WRITE_SECONDS / 60} min; suggested ${sugText}`);
    if (!z.fits) warnings.push(`storage: ${formatBytes(z.requiredBytes)} needed by ${which} (their peak checkpoints + model copies) but ${s.capacityGiB} GiB provisioned: a save will fail when the file system is full; suggested ${sugText}, or set checkpoints.retainInterval on the runs`);
    return { ...data, fsx: { ...z, suggestion: sug } };
}
