/**
 * A stand-in for the part of the Kubernetes API that kube-ovn-ipsec uses, serving the running
 * lab as a cluster (see cluster.ts): HTTPS with a self-signed certificate, bearer-token
 * authentication, discovery, reads of Nodes, Pods (label and field selectors) and Deployments,
 * and `pods/exec` over WebSocket (exec.ts) into the lab's pods. Every request is recorded (method,
 * URL, user agent, outcome; stdin only as a byte count), so a test can prove what kubectl sent.
 *
 * Behaviour follows the API documentation: "Controlling Access" / "Authenticating" (an invalid
 * bearer token is 401 Unauthorized on every path; a request without credentials is the anonymous
 * user, who may only read /version and the health endpoints), "API Concepts" (Status objects for
 * errors: `pods "x" not found` with reason NotFound, BadRequest for bad selectors, lists with
 * metadata.resourceVersion). It is read-only: other verbs get 405 MethodNotAllowed.
 */
import { ChildProcess } from "child_process";
import { randomBytes, timingSafeEqual } from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import { AddressInfo, Socket } from "net";
import * as path from "path";
import { Duplex } from "stream";
import { WebSocket, WebSocketServer } from "ws";
import { ClusterObjects, GENERIC_FIELDS, LabView, NODE_FIELDS, POD_FIELDS, PodObject, Scenario, ServedPod, clusterObjects, defaultScenario, podFields, readLab } from "./cluster";
import { API_GROUPS, API_VERSIONS, APPS_RESOURCES, CORE_RESOURCES, SERVED_VERSION } from "./discovery";
import { EXEC_PROTOCOL, newExecOutcome, parseExecQuery, serveExec, stopAll } from "./exec";
import { SelectorError, fieldsMatch, labelsMatch, parseFieldSelector, parseLabelSelector } from "./selectors";
import { ServingCertificate, selfSignedCertificate } from "./tls";

export interface RequestRecord {
    at: string;
    method: string;
    /** Path and query exactly as received (the exec command travels in it). */
    url: string;
    userAgent: string;
    status: number;
    /** For pods/exec: how it was served, and what went through it (stdin only counted). */
    exec?: { protocol: string; pod: string; node: string | null; exitCode: number | null; stdinBytes: number; stdoutBytes: number; stderrBytes: number; clientWentAway: boolean; fault: string | null };
}

export interface KubeApiOptions {
    /** Reads the lab (default: `lab.sh status --json`). */
    lab?: () => Promise<LabView>;
    namespace?: string;
    contextName?: string;
    /** The bearer token the kubeconfig carries (default: random). */
    token?: string;
    port?: number;
    /** Appends each RequestRecord as a JSON line (the background stand-in's log). */
    requestLogFile?: string;
}

export interface KubeApi {
    url: string;
    caPem: string;
    token: string;
    contextName: string;
    namespace: string;
    /** What tests change to make the cluster wrong (takes effect on the next request). */
    scenario: Scenario;
    requests: RequestRecord[];
    /** The kubeconfig YAML for this server (optionally with another token, e.g. a wrong one). */
    kubeconfig(options?: { token?: string }): string;
    /** Writes it (mode 0600) and returns the path. */
    writeKubeconfig(file: string, options?: { token?: string }): string;
    /** The lab node's ovs-ovn pod is replaced by a new one (new name), as a DaemonSet rollout does. */
    replaceOvsPod(node: string): void;
    /** The objects as served right now. */
    objects(): Promise<ClusterObjects>;
    close(): Promise<void>;
}

/** The namespaces a fresh cluster has (the product's own lives in kube-system). */
const NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];
const PUBLIC_PATHS = ["/version", "/healthz", "/livez", "/readyz"];

function status(code: number, reason: string, message: string, details?: Record<string, unknown>): { code: number; body: unknown } {
    return { code, body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, ...(details ? { details } : {}), code } };
}
const notFound = (kind: string, name: string, group?: string) => status(404, "NotFound", `${kind}${group ? `.${group}` : ""} "${name}" not found`, { name, ...(group ? { group } : {}), kind });
const ok = (body: unknown) => ({ code: 200, body });
const list = (kind: string, apiVersion: string, items: unknown[]) => ok({ kind, apiVersion, metadata: { resourceVersion: "12345" }, items });

