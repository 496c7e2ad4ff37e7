/**
 * The node check that runs on every GPU node (issue 22): the scripts and the DaemonSet pod of
 * components/nodeHealthCheck.ts. Pure. The verdict is the one of domain/health/nodeHealth.ts
 * (`parseDcgmDiag` + `nodeVerdict` + `healthTaintPatch`) written as awk/sh for the pod; the awk is
 * generated from the same constants (result words, taint keys, annotation, diag level) and
 * test/nodeCheck.test.ts runs it under /bin/sh on the real dcgmi captures of test/fixtures/health
 * against the TypeScript verdict, patch for patch.
 *
 * The pod, once per node boot:
 * 1. `gate` (curl image): reads the node. A node that still has the health-pending startup taint,
 *    or whose boot ID differs from the one its last check recorded (a reboot, e.g. by EKS auto
 *    repair), is checked: the gate (re-)adds the startup taint. Otherwise (the DaemonSet pod was
 *    only recreated, say by a rollout, while a run may use the GPUs) nothing is checked: `dcgmi diag`
 *    on GPUs a run uses would fail and wrongly keep the node out.
 * 2. `diag` (DCGM image): `dcgmi diag -r 2` and the count of /sys/class/infiniband devices.
 * 3. `verdict` (curl image): the verdict; removes the startup taint, or sets the unhealthy taint
 *    and the reason annotation; records the boot ID; then idles (a DaemonSet pod must keep running).
 *
 * How `diag` reaches the GPUs: on our EKS cluster, through the node monitoring agent's DCGM host
 * engine on hostPort 5555 of the node (catalog/observability.ts NODE_AGENT_HOSTENGINE_PORT):
 * `dcgmi diag --host <node IP>:5555` — the diagnostic runs inside that engine, so this pod needs no
 * GPU, no root and no capability. On a bring-your-own cluster (no such engine known) it starts its
 * own `nv-hostengine` and gets every GPU the way a GPU container does without a device-plugin
 * request: the EKS AL2023 NVIDIA AMI makes `nvidia` containerd's default runtime when
 * /usr/bin/nvidia-container-runtime exists (awslabs/amazon-eks-ami
 * nodeadm/internal/containerd/runtime_config_nvidia.go, commit ed5cea81), and that runtime mounts
 * the GPUs NVIDIA_VISIBLE_DEVICES names, `all` for every one (NVIDIA Container Toolkit, "Specialized
 * Configurations with Docker / Environment variables",
 * https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/docker-specialized.html).
 * Both paths are verified only on a real cluster (no GPU here).
 */
import type * as k8s from "@pulumi/kubernetes";
import { DCGM_DIAG_LEVEL, DCGM_RESULTS } from "../../catalog/nodeHealth";
import { FSX_STARTUP_TAINT, type Taint } from "../../catalog/nodeLabels";
import { NODE_AGENT_HOSTENGINE_PORT } from "../../catalog/observability";
import { imageRef, IMAGES } from "../../catalog/versions";
import type { GpuNodeGroupInfo } from "../gpuNodes";
import { KUBE_CURL } from "../lifecycle/scripts";
import { tolerationsForTaints } from "../scheduling";
import { hardenPodSpec } from "../security/pods";
import { HEALTH_PENDING_TAINT, UNHEALTHY_REASON_ANNOTATION, UNHEALTHY_TAINT } from "./nodeHealth";

/** Boot ID (status.nodeInfo.bootID) of the node's last check: a different one means the node rebooted and is checked again. */
export const CHECKED_BOOT_ANNOTATION = "miles-cluster.io/health-checked-boot";
/** How long `diag` waits for the node agent's DCGM engine on a node that just joined (its pod may start after ours). */
export const ENGINE_WAIT_SECONDS = 600;
/** Files the containers of the pod pass on to each other (an emptyDir mounted here). */
export const NODE_CHECK_DIR = "/node-check";
/** `dcgmi diag -r 2` takes minutes; past this the check fails closed (DCGM user guide, "Run Levels": level 2 is "medium", < 2 min per GPU group in NVIDIA's table). */
export const DIAG_TIMEOUT_SECONDS = 1200;

