/**
 * FSx for Lustre facts (FSx for Lustre user guide: PERSISTENT_2 SSD storage and throughput, data
 * repository associations).
 */

/** FSx for Lustre PERSISTENT_2 SSD throughput tiers, MB/s per TiB of storage. */
export const FSX_THROUGHPUTS_PER_TIB = [125, 250, 500, 1000] as const;
export type FsxThroughputPerTiB = (typeof FSX_THROUGHPUTS_PER_TIB)[number];

/** Smallest FSx for Lustre SSD capacities; beyond 2400 GiB capacity grows in steps of 2400. */
export const FSX_CAPACITY_STEP_GIB = 2400;
export const FSX_MIN_CAPACITY_GIB = 1200;

/** Whether `gib` is a valid PERSISTENT_2 SSD capacity at creation: 1200, 2400 or a multiple of 2400. */
export function isValidFsxCapacity(gib: number): boolean {
    return Number.isInteger(gib) && (gib === FSX_MIN_CAPACITY_GIB || (gib > 0 && gib % FSX_CAPACITY_STEP_GIB === 0));
}

/** Maximum data repository associations per FSx for Lustre file system. */
export const MAX_DATA_REPOSITORY_ASSOCIATIONS = 8;

export const DRA_EVENTS = ["NEW", "CHANGED", "DELETED"] as const;
export type DraEvent = (typeof DRA_EVENTS)[number];