function tokenMatches(header: string | undefined, token: string): "ok" | "anonymous" | "invalid" {
    if (!header) return "anonymous";
    const m = /^Bearer\s+(.+)$/i.exec(header);
    if (!m) return "invalid";
    const given = Buffer.from(m[1].trim());
    const want = Buffer.from(token);
    return given.length === want.length && timingSafeEqual(given, want) ? "ok" : "invalid";
}

function authFailure(req: http.IncomingMessage, token: string, pathname: string): { code: number; body: unknown } | null {
    const auth = tokenMatches(req.headers.authorization, token);
    if (auth === "ok") return null;
    if (auth === "invalid") return status(401, "Unauthorized", "Unauthorized");
    if (PUBLIC_PATHS.includes(pathname)) return null;
    return status(403, "Forbidden", `forbidden: User "system:anonymous" cannot ${req.method === "GET" ? "get" : "create"} path "${pathname}"`);
}

function selected<T>(items: T[], query: URLSearchParams, labels: (t: T) => Record<string, string>, fields: (t: T) => Record<string, string>, supported: readonly string[]): T[] {
    const l = parseLabelSelector(query.get("labelSelector"));
    const f = parseFieldSelector(query.get("fieldSelector"), supported);
    return items.filter((t) => labelsMatch(labels(t), l) && fieldsMatch(fields(t), f));
}

type Meta = { metadata: { name: string; namespace?: string; labels?: Record<string, string> } };
const metaFields = (o: Meta) => ({ "metadata.name": o.metadata.name, "metadata.namespace": o.metadata.namespace ?? "" });

/** Plain (non-upgrade) requests: discovery and reads. */
function route(method: string, pathname: string, query: URLSearchParams, cluster: ClusterObjects): { code: number; body: unknown } {
    if (method !== "GET") return status(405, "MethodNotAllowed", `the lab's API stand-in serves only reads and pods/exec, not ${method} ${pathname}`);
    if (pathname === "/version") return ok(SERVED_VERSION);
    if (["/healthz", "/livez", "/readyz"].includes(pathname)) return { code: 200, body: "ok" };
    if (pathname === "/api") return ok(API_VERSIONS);
    if (pathname === "/apis") return ok(API_GROUPS);
    if (pathname === "/api/v1") return ok(CORE_RESOURCES);
    if (pathname === "/apis/apps/v1") return ok(APPS_RESOURCES);

    let m: RegExpExecArray | null;
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(pathname))) {
        if (!NAMESPACES.includes(m[1])) return notFound("namespaces", m[1]);
        return ok({ apiVersion: "v1", kind: "Namespace", metadata: { name: m[1], labels: { "kubernetes.io/metadata.name": m[1] } }, spec: { finalizers: ["kubernetes"] }, status: { phase: "Active" } });
    }
    const podsIn = (ns: string | null) => cluster.pods.map((p) => p.object).filter((p) => ns === null || p.metadata.namespace === ns);
    if (pathname === "/api/v1/pods") return list("PodList", "v1", selected(podsIn(null), query, (p) => p.metadata.labels, podFields, POD_FIELDS));
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(pathname))) return list("PodList", "v1", selected(podsIn(m[1]), query, (p) => p.metadata.labels, podFields, POD_FIELDS));
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(pathname))) {
        const pod = podsIn(m[1]).find((p) => p.metadata.name === m![2]);
        return pod ? ok(pod) : notFound("pods", m[2]);
    }
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec$/.exec(pathname))) return status(400, "BadRequest", "Upgrade request required");
    const nodes = cluster.nodes as Meta[];
    if (pathname === "/api/v1/nodes") return list("NodeList", "v1", selected(nodes, query, (n) => n.metadata.labels ?? {}, (n) => ({ ...metaFields(n), "spec.unschedulable": "false" }), NODE_FIELDS));
    if ((m = /^\/api\/v1\/nodes\/([^/]+)$/.exec(pathname))) {
        const node = nodes.find((n) => n.metadata.name === m![1]);
        return node ? ok(node) : notFound("nodes", m[1]);
    }
    const deployments = cluster.deployments as Meta[];
    if ((m = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments$/.exec(pathname))) {
        const ns = m[1];
        return list("DeploymentList", "apps/v1", selected(deployments.filter((d) => d.metadata.namespace === ns), query, (d) => d.metadata.labels ?? {}, metaFields, GENERIC_FIELDS));
    }
    if ((m = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)$/.exec(pathname))) {
        const [ns, name] = [m[1], m[2]];
        const d = deployments.find((x) => x.metadata.namespace === ns && x.metadata.name === name);
        return d ? ok(d) : notFound("deployments", name, "apps");
    }
    return status(404, "NotFound", "the server could not find the requested resource");
}