export const taintJson = (t: Taint) => `{"key":"${t.key}","value":"${t.value}","effect":"${t.effect}"}`;

/**
 * awk over `dcgmi diag` output → the verdict's reasons, one per line (none: healthy). The same
 * reading as `parseDcgmDiag` + `nodeVerdict` (a test-level Fail or a per-GPU Fail keeps the node
 * out; Warn/Skip do not; output that is not a diag table fails closed). Vars: efa_expected, efa_found.
 */
export const DIAG_VERDICT_AWK = `function trim(s) { sub(/^[ \\t\\r\\n]+/, "", s); sub(/[ \\t\\r\\n]+$/, "", s); return s }
function result(s,   i, r) {
  for (i = 1; i <= nr; i++) { r = R[i]; if (substr(s, 1, length(r)) == r && (length(s) == length(r) || substr(s, length(r) + 1, 1) !~ /[A-Za-z0-9_]/)) return r }
  return ""
}
BEGIN { nr = split("${DCGM_RESULTS.join("|")}", R, "|"); ok = 0; n = 0; cur = 0; msg = 0; cat = "" }
/Successfully ran diagnostic for group\\./ { ok = 1 }
{
  line = $0
  if (line ~ /^[|+]-----[ \\t]+[A-Za-z0-9_]+[ \\t]+-/) { c = line; sub(/^[|+]-----[ \\t]+/, "", c); sub(/[^A-Za-z0-9_].*$/, "", c); cat = c; cur = 0; next }
  # A row: "| " + 25 characters + " | " + 45 characters + "  |" (parseDcgmDiag's fixed widths).
  if (length(line) < 78 || substr(line, 1, 2) != "| " || substr(line, 28, 3) != " | " || substr(line, 76, 3) != "  |" || substr(line, 79) !~ /^[ \\t\\r]*$/) next
  left = trim(substr(line, 3, 25)); right = substr(line, 31, 45)
  if (cat == "Metadata") next
  if (left == "") {
    g = trim(right)
    if (g ~ /^GPU[0-9]+:/ && cur) {
      idx = g; sub(/^GPU/, "", idx); sub(/:.*$/, "", idx); rest = g; sub(/^GPU[0-9]+:[ \\t]*/, "", rest); r = result(rest)
      if (r != "") { G[cur, idx + 0] = r; if (idx + 0 > maxg[cur]) maxg[cur] = idx + 0; msg = 0; next }
    }
    # A message wraps at 45 characters mid-word: its pieces join without a separator.
    if (msg) M[msg] = M[msg] right
    next
  }
  if ((left == "Warning" || left == "Error") && cur) { if (!(cur in M)) { M[cur] = right; msg = cur } else msg = 0; next }
  r = result(trim(right))
  if (r != "") { n++; cur = n; C[n] = cat; N[n] = left; T[n] = r; maxg[n] = -1; msg = 0 }
}
END {
  if (!ok) print "dcgmi diag: not a dcgmi diag result: no 'Successfully ran diagnostic for group.'"
  else if (n == 0) print "dcgmi diag: dcgmi diag printed no test result"
  else for (i = 1; i <= n; i++) {
    bad = ""
    for (j = 0; j <= maxg[i]; j++) if (((i, j) in G) && G[i, j] == "Fail") bad = bad (bad == "" ? "" : ", ") "GPU" j
    if (T[i] != "Fail" && bad == "") continue
    m = ""; if (i in M) { m = M[i]; gsub(/[ \\t\\r\\n]+/, " ", m); m = trim(m) }
    print "dcgmi diag " C[i] "/" N[i] ": Fail" (bad == "" ? "" : " on " bad) (m == "" ? "" : " — " m)
  }
  if (efa_found + 0 < efa_expected + 0) print "EFA: " (efa_found + 0) " of " (efa_expected + 0) " devices present"
}`;

