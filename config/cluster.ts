import { z } from "zod";
import { DEFAULT_KUBERNETES_VERSION } from "../catalog/eksVersions";
import { GPU_INSTANCE_TYPES } from "../catalog/instances";
import { GPU_TAINT } from "../catalog/nodeLabels";
import { contains, formatIpv4Cidr, hasHostBits, networkOf, nonPublicRange, parseIpv4Cidr } from "./cidr";

const instanceType = z.enum(GPU_INSTANCE_TYPES, {
    error: (iss) => `${JSON.stringify(iss.input)} is not an H100/H200 instance type; use one of ${GPU_INSTANCE_TYPES.join(", ")}`,
});

const reservationId = z
    .string()
    .regex(/^cr-[0-9a-f]{8}([0-9a-f]{9})?$/, { error: (iss) => `${JSON.stringify(iss.input)} is not a capacity reservation id (cr- followed by 8 or 17 hex digits)` })
    .meta({ description: "Capacity reservation id (`cr-` + 17 hex digits), from `aws ec2 describe-capacity-reservations`.", examples: ["cr-0123456789abcdef0"] });

const instant = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/, "must be an RFC 3339 date-time such as 2026-12-07T11:30:00Z");

const availabilityZone = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, "must be an availability zone name such as us-east-1a");

const ipv4Cidr = z
    .string()
    .regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/(\d|[12]\d|3[0-2])$/, { error: (iss) => `${JSON.stringify(iss.input)} is not an IPv4 CIDR block such as 10.0.0.0/16` })
    .superRefine((text, ctx) => {
        // `10.0.0.1/16`: EC2 rejects a VPC block with host bits set, and an allow list written so is ambiguous.
        const c = parseIpv4Cidr(text);
        if (c && hasHostBits(c)) ctx.addIssue({ code: "custom", message: `${JSON.stringify(text)} has host bits set: write its network address, ${formatIpv4Cidr(networkOf(c))}` });
    });

/**
 * Public-endpoint allow list: public ranges only (EKS: "The blocks cannot include reserved
 * addresses", awsdocs/amazon-eks-user-guide latest/ug/clusters/cluster-endpoint.adoc), each once.
 */
const publicCidrList = z.array(ipv4Cidr).superRefine((list, ctx) => {
    const parsed = list.map((t) => parseIpv4Cidr(t));
    parsed.forEach((c, i) => {
        if (!c || hasHostBits(c)) return;
        const reserved = nonPublicRange(c);
        if (reserved) {
            ctx.addIssue({ code: "custom", path: [i], message: `${JSON.stringify(list[i])} is not a public range (${reserved}): the public endpoint only sees internet addresses, and EKS rejects reserved ones; nodes and in-VPC clients use the private endpoint` });
            return;
        }
        const j = parsed.findIndex((o, k) => k !== i && o !== undefined && !hasHostBits(o) && contains(o, c) && (k < i || !contains(c, o)));
        if (j >= 0) ctx.addIssue({ code: "custom", path: [i], message: list[j] === list[i] ? `${JSON.stringify(list[i])} is listed twice` : `${JSON.stringify(list[i])} is already covered by ${JSON.stringify(list[j])}; remove it` });
    });
});

/** Retention values CloudWatch Logs accepts (PutRetentionPolicy, https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html). */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

function logRetentionDays(defaultDays: number) {
    return z
        .number()
        .int("must be a whole number of days")
        .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), { error: (iss) => `${String(iss.input)} is not a retention CloudWatch Logs accepts; use one of ${LOG_RETENTION_DAYS.join(", ")}` })
        .default(defaultDays);
}

/** Name of the system (operators) node group; GPU groups may not use it. */
export const SYSTEM_NODE_GROUP_NAME = "system";