function writeRaw(socket: Duplex, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    const reason = http.STATUS_CODES[code] ?? "Error";
    socket.end(`HTTP/1.1 ${code} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
}

/** Why an exec into this pod cannot start (what the API server or the kubelet would answer), or null. */
function execRefusal(pod: ServedPod, container: string): { code: number; body: unknown } | null {
    const p: PodObject = pod.object;
    const names = p.spec.containers.map((c) => c.name);
    if (!names.includes(container)) return status(400, "BadRequest", `container ${container} is not valid for pod ${p.metadata.name}`);
    if (!p.spec.nodeName) return status(400, "BadRequest", `pod ${p.metadata.name} does not have a host assigned`);
    if (p.status.phase !== "Running" || pod.target === null) return status(400, "BadRequest", `container not found ("${container}")`);
    return null;
}

export async function startKubeApi(options: KubeApiOptions = {}): Promise<KubeApi> {
    const readView = options.lab ?? (() => readLab());
    const namespace = options.namespace ?? "kube-system";
    const contextName = options.contextName ?? "kube-ovn-ipsec-lab";
    const token = options.token ?? `koi-lab.${randomBytes(16).toString("hex")}`;
    const cert: ServingCertificate = selfSignedCertificate();
    const scenario = defaultScenario();
    const requests: RequestRecord[] = [];
    const children = new Set<ChildProcess>();
    const sockets = new Set<Socket | Duplex>();

    // One lab read at a time; requests arriving meanwhile share it (it takes ~25 ms).
    let inFlight: Promise<LabView> | null = null;
    const lab = (): Promise<LabView> => {
        inFlight ??= readView().finally(() => {
            inFlight = null;
        });
        return inFlight;
    };
    // The lab's exec prefix ({target} replaced per pod), as of the latest read.
    let prefix: string[] = [];
    const prefixFor = (target: string) => prefix.map((a) => a.split("{target}").join(target));
    const objects = async () => {
        const view = await lab();
        prefix = view.prefix;
        return clusterObjects(view, scenario, namespace);
    };

    const logToFile = (r: RequestRecord) => {
        if (options.requestLogFile) fs.appendFileSync(options.requestLogFile, JSON.stringify(r) + "\n", { mode: 0o600 });
    };
    const record = (r: RequestRecord) => {
        requests.push(r);
        logToFile(r);
    };

    const server = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
        const url = new URL(req.url ?? "/", "https://stand-in");
        const done = (code: number, body: unknown) => {
            record({ at: new Date().toISOString(), method: req.method ?? "", url: req.url ?? "", userAgent: req.headers["user-agent"] ?? "", status: code });
            res.statusCode = code;
            res.setHeader("Content-Type", typeof body === "string" ? "text/plain" : "application/json");
            res.end(typeof body === "string" ? body : JSON.stringify(body));
        };
        const refused = authFailure(req, token, url.pathname);
        if (refused) return done(refused.code, refused.body);
        objects().then(
            (cluster) => {
                try {
                    const r = route(req.method ?? "GET", url.pathname, url.searchParams, cluster);
                    done(r.code, r.body);
                } catch (e) {
                    if (e instanceof SelectorError) done(400, status(400, "BadRequest", e.message).body);
                    else done(500, status(500, "InternalError", String(e)).body);
                }
            },
            (e: Error) => done(503, status(503, "ServiceUnavailable", `the lab cannot be read: ${e.message}`).body),
        );
    });
    server.on("connection", (s: Socket) => {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
    });

    const wss = new WebSocketServer({ noServer: true, handleProtocols: (offered) => (offered.has(EXEC_PROTOCOL) ? EXEC_PROTOCOL : false) });
    server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
        socket.on("error", () => undefined);
        const url = new URL(req.url ?? "/", "https://stand-in");
        const base = { at: new Date().toISOString(), method: req.method ?? "", url: req.url ?? "", userAgent: req.headers["user-agent"] ?? "" };
        const refuse = (r: { code: number; body: unknown }) => {
            record({ ...base, status: r.code });
            writeRaw(socket, r.code, r.body);
        };
        const refused = authFailure(req, token, url.pathname);
        if (refused) return refuse(refused);
        const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec$/.exec(url.pathname);
        if (!m) return refuse(status(404, "NotFound", "the lab's API stand-in upgrades only pods/exec"));
        const [ns, podName] = [m[1], m[2]];
        objects().then(
            (cluster) => {
                const pod = cluster.pods.find((p) => p.object.metadata.namespace === ns && p.object.metadata.name === podName);
                if (!pod) return refuse(notFound("pods", podName));
                const exec = parseExecQuery(url.searchParams);
                if (!exec.container && pod.object.spec.containers.length === 1) exec.container = pod.object.spec.containers[0].name;
                if (exec.command.length === 0) return refuse(status(400, "BadRequest", "you must specify at least one command for the container"));
                if (!exec.stdin && !exec.stdout && !exec.stderr) return refuse(status(400, "BadRequest", "you must specify at least 1 of stdin, stdout, stderr"));
                const why = execRefusal(pod, exec.container);
                if (why) return refuse(why);
                if (exec.tty) return refuse(status(400, "BadRequest", "the lab's API stand-in does not allocate a TTY"));
                const wantsWebSocket = (req.headers.upgrade ?? "").toLowerCase() === "websocket";
                const protocols = String(req.headers["sec-websocket-protocol"] ?? "").split(",").map((s) => s.trim());
                if (!wantsWebSocket || !protocols.includes(EXEC_PROTOCOL)) {
                    return refuse(status(400, "BadRequest", `the lab's API stand-in serves exec only over WebSocket (${EXEC_PROTOCOL}), which kubectl 1.30+ uses; this client asked for ${wantsWebSocket ? `subprotocols ${protocols.join(", ") || "(none)"}` : `${req.headers.upgrade ?? "no"} upgrade`} (SPDY is not served)`));
                }
                const fault = scenario.execFaultsOnce[podName] ?? scenario.execFaults[podName] ?? null;
                delete scenario.execFaultsOnce[podName];
                wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
                    const argv = [...prefixFor(pod.target as string), ...exec.command];
                    // Recorded as it starts (and filled in as it goes): kubectl can return
                    // before the stand-in's own bookkeeping of the end has run.
                    const served = { protocol: EXEC_PROTOCOL, pod: podName, node: pod.object.spec.nodeName ?? null, ...newExecOutcome(fault) };
                    const r: RequestRecord = { ...base, status: 101, exec: served };
                    requests.push(r);
                    void serveExec(ws, argv, exec, served, children).then(() => logToFile(r));
                });
            },
            (e: Error) => refuse(status(503, "ServiceUnavailable", `the lab cannot be read: ${e.message}`)),
        );
    });

    // A lab that is down is served as an empty cluster: tests may start the stand-in first.
    await lab();

    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
    });
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const kubeconfig = (o: { token?: string } = {}) =>
        [
            "# Written by the kube-ovn-ipsec lab's API stand-in (lab/kubeApi). Valid while it runs.",
            "apiVersion: v1",
            "kind: Config",
            "clusters:",
            `- name: ${contextName}`,
            "  cluster:",
            `    server: ${url}`,
            `    certificate-authority-data: ${Buffer.from(cert.certPem).toString("base64")}`,
            "users:",
            `- name: ${contextName}-admin`,
            "  user:",
            `    token: ${o.token ?? token}`,
            "contexts:",
            `- name: ${contextName}`,
            "  context:",
            `    cluster: ${contextName}`,
            `    user: ${contextName}-admin`,
            `    namespace: ${namespace}`,
            `current-context: ${contextName}`,
            "",
        ].join("\n");

    return {
        url,
        caPem: cert.certPem,
        token,
        contextName,
        namespace,
        scenario,
        requests,
        kubeconfig,
        writeKubeconfig(file: string, o: { token?: string } = {}) {
            fs.mkdirSync(path.dirname(file), { recursive: true });
            const tmp = `${file}.tmp.${process.pid}`;
            fs.writeFileSync(tmp, kubeconfig(o), { mode: 0o600 });
            fs.renameSync(tmp, file);
            return file;
        },
        replaceOvsPod(node: string) {
            const change = (scenario.ovsPods[node] ??= {});
            change.generation = (change.generation ?? 0) + 1;
        },
        objects,
        async close() {
            stopAll(children);
            for (const ws of wss.clients) ws.terminate();
            for (const s of sockets) s.destroy();
            await new Promise<void>((resolve) => server.close(() => resolve()));
        },
    };
}