/**
 * sh: the node's JSON in $S/node.json (compact), its taint keys in order in $S/taints, its boot ID in $S/boot;
 * the patches of healthTaintPatch. Also the run node watcher's (domain/lifecycle/nodeWatch.ts), which sets
 * NODE_NAME and NODE_URL per node.
 */
export const NODE_API_SH = `${KUBE_CURL}
NODE_URL="$API/api/v1/nodes/$NODE_NAME"
read_node() {
  kube -o $S/node.raw -w '%{http_code}' "$NODE_URL" > $S/code || true
  [ "$(cat $S/code)" = 200 ] || { echo "reading node $NODE_NAME failed: HTTP $(cat $S/code)"; cat $S/node.raw 2>/dev/null; return 1; }
  tr -d ' \\n\\r\\t' < $S/node.raw > $S/node.json
  # spec.taints is the last "taints" list of a Node (status has none); keys, values and effects hold no spaces or brackets.
  sed -n 's/.*"taints":\\[\\([^]]*\\)\\].*/\\1/p' $S/node.json | sed 's/},{/}\\n{/g' | sed -n 's/.*"key":"\\([^"]*\\)".*/\\1/p' > $S/taints
  sed -n 's/.*"bootID":"\\([^"]*\\)".*/\\1/p' $S/node.json > $S/boot
}
has_taint() { grep -qx "$1" $S/taints; }
# JSON Patch ops removing the taints with these keys (highest index first, each guarded by a test op).
remove_ops() {
  awk -v keys="$*" 'BEGIN { split(keys, K, " ") } { for (k in K) if ($0 == K[k]) i[++n] = (NR - 1) "\\t" $0 } END { for (j = n; j >= 1; j--) { split(i[j], p, "\\t"); printf "%s{\\"op\\":\\"test\\",\\"path\\":\\"/spec/taints/%s/key\\",\\"value\\":\\"%s\\"},{\\"op\\":\\"remove\\",\\"path\\":\\"/spec/taints/%s\\"}", (j < n ? "," : ""), p[1], p[2], p[1] } }' $S/taints
}
# An add op for a taint: onto the list, or the list itself when the node has none (the API server omits an empty list).
add_op() { if [ -s $S/taints ]; then echo "{\\"op\\":\\"add\\",\\"path\\":\\"/spec/taints/-\\",\\"value\\":$1}"; else echo "{\\"op\\":\\"add\\",\\"path\\":\\"/spec/taints\\",\\"value\\":[$1]}"; fi; }
patch_node() { code=$(kube -o $S/patch.out -w '%{http_code}' -X PATCH -H "Content-Type: $1" --data "$2" "$NODE_URL"); [ "$code" = 200 ] || { echo "patching node $NODE_NAME failed: HTTP $code"; cat $S/patch.out; return 1; }; }
# Lines joined with "; ", cut at 4096 characters (healthTaintPatch), as a JSON string body.
json_str() { awk 'BEGIN { ORS = "" } { s = s (NR > 1 ? "; " : "") $0 } END { s = substr(s, 1, 4096); for (i = 1; i <= length(s); i++) { c = substr(s, i, 1); if (c == "\\\\" || c == "\\"") o = o "\\\\" c; else if (c == "\\t") o = o "\\\\t"; else o = o c }; print o }'; }`;

/**
 * Init container `gate` (curl image). Writes $S/check: `yes` (run the diagnostic) or `no`.
 * Env: NODE_NAME.
 */
export const NODE_CHECK_GATE_SCRIPT = `set -eu
S=\${STATE_DIR:-${NODE_CHECK_DIR}}
${NODE_API_SH}
read_node
checked=$(sed -n 's|.*"${CHECKED_BOOT_ANNOTATION}":"\\([^"]*\\)".*|\\1|p' $S/node.json)
if has_taint ${HEALTH_PENDING_TAINT.key}; then echo "node $NODE_NAME carries ${HEALTH_PENDING_TAINT.key}: checking it"; echo yes > $S/check; exit 0; fi
if [ -n "$checked" ] && [ "$checked" = "$(cat $S/boot)" ]; then echo "node $NODE_NAME was checked in this boot ($checked): not running dcgmi diag on GPUs a run may use"; echo no > $S/check; exit 0; fi
echo "node $NODE_NAME booted since its last check (\${checked:-never checked}): tainting it ${HEALTH_PENDING_TAINT.key} until it passes"
patch_node application/json-patch+json "[$(add_op '${taintJson(HEALTH_PENDING_TAINT)}')]"
echo yes > $S/check
`;

