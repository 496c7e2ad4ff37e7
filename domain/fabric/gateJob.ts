/**
 * The fabric gate Job of a run, as plain manifests: an Indexed Job with one pod per GPU node of
 * the run (the worker pod's image, env, GPUs, EFA/RDMA devices, huge pages and node placement), a
 * headless Service for torchrun's rendezvous on pod 0, and a service account that may annotate only
 * this Job. Each pod runs `torchrun` with an NCCL all-reduce over torch.distributed (the NCCL and
 * network plugin the training itself loads) with NCCL_DEBUG=INFO; rank 0 prints an nccl-tests style
 * table, and pod 0 records the NCCL network lines and the table on the Job as an annotation, which
 * the component parses (ncclLog.ts) and judges (gate.ts) before it lets the RayJob be created.
 */
import { createHash } from "node:crypto";
import type * as k8s from "@pulumi/kubernetes";
import { podTolerations, runLabels, workerPod, type EnvVarSpec, type PodSpec, type TrainingContext } from "../training/pod";
import type { ResolvedRun } from "../training/run";
import type { JobManifest, ServiceManifest } from "../training/prepJobs";
import type { FabricGatePlan } from "./gate";
import { queuedJob } from "../kueue";
import { gateVerdictScript, type GateExpectation } from "./gateVerdict";

/** Annotation of the gate Job where pod 0 records the NCCL network lines and the result table. */
export const GATE_RESULT_ANNOTATION = "miles-cluster.io/fabric-gate-log";
/**
 * Pod-template annotation: a hash of what the gate tests (gateIdentity), so a change of the nodes,
 * the image or the test reruns the gate (Jobs are replaced on template changes) and nothing else does.
 */
export const GATE_RUN_HASH_ANNOTATION = "miles-cluster.io/run-hash";
export const GATE_MASTER_PORT = 29501;
/** Upper bound of the recorded text (annotations of an object share 256 KiB). */
export const GATE_RECORD_MAX_CHARS = 96 * 1024;

export function gateJobName(r: ResolvedRun): string {
    return `${r.runName}-fabric`;
}

export function gateServiceAccountName(r: ResolvedRun): string {
    return `${r.runName}-fabric-gate`;
}

/** Message sizes the benchmark runs: from 64 MiB up by ×4, and the configured largest size. */
export function gateMessageSizes(maxBytes: number): number[] {
    const sizes: number[] = [];
    for (let s = 64 * 1024 * 1024; s < maxBytes; s *= 4) sizes.push(s);
    sizes.push(maxBytes);
    return sizes;
}

/**
 * The all-reduce benchmark (Python, run by torchrun on every GPU). Bus bandwidth = algbw × 2(n−1)/n,
 * the nccl-tests all-reduce formula (awsome-distributed-training micro-benchmarks/nccl-tests/README.md,
 * "Understanding NCCL Bandwidth"). Time per size = the slowest rank's mean over `iterations` after 5
 * warm-up calls.
 */
export function benchmarkScript(plan: FabricGatePlan): string {
    return [
        "import os, time, torch, torch.distributed as dist",
        `SIZES = [${gateMessageSizes(plan.messageBytes).join(", ")}]`,
        `ITERS = ${plan.iterations}`,
        'local = int(os.environ["LOCAL_RANK"])',
        "torch.cuda.set_device(local)",
        'dist.init_process_group("nccl")',
        "world, rank = dist.get_world_size(), dist.get_rank()",
        "def out(s):",
        "    if rank == 0: print(s, flush=True)",
        'out(f"# fabric gate: all_reduce float sum, {world} ranks, {ITERS} iterations per size")',
        'out("#       size         count      type   redop    root     time   algbw   busbw  #wrong")',
        'out("#        (B)    (elements)                               (us)  (GB/s)  (GB/s)")',
        "bus = []",
        "for size in SIZES:",
        "    n = size // 4",
        '    buf = torch.zeros(n, dtype=torch.float32, device="cuda")',
        "    for _ in range(5): dist.all_reduce(buf)",
        "    torch.cuda.synchronize(); dist.barrier()",
        "    t0 = time.perf_counter()",
        "    for _ in range(ITERS): dist.all_reduce(buf)",
        "    torch.cuda.synchronize()",
        '    dt = torch.tensor([(time.perf_counter() - t0) / ITERS], device="cuda")',
        "    dist.all_reduce(dt, op=dist.ReduceOp.MAX)",
        "    sec = dt.item()",
        "    algbw = size / sec / 1e9",
        "    busbw = algbw * 2 * (world - 1) / world",
        "    bus.append(busbw)",
        '    out(f"{size:>12} {n:>13} {\'float\':>9} {\'sum\':>7} {-1:>7} {sec * 1e6:>8.1f} {algbw:>7.2f} {busbw:>7.2f} {\'N/A\':>7}")',
        "    del buf",
        'out(f"# Avg bus bandwidth    : {sum(bus) / len(bus):.4f}")',
        "dist.destroy_process_group()",
    ].join("\n");
}

