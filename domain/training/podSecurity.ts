/**
 * The Pod Security admission level the training namespace can enforce. The miles image runs as root
 * (radixark/miles v0.1.0 docker/Dockerfile sets no USER and installs into /root), so `restricted`
 * (runAsNonRoot) cannot hold for any training pod; `baseline` holds while no pod adds a
 * capability; GPU workers with EFA devices add IPC_LOCK, outside baseline's list, so the namespace
 * then enforces `privileged`. `warn`/`audit` stay `restricted` (podSecurityLabels).
 */
import type { ResolvedRun } from "./run";
import { efaDevicesPerWorker } from "./pod";
import type { PodSecurityLevel } from "../security/pods";

/** The level for the enabled runs of a stack: every run shares the namespace, so one RDMA run makes it privileged. */
export function trainingPodSecurity(runs: ReadonlyArray<ResolvedRun>): PodSecurityLevel {
    return runs.some((r) => efaDevicesPerWorker(r) > 0) ? "privileged" : "baseline";
}
