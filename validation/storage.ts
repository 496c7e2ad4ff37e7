/**
 * Cross-field rules of `miles-cluster:storage` (and what it needs from the cluster and training sections).
 */
import type { MilesConfig } from "../config";
import type { StorageLink } from "../config/storage";
import type { Problem } from "../config/problems";
import { linkS3Prefix } from "../domain/storage";
import type { ResolvedStack } from "../domain/stack";
import { formatBytes, fsxCapacityFor, sizeFsxBytes } from "../domain/sizing";

function overlaps(a: string, b: string): boolean {
    return a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

function linkProblems(links: StorageLink[]): Problem[] {
    const problems: Problem[] = [];
    links.forEach((l, i) => {
        for (let j = 0; j < i; j++) {
            if (overlaps(l.path, links[j].path)) {
                problems.push({ path: `storage.links[${i}].path`, message: `"${l.path}" overlaps links[${j}].path "${links[j].path}"; data repository associations cannot share or nest file system paths` });
                continue;
            }
            const p = linkS3Prefix(l);
            const q = linkS3Prefix(links[j]);
            if (overlaps(p, q)) {
                problems.push({ path: `storage.links[${i}].s3Prefix`, message: `bucket prefix "${p}" overlaps links[${j}]'s "${q}"; data repository associations cannot share or nest bucket prefixes` });
            }
        }
    });
    return problems;
}

/** Cross-field rules of `miles-cluster:storage` that the schema alone cannot express. */
export function storageChecks(cfg: MilesConfig): Problem[] {
    const problems: Problem[] = [];
    const s = cfg.storage;
    // `cluster.existing` (bring your own cluster) creates no AWS resource, so only a claim can be used.
    const existingCluster = (cfg.cluster as { existing?: unknown }).existing;
    if (existingCluster !== undefined && existingCluster !== null && existingCluster !== false && s.type !== "existing-claim") {
        problems.push({ path: "storage.type", message: `must be "existing-claim" when cluster.existing is set (a bring-your-own cluster gets no file system from miles-cluster); got "${s.type}"` });
    }
    if (s.type === "existing-claim" && s.claimName === undefined) {
        problems.push({ path: "storage.claimName", message: `is required with type "existing-claim": the name of a ReadWriteMany PersistentVolumeClaim in namespace "${cfg.training.namespace}"` });
    }
    if (s.type !== "existing-claim" && s.claimName !== undefined) {
        problems.push({ path: "storage.claimName", message: `is only used with type "existing-claim"; type "${s.type}" creates its own claim` });
    }
    const ex = s.existingFileSystem;
    if (ex && s.type === "existing-claim") problems.push({ path: "storage.existingFileSystem", message: `is for type fsx-lustre or efs; type "existing-claim" already names its claim` });
    if (ex && s.type === "fsx-lustre") {
        if (!ex.dnsName) problems.push({ path: "storage.existingFileSystem.dnsName", message: `is required for an existing FSx for Lustre file system (its DNSName, from \`aws fsx describe-file-systems --file-system-ids ${ex.id}\`)` });
        if (!ex.mountName) problems.push({ path: "storage.existingFileSystem.mountName", message: `is required for an existing FSx for Lustre file system (LustreConfiguration.MountName)` });
    }
    if (ex && s.type === "efs") {
        for (const k of ["dnsName", "mountName"] as const) if (ex[k] !== undefined) problems.push({ path: `storage.existingFileSystem.${k}`, message: "is only for FSx for Lustre; an EFS file system is mounted by its id" });
    }
    if (s.type === "fsx-lustre" && !ex) {
        if (s.bucket.existing && s.bucket.name === undefined) {
            problems.push({ path: "storage.bucket.name", message: "is required with bucket.existing: true (the bucket to link)" });
        }
        problems.push(...linkProblems(s.links));
    }
    if (s.type === "efs") {
        const e = s.efs;
        if (e.throughputMode === "provisioned" && e.provisionedThroughputMibps === undefined) {
            problems.push({ path: "storage.efs.provisionedThroughputMibps", message: `is required with throughputMode "provisioned"` });
        }
        if (e.throughputMode !== "provisioned" && e.provisionedThroughputMibps !== undefined) {
            problems.push({ path: "storage.efs.provisionedThroughputMibps", message: `is only used with throughputMode "provisioned"; got throughputMode "${e.throughputMode}"` });
        }
        if (e.performanceMode === "maxIO" && e.throughputMode === "elastic") {
            problems.push({ path: "storage.efs.performanceMode", message: `"maxIO" cannot be combined with throughputMode "elastic"; use "generalPurpose" or another throughput mode` });
        }
    }
    return problems;
}

/**
 * A file system too small for what the stack's runs keep at the peak (domain/sizing.ts: the
 * checkpoints miles and Megatron keep + the model copies) is an error by default: a save would fail
 * when it is full, hours into a run. `storage.fitCheck: warn` turns it into the plan's warning (as
 * `training.resources.memoryFitCheck: warn` does for the memory fit). Only a capacity the user set
 * can be too small: the default is sized from the same need.
 */
export function storageFitChecks(stack: ResolvedStack): Problem[] {
    const s = stack.config.storage;
    const { capacityGiB, capacitySource, need } = stack.storage;
    if (capacityGiB === undefined || capacitySource !== "set" || s.fitCheck === "warn" || need.runs.length === 0) return [];
    const z = sizeFsxBytes(need, capacityGiB, s.throughputPerTiB);
    if (z.fits) return [];
    const kept = need.runs.map((r) => `${r.run}: ${r.retained} × ${formatBytes(r.checkpointBytes)} (${r.retainedBasis})`).join("; ");
    const fix = fsxCapacityFor(need.requiredBytes);
    return [
        {
            path: "storage.capacityGiB",
            message:
                `${capacityGiB} GiB cannot hold what the runs keep: ${formatBytes(need.requiredBytes)} = checkpoints [${kept}] + model copies ${formatBytes(need.modelCopyBytes)}; a save fails when the file system is full. ` +
                `Set it to ${fix} (or remove it: the default is sized from the runs), keep fewer checkpoints (training.checkpoints.retainInterval), or set storage.fitCheck: warn to plan anyway`,
        },
    ];
}