/**
 * Pod 0 keeps the lines the verdict needs (NCCL network selection and warnings, the table) and
 * writes them to the Job's annotation through the API server with the pod's service-account token
 * (merge patch; the Role allows get/patch of this one Job).
 */
export function recordScript(namespace: string, job: string): string {
    return [
        "import json, os, re, ssl, sys, urllib.request",
        "keep = re.compile(r'NCCL INFO (Using network|NET/|Channel .* via NET)|NCCL WARN|^#|^\\s*\\d+\\s')",
        "lines, net = [], 0",
        "for line in open(sys.argv[1], errors='replace'):",
        "    line = line.rstrip()",
        "    if not keep.search(line): continue",
        "    if 'NCCL ' in line:",
        "        net += 1",
        "        if net > 200: continue",
        "    lines.append(line)",
        `text = '\\n'.join(lines)[-${GATE_RECORD_MAX_CHARS}:]`,
        "sa = '/var/run/secrets/kubernetes.io/serviceaccount'",
        "host, port = os.environ['KUBERNETES_SERVICE_HOST'], os.environ['KUBERNETES_SERVICE_PORT']",
        `url = f'https://{host}:{port}/apis/batch/v1/namespaces/${namespace}/jobs/${job}'`,
        `body = json.dumps({'metadata': {'annotations': {'${GATE_RESULT_ANNOTATION}': text}}}).encode()`,
        "req = urllib.request.Request(url, data=body, method='PATCH', headers={'Authorization': 'Bearer ' + open(sa + '/token').read().strip(), 'Content-Type': 'application/merge-patch+json'})",
        "urllib.request.urlopen(req, context=ssl.create_default_context(cafile=sa + '/ca.crt'), timeout=60).read()",
        "print(f'fabric gate: recorded {len(lines)} lines on job/${job}')",
    ].join("\n");
}

/** torchrun's layout: all GPUs of a node; on several nodes, node rank = completion index, rendezvous on pod 0. */
function torchrunArgs(r: ResolvedRun, plan: FabricGatePlan): string {
    const perNode = `--nproc-per-node ${plan.gpusPerNode}`;
    if (plan.nodes === 1) return perNode;
    const svc = gateJobName(r);
    return `${perNode} --nnodes ${plan.nodes} --node-rank "$NODE_RANK" --master-addr ${svc}-0.${svc} --master-port ${GATE_MASTER_PORT}`;
}

/** The gate's name, identity hash and verdict file: what pod 0 writes and the run's entrypoint checks (gateVerdict.ts). */
export function gateExpectation(r: ResolvedRun, plan: FabricGatePlan): GateExpectation {
    return { gate: gateJobName(r), hash: runHash(r, plan), file: r.paths.gateVerdict };
}

/**
 * The pod's shell script: run the benchmark, keep its output; pod 0 writes the verdict to the shared
 * volume (gateVerdict.ts) and records the log on the Job; exit with the benchmark's status.
 */
export function gateScript(r: ResolvedRun, plan: FabricGatePlan, namespace: string): string {
    const job = gateJobName(r);
    return [
        "set -uo pipefail",
        'NODE_RANK="${JOB_COMPLETION_INDEX:-0}"',
        "cat > /tmp/fabric_bench.py <<'MILES_EOF'",
        benchmarkScript(plan),
        "MILES_EOF",
        "cat > /tmp/fabric_verdict.py <<'MILES_EOF'",
        gateVerdictScript(plan, gateExpectation(r, plan)),
        "MILES_EOF",
        "cat > /tmp/fabric_record.py <<'MILES_EOF'",
        recordScript(namespace, job),
        "MILES_EOF",
        `echo "fabric gate: node $NODE_RANK of ${plan.nodes}, expecting ${plan.fabric}${plan.thresholdGBps !== undefined ? `, threshold ${plan.thresholdGBps} GB/s` : ""}"`,
        `torchrun ${torchrunArgs(r, plan)} /tmp/fabric_bench.py 2>&1 | tee /tmp/fabric.log`,
        "rc=${PIPESTATUS[0]}",
        // The verdict first (the queued run waits for it), then the log on the Job; neither changes the exit code.
        'if [ "$NODE_RANK" = 0 ]; then python3 /tmp/fabric_verdict.py /tmp/fabric.log || echo "fabric gate: could not write the verdict"; python3 /tmp/fabric_record.py /tmp/fabric.log || rc=${rc:-1}; fi',
        'exit "$rc"',
    ].join("\n");
}

