/**
 * Checkpoint storage sizing: pure arithmetic from a model's parameter count, the training precision
 * and the FSx for Lustre capacity/throughput. Shown by `plan` (plan/sections/storage.ts).
 *
 * Units: GiB = 2^30 bytes (FSx capacity is provisioned in GiB), TiB = 1024 GiB, and FSx throughput
 * "MB/s per TiB" uses MB = 10^6 bytes (decimal, as AWS states storage throughput).
 */
import { FSX_CAPACITY_STEP_GIB, FSX_MIN_CAPACITY_GIB, FSX_THROUGHPUTS_PER_TIB } from "../catalog/fsx";
import type { ResolvedTraining } from "./training/resolve";
import type { StorageConfig } from "../config";
import { FSX_PRICE_PER_GIB_MONTH } from "../catalog/prices";

export const GIB = 2 ** 30;
export const MB = 1e6;

/** A full checkpoint should be written within this many seconds (checkpoint stalls cost GPU time). */
export const MAX_WRITE_SECONDS = 300;

/** Retained training checkpoints assumed when the training config sets no retention. */
export const DEFAULT_RETAINED_CHECKPOINTS = 2;

export type TrainingPrecision = "bf16" | "fp8" | "fp32";

/**
 * Bytes per parameter of one full Megatron checkpoint (`--save`): model weights plus the distributed
 * Adam optimizer state, which is what a resume needs.
 * - bf16 and fp8 training (mixed precision; FP8 training keeps BF16 weights and saves them in BF16):
 *   BF16 weights 2 + FP32 main params 4 + FP32 exp_avg 4 + FP32 exp_avg_sq 4 = 14 bytes/param.
 * - fp32 training (no separate main copy): FP32 weights 4 + 2 FP32 moments 8 = 12 bytes/param.
 * Gradients, activations and RNG state are not saved (RNG state is a few KB per rank).
 */
export function checkpointBytesPerParam(precision: TrainingPrecision): number {
    return precision === "fp32" ? 12 : 14;
}

/** The torch_dist reference (`--ref-load`): weights only, BF16 = 2 bytes/param. */
export const REFERENCE_BYTES_PER_PARAM = 2;
/**
 * The Hugging Face checkpoint (`--hf-checkpoint`): BF16 safetensors = 2 bytes/param. Models released
 * in FP8 (DeepSeek-V3) are ~1 byte/param, but their conversion needs a BF16 cast, so 2 is assumed.
 */
export const HF_BYTES_PER_PARAM = 2;

/** What the checkpoint storage must hold. */
export interface StorageNeed {
    /** Total parameters, in billions. */
    paramsB: number;
    precision: TrainingPrecision;
    /** Training checkpoints on the file system at the peak (right after a save, before Megatron deletes the previous one). */
    retained: number;
    /** Whether a torch_dist reference (`--ref-load`, 2 bytes/param) is kept. @default true */
    withReference?: boolean;
    /** Bytes/param of the HF checkpoint and its variants (FP8 original, FP8/INT4 rollout copies). @default 2 */
    hfBytesPerParam?: number;
}

export interface StorageNeedBytes {
    bytesPerParam: number;
    /** One full checkpoint: weights + optimizer state. */
    checkpointBytes: number;
    /** torch_dist reference weights. */
    referenceBytes: number;
    /** Hugging Face checkpoint. */
    hfBytes: number;
    /** retained × checkpoint + reference + HF. */
    requiredBytes: number;
}

/** Bytes one checkpoint and everything the run keeps on the file system take. */
export function storageNeedBytes(need: StorageNeed): StorageNeedBytes {
    const params = need.paramsB * 1e9;
    const bytesPerParam = checkpointBytesPerParam(need.precision);
    const checkpointBytes = params * bytesPerParam;
    const referenceBytes = need.withReference === false ? 0 : params * REFERENCE_BYTES_PER_PARAM;
    const hfBytes = params * (need.hfBytesPerParam ?? HF_BYTES_PER_PARAM);
    return { bytesPerParam, checkpointBytes, referenceBytes, hfBytes, requiredBytes: need.retained * checkpointBytes + referenceBytes + hfBytes };
}

/** Total FSx throughput in MB/s: capacity in TiB × MB/s per TiB. */
export function fsxThroughputMBps(capacityGiB: number, throughputPerTiB: number): number {
    return (capacityGiB / 1024) * throughputPerTiB;
}

