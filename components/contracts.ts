/**
 * What each component hands to the ones created after it. `program.ts` wires them in this order:
 * cluster → namespace → storage → addons → training. Keeping the contracts here (not in the
 * components) lets each component be built and tested on its own.
 */
import type { QueueHandle } from "../domain/kueue";
import type * as pulumi from "@pulumi/pulumi";
import type * as k8s from "@pulumi/kubernetes";
import type { GpuNodeGroupInfo } from "../domain/gpuNodes";
import type { TrainingObservability } from "../domain/monitoring/resolve";
import type { BlockWindow } from "../domain/lifecycle/capacityBlock";


export interface AwsNetworkInfo {
    vpcId: pulumi.Output<string>;
    /** The private subnet in the GPU availability zone (GPU nodes, FSx). */
    gpuSubnetId: pulumi.Output<string>;
    /** Every private subnet of the cluster (system nodes, EFS mount targets). */
    privateSubnetIds: pulumi.Output<string[]>;
    /** The security group every node (system and GPU) carries; storage opens its ports to it. */
    nodeSecurityGroupId: pulumi.Output<string>;
    vpcCidr: pulumi.Output<string>;
    /**
     * How many zones `privateSubnetIds` spans (one private subnet each, GPU zone first), when known
     * before deployment: a created VPC. Undefined for an existing VPC, whose subnets' zones are not
     * known offline.
     */
    zoneCount?: number;
}

export interface ClusterHandle {
    /** Provider for every Kubernetes resource of the stack. */
    provider: k8s.Provider;
    /** Present when miles-cluster created the EKS cluster; undefined for a bring-your-own cluster. */
    aws?: {
        clusterName: pulumi.Output<string>;
        network: AwsNetworkInfo;
        /** Resources (node groups, add-ons) Kubernetes workloads should wait for. */
        ready: pulumi.Resource[];
    };
    gpuNodeGroups: GpuNodeGroupInfo[];
    /**
     * The window of each Capacity Block group (by group name) as the deployment knows it: read from
     * the reservation at deploy, the config's `capacity.window` under `plan`; undefined when neither
     * says.
     */
    capacityBlockWindows?: Record<string, pulumi.Output<BlockWindow | undefined>>;
}

export interface NamespaceHandle {
    name: string;
    /**
     * What objects in the namespace wait for: the Namespace the stack creates, or the patch of the one
     * it adopts; undefined for an existing namespace the stack only references (nothing to wait for).
     */
    resource?: pulumi.Resource;
}

export interface StorageHandle {
    /** PersistentVolumeClaim (in the training namespace) every training pod mounts read-write-many. */
    claimName: string;
    /** Resources a pod mounting the claim must wait for. */
    ready: pulumi.Resource[];
    /** The FSx for Lustre file system, when the storage is one (the lifecycle Jobs wait on its export queue). */
    fileSystemId?: pulumi.Output<string>;
    /** The S3 bucket linked to the file system, when there is one. */
    bucket?: {
        name: pulumi.Output<string>;
        arn: pulumi.Output<string>;
        /** The customer-managed KMS key of a created bucket's default encryption (SSE-KMS): whoever reads or writes objects also needs kms:Decrypt/GenerateDataKey on it. */
        kmsKeyArn?: string;
    };
}

export interface AddonsHandle {
    /** Service account the training pods run as. */
    serviceAccountName: string;
    /**
     * The Kueue queue the runs wait in (their RayJob and convert Job are labelled for it); undefined
     * when the stack has none (`addons.kueue.enabled: false`).
     */
    queue?: QueueHandle;
    /** Resources (KubeRay CRDs and operator, device plugins) a RayJob must wait for. */
    ready: pulumi.Resource[];
    /**
     * Service account, in the training namespace, every run's node watcher runs as (ClusterAddons'
     * NodeWatchAccess: nodes get/list/patch, the namespace's pods list/delete).
     * @default none: each run's lifecycle account gets that grant itself (a per-run ClusterRole, which a run stack may not create)
     */
    nodeWatchServiceAccount?: string;
    /**
     * What watches the training pods: the monitoring stack (then miles' exporter and the
     * checkpoint probe are on) and the CloudWatch log group their Fluent Bit sidecars ship to.
     * @default no monitoring, no log shipping
     */
    observability?: TrainingObservability;
    /**
     * What a run's objects in the monitoring namespace (its Ray dashboards ConfigMap and Role) wait
     * for: the monitoring namespace.
     * @default []
     */
    monitoringReady?: pulumi.Resource[];
}

