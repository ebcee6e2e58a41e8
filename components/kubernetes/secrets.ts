/**
 * The certificates as Kubernetes Secrets in Kube-OVN's namespace: the CA certificates (never a
 * key) once, and one `kubernetes.io/tls` Secret per node with only that node's certificate and
 * key. Labelled as ours so that they can be found
 * (`kubectl get secret -l app.kubernetes.io/managed-by=kube-ovn-ipsec`).
 *
 * The node Secrets are given as `data` (base64), not `stringData`: the state then keeps the
 * content twice (inputs and outputs) instead of three times (stringData in, stringData and data
 * out), and not the CA a third time per node (issue 9: state per node).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import type { NodeSpec } from "../args";

export const MANAGED_BY = { "app.kubernetes.io/managed-by": "kube-ovn-ipsec" };
export const CA_SECRET_NAME = "kube-ovn-ipsec-ca";

/** `kube-ovn-ipsec-<node>`, shortened with a digest when the node name is very long. */
export function nodeSecretName(node: string): string {
    const name = `kube-ovn-ipsec-${node}`;
    if (name.length <= 253) return name;
    const digest = createHash("sha256").update(node).digest("hex").slice(0, 10);
    return `${name.slice(0, 242).replace(/[.-]+$/, "")}-${digest}`;
}

/** Under unit-test mocks a child's output can be missing: pass that through rather than crash. */
const base64 = (text: string): string => (typeof text === "string" ? Buffer.from(text, "utf8").toString("base64") : text);

/**
 * `ca.crt` holds the CA bundle: the current CA first (it signs new certificates), then any other
 * CA a node may still present a certificate of (during a rotation), as concatenated PEMs.
 */
export function createCaSecret(name: string, namespace: string, caBundlePem: pulumi.Input<string>, opts: pulumi.CustomResourceOptions): k8s.core.v1.Secret {
    return new k8s.core.v1.Secret(
        `${name}-ca-secret`,
        {
            metadata: { name: CA_SECRET_NAME, namespace, labels: { ...MANAGED_BY, "app.kubernetes.io/component": "ca" } },
            type: "Opaque",
            stringData: { "ca.crt": caBundlePem },
        },
        opts,
    );
}

export function createNodeSecret(
    name: string,
    namespace: string,
    node: NodeSpec,
    pems: { cert: pulumi.Input<string>; key: pulumi.Input<string> },
    opts: pulumi.CustomResourceOptions,
): k8s.core.v1.Secret {
    return new k8s.core.v1.Secret(
        `${name}-secret`,
        {
            metadata: {
                name: nodeSecretName(node.name),
                namespace,
                labels: { ...MANAGED_BY, "app.kubernetes.io/component": "node-certificate" },
                // Label values are limited to 63 characters; node names are not.
                annotations: { "kube-ovn-ipsec.io/node": node.name, "kube-ovn-ipsec.io/system-id": node.systemId },
            },
            type: "kubernetes.io/tls",
            // The whole map is secret: it holds tls.key.
            data: pulumi.secret(pulumi.all([pems.cert, pems.key]).apply(([cert, key]) => ({ "tls.crt": base64(cert), "tls.key": base64(key) }))),
        },
        opts,
    );
}