export const CapacitySchema = z.discriminatedUnion("type", [
    z.strictObject({ type: z.literal("on-demand") }).meta({ description: "On-Demand instances (needs P-instance vCPU quota; capacity is often short)." }),
    z
        .strictObject({
            type: z.literal("spot"),
            usdPerHour: z
                .number()
                .positive()
                .optional()
                .meta({ description: "Your spot price per instance-hour, for `plan`'s cost line (spot prices move; `aws ec2 describe-spot-price-history`). Default: an assumption of 40% of the on-demand price, labelled as such." }),
        })
        .meta({ description: "Spot instances: cheapest, can be reclaimed at any time." }),
    z
        .strictObject({ type: z.literal("capacity-reservation"), reservationId })
        .meta({ description: "An On-Demand Capacity Reservation (ODCR), targeted by id." }),
    z
        .strictObject({
            type: z.literal("capacity-block"),
            reservationId,
            window: z
                .strictObject({
                    start: instant.meta({ description: "Start of the block (RFC 3339 UTC), as `aws ec2 describe-capacity-reservations` shows it (StartDate).", examples: ["2026-12-07T11:30:00Z"] }),
                    end: instant.meta({ description: "End of the block (RFC 3339 UTC; blocks end at 11:30 UTC) (EndDate).", examples: ["2026-12-14T11:30:00Z"] }),
                })
                .optional()
                .meta({
                    description:
                        "The block's start and end, for the offline `plan` (schedule, cost per hour). `pulumi up` reads them from the reservation itself (aws.ec2.getCapacityBlockReservation) and warns when they differ.",
                }),
            upfrontPriceUsd: z
                .number()
                .positive()
                .optional()
                .meta({ description: "What the block cost (its up-front fee in USD, from the purchase or `aws ec2 describe-capacity-block-offerings`), for `plan`'s cost line (spread over the window)." }),
            saveLeadMinutes: z
                .number()
                .int()
                .min(10, "must be at least 10 minutes (a training step, the checkpoint write and the export)")
                .max(720, "must be at most 720")
                .default(60)
                .meta({
                    description:
                        "How long before EKS drains the group (40 minutes before the block ends) the run is asked to save: at least one training step (miles checks its sentinel when a step ends) + one checkpoint write + its export to S3.",
                }),
        })
        .meta({ description: "An EC2 Capacity Block for ML, targeted by its reservation id (at most 64 instances). The group is created at size 0 and scaled up when the block starts; the run saves and is suspended before it ends, and resumes on the next block." }),
]);

const PlacementGroupSchema = z
    .union([
        z.boolean(),
        z.strictObject({
            name: z
                .string()
                .min(1)
                .max(255)
                .meta({ description: "Name of an existing cluster placement group, e.g. the one an ODCR was created in.", examples: ["p5-odcr-pg"] }),
        }),
    ])
    .optional()
    .meta({
        description:
            "Cluster placement group. Default: a new one for on-demand and spot groups, none for reserved capacity (a placement group the reservation was not created in breaks it). " +
            "`false` opts out; `true` creates one (on-demand/spot only); `{ name }` uses an existing one (e.g. the group an ODCR was created in). Never allowed on a Capacity Block (already co-located).",
        examples: [{ name: "p5-odcr-pg" }],
    });

