/**
 * The resource graph the component registers, under Pulumi's mocks: types, certificate
 * subjects and validity, what is secret, and the order of the node and cluster steps.
 */
import * as k8s from "@pulumi/kubernetes";
import { KubeOvnIpsec, KubeOvnIpsecArgs } from "../../components";
import { Registration, captureGraph, isSecretWrapper, plainStrings } from "../support/graph";

const T = {
    key: "tls:index/privateKey:PrivateKey",
    selfSigned: "tls:index/selfSignedCert:SelfSignedCert",
    csr: "tls:index/certRequest:CertRequest",
    signed: "tls:index/locallySignedCert:LocallySignedCert",
    secret: "kubernetes:core/v1:Secret",
    node: "pulumi-nodejs:dynamic/kube-ovn-ipsec:NodeIpsec",
    preflight: "pulumi-nodejs:dynamic/kube-ovn-ipsec:Preflight",
    switch: "pulumi-nodejs:dynamic/kube-ovn-ipsec:IpsecSwitch",
    status: "pulumi-nodejs:dynamic/kube-ovn-ipsec:IpsecStatus",
    component: "kube-ovn-ipsec:index:KubeOvnIpsec",
};

function nodesOf(n: number) {
    return Array.from({ length: n }, (_, i) => ({
        name: i === 0 ? "kube-ovn-control-plane" : `kube-ovn-worker${i === 1 ? "" : i}`,
        systemId: `${(i + 1).toString(16).padStart(8, "0")}-1111-4222-8333-${(1000 + i).toString().padStart(12, "0")}`,
    }));
}

const of = (regs: Registration[], type: string) => regs.filter((r) => r.type === type);
const byName = (regs: Registration[], name: string) => {
    const r = regs.find((x) => x.name === name);
    if (!r) throw new Error(`no registration named ${name}`);
    return r;
};
const unwrap = (v: unknown): unknown => (isSecretWrapper(v) ? v.value : v);

async function build(args: KubeOvnIpsecArgs, delayMs = 0) {
    const { registrations, error } = await captureGraph((opts) => new KubeOvnIpsec("ipsec", args, opts), { delayMs });
    if (error) throw error;
    return registrations;
}

