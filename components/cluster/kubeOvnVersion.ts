/**
 * Which Kube-OVN releases the script-style procedure applies to: v1.10.11+ / v1.11.4+ up to
 * v1.12.x. From v1.13 Kube-OVN has built-in IPsec whose controller forces nb_global ipsec to
 * its own flag on every start, so our change would be undone (and its daemon would tear
 * our configuration down when its flag is false).
 */

export interface KubeOvnVersion {
    major: number;
    minor: number;
    patch: number;
}

/** Reads a version or an image tag such as `v1.12.22`, `1.12`, `v1.13.0-rc1`, `v1.12.3-amd64`. */
export function parseKubeOvnVersion(tag: string): KubeOvnVersion | null {
    const m = /^v?(\d{1,3})\.(\d{1,3})(?:\.(\d{1,3}))?(?:[-+][A-Za-z0-9.-]*)?$/.exec(tag);
    if (!m) return null;
    return { major: Number(m[1]), minor: Number(m[2]), patch: m[3] === undefined ? 0 : Number(m[3]) };
}

/** null when the version is supported, else why not (with what to do instead). */
export function checkKubeOvnVersion(v: KubeOvnVersion, shown: string): string | null {
    const at = (major: number, minor: number) => v.major > major || (v.major === major && v.minor >= minor);
    if (at(1, 13)) {
        return (
            `Kube-OVN ${shown} has built-in IPsec (v1.13+): its controller would undo nb_global ipsec. ` +
            "Use its --enable-ovn-ipsec flag on kube-ovn-controller and kube-ovn-cni instead of this tool"
        );
    }
    const supported = (v.major === 1 && v.minor === 10 && v.patch >= 11) || (v.major === 1 && v.minor === 11 && v.patch >= 4) || (v.major === 1 && v.minor === 12);
    if (!supported) {
        return `Kube-OVN ${shown} predates IPsec support (needs v1.10.11+, v1.11.4+ or v1.12.x): upgrade Kube-OVN first`;
    }
    return null;
}

export function sameRelease(a: KubeOvnVersion, b: KubeOvnVersion): boolean {
    return a.major === b.major && a.minor === b.minor;
}