export const GpuNodeGroupSchema = z.strictObject({
    name: z
        .string()
        .regex(/^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/, "must be 1-32 lowercase letters, digits or '-', starting and ending with a letter or digit")
        .meta({ description: "Name of the node group, unique in the stack; also the value of the node-group label.", examples: ["h100"] }),
    instanceType: instanceType.meta({ description: "EC2 instance type.", examples: ["p5.48xlarge"] }),
    nodes: z
        .number()
        .int()
        .min(0, "must be 0 or more")
        .max(512, "must be at most 512")
        .meta({ description: "Number of nodes (min = desired = max). 0 keeps the group with no instances, e.g. before a Capacity Block starts.", examples: [2] }),
    scaling: z
        .enum(["auto", "fixed"])
        .default("auto")
        .meta({
            description:
                "On-demand and spot groups: `auto` (default) scales between 0 and `nodes` with the Cluster Autoscaler, so GPU nodes run only while a pod needs them; `fixed` keeps `nodes` running. Capacity Block and ODCR groups are always fixed (paid whether used or not).",
        }),
    capacity: CapacitySchema.prefault({ type: "on-demand" }).meta({ description: "Where the instances come from.", examples: [{ type: "capacity-block", reservationId: "cr-0123456789abcdef0" }] }),
    amiFamily: z.enum(["al2023", "bottlerocket"]).default("al2023").meta({ description: "EKS-optimized NVIDIA AMI family: AL2023_x86_64_NVIDIA or BOTTLEROCKET_x86_64_NVIDIA." }),
    placementGroup: PlacementGroupSchema,
    rootVolumeGiB: z
        .number()
        .int()
        .min(50, "must be at least 50 (the NVIDIA AMIs and the miles image are large)")
        .max(16384, "must be at most 16384")
        .default(200)
        .meta({ description: "Encrypted gp3 root (AL2023) or data (Bottlerocket) volume in GiB. Container images and kubelet live on the local NVMe RAID0, so this stays modest." }),
});

const CreateNetworkSchema = z
    .strictObject({
        type: z.literal("create"),
        vpcCidr: ipv4Cidr
            .refine((c) => {
                const p = Number(c.split("/")[1]);
                return p >= 16 && p <= 20;
            }, "must be a /16 to /20 block (private subnets are a quarter of it each)")
            .default("10.0.0.0/16")
            .meta({ description: "CIDR block of the new VPC (/16 to /20)." }),
        availabilityZones: z
            .array(availabilityZone)
            .max(2, "at most 2 extra availability zones")
            .optional()
            .meta({
                description:
                    "Extra availability zones (besides the GPU one) for the system nodes and the EKS control plane, which needs subnets in at least two. Default: one more zone, `<region>b` (or `<region>a` when the GPU zone is b); set it when your account lacks that zone.",
                examples: [["us-east-1c"]],
            }),
        flowLogs: z
            .strictObject({
                enabled: z.boolean().default(true).meta({ description: "Record the VPC's flow logs to CloudWatch Logs (Security Hub EC2.6). Costs CloudWatch ingestion and storage (about $0.50 per GB ingested in us-east-1)." }),
                trafficType: z.enum(["ALL", "REJECT", "ACCEPT"]).default("ALL").meta({ description: "Which flows to record: ALL (forensics), or only REJECT (cheaper; what Security Hub EC2.6 asks at least)." }),
                retentionDays: logRetentionDays(90).meta({ description: "Days CloudWatch Logs keeps the flow logs (a value CloudWatch accepts, as for controlPlaneLogRetentionDays)." }),
            })
            .prefault({})
            .meta({ description: "VPC flow logs of the created VPC (an existing VPC's flow logs are its owner's)." }),
    })
    .meta({ description: "Create a VPC: a private and a public subnet per zone, one NAT gateway (in the GPU zone), an S3 gateway endpoint, flow logs, and its default security group closed." });

const ExistingNetworkSchema = z
    .strictObject({
        type: z.literal("existing"),
        vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, "must be a VPC id such as vpc-0123456789abcdef0").meta({ description: "Id of the existing VPC." }),
        privateSubnetIds: z
            .array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, "must be a subnet id such as subnet-0123456789abcdef0"))
            .min(2, "needs at least 2 private subnets in different availability zones (EKS requirement)")
            .meta({ description: "Private subnets (with a NAT route) for the control plane and system nodes, in at least two zones." }),
        gpuSubnetId: z
            .string()
            .regex(/^subnet-[0-9a-f]{8,17}$/, "must be a subnet id such as subnet-0123456789abcdef0")
            .meta({ description: "The private subnet in `availabilityZone` for the GPU nodes; must be one of `privateSubnetIds`." }),
    })
    .meta({ description: "Use an existing VPC and subnets (not verified offline: the GPU subnet must be in `availabilityZone`)." });

