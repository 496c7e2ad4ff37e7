/**
 * The one place that defines where things live on the shared (checkpoint) volume, inside every pod
 * that mounts it, and which file-system prefixes are linked to S3. Storage (PV, data repository
 * associations), the download/convert Jobs and the miles flags all read it from here.
 */
export const SHARED_MOUNT_PATH = "/shared";

/** Top-level directories of the shared file system, relative to its root. */
export const SHARED_DIRS = {
    /** Hugging Face checkpoints, torch_dist conversions, FP8/INT4 rollout variants. Imported from S3. */
    models: "models",
    /** Prompt data (JSONL/parquet). Imported from S3. */
    data: "data",
    /** `--save`/`--load` directories of training runs. Exported to S3 on every change. */
    checkpoints: "checkpoints",
    /**
     * Control files of the run lifecycle (the save sentinel). Never linked to S3, so creating and
     * removing a sentinel is not exported.
     */
    control: "control",
} as const;

export type SharedDir = keyof typeof SHARED_DIRS;

/** Absolute path inside a pod of a directory (and optional sub-path) of the shared volume. */
export function sharedPath(dir: SharedDir, ...rest: string[]): string {
    return [SHARED_MOUNT_PATH, SHARED_DIRS[dir], ...rest.map((r) => r.replace(/^\/+|\/+$/g, ""))].filter((s) => s !== "").join("/");
}
