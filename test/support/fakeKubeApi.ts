/**
 * A minimal Kubernetes API server for tests that exercise the kubectl transport's reads with
 * the REAL kubectl binary: discovery, pods (label and field selectors), nodes, deployments.
 * It serves what a test puts in `cluster` and records every request; exec is refused (and
 * recorded), so a test can prove that nothing was executed on any node.
 */
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";

export interface FakePod {
    name: string;
    labels: Record<string, string>;
    nodeName?: string;
    phase?: string;
}

export interface FakeCluster {
    namespace: string;
    pods: FakePod[];
    nodes: Array<{ name: string; annotations?: Record<string, string> }>;
    deployments: Array<{ name: string; image: string; args?: string[] }>;
}

export interface FakeKubeApi {
    url: string;
    kubeconfig: string;
    requests: string[];
    cluster: FakeCluster;
    close(): Promise<void>;
}

const RESOURCES_V1 = {
    kind: "APIResourceList",
    groupVersion: "v1",
    resources: [
        { name: "pods", singularName: "pod", namespaced: true, kind: "Pod", verbs: ["get", "list"], shortNames: ["po"] },
        { name: "pods/exec", singularName: "", namespaced: true, kind: "PodExecOptions", verbs: ["create", "get"] },
        { name: "nodes", singularName: "node", namespaced: false, kind: "Node", verbs: ["get", "list"], shortNames: ["no"] },
        { name: "secrets", singularName: "secret", namespaced: true, kind: "Secret", verbs: ["get", "list"] },
    ],
};
const RESOURCES_APPS = {
    kind: "APIResourceList",
    groupVersion: "apps/v1",
    resources: [{ name: "deployments", singularName: "deployment", namespaced: true, kind: "Deployment", verbs: ["get", "list"], shortNames: ["deploy"] }],
};

function matchesSelector(labels: Record<string, string>, selector: string | null): boolean {
    if (!selector) return true;
    return selector.split(",").every((req) => {
        const [k, v] = req.split("=");
        return labels[k] === v;
    });
}

function notFound(res: http.ServerResponse, what: string): void {
    res.statusCode = 404;
    res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404, message: `${what} not found` }));
}

export async function startFakeKubeApi(cluster: FakeCluster, contextName = "fake"): Promise<FakeKubeApi> {
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
        const url = new URL(req.url ?? "/", "http://localhost");
        requests.push(`${req.method} ${url.pathname}${url.search}`);
        res.setHeader("Content-Type", "application/json");
        const p = url.pathname;
        const ns = `/api/v1/namespaces/${cluster.namespace}`;
        if (p === "/version") return res.end(JSON.stringify({ major: "1", minor: "30", gitVersion: "v1.30.0" }));
        if (p === "/api") return res.end(JSON.stringify({ kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] }));
        if (p === "/apis") return res.end(JSON.stringify({ kind: "APIGroupList", apiVersion: "v1", groups: [{ name: "apps", versions: [{ groupVersion: "apps/v1", version: "v1" }], preferredVersion: { groupVersion: "apps/v1", version: "v1" } }] }));
        if (p === "/api/v1") return res.end(JSON.stringify(RESOURCES_V1));
        if (p === "/apis/apps/v1") return res.end(JSON.stringify(RESOURCES_APPS));
        if (p === `${ns}/pods`) {
            const field = url.searchParams.get("fieldSelector");
            const node = field?.startsWith("spec.nodeName=") ? field.slice("spec.nodeName=".length) : null;
            const items = cluster.pods
                .filter((pod) => matchesSelector(pod.labels, url.searchParams.get("labelSelector")) && (node === null || pod.nodeName === node))
                .map((pod) => ({ apiVersion: "v1", kind: "Pod", metadata: { name: pod.name, namespace: cluster.namespace, labels: pod.labels }, spec: { nodeName: pod.nodeName }, status: { phase: pod.phase ?? "Running", containerStatuses: [{ ready: true }] } }));
            return res.end(JSON.stringify({ apiVersion: "v1", kind: "PodList", metadata: {}, items }));
        }
        if (p.startsWith(`${ns}/pods/`) && !p.endsWith("/exec")) {
            const pod = cluster.pods.find((x) => x.name === p.slice(`${ns}/pods/`.length));
            if (!pod) return notFound(res, "pod");
            return res.end(JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: { name: pod.name, namespace: cluster.namespace, labels: pod.labels }, spec: { nodeName: pod.nodeName, containers: [{ name: "openvswitch" }, { name: "ovn-central" }] }, status: { phase: pod.phase ?? "Running" } }));
        }
        if (p.startsWith(`${ns}/pods/`) && p.endsWith("/exec")) {
            res.statusCode = 403;
            return res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "Forbidden", code: 403, message: "exec is not served by the fake API" }));
        }
        if (p === "/api/v1/nodes") {
            const items = cluster.nodes.map((n) => ({ apiVersion: "v1", kind: "Node", metadata: { name: n.name, annotations: n.annotations ?? {} } }));
            return res.end(JSON.stringify({ apiVersion: "v1", kind: "NodeList", metadata: {}, items }));
        }
        if (p.startsWith("/api/v1/nodes/")) {
            const n = cluster.nodes.find((x) => x.name === p.slice("/api/v1/nodes/".length));
            return n ? res.end(JSON.stringify({ apiVersion: "v1", kind: "Node", metadata: { name: n.name, annotations: n.annotations ?? {} } })) : notFound(res, "node");
        }
        if (p.startsWith(`/apis/apps/v1/namespaces/${cluster.namespace}/deployments/`)) {
            const d = cluster.deployments.find((x) => x.name === p.split("/").pop());
            if (!d) return notFound(res, "deployment");
            return res.end(JSON.stringify({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: d.name, namespace: cluster.namespace }, spec: { template: { spec: { containers: [{ name: d.name, image: d.image, args: d.args ?? [] }] } } } }));
        }
        return notFound(res, p);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "koi-kubeconfig-"));
    const kubeconfig = path.join(dir, "config");
    fs.writeFileSync(
        kubeconfig,
        [
            "apiVersion: v1",
            "kind: Config",
            `clusters: [{name: fake, cluster: {server: "${url}"}}]`,
            "users: [{name: fake, user: {}}]",
            `contexts: [{name: ${contextName}, context: {cluster: fake, user: fake}}]`,
            `current-context: ${contextName}`,
            "",
        ].join("\n"),
    );
    return {
        url,
        kubeconfig,
        requests,
        cluster,
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
}