export const NetworkSchema = z.discriminatedUnion("type", [CreateNetworkSchema, ExistingNetworkSchema]);

const EndpointSchema = z
    .strictObject({
        publicAccessCidrs: publicCidrList
            .default([])
            .meta({
                description:
                    "CIDR blocks allowed to reach the Kubernetes API over the internet. Empty (default) = private endpoint only: `pulumi up` must then run from inside the VPC (VPN, bastion, CI runner), since it also creates Kubernetes objects. `0.0.0.0/0` is allowed but flagged by `plan`.",
                examples: [["203.0.113.0/24"]],
            }),
    })
    .meta({ description: "Kubernetes API endpoint access. The private endpoint is always on (nodes use it)." });

const SystemNodeGroupSchema = z
    .strictObject({
        instanceType: z
            .string()
            .regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, "must be an EC2 instance type such as m7i.xlarge")
            .default("m7i.xlarge")
            .meta({ description: "Instance type of the system nodes (CoreDNS, KubeRay operator, add-on controllers, download jobs)." }),
        nodes: z.number().int().min(1, "must be at least 1 (CoreDNS and the operators need an untainted node)").max(20, "must be at most 20").default(2).meta({ description: "Number of system nodes." }),
        rootVolumeGiB: z.number().int().min(20, "must be at least 20").max(16384, "must be at most 16384").default(100).meta({ description: "Encrypted gp3 root volume in GiB." }),
    })
    .meta({ description: "A small on-demand AL2023 node group for operators and cluster services; not tainted." });

const TaintSchema = z.strictObject({
    key: z.string().min(1).meta({ description: "Taint key." }),
    value: z.string().default("").meta({ description: "Taint value." }),
    effect: z.enum(["NoSchedule", "NoExecute", "PreferNoSchedule"]).meta({ description: "Kubernetes taint effect." }),
});

const ExistingGpuNodesSchema = z
    .strictObject({
        name: z
            .string()
            .regex(/^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/, "must be 1-32 lowercase letters, digits or '-', starting and ending with a letter or digit")
            .default("gpu")
            .meta({ description: "Name used for this set of GPU nodes in the plan and in resource names." }),
        selector: z
            .record(z.string().min(1), z.string())
            .refine((m) => Object.keys(m).length > 0, "needs at least one label")
            .default({ "nvidia.com/gpu.present": "true" })
            .meta({ description: "Node labels that select the GPU nodes (the NVIDIA GPU operator / GFD sets `nvidia.com/gpu.present=true`).", examples: [{ "node.kubernetes.io/instance-type": "gpu-h100-sxm-8gpu" }] }),
        taint: TaintSchema.nullable()
            .default({ ...GPU_TAINT })
            .meta({ description: "Taint the GPU nodes carry, which training pods and GPU add-ons tolerate; `null` when they carry none." }),
        instanceType: instanceType
            .optional()
            .meta({ description: "Set when the nodes are EC2 P5-family instances (e.g. an EKS cluster you manage): the training pods are then sized from its CPU and memory. Otherwise give training.resources.workerCpu/workerMemoryGiB." }),
        gpusPerNode: z.number().int().min(1, "must be at least 1").max(16, "must be at most 16").default(8).meta({ description: "GPUs per node (`nvidia.com/gpu` allocatable)." }),
        efaPerNode: z
            .number()
            .int()
            .min(0, "must be 0 or more")
            .max(32, "must be at most 32")
            .default(0)
            .meta({ description: "EFA devices per node (`vpc.amazonaws.com/efa`); 0 = none (InfiniBand/RoCE clusters, or EFA not wanted)." }),
        nodes: z.number().int().min(1, "must be at least 1").max(512, "must be at most 512").default(1).meta({ description: "Number of GPU nodes available to the training job." }),
        rdma: z
            .strictObject({
                resourceName: z
                    .string()
                    .regex(/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, "must be an extended resource name such as rdma/ib or nvidia.com/hostdev")
                    .meta({ description: "Extended resource the cluster's RDMA device plugin advertises (InfiniBand/RoCE), e.g. `rdma/ib` (Mellanox k8s-rdma-shared-dev-plugin) or `nvidia.com/hostdev`.", examples: ["rdma/ib"] }),
                perNode: z.number().int().min(1, "must be at least 1").max(64, "must be at most 64").meta({ description: "How many of that resource each GPU worker pod requests (one pod per node)." }),
                hca: z
                    .string()
                    .regex(/^[=^]?[A-Za-z0-9_:,.-]+$/, "must be an NCCL_IB_HCA value such as mlx5 or =mlx5_0:1,mlx5_1:1")
                    .optional()
                    .meta({ description: "`NCCL_IB_HCA`: which HCAs NCCL uses (default: all it finds)." }),
            })
            .optional()
            .meta({ description: "InfiniBand/RoCE on a cluster without EFA (CoreWeave, Nebius, Lambda, on-prem): the worker pods request this RDMA resource and NCCL is pinned to its IB transport, so a missing device fails instead of falling back to TCP." }),
    })
    .meta({ description: "How the GPU nodes of the existing cluster are selected and what they hold." });