/**
 * What the gate tests, and nothing else: the nodes it runs on (each node group's name, instance
 * type, node selector and taints, EFA/RDMA devices per node), how many nodes and GPUs per node, the
 * image the run's pods use, the fabric expected and the test itself (message sizes, iterations,
 * threshold). The gate's pod-template hash is taken over this.
 *
 * Why not the whole training config (issue 20): a new gate Job needs every GPU and EFA device of
 * the run's nodes, and during an update the running RayJob still holds them (the RayJob is replaced
 * only after the gate, which it depends on). So any change of the run — a learning rate — re-created
 * the gate, whose pods stayed Pending until its timeout; `pulumi up` failed and the "save, then
 * replace" flow (training.lifecycle.onRunningChange) never replaced the run. A hyper-parameter
 * change leaves the gate Job as it is now (Pulumi sees no diff and does not await it again).
 *
 * When what the gate tests does change while a run holds the GPUs (a new image, other nodes, another
 * threshold), the new gate Job cannot measure until the run stops. Our choice: the gate fails closed
 * and bounded, never waits forever — the Job's activeDeadlineSeconds (timeoutMinutes) makes the Job
 * controller mark it Failed (DeadlineExceeded) even while its pods are Pending, and Pulumi's await of
 * it (customTimeouts, the same minutes; components/fabricGate.ts) ends then at the latest; the
 * RayJob, which depends on the gate, is left running untouched (no save is lost), and `pulumi up`
 * reports the gate. Suspend or finish the run, then `pulumi up` again: the gate measures the freed
 * nodes and the new run starts. test/sim/awaits.test.ts checks both cases.
 */
export function gateIdentity(r: ResolvedRun, plan: FabricGatePlan): Record<string, unknown> {
    const { enabled: _enabled, timeoutMinutes: _timeout, ...test } = plan;
    const c = r.imageChoice;
    return {
        test,
        image: { source: c.source, ecrRepositoryName: c.ecrRepositoryName, tag: c.tag, digest: c.digest, ref: c.ref },
        groups: r.groups.map(({ group: g }) => ({ name: g.name, instanceType: g.instanceType, selector: g.selector, taints: g.taints, efaPerNode: g.efaPerNode, rdma: g.rdma })),
    };
}

/** A short, stable hash of what the gate tests (gateIdentity). */
export function runHash(r: ResolvedRun, plan: FabricGatePlan): string {
    return createHash("sha256").update(JSON.stringify(gateIdentity(r, plan))).digest("hex").slice(0, 16);
}

export interface GateManifests {
    serviceAccount: { apiVersion: "v1"; kind: "ServiceAccount"; metadata: { name: string; namespace: string; labels: Record<string, string> }; automountServiceAccountToken: boolean };
    role: { apiVersion: "rbac.authorization.k8s.io/v1"; kind: "Role"; metadata: { name: string; namespace: string; labels: Record<string, string> }; rules: Array<{ apiGroups: string[]; resources: string[]; resourceNames: string[]; verbs: string[] }> };
    roleBinding: {
        apiVersion: "rbac.authorization.k8s.io/v1";
        kind: "RoleBinding";
        metadata: { name: string; namespace: string; labels: Record<string, string> };
        roleRef: { apiGroup: string; kind: string; name: string };
        subjects: Array<{ kind: string; name: string; namespace: string }>;
    };
    /** Headless Service of a multi-node gate (undefined on one node). */
    service?: ServiceManifest;
    job: JobManifest;
}

