/**
 * The Pod Security admission level the training namespace can enforce. The miles image runs as root
 * (radixark/miles v0.1.0 docker/Dockerfile sets no USER and installs into /root), so `restricted`
 * (runAsNonRoot) cannot hold for any training pod; `baseline` holds while no pod adds a
 * capability; GPU workers with EFA devices add IPC_LOCK, outside baseline's list, so the namespace
 * then enforces `privileged`. `warn`/`audit` stay `restricted` (podSecurityLabels).
 */
import type { MilesConfig } from "../../config";
import type { GpuNodeGroupInfo } from "../gpuNodes";
import { resolveRun } from "../training/run";
import { efaDevicesPerWorker } from "../training/pod";
import type { PodSecurityLevel } from "./pods";

export function trainingPodSecurity(cfg: MilesConfig, gpuNodeGroups: ReadonlyArray<GpuNodeGroupInfo>): PodSecurityLevel {
    // Every enabled run of the stack shares the namespace: one RDMA run makes it privileged.
    const runs = (cfg.runs ?? []).map((e) => e.training).filter((t) => t.enabled);
    const rdma = runs.some((t) => efaDevicesPerWorker(resolveRun(t, { stack: cfg.stack, gpuNodeGroups: [...gpuNodeGroups] })) > 0);
    return rdma ? "privileged" : "baseline";
}