/** Who owns the training namespace on a bring-your-own cluster (components/trainingNamespace.ts). */
export const NAMESPACE_OWNERSHIPS = ["existing", "adopt", "create"] as const;
export type NamespaceOwnership = (typeof NAMESPACE_OWNERSHIPS)[number];

export const ExistingClusterSchema = z
    .strictObject({
        kubeconfig: z.string().min(1).optional().meta({ description: "Kubeconfig of the cluster (YAML or JSON). A secret: `pulumi config set --secret --path 'miles-cluster:cluster.existing.kubeconfig' \"$(cat kubeconfig)\"`. Default: the ambient kubeconfig ($KUBECONFIG or ~/.kube/config)." }),
        context: z.string().min(1).optional().meta({ description: "Context of the kubeconfig to use. Default: its current context.", examples: ["coreweave-prod"] }),
        gpuNodes: ExistingGpuNodesSchema.prefault({}),
        trainingNamespace: z
            .enum(NAMESPACE_OWNERSHIPS)
            .default("existing")
            .meta({
                description:
                    "Who owns the training namespace (`training.namespace`), which must already hold the storage claim. `existing` (default): it exists and the stack only names it — never creates, labels, modifies or deletes it (its Pod Security labels are yours: `plan` says which level the runs need). `adopt`: the stack sets its Pod Security labels with a server-side-apply patch, kept on `pulumi destroy`, which never deletes the namespace. `create`: the stack creates the namespace and `pulumi destroy` deletes it — with everything in it.",
            }),
    })
    .meta({ description: "Bring your own Kubernetes cluster (on-prem, CoreWeave, Lambda, Nebius, another EKS...): no AWS resource is created; `gpuNodeGroups` must be empty and storage must be `existing-claim`." });