/**
 * Init container `diag` (DCGM image): `dcgmi diag -r ${DCGM_DIAG_LEVEL}` into $S/diag.txt, the EFA
 * device count into $S/efa. Never fails: whatever it printed is judged by the verdict (fail closed).
 * Env: DCGM_HOST (the node agent's host engine, host:port; unset: start our own), EXPECTED_EFA,
 * ENGINE_WAIT_SECONDS (how long to wait for that engine to answer).
 */
export const NODE_CHECK_DIAG_SCRIPT = `set -u
S=\${STATE_DIR:-${NODE_CHECK_DIR}}
[ "$(cat $S/check)" = yes ] || exit 0
if [ -n "\${DCGM_HOST:-}" ]; then
  set -- --host "$DCGM_HOST"
  # On a fresh node the agent's dcgm-server pod may start after this one: wait for its engine (then fail closed).
  w=0; until dcgmi discovery -l "$@" > /dev/null 2>&1 || [ $w -ge \${ENGINE_WAIT_SECONDS:-${ENGINE_WAIT_SECONDS}} ]; do sleep 10; w=$((w + 10)); done
else
  nv-hostengine --log-filename $S/hostengine.log || echo "nv-hostengine did not start"
  sleep 5
  set --
fi
timeout ${DIAG_TIMEOUT_SECONDS} dcgmi diag -r ${DCGM_DIAG_LEVEL} "$@" > $S/diag.txt 2>&1
echo "dcgmi diag -r ${DCGM_DIAG_LEVEL}: exit $?"
cat $S/diag.txt
ls /sys/class/infiniband 2>/dev/null | wc -l | tr -d ' ' > $S/efa
echo "EFA devices in /sys/class/infiniband: $(cat $S/efa) (expected $EXPECTED_EFA)"
exit 0
`;

/**
 * Container `verdict` (curl image): applies the verdict, then idles (a DaemonSet pod keeps
 * running). The annotations are written before the taints change, so a node kept out always
 * carries its reason. Env: NODE_NAME, EXPECTED_EFA, IDLE (false: exit after the patch; tests).
 */
export const NODE_CHECK_VERDICT_SCRIPT = `set -eu
S=\${STATE_DIR:-${NODE_CHECK_DIR}}
${NODE_API_SH}
idle() { [ "\${IDLE:-true}" = true ] || exit 0; while :; do sleep 3600; done; }
[ "$(cat $S/check)" = yes ] || idle
cat > $S/verdict.awk <<'AWK'
${DIAG_VERDICT_AWK}
AWK
[ -f $S/diag.txt ] || : > $S/diag.txt
awk -v efa_expected="$EXPECTED_EFA" -v efa_found="$(cat $S/efa 2>/dev/null || echo 0)" -f $S/verdict.awk $S/diag.txt > $S/reasons
read_node
boot=$(cat $S/boot)
ops=$(remove_ops ${HEALTH_PENDING_TAINT.key} ${UNHEALTHY_TAINT.key})
if [ -s $S/reasons ]; then
  reason=$(json_str < $S/reasons)
  echo "node $NODE_NAME kept out: $(cat $S/reasons)"
  patch_node application/merge-patch+json "{\\"metadata\\":{\\"annotations\\":{\\"${UNHEALTHY_REASON_ANNOTATION}\\":\\"$reason\\",\\"${CHECKED_BOOT_ANNOTATION}\\":\\"$boot\\"}}}"
  patch_node application/json-patch+json "[\${ops:+$ops,}$(add_op '${taintJson(UNHEALTHY_TAINT)}')]"
else
  echo "node $NODE_NAME passed dcgmi diag -r ${DCGM_DIAG_LEVEL} and the EFA check"
  patch_node application/merge-patch+json "{\\"metadata\\":{\\"annotations\\":{\\"${UNHEALTHY_REASON_ANNOTATION}\\":null,\\"${CHECKED_BOOT_ANNOTATION}\\":\\"$boot\\"}}}"
  [ -z "$ops" ] || patch_node application/json-patch+json "[$ops]"
fi
idle
`;

