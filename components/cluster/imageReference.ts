/**
 * Container image references as Kubernetes and registries read them
 * (distribution/reference grammar): `[registry[:port]/]path[:tag][@digest]`. The registry may
 * carry a port (`registry:5000/kube-ovn`), so the tag is the part after a colon in the LAST path
 * component only, and a digest (`@sha256:...`) is never a tag.
 */

export interface ImageReference {
    /** Everything before the tag and digest, e.g. `docker.io/kubeovn/kube-ovn`. */
    name: string;
    tag: string | null;
    digest: string | null;
}

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}$/;

/** null when the text is not an image reference. */
export function parseImageReference(ref: string): ImageReference | null {
    if (ref.length === 0 || ref.length > 1024 || /\s/.test(ref)) return null;
    const at = ref.indexOf("@");
    const digest = at >= 0 ? ref.slice(at + 1) : null;
    if (digest !== null && !DIGEST.test(digest)) return null;
    const rest = at >= 0 ? ref.slice(0, at) : ref;
    const slash = rest.lastIndexOf("/");
    const colon = rest.indexOf(":", slash + 1);
    const tag = colon >= 0 ? rest.slice(colon + 1) : null;
    if (tag !== null && !TAG.test(tag)) return null;
    const name = colon >= 0 ? rest.slice(0, colon) : rest;
    if (name === "" || name.endsWith("/")) return null;
    return { name, tag, digest };
}
