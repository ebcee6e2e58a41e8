/**
 * kubectl's own failures, as the REAL kubectl reports them, classified by the product
 * (components/transport/kubectlErrors.ts through runKubectl): wrong credentials, none at all,
 * a certificate that does not match the kubeconfig's CA, a missing context, an API server that
 * is down. The API is the lab's stand-in serving a cluster view given here (no lab needed: only
 * reads are made).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ExecPolicy, ResolvedKubectlAccess } from "../../components/transport/access";
import { runKubectl } from "../../components/transport/exec";
import { RemoteError } from "../../components/transport/remoteError";
import { LabView } from "../../lab/kubeApi/cluster";
import { KubeApi, startKubeApi } from "../../lab/kubeApi/server";
import { selfSignedCertificate } from "../../lab/kubeApi/tls";
import { accessFor } from "../support/kubeApi";

const view: LabView = {
    up: true,
    stateDir: "/nonexistent",
    prefix: ["false"],
    central: { target: "ovn-central", ip: "10.213.0.10" },
    nodes: [{ name: "kube-ovn-worker", systemId: "aaaaaaaa-0000-4000-8000-000000000001", ip: "10.213.0.11", target: "kube-ovn-worker", pid1: 1 }],
};
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "koi-kubectl-errors-"));
let api: KubeApi;

beforeAll(async () => {
    process.env.KUBECACHEDIR = path.join(dir, "cache");
    api = await startKubeApi({ lab: async () => view });
});
afterAll(async () => {
    await api?.close();
    fs.rmSync(dir, { recursive: true, force: true });
});

function kubeconfig(name: string, edit: (text: string) => string): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, edit(api.kubeconfig()), { mode: 0o600 });
    return file;
}
async function list(access: ResolvedKubectlAccess, policy: ExecPolicy = { timeoutSeconds: 10, retries: 2 }): Promise<RemoteError> {
    return runKubectl(access, ["get", "pods", "--selector=app=ovs", "--output=json"], "list-ovs-pods", policy).then(
        () => {
            throw new Error("kubectl succeeded");
        },
        (e: RemoteError) => e,
    );
}

describe("kubectl's own failures, classified", () => {
    it("the stand-in answers with the right kubeconfig (the control case)", async () => {
        const file = kubeconfig("ok", (t) => t);
        const pods = JSON.parse(await runKubectl(accessFor(file), ["get", "pods", "--selector=app=ovs", "--output=json"], "list-ovs-pods", { timeoutSeconds: 10, retries: 0 })) as { items: unknown[] };
        expect(pods.items).toHaveLength(1);
    });

    it("a wrong token: Unauthorized, one line naming kubeconfig and context, not retried", async () => {
        const file = kubeconfig("wrong-token", (t) => t.replace(/token: .*/, "token: koi-lab.wrong"));
        const e = await list(accessFor(file));
        expect(e.message).toBe(`[kubectl] step "list-ovs-pods" failed (exit 1, 1 attempt): Unauthorized: the API server rejected the credentials of context "kube-ovn-ipsec-lab" of kubeconfig ${file}; renew them (token or client certificate) or set access.kubectl.kubeconfig / access.kubectl.context to credentials that may read pods and exec into them in kube-system`);
        expect(e.remote.transient).toBe(false);
    });

    it("a user without credentials: named as such, not retried (kubectl would prompt for a username)", async () => {
        const file = kubeconfig("no-credentials", (t) => t.replace(/  user:\n {4}token: .*\n/, "  user: {}\n"));
        const e = await list(accessFor(file));
        expect(e.message).toBe(`[kubectl] step "list-ovs-pods" failed (exit 1, 1 attempt): context "kube-ovn-ipsec-lab" of kubeconfig ${file} has no credentials (kubectl asked for a username)\n  what to do: give that context's user a token, a client certificate or an exec credential plugin`);
        expect(e.remote.transient).toBe(false);
    });

    it("a server certificate the kubeconfig's CA did not sign: named as a TLS problem, not retried", async () => {
        const other = Buffer.from(selfSignedCertificate("someone-else").certPem).toString("base64");
        const file = kubeconfig("other-ca", (t) => t.replace(/certificate-authority-data: .*/, `certificate-authority-data: ${other}`));
        const e = await list(accessFor(file));
        expect(e.message.split("\n")[0]).toMatch(new RegExp(`^\\[kubectl\\] step "list-ovs-pods" failed \\(exit 1, 1 attempt\\): cannot reach the API server of context "kube-ovn-ipsec-lab" of kubeconfig ${file}: .*x509: certificate signed by unknown authority`));
        expect(e.message).toContain("what to do: the kubeconfig's certificate-authority does not match the API server's certificate");
        expect(e.remote.transient).toBe(false);
    });

    it("a context the kubeconfig does not have", async () => {
        const file = kubeconfig("ok2", (t) => t);
        const e = await list(accessFor(file, { context: "prod" }));
        expect(e.message.split("\n")[0]).toBe(`[kubectl] step "list-ovs-pods" failed (exit 1, 1 attempt): context "prod" is not in kubeconfig ${file}`);
        expect(e.remote.transient).toBe(false);
    });

    it("an API server that is down: named, retried as transient", async () => {
        const gone = await startKubeApi({ lab: async () => view });
        const file = path.join(dir, "gone");
        gone.writeKubeconfig(file);
        await gone.close();
        const e = await list(accessFor(file), { timeoutSeconds: 10, retries: 1 });
        expect(e.message.split("\n")[0]).toBe(`[kubectl] step "list-ovs-pods" failed (exit 1, 2 attempts): the API server ${new URL(gone.url).host} of context "kube-ovn-ipsec-lab" of kubeconfig ${file} refused the connection`);
        expect(e.remote.transient).toBe(true);
    });
});
