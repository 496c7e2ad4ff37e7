import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { transform, type Transform } from "./transform";
import { partOfLabels } from "../domain/labels";

/** Name of the claim miles-cluster creates in the training namespace (fsx-lustre and efs). */
export const SHARED_CLAIM_NAME = "miles-shared";

export interface SharedVolumeArgs {
    /**
     * Provider of the cluster the volume and claim are created in.
     * @example cluster.provider
     */
    provider: k8s.Provider;
    /**
     * Namespace of the claim (the training namespace).
     * @example "miles"
     */
    namespace: string;
    /**
     * Name of the PersistentVolumeClaim every training pod mounts.
     * @default "miles-shared"
     * @example "checkpoints"
     */
    claimName?: string;
    /**
     * Name of the (cluster-scoped) PersistentVolume.
     * @example "miles-shared-miles"
     */
    volumeName: string;
    /**
     * Capacity the volume declares (informational for FSx/EFS; Kubernetes requires it).
     * @example "1200Gi"
     */
    capacity: string;
    /**
     * The CSI volume: driver, handle and attributes.
     * @example { driver: "fsx.csi.aws.com", volumeHandle: fsx.fileSystem.id, volumeAttributes: { dnsname: fsx.fileSystem.dnsName, mountname: fsx.fileSystem.mountName } }
     */
    csi: {
        /** @example "fsx.csi.aws.com" */
        driver: string;
        /** @example the FSx file system id, or `fs-123::fsap-456` for EFS */
        volumeHandle: pulumi.Input<string>;
        /**
         * @default {}
         * @example { dnsname: "fs-0123.fsx.us-east-1.amazonaws.com", mountname: "abcdef01" }
         */
        volumeAttributes?: Record<string, pulumi.Input<string>>;
    };
    /**
     * Mount options of the volume.
     * @default []
     * @example ["flock"]
     */
    mountOptions?: string[];
    /**
     * Labels of the volume and the claim.
     * @default { "app.kubernetes.io/part-of": "miles-cluster", "app.kubernetes.io/component": "storage" }
     * @example { team: "rl" }
     */
    labels?: Record<string, string>;
    /**
     * What the volume and claim wait for (the namespace).
     * @default []
     * @example [namespace.resource]
     */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
    /**
     * Changes to the args of the PersistentVolume and the PersistentVolumeClaim.
     * @default none
     * @example { volume: (a) => { a.metadata = { ...a.metadata, annotations: { owner: "rl" } }; } }
     */
    transform?: {
        volume?: Transform<k8s.core.v1.PersistentVolumeArgs>;
        claim?: Transform<k8s.core.v1.PersistentVolumeClaimArgs>;
    };
}

/**
 * A static PersistentVolume bound to exactly one PersistentVolumeClaim in the training namespace:
 * ReadWriteMany, reclaim policy Retain (deleting the claim never deletes data), no StorageClass
 * (`storageClassName: ""` on both, so no dynamic provisioner takes the claim), pre-bound both ways
 * (`claimRef` on the volume, `volumeName` on the claim).
 */
export class SharedVolume extends pulumi.ComponentResource {
    readonly volume: k8s.core.v1.PersistentVolume;
    readonly claim: k8s.core.v1.PersistentVolumeClaim;

    constructor(name: string, args: SharedVolumeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:storage:SharedVolume", name, {}, opts);
        const k8sOpts = { parent: this, provider: args.provider };
        const claimName = args.claimName ?? SHARED_CLAIM_NAME;
        const labels = args.labels ?? partOfLabels("storage");
        const mountOptions = args.mountOptions ?? [];
        const t = args.transform ?? {};
        this.volume = new k8s.core.v1.PersistentVolume(
            ...transform(
                t.volume,
                `${name}-pv`,
                {
                    metadata: { name: args.volumeName, labels },
                    spec: {
                        capacity: { storage: args.capacity },
                        accessModes: ["ReadWriteMany"],
                        volumeMode: "Filesystem",
                        persistentVolumeReclaimPolicy: "Retain",
                        storageClassName: "",
                        mountOptions,
                        claimRef: { namespace: args.namespace, name: claimName },
                        csi: { driver: args.csi.driver, volumeHandle: args.csi.volumeHandle, volumeAttributes: args.csi.volumeAttributes },
                    },
                },
                { ...k8sOpts, dependsOn: args.dependsOn },
            ),
        );
        this.claim = new k8s.core.v1.PersistentVolumeClaim(
            ...transform(
                t.claim,
                `${name}-pvc`,
                {
                    metadata: { name: claimName, namespace: args.namespace, labels },
                    spec: {
                        accessModes: ["ReadWriteMany"],
                        storageClassName: "",
                        volumeName: this.volume.metadata.name,
                        resources: { requests: { storage: args.capacity } },
                    },
                },
                { ...k8sOpts, dependsOn: [...(args.dependsOn ?? []), this.volume] },
            ),
        );
        this.registerOutputs({ volumeName: this.volume.metadata.name, claimName: this.claim.metadata.name });
    }
}
