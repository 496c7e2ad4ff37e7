import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";

export interface SharedVolumeArgs {
    provider: k8s.Provider;
    /** Namespace of the claim (the training namespace). */
    namespace: string;
    /**
     * Name of the PersistentVolumeClaim every training pod mounts.
     * @default "miles-shared"
     */
    claimName: string;
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
    /** The CSI volume: driver, handle and attributes. */
    csi: {
        /** @example "fsx.csi.aws.com" */
        driver: string;
        /** @example the FSx file system id, or `fs-123::fsap-456` for EFS */
        volumeHandle: pulumi.Input<string>;
        volumeAttributes?: Record<string, pulumi.Input<string>>;
    };
    /** @example ["flock"] */
    mountOptions: string[];
    labels: Record<string, string>;
    dependsOn?: pulumi.Input<pulumi.Resource>[];
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
        this.volume = new k8s.core.v1.PersistentVolume(
            `${name}-pv`,
            {
                metadata: { name: args.volumeName, labels: args.labels },
                spec: {
                    capacity: { storage: args.capacity },
                    accessModes: ["ReadWriteMany"],
                    volumeMode: "Filesystem",
                    persistentVolumeReclaimPolicy: "Retain",
                    storageClassName: "",
                    mountOptions: args.mountOptions,
                    claimRef: { namespace: args.namespace, name: args.claimName },
                    csi: { driver: args.csi.driver, volumeHandle: args.csi.volumeHandle, volumeAttributes: args.csi.volumeAttributes },
                },
            },
            { ...k8sOpts, dependsOn: args.dependsOn },
        );
        this.claim = new k8s.core.v1.PersistentVolumeClaim(
            `${name}-pvc`,
            {
                metadata: { name: args.claimName, namespace: args.namespace, labels: args.labels },
                spec: {
                    accessModes: ["ReadWriteMany"],
                    storageClassName: "",
                    volumeName: this.volume.metadata.name,
                    resources: { requests: { storage: args.capacity } },
                },
            },
            { ...k8sOpts, dependsOn: [...(args.dependsOn ?? []), this.volume] },
        );
        this.registerOutputs({ volumeName: this.volume.metadata.name, claimName: this.claim.metadata.name });
    }
}