/** Every object of the gate. */
export function gateManifests(r: ResolvedRun, plan: FabricGatePlan, ctx: TrainingContext): GateManifests {
    const ns = ctx.namespace;
    const name = gateJobName(r);
    const sa = gateServiceAccountName(r);
    const labels = runLabels(r, "fabric-gate");
    const worker = workerPod(r, ctx);
    const w = (worker.spec.containers as k8s.types.input.core.v1.Container[])[0];
    const env: EnvVarSpec[] = [...((w.env as EnvVarSpec[] | undefined) ?? []).filter((e) => e.name !== "NCCL_DEBUG" && e.name !== "NCCL_DEBUG_SUBSYS"), { name: "NCCL_DEBUG", value: "INFO" }, { name: "NCCL_DEBUG_SUBSYS", value: "INIT,NET" }];
    // The gate pods are not the run: no save-before-stop preStop (its grace period is dropped below too).
    const { lifecycle: _lifecycle, ...wc } = w;
    const container: k8s.types.input.core.v1.Container = {
        ...wc,
        name: "fabric-gate",
        command: ["bash", "-c", gateScript(r, plan, ns)],
        env,
        ...(plan.nodes > 1 ? { ports: [{ name: "torchrun", containerPort: GATE_MASTER_PORT }] } : {}),
    };
    const { terminationGracePeriodSeconds: _grace, ...workerSpec } = worker.spec;
    // A run over several node groups: the gate's one pod template may land on any of them (the
    // all-reduce then crosses the groups, as the run's does): a node-affinity term per group (terms
    // are ORed) instead of one group's nodeSelector, and every group's tolerations.
    if (r.groups.length > 1) {
        delete workerSpec.nodeSelector;
        workerSpec.affinity = {
            nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                    nodeSelectorTerms: r.groups.map(({ group }) => ({ matchExpressions: Object.entries(group.selector).map(([key, value]) => ({ key, operator: "In", values: [value] })) })),
                },
            },
        };
        const all = r.groups.flatMap(({ group }) => podTolerations(group));
        workerSpec.tolerations = all.filter((x, i) => all.findIndex((y) => JSON.stringify(y) === JSON.stringify(x)) === i);
    }
    const pod: PodSpec = {
        ...workerSpec,
        serviceAccountName: sa,
        // The token is needed to annotate the Job; the Role allows nothing else.
        automountServiceAccountToken: true,
        restartPolicy: "Never",
        ...(plan.nodes > 1 ? { subdomain: name } : {}),
        containers: [container],
    };
    const job: JobManifest = {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name, namespace: ns, labels },
        spec: {
            // A failed all-reduce is a finding, not a flake to retry: fail fast with the pods' logs kept.
            backoffLimit: 0,
            completionMode: "Indexed",
            completions: plan.nodes,
            parallelism: plan.nodes,
            activeDeadlineSeconds: plan.timeoutMinutes * 60,
            template: { metadata: { labels, annotations: { [GATE_RUN_HASH_ANNOTATION]: runHash(r, plan) } }, spec: pod },
        },
    } as JobManifest;
    // With Kueue on, the gate is a Workload like the run: admitted whole when its GPUs are free, it
    // never takes nodes an admitted run holds; `pulumi up` submits it and does not wait
    // (components/fabricGate.ts). activeDeadlineSeconds counts from admission: the Job controller
    // resets the Job's startTime when Kueue unsuspends it (Kubernetes docs, Job "Suspending a Job").
    const queuedGate = ctx.queue ? queuedJob(job, ctx.queue) : job;
    const service: ServiceManifest | undefined =
        plan.nodes > 1
            ? {
                  apiVersion: "v1",
                  kind: "Service",
                  metadata: { name, namespace: ns, labels },
                  spec: { clusterIP: "None", publishNotReadyAddresses: true, selector: labels, ports: [{ name: "torchrun", port: GATE_MASTER_PORT, targetPort: GATE_MASTER_PORT }] },
              }
            : undefined;
    return {
        serviceAccount: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: sa, namespace: ns, labels }, automountServiceAccountToken: false },
        role: { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: sa, namespace: ns, labels }, rules: [{ apiGroups: ["batch"], resources: ["jobs"], resourceNames: [name], verbs: ["get", "patch"] }] },
        roleBinding: {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "RoleBinding",
            metadata: { name: sa, namespace: ns, labels },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: sa },
            subjects: [{ kind: "ServiceAccount", name: sa, namespace: ns }],
        },
        ...(service ? { service } : {}),
        job: queuedGate,
    };
}
