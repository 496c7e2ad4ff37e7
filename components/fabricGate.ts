/**
 * FabricGate: the measured-bandwidth check a run passes before its RayJob is created. It registers
 * the gate's service account (allowed to annotate only the gate Job), the headless Service of a
 * multi-node gate and the Indexed Job (domain/fabric/gateJob.ts); Pulumi waits for the Job like for
 * the preparation Jobs. When the Job has finished, `result` parses what pod 0 recorded on it
 * (domain/fabric/ncclLog.ts) and judges it (domain/fabric/gate.ts): a failed verdict fails
 * `pulumi up` with the reasons, and the RayJob — whose inputs depend on `result` — is not created.
 *
 * With Kueue on (issue 22) the gate is a queued Workload instead: Kueue admits it when its GPUs are
 * free (never beside an admitted run), `pulumi up` submits it without waiting (the queue may hold it
 * back for as long as a run keeps the GPUs), and `result` is `queued` with the kubectl commands to
 * follow it. The RayJob is created after it and so queues behind it (same priority, older first);
 * the verdict is then not enforced by `pulumi up` but by the run itself: pod 0 writes it to the
 * shared volume (domain/fabric/gateVerdict.ts) and the run's entrypoint starts train.py only after a
 * passing verdict of this gate identity (domain/fabric/preconditions.ts); `result.follow` shows it.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { ResolvedRun } from "../domain/training/run";
import type { TrainingContext } from "../domain/training/pod";
import { fabricGatePlan, fabricVerdict, type FabricGatePlan } from "../domain/fabric/gate";
import { GATE_RESULT_ANNOTATION, gateManifests } from "../domain/fabric/gateJob";
import { parseNcclLog } from "../domain/fabric/ncclLog";
import { transform, type Transform } from "./transform";
import { QUEUED_JOB_ANNOTATIONS } from "../domain/kueue";

export interface FabricGateArgs {
    /**
     * The resolved run: the gate runs on its node group, with its worker pod's image, env and devices.
     * @example resolveRun(training, { stack, gpuNodeGroups: cluster.gpuNodeGroups })
     */
    run: ResolvedRun;
    /**
     * Namespace, claim and image of the run's pods.
     * @example { namespace: "miles", claimName: "miles-shared", serviceAccountName: "miles-training", secretName: undefined }
     */
    context: TrainingContext;
    /**
     * Provider of the cluster.
     * @example cluster.provider
     */
    provider: k8s.Provider;
    /**
     * What the gate waits for (the preparation Jobs: the gate measures just before the run starts).
     * @default []
     * @example prep.ready
     */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
    /**
     * Changes to the args of the underlying resources.
     * @default none
     * @example { job: (a) => { a.metadata = { ...a.metadata, labels: { team: "rl" } }; } }
     */
    transform?: {
        serviceAccount?: Transform<k8s.core.v1.ServiceAccountArgs>;
        role?: Transform<k8s.rbac.v1.RoleArgs>;
        roleBinding?: Transform<k8s.rbac.v1.RoleBindingArgs>;
        service?: Transform<k8s.core.v1.ServiceArgs>;
        job?: Transform<k8s.batch.v1.JobArgs>;
    };
}

/** What the gate found, as a stack output. */
export interface FabricGateResult {
    /**
     * `passed`, `failed`, `pending` (preview: not measured yet), `queued` (submitted to Kueue;
     * measured when the queue admits it, before the run — `follow` says how to read it) or `disabled`.
     */
    status: "passed" | "failed" | "pending" | "queued" | "disabled";
    /** kubectl commands to follow a queued gate. */
    follow?: string[];
    nodes: number;
    fabric: string;
    transport?: string;
    busBandwidthGBps?: number;
    thresholdGBps?: number;
    thresholdSource: string;
    summary: string;
}

/** Thrown (inside an apply) when the gate fails: `pulumi up` stops with these lines. */
export class FabricGateError extends Error {}

/** The verdict on a Job's recorded annotation (undefined = not recorded yet). */
export function judgeRecorded(recorded: string | undefined, plan: FabricGatePlan, dryRun: boolean): FabricGateResult {
    const base = { nodes: plan.nodes, fabric: plan.fabric, thresholdSource: plan.thresholdSource, ...(plan.thresholdGBps !== undefined ? { thresholdGBps: plan.thresholdGBps } : {}) };
    if (recorded === undefined) {
        if (dryRun) return { ...base, status: "pending", summary: "measured during pulumi up, before the RayJob is created" };
        throw new FabricGateError(`fabric gate: the gate Job finished without recording its result on annotation ${GATE_RESULT_ANNOTATION}; read its logs (kubectl logs -l app.kubernetes.io/component=fabric-gate).`);
    }
    const v = fabricVerdict(parseNcclLog(recorded), plan);
    const result: FabricGateResult = { ...base, status: v.pass ? "passed" : "failed", transport: v.transport, ...(v.measuredGBps !== undefined ? { busBandwidthGBps: v.measuredGBps } : {}), summary: v.summary };
    if (!v.pass) {
        throw new FabricGateError(
            [`fabric gate failed (${v.summary}):`, ...v.problems.map((p) => `  - ${p}`), "  The RayJob was not created. Fix the cause and run pulumi up again (a changed image, node group or gate setting reruns the gate — a hyper-parameter change does not; after replacing nodes: pulumi up --replace on the gate Job), or turn the gate off with training.fabricGate.enabled: false."].join("\n"),
        );
    }
    return result;
}