/** The only API access the check needs: read and patch nodes (a ClusterRole cannot name "this pod's node"). */
export const NODE_CHECK_RULES: k8s.types.input.rbac.v1.PolicyRule[] = [{ apiGroups: [""], resources: ["nodes"], verbs: ["get", "patch"] }];

export interface NodeCheckOptions {
    /** Use the node monitoring agent's DCGM host engine on the node (our EKS cluster); false: start one in the pod. */
    nodeAgentHostEngine: boolean;
    serviceAccountName: string;
}

/**
 * The pod of the node check for one GPU node group: on its nodes only, tolerating the group's
 * taints, the startup taints (health-pending, FSx) and the unhealthy taint (a node kept out is
 * re-checked when it reboots). Hardened: no privilege escalation, every capability dropped,
 * RuntimeDefault seccomp, read-only root file systems; the API token only because it patches its node.
 * With the node agent's host engine `diag` runs as a non-root user and gets no GPU; without it, it
 * runs as root (nv-hostengine opens /dev/nvidia*, root-owned) with NVIDIA_VISIBLE_DEVICES=all.
 */
export function nodeCheckPodSpec(g: GpuNodeGroupInfo, o: NodeCheckOptions): k8s.types.input.core.v1.PodSpec {
    const nodeName = { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } };
    const mount = [{ name: "state", mountPath: NODE_CHECK_DIR }];
    const small = { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } };
    const curl = (name: string, script: string, env: k8s.types.input.core.v1.EnvVar[]) => ({
        name,
        image: imageRef(IMAGES.curl),
        command: ["/bin/sh", "-c", script],
        env,
        volumeMounts: mount,
        resources: small,
        securityContext: { readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 65534 },
    });
    const diagEnv: k8s.types.input.core.v1.EnvVar[] = o.nodeAgentHostEngine
        ? [
              { name: "NODE_IP", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } },
              { name: "DCGM_HOST", value: `$(NODE_IP):${NODE_AGENT_HOSTENGINE_PORT}` },
          ]
        : [
              { name: "NVIDIA_VISIBLE_DEVICES", value: "all" },
              { name: "NVIDIA_DRIVER_CAPABILITIES", value: "compute,utility" },
          ];
    return hardenPodSpec(
        {
            serviceAccountName: o.serviceAccountName,
            nodeSelector: { ...g.selector },
            tolerations: tolerationsForTaints([...g.taints, HEALTH_PENDING_TAINT, UNHEALTHY_TAINT, FSX_STARTUP_TAINT]),
            priorityClassName: "system-node-critical",
            initContainers: [
                curl("gate", NODE_CHECK_GATE_SCRIPT, [nodeName]),
                {
                    name: "diag",
                    image: imageRef(IMAGES.dcgm),
                    command: ["/bin/sh", "-c", NODE_CHECK_DIAG_SCRIPT],
                    env: [...diagEnv, { name: "EXPECTED_EFA", value: String(g.efaPerNode) }],
                    volumeMounts: mount,
                    resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "2Gi" } },
                    securityContext: o.nodeAgentHostEngine ? { readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 65534 } : { readOnlyRootFilesystem: true, runAsUser: 0 },
                },
            ],
            containers: [curl("verdict", NODE_CHECK_VERDICT_SCRIPT, [nodeName, { name: "EXPECTED_EFA", value: String(g.efaPerNode) }])],
            volumes: [{ name: "state", emptyDir: { sizeLimit: "64Mi" } }],
        },
        { apiAccess: true },
    );
}