export const ClusterSchema = z
    .strictObject({
        name: z
            .string()
            .regex(/^[a-zA-Z][a-zA-Z0-9-]{0,99}$/, "must start with a letter and hold letters, digits or '-' (at most 100)")
            .optional()
            .meta({ description: "EKS cluster name. Default: `miles-<stack>`." }),
        availabilityZone: availabilityZone
            .optional()
            .meta({ description: "The one availability zone of the GPU nodes (GPU capacity, EFA and Capacity Blocks are per-AZ). Required unless `existing`.", examples: ["us-east-1a"] }),
        kubernetesVersion: z
            .string()
            .regex(/^1\.\d{2}$/, "must look like 1.35")
            .default(DEFAULT_KUBERNETES_VERSION)
            .meta({ description: "EKS Kubernetes version. Default: the newest version in EKS standard support on 2026-12-01 (1.35, standard support until 2027-03-27). `plan` warns 90 days before standard support ends (extended support costs $0.60 instead of $0.10 per cluster-hour); upgrade path: docs/upgrades.md." }),
        network: NetworkSchema.prefault({ type: "create" }).meta({ description: "The VPC: create one (default) or use an existing one.", examples: [{ type: "create", vpcCidr: "10.0.0.0/16" }] }),
        endpoint: EndpointSchema.prefault({}),
        controlPlaneLogs: z
            .array(z.enum(["api", "audit", "authenticator", "controllerManager", "scheduler"]))
            .default(["api", "audit", "authenticator"])
            .meta({ description: "EKS control plane log types sent to CloudWatch Logs (kept `controlPlaneLogRetentionDays`). Production: all five (CIS EKS Benchmark 2.1.1; Security Hub EKS.8 needs `audit`)." }),
        controlPlaneLogRetentionDays: logRetentionDays(30).meta({
            description: "Days CloudWatch Logs keeps the control plane logs (a value CloudWatch accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653). 30 for dev; keep a year or more for production.",
        }),
        adminRoleArns: z
            .array(z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/.+$/, "must be an IAM role or user ARN"))
            .default([])
            .meta({ description: "IAM principals given cluster-admin through EKS access entries, besides the identity running `pulumi up` (EKS already gives that one an entry: listing it here too fails with a duplicate access entry).", examples: [["arn:aws:iam::123456789012:role/ml-platform-admin"]] }),
        systemNodeGroup: SystemNodeGroupSchema.prefault({}),
        gpuNodeGroups: z.array(GpuNodeGroupSchema).default([]).meta({ description: "GPU node groups." }),
        existing: ExistingClusterSchema.optional(),
        clusterStack: z
            .strictObject({
                name: z
                    .string()
                    .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+){0,2}$/, "must be a Pulumi stack name: <stack>, or <org>/<project>/<stack>")
                    .meta({ description: "The cluster stack, as `pulumi.StackReference` takes it: `prod` (same project and organization) or `<org>/miles-cluster/prod`.", examples: ["prod"] }),
                planFrom: z
                    .string()
                    .regex(/^[A-Za-z0-9_.-]+$/, "must be a stack name with a file stacks/Pulumi.<name>.yaml in this repository")
                    .optional()
                    .meta({ description: "For the offline `plan` only: the stack file (stacks/Pulumi.<planFrom>.yaml) whose plan stands in for the cluster stack's outputs. Default: the last segment of `name`." }),
            })
            .optional()
            .meta({
                description:
                    "Make this a run stack: it creates only runs (Secrets, Jobs, RayJobs) on the cluster of another stack, reading that stack's outputs through a StackReference (kubeconfig as a secret; namespace, storage claim, service account, queue and GPU node groups from its `milesCluster` output). Set nothing else in `cluster`, and `{}` for storage and addons. Destroying a run stack deletes only its runs' objects, never the cluster, its storage or its checkpoints.",
            }),
    })
    .meta({ description: "The Kubernetes cluster and its GPU node groups." });

export type ClusterConfig = z.output<typeof ClusterSchema>;
export type GpuNodeGroupConfig = z.output<typeof GpuNodeGroupSchema>;
export type CapacityConfig = z.output<typeof CapacitySchema>;
export type NetworkConfig = z.output<typeof NetworkSchema>;
export type ExistingClusterConfig = z.output<typeof ExistingClusterSchema>;
export type SystemNodeGroupConfig = z.output<typeof SystemNodeGroupSchema>;

/** Paths (relative to `cluster`) that hold secrets and must be set with `pulumi config set --secret`. */
export const clusterSecretPaths: string[][] = [["existing", "kubeconfig"]];