/**
 * The verdict of a gate submitted to Kueue: not known at `pulumi up` (the queue admits the gate when
 * the GPUs are free, maybe hours later); how to follow it instead.
 */
export function queuedGateResult(plan: FabricGatePlan, namespace: string, job: string): FabricGateResult {
    return {
        status: "queued",
        nodes: plan.nodes,
        fabric: plan.fabric,
        thresholdSource: plan.thresholdSource,
        ...(plan.thresholdGBps !== undefined ? { thresholdGBps: plan.thresholdGBps } : {}),
        summary: `submitted to the Kueue queue; measured when admitted (before the run, which waits behind it in the queue), within ${plan.timeoutMinutes} min of admission; the run starts train.py only after a passing verdict`,
        // Kueue labels the Workload of a Job with the Job's UID (pkg/controller/constants/constants.go:43 at v0.19.2, JobUIDLabel).
        follow: [
            `kubectl -n ${namespace} get workloads -l kueue.x-k8s.io/job-uid=$(kubectl -n ${namespace} get job ${job} -o jsonpath='{.metadata.uid}')`,
            `kubectl -n ${namespace} get job ${job} --watch`,
            `kubectl -n ${namespace} get job ${job} -o jsonpath='{.metadata.annotations.${GATE_RESULT_ANNOTATION.replace(/\./g, "\\.")}}'`,
        ],
    };
}

/** The fabric gate of a run. */
export class FabricGate extends pulumi.ComponentResource {
    readonly plan: FabricGatePlan;
    readonly job?: k8s.batch.v1.Job;
    /** What the RayJob waits for. */
    readonly ready: pulumi.Resource[];
    /** The verdict; throws (failing `pulumi up`) when the gate failed. */
    readonly result: pulumi.Output<FabricGateResult>;

    constructor(name: string, args: FabricGateArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:training:FabricGate", name, {}, opts);
        const plan = fabricGatePlan(args.run);
        this.plan = plan;
        if (!plan.enabled) {
            this.ready = [];
            this.result = pulumi.output<FabricGateResult>({ status: "disabled", nodes: plan.nodes, fabric: plan.fabric, thresholdSource: plan.thresholdSource, summary: "training.fabricGate.enabled: false" });
            this.registerOutputs({});
            return;
        }
        const m = gateManifests(args.run, plan, args.context);
        const o = { parent: this, provider: args.provider };
        const deps = args.dependsOn ?? [];
        const t = args.transform ?? {};
        const sa = new k8s.core.v1.ServiceAccount(...transform(t.serviceAccount, `${name}-sa`, { ...m.serviceAccount }, { ...o, dependsOn: deps }));
        const role = new k8s.rbac.v1.Role(...transform(t.role, `${name}-role`, { ...m.role }, { ...o, dependsOn: deps }));
        const binding = new k8s.rbac.v1.RoleBinding(...transform(t.roleBinding, `${name}-rolebinding`, { ...m.roleBinding }, { ...o, dependsOn: [sa, role] }));
        // skipAwait: Pulumi would wait for ready endpoints, i.e. for the gate pods, which come after it.
        const svc = m.service
            ? new k8s.core.v1.Service(...transform(t.service, `${name}-svc`, { ...m.service, metadata: { ...m.service.metadata, annotations: { "pulumi.com/skipAwait": "true" } } }, { ...o, dependsOn: deps }))
            : undefined;
        // Pulumi's await of the Job and the Job's activeDeadlineSeconds are the same minutes: a gate whose
        // pods cannot start (a running run holds the GPUs after what the gate tests changed) fails then,
        // it never waits forever, and the RayJob that depends on it stays as it is (domain/fabric/gateJob.ts gateIdentity).
        // With Kueue on, the Job is queued (domain/fabric/gateJob.ts): Pulumi submits it and does not
        // wait (QUEUED_JOB_ANNOTATIONS), since the queue may hold it back while a run keeps the GPUs.
        const queued = args.context.queue !== undefined;
        const wait = `${plan.timeoutMinutes}m`;
        const annotations = queued ? { ...QUEUED_JOB_ANNOTATIONS } : { "pulumi.com/replaceUnready": "true" };
        this.job = new k8s.batch.v1.Job(
            ...transform(
                t.job,
                `${name}-job`,
                { ...m.job, metadata: { ...m.job.metadata, annotations } },
                { ...o, dependsOn: [...deps, binding, ...(svc ? [svc] : [])], ...(queued ? {} : { customTimeouts: { create: wait, update: wait } }) },
            ),
        );
        const dryRun = pulumi.runtime.isDryRun();
        this.result = queued
            ? pulumi.output(queuedGateResult(plan, m.job.metadata.namespace, m.job.metadata.name))
            : this.job.metadata.apply((md) => judgeRecorded(md?.annotations?.[GATE_RESULT_ANNOTATION], plan, dryRun));
        this.ready = [this.job];
        this.registerOutputs({ result: this.result });
    }
}