describe.each([1, 3, 10])("resource graph with %i node(s)", (n) => {
    const nodes = nodesOf(n);
    let regs: Registration[];
    beforeAll(async () => {
        regs = await build({ nodes });
    });

    it("registers one CA, and per node a key, CSR, certificate, Secret and node step", () => {
        expect(of(regs, T.component)).toHaveLength(1);
        expect(of(regs, T.selfSigned)).toHaveLength(1);
        expect(of(regs, T.key)).toHaveLength(n + 1);
        expect(of(regs, T.csr)).toHaveLength(n);
        expect(of(regs, T.signed)).toHaveLength(n);
        expect(of(regs, T.secret)).toHaveLength(n + 1);
        expect(of(regs, T.node)).toHaveLength(n);
        expect(of(regs, T.preflight)).toHaveLength(1);
        expect(of(regs, T.switch)).toHaveLength(1);
        expect(of(regs, T.status)).toHaveLength(1);
    });

    it("makes a CA certificate for signing only, valid 10 years by default", () => {
        const ca = of(regs, T.selfSigned)[0].inputs;
        expect(ca.isCaCertificate).toBe(true);
        expect(ca.validityPeriodHours).toBe(87600);
        expect(ca.allowedUses).toEqual(expect.arrayContaining(["cert_signing", "crl_signing"]));
        expect(ca.allowedUses).not.toContain("server_auth");
        expect(ca.subject).toEqual({ commonName: "kube-ovn-ipsec CA", organization: "kube-ovn" });
    });

    it("requests, per node, O=kube-ovn, CN=<system-id> and SAN DNS <system-id>", () => {
        for (const node of nodes) {
            const csr = byName(regs, `ipsec-${node.name}-csr`).inputs;
            expect(csr.subject).toEqual({ organization: "kube-ovn", commonName: node.systemId });
            expect(csr.dnsNames).toEqual([node.systemId]);
            expect(isSecretWrapper(csr.privateKeyPem)).toBe(true);
            const cert = byName(regs, `ipsec-${node.name}-cert`).inputs;
            expect(cert.validityPeriodHours).toBe(8760);
            expect(cert.earlyRenewalHours).toBe(720);
            expect(cert.allowedUses).toEqual(expect.arrayContaining(["digital_signature", "key_encipherment", "server_auth", "client_auth"]));
            expect(isSecretWrapper(cert.caPrivateKeyPem)).toBe(true);
        }
    });

    it("publishes a kubernetes.io/tls Secret per node and a CA Secret without the CA key", () => {
        const ca = byName(regs, "ipsec-ca-secret").inputs as { metadata: { name: string; namespace: string; labels: Record<string, string> }; stringData: Record<string, unknown>; type: string };
        expect(ca.metadata.namespace).toBe("kube-system");
        expect(Object.keys(unwrap(ca.stringData) as object)).toEqual(["ca.crt"]);
        expect(ca.metadata.labels["app.kubernetes.io/managed-by"]).toBe("kube-ovn-ipsec");
        for (const node of nodes) {
            const s = byName(regs, `ipsec-${node.name}-secret`).inputs as { type: string; metadata: { name: string; annotations: Record<string, string>; labels: Record<string, string> }; data: unknown };
            expect(s.type).toBe("kubernetes.io/tls");
            expect(s.metadata.name).toBe(`kube-ovn-ipsec-${node.name}`);
            expect(s.metadata.annotations["kube-ovn-ipsec.io/system-id"]).toBe(node.systemId);
            expect(s.metadata.labels["app.kubernetes.io/managed-by"]).toBe("kube-ovn-ipsec");
            // `data` (base64) of the node's own pair, as one secret; the CA is in the CA Secret only.
            expect(isSecretWrapper(s.data)).toBe(true);
            const data = unwrap(s.data) as Record<string, string>;
            expect(Object.keys(data).sort()).toEqual(["tls.crt", "tls.key"]);
            // What the mocks handed out as this node's certificate and key (test/support/graph.ts).
            const mocked = (resource: string) => Buffer.from(`mock ipsec-${node.name}-${resource}`).toString("base64");
            expect(Buffer.from(data["tls.crt"], "base64").toString()).toBe(`-----BEGIN CERTIFICATE-----\n${mocked("cert")}\n-----END CERTIFICATE-----\n`);
            expect(Buffer.from(data["tls.key"], "base64").toString()).toContain(`\n${mocked("key")}\n`);
        }
    });

    it("keeps every private key inside a secret in every registered input", () => {
        // A PEM private key block (header followed by key data), or the body of any key the
        // mocks handed out, anywhere outside a secret (the serialized providers included).
        const keyBodies = regs.filter((r) => r.type === T.key).map((r) => Buffer.from(`mock ${r.name}`).toString("base64"));
        const leaks = regs
            .flatMap((r) => plainStrings(r.inputs, `${r.name}`))
            .filter((s) => /-----BEGIN [A-Z ]*PRIVATE KEY-----\s*[A-Za-z0-9+/]{8}/.test(s.text) || keyBodies.some((b) => s.text.includes(b)));
        expect(keyBodies).toHaveLength(n + 1);
        expect(leaks.map((l) => l.path)).toEqual([]);
        // ... and the node steps do receive the key, as a secret.
        for (const r of of(regs, T.node)) expect(isSecretWrapper(r.inputs.privateKeyPem)).toBe(true);
    });

    it("gives each node step only its own node and the default kubectl access", () => {
        for (const node of nodes) {
            const r = byName(regs, `ipsec-${node.name}`).inputs;
            expect(r.node).toBe(node.name);
            expect(r.systemId).toBe(node.systemId);
            expect(r.transport).toMatchObject({
                access: { kind: "kubectl", namespace: "kube-system", ovsPodSelector: "app=ovs", ovsContainer: "openvswitch", centralPodSelector: "ovn-nb-leader=true", centralContainer: "ovn-central" },
                exec: { timeoutSeconds: 60, retries: 2 },
                parallelism: 10,
            });
        }
    });

    it("orders the steps: preflight -> CA trust -> every node -> CA retire and switch -> status", () => {
        const nodeNames = nodes.map((x) => `ipsec-${x.name}`);
        expect(byName(regs, "ipsec-ca-trust").dependsOn).toEqual(["ipsec-preflight"]);
        for (const name of nodeNames) expect(byName(regs, name).dependsOn).toEqual(["ipsec-preflight", "ipsec-ca-trust"]);
        expect(byName(regs, "ipsec-ca-retire").dependsOn.sort()).toEqual([...nodeNames].sort());
        expect(byName(regs, "ipsec-switch").dependsOn.sort()).toEqual([...nodeNames].sort());
        expect(byName(regs, "ipsec-status").dependsOn).toEqual(expect.arrayContaining(["ipsec-switch", "ipsec-ca-retire", ...nodeNames]));
        // Both CA stages see every node and the CA the node certificates are signed with.
        for (const stage of ["ipsec-ca-trust", "ipsec-ca-retire"]) expect(byName(regs, stage).inputs).toMatchObject({ nodes, parallelism: 10 });
        const sw = byName(regs, "ipsec-switch").inputs;
        expect(sw.enabled).toBe(true);
        const status = byName(regs, "ipsec-status").inputs;
        expect(status).toMatchObject({ enabled: true, waitFor: "configured", timeoutSeconds: 120, nodes });
    });
});

