/**
 * Deployment simulation, layer "a node change never lets a bad node serve a run, and nothing waits
 * forever" (issue 22). It replays a run's node set changing — a Capacity Block resuming on new hosts,
 * EKS auto repair replacing a node mid-run — minute by minute, with what the plan deploys: the run's
 * pods (their GPUs per pod and tolerations, from the RayJob the program registered), the node
 * group's taints, and Kueue's `waitForPodsReady` from the Kueue release's controller configuration.
 *
 * Upstream behaviour modelled:
 * - kube-scheduler TaintToleration (kubernetes/kubernetes pkg/scheduler/framework/plugins/
 *   tainttoleration; k8s.io/api core/v1 toleration.go ToleratesTaint): a pod lands on a node only if
 *   it tolerates every NoSchedule/NoExecute taint; an empty key with operator Exists tolerates all.
 * - kubernetes-sigs/kueue v0.19.2: an admitted Workload whose pods are not all ready within
 *   `waitForPodsReady.timeout` (or, once running, `recoveryTimeout` after losing one) is evicted and
 *   requeued after `backoffBaseSeconds·2^(n-1)` capped at `backoffMaxSeconds`, and deactivated after
 *   `backoffLimitCount` requeues (apis/config/v1beta2/configuration_types.go:302-329, 404-440);
 *   a RayJob is ready when its RayCluster is Ready (pkg/controller/jobs/rayjob/rayjob_controller.go:229-231).
 * - Our node check (domain/health/nodeHealth.ts): a node joins with the health-pending startup taint;
 *   the check's verdict removes it or replaces it with the unhealthy taint and the reason.
 * - EKS auto repair (managed node group nodeRepairConfig): the replaced node leaves, a new one joins
 *   (https://docs.aws.amazon.com/eks/latest/userguide/node-health.html). When it acts is an input.
 */
import { parse as parseYaml } from "yaml";
import type { RecordedResource } from "../../plan/evaluate";
import type { Taint } from "../../catalog/nodeLabels";
import { HEALTH_PENDING_TAINT, healthTaintPatch, nodeVerdict, UNHEALTHY_REASON_ANNOTATION, type NodeVerdict } from "../../domain/health/nodeHealth";
import { GPU, kindOf } from "./awaits";

export interface Toleration {
    key?: string;
    operator?: string;
    value?: string;
    effect?: string;
}

/** core/v1 ToleratesTaint. */
export function tolerates(ts: ReadonlyArray<Toleration>, t: Taint): boolean {
    return ts.some((x) => (!x.effect || x.effect === t.effect) && ((!x.key && x.operator === "Exists") || (x.key === t.key && (x.operator === "Exists" || (x.value ?? "") === t.value))));
}

export interface SimNode {
    name: string;
    gpus: number;
    taints: Taint[];
    annotations: Record<string, string>;
}

/** The GPU pods of a run's RayJob: how many, GPUs each, their tolerations. */
export interface Gang {
    pods: number;
    gpusPerPod: number;
    tolerations: Toleration[];
}

export function gangOf(rayJob: RecordedResource): Gang {
    if (kindOf(rayJob) !== "RayJob") throw new Error(`${rayJob.name} is not a RayJob`);
    const spec = (rayJob.inputs.spec as any).rayClusterSpec;
    const workers = (spec.workerGroupSpecs ?? []).filter((w: any) => Number(w.template.spec.containers[0]?.resources?.limits?.[GPU] ?? 0) > 0);
    const w = workers[0];
    return {
        pods: workers.reduce((n: number, x: any) => n + Number(x.replicas ?? 1) * Number(x.numOfHosts ?? 1), 0),
        gpusPerPod: Number(w.template.spec.containers[0].resources.limits[GPU]),
        tolerations: w.template.spec.tolerations ?? [],
    };
}

export interface PodsReady {
    timeoutMin: number;
    recoveryMin: number;
    backoffBaseS: number;
    backoffMaxS: number;
    backoffLimit?: number;
}

const minutes = (d: string) => {
    const m = /^(\d+)(m|s|h)$/.exec(d);
    if (!m) throw new Error(`duration ${d}`);
    return Number(m[1]) * { s: 1 / 60, m: 1, h: 60 }[m[2] as "s" | "m" | "h"];
};

/** waitForPodsReady of the Kueue release in a plan (Kueue's v0.19.2 defaults where unset). */
export function podsReadyOf(resources: ReadonlyArray<RecordedResource>): PodsReady {
    const release = resources.find((r) => r.type.startsWith("kubernetes:helm.sh/") && String(r.inputs.chart ?? "").includes("kueue"));
    const yaml = (release?.inputs.values as any)?.managerConfig?.controllerManagerConfigYaml;
    const w = (typeof yaml === "string" ? (parseYaml(yaml) as any).waitForPodsReady : undefined) ?? {};
    const timeout = minutes(w.timeout ?? "30m");
    const rq = w.requeuingStrategy ?? {};
    return { timeoutMin: timeout, recoveryMin: w.recoveryTimeout ? minutes(w.recoveryTimeout) : timeout, backoffBaseS: rq.backoffBaseSeconds ?? 60, backoffMaxS: rq.backoffMaxSeconds ?? 3600, ...(rq.backoffLimitCount != null ? { backoffLimit: rq.backoffLimitCount } : {}) };
}