/** How a capacity/throughput pair holds and writes what the file system must hold. */
export interface FsxFit {
    capacityGiB: number;
    throughputPerTiB: number;
    throughputMBps: number;
    /** Seconds to write one full checkpoint at the file system's baseline throughput. */
    writeSeconds: number;
    writeWithinLimit: boolean;
    /** Whether retained checkpoints + reference + HF checkpoint fit in the capacity. */
    fits: boolean;
    /** Training checkpoints that fit beside the reference and HF checkpoint (0 when even those do not fit). */
    checkpointsThatFit: number;
}

export interface FsxSizing extends StorageNeedBytes, FsxFit {}

/**
 * What the file system must hold, as bytes: the checkpoint one save writes (the write-time target is
 * for it), the model copies beside the checkpoints, and the total.
 */
export interface StorageBytes {
    checkpointBytes: number;
    /** Reference + HF checkpoints (and their variants), counted once per distinct copy. */
    modelCopyBytes: number;
    requiredBytes: number;
}

function asBytes(need: StorageNeed | StorageBytes): StorageBytes {
    if ("requiredBytes" in need) return need;
    const b = storageNeedBytes(need);
    return { checkpointBytes: b.checkpointBytes, modelCopyBytes: b.referenceBytes + b.hfBytes, requiredBytes: b.requiredBytes };
}

function fsxFit(b: StorageBytes, capacityGiB: number, throughputPerTiB: number): FsxFit {
    const capacityBytes = capacityGiB * GIB;
    const throughputMBps = fsxThroughputMBps(capacityGiB, throughputPerTiB);
    const writeSeconds = b.checkpointBytes / (throughputMBps * MB);
    const spare = capacityBytes - b.modelCopyBytes;
    return {
        capacityGiB,
        throughputPerTiB,
        throughputMBps,
        writeSeconds,
        writeWithinLimit: writeSeconds <= MAX_WRITE_SECONDS,
        fits: b.requiredBytes <= capacityBytes,
        checkpointsThatFit: spare > 0 && b.checkpointBytes > 0 ? Math.floor(spare / b.checkpointBytes) : 0,
    };
}

/** Sizes one FSx file system for a storage need. */
export function sizeFsx(need: StorageNeed, capacityGiB: number, throughputPerTiB: number): FsxSizing {
    return { ...storageNeedBytes(need), ...fsxFit(asBytes(need), capacityGiB, throughputPerTiB) };
}

/** Sizes one FSx file system for what several runs hold together (combinedStorageNeed). */
export function sizeFsxBytes(b: StorageBytes, capacityGiB: number, throughputPerTiB: number): StorageBytes & FsxFit {
    return { ...b, ...fsxFit(b, capacityGiB, throughputPerTiB) };
}

/** Monthly FSx storage price of a capacity/throughput pair, USD (approximate, us-east-1). */
export function fsxUsdPerMonth(capacityGiB: number, throughputPerTiB: number): number {
    return capacityGiB * FSX_PRICE_PER_GIB_MONTH[throughputPerTiB];
}

/** Valid FSx capacities in increasing order, up to `maxGiB`: 1200, 2400, 4800, 7200, ... */
export function fsxCapacities(maxGiB: number): number[] {
    const out = [FSX_MIN_CAPACITY_GIB];
    for (let c = FSX_CAPACITY_STEP_GIB; c <= maxGiB; c += FSX_CAPACITY_STEP_GIB) out.push(c);
    return out;
}

/** Largest capacity the suggestion searches (an FSx quota increase is needed well before this). */
export const SUGGESTION_MAX_GIB = 2400 * 1000;

export interface FsxSuggestion {
    capacityGiB: number;
    throughputPerTiB: number;
    usdPerMonth: number;
    writeSeconds: number;
}

/**
 * The cheapest valid capacity/throughput pair (ties: smaller capacity) that holds the retained
 * checkpoints, reference and HF checkpoint AND writes a full checkpoint within MAX_WRITE_SECONDS.
 * Undefined when nothing up to SUGGESTION_MAX_GIB does.
 */
export function suggestFsx(need: StorageNeed | StorageBytes): FsxSuggestion | undefined {
    const bytes = asBytes(need);
    let best: FsxSuggestion | undefined;
    for (const capacityGiB of fsxCapacities(SUGGESTION_MAX_GIB)) {
        for (const t of FSX_THROUGHPUTS_PER_TIB) {
            const s = fsxFit(bytes, capacityGiB, t);
            if (!s.fits || !s.writeWithinLimit) continue;
            const usdPerMonth = fsxUsdPerMonth(capacityGiB, t);
            if (!best || usdPerMonth < best.usdPerMonth) best = { capacityGiB, throughputPerTiB: t, usdPerMonth, writeSeconds: s.writeSeconds };
        }
        // Once something fits at 1000 MB/s/TiB, larger capacities only cost more.
        if (best && capacityGiB * FSX_PRICE_PER_GIB_MONTH[125] > best.usdPerMonth) break;
    }
    return best;
}

