/**
 * The discovery documents kubectl reads before it can resolve `get pods` or `exec`: /version,
 * /api, /apis and the resource lists of v1 and apps/v1, limited to what the stand-in serves.
 * (API reference: "Discovery" in https://kubernetes.io/docs/concepts/overview/kubernetes-api/;
 * kubectl falls back from aggregated to these legacy documents when the server offers only them.)
 *
 * The version matters: the kubectl shipped with this machine image is a dispatcher that runs the
 * kubectl binary matching the server's minor version, and kubectl < 1.30 would exec over SPDY.
 */

export const SERVED_VERSION = { major: "1", minor: "32", gitVersion: "v1.32.0", gitCommit: "0000000000000000000000000000000000000000", gitTreeState: "clean", buildDate: "2025-01-01T00:00:00Z", goVersion: "go1.23.4", compiler: "gc", platform: "linux/amd64" };

export const API_VERSIONS = { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: "127.0.0.1" }] };

export const API_GROUPS = {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: [{ name: "apps", versions: [{ groupVersion: "apps/v1", version: "v1" }], preferredVersion: { groupVersion: "apps/v1", version: "v1" } }],
};

const READ = ["get", "list"];
export const CORE_RESOURCES = {
    kind: "APIResourceList",
    groupVersion: "v1",
    resources: [
        { name: "namespaces", singularName: "namespace", namespaced: false, kind: "Namespace", verbs: READ, shortNames: ["ns"] },
        { name: "nodes", singularName: "node", namespaced: false, kind: "Node", verbs: READ, shortNames: ["no"] },
        { name: "pods", singularName: "pod", namespaced: true, kind: "Pod", verbs: READ, shortNames: ["po"], categories: ["all"] },
        { name: "pods/exec", singularName: "", namespaced: true, kind: "PodExecOptions", verbs: ["create", "get"] },
    ],
};

export const APPS_RESOURCES = {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: "apps/v1",
    resources: [{ name: "deployments", singularName: "deployment", namespaced: true, kind: "Deployment", verbs: READ, shortNames: ["deploy"], categories: ["all"] }],
};
