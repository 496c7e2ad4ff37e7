/**
 * vCPUs and memory of the general-purpose, compute- and memory-optimised instance types a system
 * node group typically uses, from their size name. Sources: https://aws.amazon.com/ec2/instance-types/
 * (M: 4 GiB per vCPU, e.g. m7i.xlarge 4 vCPU / 16 GiB; C: 2 GiB per vCPU, c7i.xlarge 4 / 8;
 * R: 8 GiB per vCPU, r7i.xlarge 4 / 32; `large` = 2 vCPU, `xlarge` = 4, `Nxlarge` = 4N). Families
 * outside this list (burstable, metal, flex, storage-optimised) are not derived: undefined.
 */
const GIB_PER_VCPU: Record<string, number> = {
    m5: 4, m5a: 4, m6i: 4, m6a: 4, m7i: 4, m7a: 4, m8i: 4, m8a: 4,
    c5: 2, c5a: 2, c6i: 2, c6a: 2, c7i: 2, c7a: 2, c8i: 2,
    r5: 8, r5a: 8, r6i: 8, r6a: 8, r7i: 8, r7a: 8, r8i: 8,
};

export interface SystemInstanceFacts {
    vcpus: number;
    memoryGiB: number;
}

/** Facts of e.g. `m7i.xlarge`; undefined for a type whose size is not derivable here. */
export function systemInstanceFacts(instanceType: string): SystemInstanceFacts | undefined {
    const dot = instanceType.indexOf(".");
    if (dot < 0) return undefined;
    const perVcpu = GIB_PER_VCPU[instanceType.slice(0, dot)];
    const size = instanceType.slice(dot + 1);
    if (perVcpu === undefined) return undefined;
    let vcpus: number | undefined;
    if (size === "large") vcpus = 2;
    else if (size === "xlarge") vcpus = 4;
    else {
        const m = /^(\d{1,2})xlarge$/.exec(size);
        if (m) vcpus = 4 * Number(m[1]);
    }
    return vcpus === undefined ? undefined : { vcpus, memoryGiB: vcpus * perVcpu };
}
