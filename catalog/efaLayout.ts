/**
 * The EFA network-interface layout of a GPU launch template, as pure data.
 *
 * Layout chosen (one, deliberately; see ../shared/reference/gpu-cluster-anchors.md §2.3):
 *
 *   - network card 0, device index 0: `efa`  — the primary interface. It must be `interface` or
 *     `efa` (never `efa-only`, rule 1); `efa` gives both the ENA IP path (node IP, pod IPs from the
 *     VPC CNI) and one EFA device on card 0.
 *   - every other network card N (1..cards-1), device index 1: `efa-only` — an EFA device with no
 *     IP address, so 32 cards do not drain the subnet or the VPC CNI's IP pool (rule 4; needs
 *     VPC CNI >= 1.18.4).
 *
 * This is the convention terraform-aws-eks (v21, `enable_efa_only`) and pulumi-eks
 * (`enableEfaSupport`) ship for managed node groups, so it is the layout with the most production
 * use on EKS. AWS's newer recommendation (rule 2: ENA primary + an extra `efa-only` at card 0
 * device 1, device index 0 on the other cards) needs one interface more than there are cards; we
 * keep exactly one interface per network card, so the node exposes exactly `networkCards` EFA
 * devices (`vpc.amazonaws.com/efa`: 32 on p5/p5e, 16 on p5en), which is what the training pods
 * request. The same layout for p5, p5e and p5en. AWS's current page
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/efa-acc-inst-types.html recommends an ENA
 * primary + `efa-only` at card 0 device 1 + `efa-only` at device 0 elsewhere, and says P5 needs "a
 * specific manner" for maximum bandwidth (#efa-for-p5, not readable here; dstack's
 * src/dstack/_internal/core/backends/aws/resources.py @511c318 reads its earlier version as `efa` on
 * every fourth card of a p5.48xlarge). Both keep one EFA device per card, so the device count the
 * pods request is the same; the fabric gate (domain/fabric/) measures what a cluster really gets
 * before every run and fails when NICs are missing or bandwidth is low.
 *
 * Security groups go on every interface (a launch template with interfaces cannot also carry
 * instance-level groups), and EKS does not add its cluster security group when a template names
 * groups, so the caller passes the full list for each interface (rule 6). No subnet in the
 * template: managed node groups reject it (rule 7).
 */
import { instanceFacts, type GpuInstanceType } from "./instances";

export type EfaInterfaceType = "efa" | "efa-only" | "interface";

/** One entry of `aws.ec2.LaunchTemplate.networkInterfaces`, without security groups. */
export interface EfaInterfaceSlot {
    networkCardIndex: number;
    deviceIndex: number;
    interfaceType: EfaInterfaceType;
    /** Launch templates take booleans as strings. */
    deleteOnTermination: "true";
}

/** Every network card of the instance type, in card order, with the layout described above. */
export function efaInterfaceSlots(instanceType: GpuInstanceType): EfaInterfaceSlot[] {
    const cards = instanceFacts(instanceType).networkCards;
    return Array.from({ length: cards }, (_, card) =>
        card === 0
            ? { networkCardIndex: 0, deviceIndex: 0, interfaceType: "efa" as const, deleteOnTermination: "true" as const }
            : { networkCardIndex: card, deviceIndex: 1, interfaceType: "efa-only" as const, deleteOnTermination: "true" as const },
    );
}

/** The launch-template interfaces with `securityGroups` on each one. */
export function efaNetworkInterfaces<T>(instanceType: GpuInstanceType, securityGroups: T[]): Array<EfaInterfaceSlot & { securityGroups: T[] }> {
    return efaInterfaceSlots(instanceType).map((slot) => ({ ...slot, securityGroups: [...securityGroups] }));
}

/** EFA devices a node of this type exposes with this layout (one per network card). */
export function efaDevicesPerNode(instanceType: GpuInstanceType): number {
    return efaInterfaceSlots(instanceType).filter((s) => s.interfaceType !== "interface").length;
}

/**
 * 2 MiB huge pages an EFA node pre-allocates (the EFA driver's 5,128 pages, for libfabric's
 * buffers): the node's `hugepages-2Mi` capacity, from which the worker pods request theirs.
 * Source: ../shared/reference/gpu-cluster-anchors.md §2.3 rule 10 (awsome-distributed-training EFA
 * cheatsheet; its nccl-tests request 5120Mi of them).
 */
export const EFA_HUGEPAGES_2MI_PER_NODE = 5128;

/** `hugepages-2Mi` of an EFA node, as a Kubernetes quantity (MiB). */
export function efaHugepages2MiQuantity(): string {
    return `${EFA_HUGEPAGES_2MI_PER_NODE * 2}Mi`;
}
