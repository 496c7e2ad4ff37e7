/**
 * IPv4 CIDR arithmetic for field checks: host bits, reserved ranges, containment. Pure; never builds
 * a regular expression from input.
 */

export interface Ipv4Cidr {
    /** The address as an unsigned 32-bit integer. */
    address: number;
    prefix: number;
}

/** Parses `a.b.c.d/p` (decimal octets 0-255, prefix 0-32); undefined for anything else. */
export function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
    if (!m) return undefined;
    const octets = m.slice(1, 5).map(Number);
    const prefix = Number(m[5]);
    if (octets.some((o) => o > 255) || prefix > 32) return undefined;
    return { address: octets.reduce((a, o) => a * 256 + o, 0), prefix };
}

function mask(prefix: number): number {
    return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function formatIpv4Cidr(c: Ipv4Cidr): string {
    const a = c.address;
    return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/${c.prefix}`;
}

/** The network address of the block (host bits cleared). */
export function networkOf(c: Ipv4Cidr): Ipv4Cidr {
    return { address: (c.address & mask(c.prefix)) >>> 0, prefix: c.prefix };
}

/** `10.0.0.1/16` has host bits set: AWS rejects it (or silently uses 10.0.0.0/16), so we ask for the network address. */
export function hasHostBits(c: Ipv4Cidr): boolean {
    return networkOf(c).address !== c.address;
}

/** Whether `outer` contains every address of `inner`. */
export function contains(outer: Ipv4Cidr, inner: Ipv4Cidr): boolean {
    return outer.prefix <= inner.prefix && ((inner.address & mask(outer.prefix)) >>> 0) === networkOf(outer).address;
}

/**
 * Ranges that are not reachable from the internet, so a public-endpoint allow list holding one
 * admits nobody (EKS: "The blocks cannot include reserved addresses", awsdocs/amazon-eks-user-guide
 * latest/ug/clusters/cluster-endpoint.adoc). Private (RFC 1918), shared/CGNAT (RFC 6598), loopback,
 * link-local, "this network", multicast and the former class E (RFC 6890 special-purpose registry).
 * The documentation ranges (TEST-NET, RFC 5737) are left out: examples use them and they are routable
 * in form; replace them with your own egress CIDR.
 */
export const NON_PUBLIC_RANGES: ReadonlyArray<{ cidr: string; what: string }> = [
    { cidr: "0.0.0.0/8", what: "“this network” (RFC 6890)" },
    { cidr: "10.0.0.0/8", what: "private (RFC 1918)" },
    { cidr: "100.64.0.0/10", what: "shared address space / carrier-grade NAT (RFC 6598)" },
    { cidr: "127.0.0.0/8", what: "loopback" },
    { cidr: "169.254.0.0/16", what: "link-local" },
    { cidr: "172.16.0.0/12", what: "private (RFC 1918)" },
    { cidr: "192.168.0.0/16", what: "private (RFC 1918)" },
    { cidr: "224.0.0.0/3", what: "multicast / reserved (RFC 6890)" },
];

/** The non-public range the block lies in, if any (`0.0.0.0/0`, "everyone", is not one). */
export function nonPublicRange(c: Ipv4Cidr): string | undefined {
    for (const r of NON_PUBLIC_RANGES) {
        const range = parseIpv4Cidr(r.cidr)!;
        if (contains(range, c)) return `${r.cidr} is ${r.what}`;
    }
    return undefined;
}