describe("registration order under latency", () => {
    it("registers the switch only after every node step finished, and the status after the switch", async () => {
        const regs = await build({ nodes: nodesOf(3) }, 20);
        const lastNode = Math.max(...of(regs, T.node).map((r) => r.finishedAt));
        const firstNode = Math.min(...of(regs, T.node).map((r) => r.startedAt));
        const sw = of(regs, T.switch)[0];
        expect(sw.startedAt).toBeGreaterThanOrEqual(lastNode);
        expect(of(regs, T.status)[0].startedAt).toBeGreaterThanOrEqual(sw.finishedAt);
        expect(firstNode).toBeGreaterThanOrEqual(of(regs, T.preflight)[0].finishedAt);
    });
});

describe("options", () => {
    it("enabled=false turns only the switch and the status off; certificates and node steps stay", async () => {
        const nodes = nodesOf(3);
        const regs = await build({ nodes, enabled: false });
        expect(byName(regs, "ipsec-switch").inputs.enabled).toBe(false);
        expect(byName(regs, "ipsec-status").inputs.enabled).toBe(false);
        expect(of(regs, T.node)).toHaveLength(3);
        expect(of(regs, T.signed)).toHaveLength(3);
    });

    it("publishes the Secrets in the access namespace, not always kube-system", async () => {
        const nodes = nodesOf(2);
        const regs = await build({ nodes, access: { kubectl: { namespace: "kube-ovn-ops" } } });
        const namespaces = of(regs, T.secret).map((r) => (r.inputs as { metadata: { namespace: string } }).metadata.namespace);
        expect(namespaces).toEqual(["kube-ovn-ops", "kube-ovn-ops", "kube-ovn-ops"]);
    });

    it("sends the Secrets through a Kubernetes provider for access.kubectl.context, unless the program gives one", async () => {
        const args: KubeOvnIpsecArgs = { nodes: nodesOf(2), access: { kubectl: { context: "prod" } } };
        const contexts = (regs: Registration[]) => of(regs, "pulumi:providers:kubernetes").map((r) => r.inputs.context);
        // An empty providers map is what a Construct from another language always passes.
        const own = await captureGraph((opts) => new KubeOvnIpsec("ipsec", args, { ...opts, providers: {} }));
        expect(own.error).toBeNull();
        expect(contexts(own.registrations)).toEqual(["prod"]);
        const given = await captureGraph((opts) => new KubeOvnIpsec("ipsec", args, { ...opts, providers: { kubernetes: new k8s.Provider("mine", { context: "theirs" }) } }));
        expect(given.error).toBeNull();
        expect(contexts(given.registrations)).toEqual(["theirs"]);
    });

    it("publishSecrets=false registers no Secret", async () => {
        const regs = await build({ nodes: nodesOf(2), publishSecrets: false });
        expect(of(regs, T.secret)).toHaveLength(0);
    });

    it("passes key algorithm, organization and validity through", async () => {
        const regs = await build({ nodes: nodesOf(1), certificate: { algorithm: "RSA4096", organization: "acme ops", validityHours: 2000, earlyRenewalHours: 100 }, ca: { algorithm: "ECDSA-P384", validityHours: 5000, commonName: "acme ca" } });
        const keys = of(regs, T.key).map((r) => r.inputs);
        expect(keys).toEqual(expect.arrayContaining([expect.objectContaining({ algorithm: "RSA", rsaBits: 4096 }), expect.objectContaining({ algorithm: "ECDSA", ecdsaCurve: "P384" })]));
        const csr = of(regs, T.csr)[0].inputs;
        expect((csr.subject as { organization: string }).organization).toBe("acme ops");
        expect(of(regs, T.signed)[0].inputs).toMatchObject({ validityPeriodHours: 2000, earlyRenewalHours: 100 });
        expect(of(regs, T.selfSigned)[0].inputs).toMatchObject({ validityPeriodHours: 5000, subject: { commonName: "acme ca", organization: "acme ops" } });
    });

    it("with command access, a node step carries only its own target", async () => {
        const nodes = nodesOf(3);
        const targets = Object.fromEntries(nodes.map((x, i) => [x.name, `pod-${i}`]));
        const regs = await build({ nodes, access: { command: { prefix: ["ssh", "{target}"], targets: { central: "central-host", nodes: targets }, scriptVia: "stdin", kubeOvnVersion: "v1.12.35" } } });
        for (const [i, node] of nodes.entries()) {
            expect((byName(regs, `ipsec-${node.name}`).inputs.transport as { access: unknown }).access).toEqual({ kind: "command", prefix: ["ssh", "{target}"], targets: { central: "central-host", nodes: { [node.name]: `pod-${i}` } }, scriptVia: "stdin", kubeOvnVersion: "v1.12.35" });
        }
        expect((byName(regs, "ipsec-switch").inputs.access as { targets: unknown }).targets).toEqual({ central: "central-host", nodes: {} });
        expect((byName(regs, "ipsec-status").inputs.access as { targets: unknown }).targets).toEqual({ central: "central-host", nodes: targets });
    });
});