/** "1.2 TB"-style human size (decimal units, as bytes/param arithmetic is decimal). */
export function formatBytes(bytes: number): string {
    const units = ["B", "KB", "MB", "GB", "TB", "PB"];
    let v = bytes;
    let i = 0;
    while (v >= 1000 && i < units.length - 1) {
        v /= 1000;
        i++;
    }
    return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/** "3 min 11 s" / "8.9 h" human duration. */
export function formatSeconds(seconds: number): string {
    const s = Math.round(seconds);
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
    return `${(s / 3600).toFixed(1)} h`;
}

/** The storage need of a training config, with how each number was decided. */
export interface TrainingStorageNeed {
    /** Undefined when the model's parameter count is unknown (pruned test presets without `custom.totalParamsB`). */
    need?: StorageNeed;
    model: string;
    /** How `retained` was decided, for the plan. */
    retainedBasis: string;
    notes: string[];
}


/**
 * Peak number of training checkpoints on the file system, as miles and Megatron really keep them.
 *
 * - miles saves at the 0-based rollout id: `save(rollout_id, …)` → Megatron `save_checkpoint(iteration,
 *   …)` (radixark/miles miles/backends/megatron_utils/actor.py `save_model`, model.py `save`,
 *   checkpoint.py), when `(rollout_id + 1) % save_interval == 0` and at the last rollout
 *   (miles/utils/misc.py `should_run_periodic_action`). The iterations on disk are 9, 19, 29, … for
 *   `--save-interval 10`.
 * - Megatron deletes the previous checkpoint once the next one is written, unless
 *   `prev_iteration % save_retain_interval == 0` (NVIDIA/Megatron-LM megatron/training/checkpointing.py
 *   `save_checkpoint` → `iter_finalize_fn`); without `--save-retain-interval` it deletes nothing.
 *
 * So with a retain interval that is a multiple of a save interval above 1 (rules.ts requires the
 * multiple), no iteration `k·s − 1` is ever a multiple of it: nothing is kept for good and the peak is
 * the previous checkpoint + the one being written. Counted exactly (modular arithmetic, so any
 * numRollout answers at once) rather than assumed.
 */
export function peakRetainedCheckpoints(numRollout: number | undefined, saveInterval: number | undefined, retainInterval: number | undefined): { retained: number; basis: string; keptForGood: number } {
    if (numRollout === undefined || saveInterval === undefined) {
        return { retained: DEFAULT_RETAINED_CHECKPOINTS, keptForGood: 0, basis: `assumed ${DEFAULT_RETAINED_CHECKPOINTS} (no retention settings in the training config)` };
    }
    const periodic = Math.floor(numRollout / saveInterval);
    const saves = periodic + (numRollout % saveInterval === 0 ? 0 : 1);
    if (retainInterval === undefined) {
        return { retained: saves, keptForGood: saves, basis: `no checkpoints.retainInterval: Megatron deletes none of the ${saves} saves (${numRollout} rollouts, save every ${saveInterval})` };
    }
    // Saves before the last two that Megatron keeps: periodic saves k = 1..m at iteration k·s − 1 with (k·s − 1) % R == 0.
    const m = Math.max(0, Math.min(periodic, saves - 2));
    const kept = retainedSaves(m, saveInterval, retainInterval);
    const peak = kept + Math.min(2, saves);
    const iters = `iterations ${saveInterval - 1}, ${2 * saveInterval - 1}, … (miles saves at the 0-based rollout id)`;
    const basis =
        saves < 2
            ? `${saves}: the run saves ${saves === 1 ? "once" : "never"} (${numRollout} rollouts, save every ${saveInterval})`
            : kept === 0
            ? `${peak} at the peak: the previous checkpoint + the one being written; Megatron keeps one for good only when its iteration is a multiple of retainInterval ${retainInterval}, and none of ${iters} is`
            : `${kept} kept for good (iterations that are multiples of ${retainInterval}) + the previous + the one being written`;
    return { retained: peak, keptForGood: kept, basis };
}

/** How many of k = 1..m satisfy (k·s − 1) ≡ 0 (mod r) with k·s − 1 > 0 (Megatron keeps neither iteration 0 nor a non-multiple). */
function retainedSaves(m: number, s: number, r: number): number {
    if (m <= 0) return 0;
    if (r === 1) return s === 1 ? m - 1 : m;
    const inv = modInverse(s % r, r);
    if (inv === undefined) return 0;
    const k0 = inv === 0 ? r : inv;
    let count = k0 <= m ? Math.floor((m - k0) / r) + 1 : 0;
    if (s === 1 && k0 === 1 && count > 0) count -= 1; // k = 1 is iteration 0
    return count;
}

/** a⁻¹ mod n, or undefined when gcd(a, n) ≠ 1. */
function modInverse(a: number, n: number): number | undefined {
    let [oldR, r] = [a, n];
    let [oldS, s] = [1, 0];
    while (r !== 0) {
        const q = Math.floor(oldR / r);
        [oldR, r] = [r, oldR - q * r];
        [oldS, s] = [s, oldS - q * s];
    }
    if (oldR !== 1) return undefined;
    return ((oldS % n) + n) % n;
}

/**
 * Reads what sizing needs from `cfg.training`, defensively (fields may be absent): the model's
 * parameter count (custom.totalParamsB, else the preset's), FP8 training (still 14 B/param), the
 * checkpoint retention, and the model copies kept beside the HF checkpoint.
 */
/** What one resolved run keeps on the shared volume: its checkpoints (retention) and the model copies beside the HF checkpoint. */
export function storageNeedOf(r: ResolvedTraining): TrainingStorageNeed {
    const t = r.training;
    const name = t.model.custom ? "custom architecture" : r.model.name;
    const paramsB = r.model.totalParamsB;
    const notes: string[] = [];
    const precision: TrainingPrecision = "bf16";
    if (t.features.fp8Training) notes.push("FP8 training keeps BF16 weights: 14 bytes/param as for BF16");
    let hfBytesPerParam = HF_BYTES_PER_PARAM;
    if (t.model.hfCheckpointIsFp8) {
        hfBytesPerParam += 1;
        notes.push("FP8 HF download kept beside its BF16 cast (+1 byte/param)");
    }
    if (t.features.fp8Rollout && r.effective.rolloutLoadsPublishedFp8) {
        // The engines load the published FP8 release itself (the FP8 download): no converted copy exists.
        notes.push("FP8 rollout reads the published FP8 release itself (no converted copy)");
    } else if (t.features.fp8Rollout) {
        hfBytesPerParam += 1;
        notes.push("FP8 rollout checkpoint (+1 byte/param)");
    }
    if (t.features.int4Qat.enabled) {
        hfBytesPerParam += 0.5;
        notes.push("INT4 rollout checkpoint (+0.5 byte/param)");
    }
    const withReference = t.model.megatronToHfMode !== "bridge" && t.model.refLoad !== null;
    if (!withReference) notes.push("no torch_dist reference (bridge mode or refLoad: null)");
    if (/lora/i.test(name)) notes.push("LoRA preset: sized as a full-model checkpoint (an upper bound)");
    const { retained, basis } = peakRetainedCheckpoints(t.algorithm.numRollout, t.checkpoints.saveInterval, t.checkpoints.retainInterval ?? undefined);
    if (paramsB === undefined) return { model: name, retainedBasis: basis, notes: [...notes, `parameter count of ${name} unknown: sizing skipped (set training.model.custom.totalParamsB)`] };
    return { need: { paramsB, precision, retained, withReference, hfBytesPerParam }, model: name, retainedBasis: basis, notes };
}

/** One run's share of the file system (a named run of `training.runs`, or a run stack's run). */
export interface RunStorageNeed extends TrainingStorageNeed {
    run: string;
    /**
     * Identifies the run's model copies (its HF, reference and rollout checkpoint directories): runs
     * with the same key read the same copies, which are stored once.
     */
    modelKey: string;
}

/** Every run's checkpoints on one file system, and the model copies they read, each counted once. */
export interface CombinedStorageNeed extends StorageBytes {
    runs: Array<{ run: string; model: string; retained: number; retainedBasis: string; checkpointBytes: number; retainedBytes: number }>;
    /** Distinct model copies (runs sharing one are listed together). */
    copies: Array<{ runs: string[]; bytes: number }>;
    /** Sum over the runs of retained × one checkpoint. */
    retainedBytes: number;
    /** Runs whose parameter count is unknown: not counted. */
    unsized: string[];
}

/**
 * The combined need of several runs on one file system: each run keeps its own retained
 * checkpoints (their directories never overlap: validation/runs.ts), so those add up; runs that
 * read the same model copies (same HF, reference and rollout directories) share one copy. The
 * checkpoint of the write-time target is the largest single one (runs save independently; two runs
 * saving at the same moment share the throughput).
 */
export function combinedStorageNeed(runs: ReadonlyArray<RunStorageNeed>): CombinedStorageNeed {
    const out: CombinedStorageNeed["runs"] = [];
    const copies = new Map<string, { runs: string[]; bytes: number }>();
    const unsized: string[] = [];
    let retainedBytes = 0;
    let checkpointBytes = 0;
    for (const r of runs) {
        if (!r.need) {
            unsized.push(r.run);
            continue;
        }
        const b = storageNeedBytes(r.need);
        const retained = r.need.retained * b.checkpointBytes;
        retainedBytes += retained;
        checkpointBytes = Math.max(checkpointBytes, b.checkpointBytes);
        out.push({ run: r.run, model: r.model, retained: r.need.retained, retainedBasis: r.retainedBasis, checkpointBytes: b.checkpointBytes, retainedBytes: retained });
        const c = copies.get(r.modelKey);
        if (c) c.runs.push(r.run);
        else copies.set(r.modelKey, { runs: [r.run], bytes: b.referenceBytes + b.hfBytes });
    }
    const modelCopyBytes = [...copies.values()].reduce((s, c) => s + c.bytes, 0);
    return { runs: out, copies: [...copies.values()], retainedBytes, unsized, checkpointBytes, modelCopyBytes, requiredBytes: retainedBytes + modelCopyBytes };
}

/**
 * What each run keeps on the shared volume — disabled runs too: their checkpoints stay until
 * deleted. Runs reading the same HF, reference and rollout directories share those copies.
 */
export function runStorageNeeds(runs: ReadonlyArray<{ run: ResolvedTraining & { runName: string } }>): RunStorageNeed[] {
    return runs.map(({ run: r }) => {
        const p = r.paths;
        return { run: r.runName, modelKey: JSON.stringify([p.hfDownload, p.hfBf16, p.refLoad, p.rolloutCheckpoint]), ...storageNeedOf(r) };
    });
}

/**
 * Spare space the default capacity keeps beyond what the runs keep: the run records, logs,
 * TensorBoard events, eval snapshots and prompt data also live on the volume, and Lustre stripes
 * files over its storage targets, so one target fills (and a write fails) before the whole file
 * system does. Our own margin, not an AWS figure.
 */
export const STORAGE_HEADROOM = 0.1;

/** The smallest valid FSx for Lustre capacity (1200, 2400, then multiples of 2400) holding `bytes` plus STORAGE_HEADROOM. */
export function fsxCapacityFor(bytes: number): number {
    const gib = (bytes * (1 + STORAGE_HEADROOM)) / GIB;
    if (gib <= FSX_MIN_CAPACITY_GIB) return FSX_MIN_CAPACITY_GIB;
    return Math.ceil(gib / FSX_CAPACITY_STEP_GIB) * FSX_CAPACITY_STEP_GIB;
}

/** The stack's storage as resolved once: the FSx capacity it creates and where that number comes from. */
export interface ResolvedStorage {
    /** FSx for Lustre capacity the stack creates (or declares for an existing FSx file system); undefined for EFS and an existing claim. */
    capacityGiB?: number;
    /** `set`: storage.capacityGiB; `sized`: the default, sized from the runs (fsxCapacityFor). */
    capacitySource?: "set" | "sized";
    /** What every run of the stack keeps on the volume, model copies counted once. */
    need: CombinedStorageNeed;
}

/** Resolves the storage of a stack from its section and what its runs keep (a run stack creates no storage). */
export function resolveStorage(s: StorageConfig | undefined, needs: ReadonlyArray<RunStorageNeed>, opts: { createsStorage: boolean }): ResolvedStorage {
    const need = combinedStorageNeed(needs);
    if (!s || !opts.createsStorage || s.type !== "fsx-lustre") return { need };
    if (s.capacityGiB !== undefined) return { need, capacityGiB: s.capacityGiB, capacitySource: "set" };
    // An existing file system's size is its owner's: nothing to size, nothing to judge.
    if (s.existingFileSystem) return { need };
    return { need, capacityGiB: fsxCapacityFor(need.requiredBytes), capacitySource: "sized" };
}