/** A node joining: it has the group's taints and the health-pending startup taint until the check's verdict is applied. */
export function join(name: string, gpus: number, groupTaints: ReadonlyArray<Taint>, verdict: NodeVerdict): SimNode {
    const n: SimNode = { name, gpus, taints: [...groupTaints, HEALTH_PENDING_TAINT], annotations: {} };
    const patch = healthTaintPatch(n.taints, verdict);
    n.taints = patch.spec.taints;
    const reason = patch.metadata.annotations[UNHEALTHY_REASON_ANNOTATION];
    if (reason) n.annotations[UNHEALTHY_REASON_ANNOTATION] = reason;
    return n;
}

/** A node the monitoring agent marks unhealthy while it runs: the check applies the same verdict. */
export function markUnhealthy(n: SimNode, verdict: NodeVerdict): SimNode {
    const patch = healthTaintPatch(n.taints, verdict);
    return { ...n, taints: patch.spec.taints, annotations: { ...n.annotations, [UNHEALTHY_REASON_ANNOTATION]: String(patch.metadata.annotations[UNHEALTHY_REASON_ANNOTATION]) } };
}

/** Nodes the gang's pods can land on (one pod per node: each pod takes a whole node's GPUs). */
export function placeGang(g: Gang, nodes: ReadonlyArray<SimNode>): string[] | undefined {
    const fit = nodes.filter((n) => n.gpus >= g.gpusPerPod && n.taints.every((t) => t.effect === "PreferNoSchedule" || tolerates(g.tolerations, t)));
    return fit.length >= g.pods ? fit.slice(0, g.pods).map((n) => n.name) : undefined;
}

export interface Event {
    atMin: number;
    what: string;
}

export interface Outcome {
    events: Event[];
    /** Minute the gang runs on all its nodes (undefined: never, within the horizon). */
    startedAt?: number;
    nodes?: string[];
    /** Minute Kueue deactivated the Workload (backoffLimitCount reached). */
    deactivatedAt?: number;
    /** The simulation stopped at its horizon with the run still waiting: it would wait forever. */
    waitsForever: boolean;
}

/**
 * A queued gang admitted at minute 0 (or, with `running`, a running gang that lost a node at 0:
 * recoveryTimeout applies first), with `changes` to the node set at given minutes (a node leaving,
 * a new one joining). Kueue evicts and requeues per `podsReady` until the gang fits.
 */
export function replay(g: Gang, nodes: SimNode[], podsReady: PodsReady, changes: Array<{ atMin: number; remove?: string; add?: SimNode }>, opts: { running?: boolean; horizonMin?: number } = {}): Outcome {
    const events: Event[] = [];
    const horizon = opts.horizonMin ?? 7 * 24 * 60;
    let set = [...nodes];
    let t = 0;
    let requeues = 0;
    let first = true;
    const apply = (until: number) => {
        for (const c of changes.filter((x) => x.atMin <= until)) {
            if (c.remove) set = set.filter((n) => n.name !== c.remove);
            if (c.add && !set.some((n) => n.name === c.add!.name)) set.push(c.add);
        }
    };
    while (t <= horizon) {
        apply(t);
        const at = placeGang(g, set);
        if (at) {
            events.push({ atMin: t, what: `admitted; pods on ${at.join(", ")}; RayCluster Ready (PodsReady)` });
            return { events, startedAt: t, nodes: at, waitsForever: false };
        }
        const wait = first && opts.running ? podsReady.recoveryMin : podsReady.timeoutMin;
        events.push({ atMin: t, what: `${first && opts.running ? "running gang lost a pod" : "admitted"}; ${g.pods} pods need a healthy node each, ${set.filter((n) => placeGang({ ...g, pods: 1 }, [n])).length} usable: pods Pending` });
        first = false;
        // Within the timeout, a change may make room: the pending pods then schedule.
        const during = changes.map((c) => c.atMin).filter((m) => m > t && m <= t + wait).sort((a, b) => a - b);
        let started: number | undefined;
        for (const m of during) {
            apply(m);
            if (placeGang(g, set)) {
                started = m;
                break;
            }
        }
        if (started !== undefined) {
            const on = placeGang(g, set)!;
            events.push({ atMin: started, what: `pods scheduled on ${on.join(", ")}; RayCluster Ready (PodsReady)` });
            return { events, startedAt: started, nodes: on, waitsForever: false };
        }
        t += wait;
        requeues += 1;
        events.push({ atMin: t, what: `waitForPodsReady: evicted (GPUs freed), requeue #${requeues}` });
        if (podsReady.backoffLimit !== undefined && requeues > podsReady.backoffLimit) {
            events.push({ atMin: t, what: `backoffLimitCount ${podsReady.backoffLimit} reached: Workload deactivated (spec.active: false)` });
            return { events, deactivatedAt: t, waitsForever: false };
        }
        t += Math.min(podsReady.backoffBaseS * 2 ** (requeues - 1), podsReady.backoffMaxS) / 60;
    }
    return { events, waitsForever: true };
}

export const verdictOf = nodeVerdict;
