/**
 * The lab's API stand-in as the lab runs it (`lab.sh kubeconfig`, stopped by `down`) and as a
 * client sees it: the real kubectl with the kubeconfig it writes (TLS verified against the CA it
 * carries, bearer token), label and field selectors as the API applies them, anonymous and wrong
 * credentials, and a clear refusal for a client that would exec over SPDY.
 */
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { LabStatus, freshLab, labOk, run } from "../support/lab";

jest.setTimeout(120_000);

let status: LabStatus;
let kubeconfig: string;
const cache = fs.mkdtempSync(path.join(os.tmpdir(), "koi-kubectl-cache-"));
const kubectl = (...args: string[]) => run("kubectl", [`--kubeconfig=${kubeconfig}`, `--cache-dir=${cache}`, "--namespace=kube-system", ...args]);
const kubectlOk = (...args: string[]) => {
    const r = kubectl(...args);
    if (r.status !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
};
const standInPid = () => Number(fs.readFileSync(path.join(status.stateDir, "kube-api", "pid"), "utf8"));
const alive = (pid: number) => {
    try {
        process.kill(pid, 0);
        return !/^\S+ \([^)]*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
    } catch {
        return false;
    }
};

/** One request to the stand-in, with the CA from its kubeconfig, without kubectl. */
function request(pathname: string, headers: Record<string, string>, method = "GET"): Promise<{ status: number; body: string }> {
    const config = fs.readFileSync(kubeconfig, "utf8");
    const server = new URL(/server: (\S+)/.exec(config)![1]);
    const ca = Buffer.from(/certificate-authority-data: (\S+)/.exec(config)![1], "base64");
    return new Promise((resolve, reject) => {
        const req = https.request({ host: server.hostname, port: server.port, path: pathname, method, headers, ca }, (res) => {
            let body = "";
            res.on("data", (d) => (body += d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("error", reject);
        req.end();
    });
}
const token = () => /token: (\S+)/.exec(fs.readFileSync(kubeconfig, "utf8"))![1];

beforeAll(() => {
    status = freshLab(2);
    kubeconfig = labOk("kubeconfig").stdout.trim();
});
afterAll(() => {
    labOk("down");
    fs.rmSync(cache, { recursive: true, force: true });
});

describe("lab.sh kubeconfig", () => {
    it("writes a private kubeconfig and a kubectl stack config for the running lab", () => {
        expect(kubeconfig).toBe(path.join(status.stateDir, "kube-api", "kubeconfig"));
        expect(fs.statSync(kubeconfig).mode & 0o777).toBe(0o600);
        const stack = fs.readFileSync(path.join(__dirname, "../../stacks/Pulumi.lab-kubectl.yaml"), "utf8");
        expect(stack).toMatch(/kube-ovn-ipsec:access:\n {4}kubectl:\n/);
        expect(stack).toContain(`kubeconfig: "${kubeconfig}"`);
        expect(stack).toContain('context: "kube-ovn-ipsec-lab"');
        expect(stack).not.toContain("kube-ovn-ipsec:nodes");
    });

    it("serves the lab to kubectl: one ovs-ovn pod per lab node, nodes annotated with their system-ids", () => {
        const pods = JSON.parse(kubectlOk("get", "pods", "--selector=app=ovs", "--output=json")) as { items: Array<{ spec: { nodeName: string } }> };
        expect(pods.items.map((p) => p.spec.nodeName).sort()).toEqual(status.nodes.map((n) => n.name).sort());
        const chassis = kubectlOk("get", "nodes", "--output=jsonpath={range .items[*]}{.metadata.name}={.metadata.annotations.ovn\\.kubernetes\\.io/chassis}{\"\\n\"}{end}");
        expect(chassis.trim().split("\n").sort()).toEqual(status.nodes.map((n) => `${n.name}=${n.systemId}`).sort());
        expect(kubectlOk("exec", JSON.parse(kubectlOk("get", "pods", "--selector=app=ovn-central", "--output=json")).items[0].metadata.name, "--container=ovn-central", "--", "hostname").trim()).toBe(status.central.target);
    });

});

describe("selectors as the API applies them", () => {
    const names = (...args: string[]) => kubectlOk("get", "pods", ...args, "--output=jsonpath={range .items[*]}{.metadata.labels.app}/{.spec.nodeName}{\"\\n\"}{end}").trim().split("\n").filter(Boolean).sort();
    it.each([
        ["equality", ["--selector=app=ovs"], (s: LabStatus) => s.nodes.map((n) => `ovs/${n.name}`)],
        ["set-based with a negated existence", ["--selector=app in (ovs, ovn-central),!ovn-nb-leader"], (s: LabStatus) => s.nodes.map((n) => `ovs/${n.name}`)],
        ["!= matches objects without the label", ["--selector=ovn-nb-leader!=false"], (s: LabStatus) => [...s.nodes.map((n) => `ovs/${n.name}`), `ovn-central/${s.nodes[0].name}`]],
        ["a field selector on the node", [`--field-selector=spec.nodeName=${"NODE1"}`], (s: LabStatus) => [`ovs/${s.nodes[1].name}`]],
        ["field != and a label together", ["--selector=app=ovs", `--field-selector=spec.nodeName!=${"NODE1"},status.phase=Running`], (s: LabStatus) => [`ovs/${s.nodes[0].name}`]],
    ])("%s", (_what, args, expected) => {
        const resolved = args.map((a) => a.replace("NODE1", status.nodes[1].name));
        expect(names(...resolved)).toEqual(expected(status).sort());
    });

    it("an unsupported field is refused as the API server refuses it", () => {
        const r = kubectl("get", "pods", "--field-selector=spec.hostname=x");
        expect(r.status).not.toBe(0);
        expect(r.stderr).toContain("field label not supported: spec.hostname");
    });
});

describe("authentication and protocols", () => {
    it("no credentials: the anonymous user may read /version only; a wrong token is 401 everywhere", async () => {
        expect((await request("/version", {})).status).toBe(200);
        const anonymous = await request("/api/v1/nodes", {});
        expect(anonymous.status).toBe(403);
        expect(JSON.parse(anonymous.body)).toMatchObject({ kind: "Status", reason: "Forbidden" });
        for (const p of ["/version", "/api/v1/nodes"]) {
            const wrong = await request(p, { Authorization: "Bearer koi-lab.wrong" });
            expect([wrong.status, JSON.parse(wrong.body)]).toEqual([401, expect.objectContaining({ kind: "Status", reason: "Unauthorized", message: "Unauthorized", code: 401 })]);
        }
        expect((await request("/api/v1/nodes", { Authorization: `Bearer ${token()}` })).status).toBe(200);
    });

    it("an exec over SPDY (kubectl < 1.30) is refused with what to use instead", async () => {
        const pod = JSON.parse(kubectlOk("get", "pods", "--selector=app=ovs", "--output=json")).items[0].metadata.name as string;
        const r = await request(`/api/v1/namespaces/kube-system/pods/${pod}/exec?command=true&container=openvswitch&stdout=true`, { Authorization: `Bearer ${token()}`, Connection: "Upgrade", Upgrade: "SPDY/3.1", "X-Stream-Protocol-Version": "v4.channel.k8s.io" }, "POST");
        expect(r.status).toBe(400);
        expect(JSON.parse(r.body).message).toBe("the lab's API stand-in serves exec only over WebSocket (v5.channel.k8s.io), which kubectl 1.30+ uses; this client asked for SPDY/3.1 upgrade (SPDY is not served)");
    });

    it("the background stand-in logs every request, and never the token", () => {
        const log = fs.readFileSync(path.join(status.stateDir, "kube-api", "requests.log"), "utf8");
        const records = log.trim().split("\n").map((l) => JSON.parse(l) as { url: string; status: number });
        expect(records.some((r) => r.url.startsWith("/api/v1/namespaces/kube-system/pods") && r.status === 200)).toBe(true);
        expect(records.some((r) => r.url.includes("/exec?") && r.status === 101)).toBe(true);
        expect(log).not.toContain(token());
        expect(fs.statSync(path.join(status.stateDir, "kube-api", "requests.log")).mode & 0o777).toBe(0o600);
    });
});

describe("the stand-in's life (last: it stops the lab)", () => {
    it("a second call reuses the running stand-in; status shows it; down stops it", () => {
        const pid = standInPid();
        expect(labOk("kubeconfig").stdout.trim()).toBe(kubeconfig);
        expect(standInPid()).toBe(pid);
        expect(labOk("status").stdout).toContain(`API stand-in: running (pid ${pid})`);
        const copy = path.join(cache, "kubeconfig-copy");
        fs.copyFileSync(kubeconfig, copy);
        kubeconfig = copy;
        labOk("down");
        expect(alive(pid)).toBe(false);
        expect(kubectl("get", "pods").stderr).toMatch(/The connection to the server 127\.0\.0\.1:\d+ was refused/);
    });
});
