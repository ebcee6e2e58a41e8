/**
 * The dynamic providers as the engine receives them: serialized into `__provider` (a stub that
 * requires kube-ovn-ipsec/providers, here this repository's bin/ built by jest's globalSetup),
 * loaded the way Pulumi's dynamic-provider host loads them (require-from-string), and callable.
 */
import * as pulumi from "@pulumi/pulumi";
import { unknownValue } from "@pulumi/pulumi/runtime/rpc";
import * as fs from "fs";
import * as path from "path";
import { KubeOvnIpsec } from "../../components";
import { evaluateNode } from "../../components/status/nodeStatus";
import { parseIpsecStatus } from "../../components/status/ipsecStatus";
import { parseTunnelsShow } from "../../components/status/tunnelsShow";
import { parseSections } from "../../components/transport/scriptKit";
import { sha256Hex } from "../../components/node/nodeFiles";
import { parseObservation } from "../../components/observe/nodeObservation";
import { UNKNOWN } from "../../components/util/unknown";
import { captureGraph } from "../support/graph";
// The host's own loader, from @pulumi/pulumi's dependencies.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const requireFromString = require("require-from-string") as (code: string) => { handler: () => Record<string, unknown> };

type Provider = Record<string, (...args: unknown[]) => Promise<Record<string, unknown>>>;

let providers: Map<string, Provider>;
beforeAll(async () => {
    const { registrations, error } = await captureGraph((opts) => new KubeOvnIpsec("ipsec", { nodes: [{ name: "w1", systemId: "sid-1" }, { name: "w2", systemId: "sid-2" }] }, opts));
    if (error) throw error;
    providers = new Map();
    for (const r of registrations.filter((x) => x.type.startsWith("pulumi-nodejs:dynamic/"))) {
        const text = r.inputs.__provider;
        if (typeof text !== "string") throw new Error(`${r.name} has no __provider`);
        providers.set(r.type.split(":").pop() as string, requireFromString(text).handler() as Provider);
    }
});

describe("serialized providers", () => {
    it.each(["NodeIpsec", "Preflight", "IpsecSwitch", "IpsecStatus", "IpsecReadiness"])("%s loads and exposes create/update/delete/diff", (type) => {
        const p = providers.get(type);
        expect(p).toBeDefined();
        for (const m of ["create", "update", "delete", "diff"]) expect(typeof p?.[m]).toBe("function");
    });

    it.each(["NodeIpsec", "IpsecSwitch", "IpsecStatus"])("%s can be refreshed (read)", (type) => {
        expect(typeof providers.get(type)?.read).toBe("function");
    });

    it("the loaded node provider diffs by certificate content, access, guard and drift", async () => {
        const node = providers.get("NodeIpsec") as Provider;
        const access = { kind: "command", prefix: ["x", "{target}"], targets: { central: "c", nodes: { w1: "t1" } }, scriptVia: "argv", kubeOvnVersion: "v1.12.35" };
        const transport = { access, exec: { timeoutSeconds: 60, retries: 2 }, parallelism: 10 };
        const news = { node: "w1", systemId: "sid-1", transport, caCertPem: "CA", certPem: "CERT", privateKeyPem: "KEY", guard: false, drift: [], restartServices: false };
        const installed = { certificatePath: "/c", privateKeyPath: "/k", caCertPath: "/ca", certSha256: sha256Hex("CERT"), caCertSha256: sha256Hex("CA"), startedMonitor: true, startedIkeDaemon: true, beforeRecorded: true, guard: false };
        const olds = { node: "w1", systemId: "sid-1", transport, guard: false, installed };
        expect(await node.diff("node/w1", olds, news)).toMatchObject({ changes: false, replaces: [] });
        expect(await node.diff("node/w1", olds, { ...news, certPem: "CERT2" })).toMatchObject({ changes: true });
        expect(await node.diff("node/w1", olds, { ...news, transport: { ...transport, access: { ...access, prefix: ["y", "{target}"] } } })).toMatchObject({ changes: true });
        expect(await node.diff("node/w1", olds, { ...news, transport: { ...transport, parallelism: 3 } })).toMatchObject({ changes: true });
        expect(await node.diff("node/w1", olds, { ...news, guard: true })).toMatchObject({ changes: true });
        // What check found on the node makes a change, with nothing changed in the program.
        expect(await node.diff("node/w1", olds, { ...news, drift: ["ovs-monitor-ipsec is not running"] })).toMatchObject({ changes: true });
        expect(await node.diff("node/w1", olds, { ...news, node: "w9" })).toMatchObject({ changes: true, replaces: ["node"] });
        // In a preview the certificate may not be known yet: that is a change, never "the same".
        expect(await node.diff("node/w1", olds, { ...news, certPem: UNKNOWN })).toMatchObject({ changes: true });
    });

    it("the loaded node provider's check refuses a non-PEM key without echoing it", async () => {
        const node = providers.get("NodeIpsec") as Provider;
        const r = await node.check({}, { certPem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", caCertPem: "nope", privateKeyPem: "secret-value-xyz" });
        expect(r.failures).toEqual([
            { property: "caCertPem", reason: "must be one PEM certificate" },
            { property: "privateKeyPem", reason: "must be one PEM private key" },
        ]);
        expect(JSON.stringify(r.failures)).not.toContain("secret-value-xyz");
    });

    it("the loaded node provider's check accepts inputs not known yet (a first preview) and reads nothing for a new node", async () => {
        const node = providers.get("NodeIpsec") as Provider;
        // A transport that would fail loudly if anything were run.
        const access = { kind: "command", prefix: ["/nonexistent/transport", "{target}"], targets: { central: "c", nodes: { w1: "t1" } }, scriptVia: "argv", kubeOvnVersion: "v1.12.35" };
        const news = { node: "w1", systemId: "sid-1", transport: { access, exec: { timeoutSeconds: 60, retries: 0 }, parallelism: 10 }, caCertPem: UNKNOWN, certPem: UNKNOWN, privateKeyPem: UNKNOWN, guard: false };
        const r = await node.check({}, news);
        expect(r.failures).toEqual([]);
        expect(r.inputs).toMatchObject({ ...news, drift: [], restartServices: false });
    });

    it("the loaded node provider's check of a managed node reports a node it cannot read as drift", async () => {
        const node = providers.get("NodeIpsec") as Provider;
        const access = { kind: "command", prefix: ["/nonexistent/transport", "{target}"], targets: { central: "c", nodes: { w1: "t1" } }, scriptVia: "argv", kubeOvnVersion: "v1.12.35" };
        const news = { node: "w1", systemId: "sid-1", transport: { access, exec: { timeoutSeconds: 60, retries: 0 }, parallelism: 10 }, caCertPem: UNKNOWN, certPem: UNKNOWN, privateKeyPem: UNKNOWN, guard: false };
        const r = await node.check({ node: "w1" }, news);
        expect((r.inputs as { drift: string[] }).drift).toEqual([expect.stringMatching(/^the node cannot be read: \[w1\] step "observe" failed .*could not run \/nonexistent\/transport/)]);
    });

    it("the loaded node provider's check accepts what a preview does not know yet (the SDK's unknown sentinel), and still checks the rest", async () => {
        const node = providers.get("NodeIpsec") as Provider;
        // A first `pulumi up` previews before any certificate exists (issue 14).
        const unknown = { certPem: unknownValue, caCertPem: unknownValue, privateKeyPem: unknownValue };
        expect((await node.check({}, unknown)).failures).toEqual([]);
        expect((await node.check({}, { ...unknown, caCertPem: "nope" })).failures).toEqual([{ property: "caCertPem", reason: "must be one PEM certificate" }]);
    });
});

describe("code that runs inside the providers, serialized", () => {
    // Pulumi's closure serializer copies captured values; some (a Map or Set) do not survive.
    // The status code runs in the host this way, so run it this way here too, on real output.
    const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "..", "fixtures", name), "utf8");
    async function serialized<F>(fn: F): Promise<F> {
        const text = (await pulumi.runtime.serializeFunction(() => fn, { isFactoryFunction: true })).text;
        // A factory function: `exports.handler` is already what the factory returned.
        return (requireFromString(text) as unknown as { handler: F }).handler;
    }

    it("evaluates a node's status exactly as in-process", async () => {
        const remote = await serialized(evaluateNode);
        const expectation = {
            node: "n1",
            systemId: "25941846-9896-421b-a58f-1e030d5a1f5b",
            peers: [
                { name: "n2", systemId: "8ecc6bc4-06d7-4bd8-a6f3-035eb4c29d4c" },
                { name: "n3", systemId: "8525d8a7-2f58-43a0-a3b4-43ae0287724e" },
            ],
            enabled: true,
            waitFor: "established" as const,
            failClosed: false,
            natTraversal: false,
        };
        // Real observe-script framing around real captures, parsed serialized as in the host.
        const b = "@@koi-0123456789abcdef@@";
        const stdout = [
            `${b} facts`,
            'system_id="25941846-9896-421b-a58f-1e030d5a1f5b"',
            'oc_certificate="/etc/ipsec.d/certs/kube-ovn-ipsec-x.pem"',
            'oc_private_key="/etc/ipsec.d/private/kube-ovn-ipsec-x.pem"',
            'oc_ca_cert="/etc/ipsec.d/cacerts/kube-ovn-ipsec-ca-y.pem"',
            "manifest=1",
            "m_certificate=/etc/ipsec.d/certs/kube-ovn-ipsec-x.pem",
            "f_certificate=ok",
            "m_private_key=/etc/ipsec.d/private/kube-ovn-ipsec-x.pem",
            "f_private_key=ok",
            "key_mode=600",
            "m_ca_cert=/etc/ipsec.d/cacerts/kube-ovn-ipsec-ca-y.pem",
            "f_ca_cert=ok",
            "monitor=1",
            "ike=1",
            `${b} tunnels`,
            fixture("tunnels-show-3node-configured-n1.txt"),
            `${b} ike`,
            fixture("ipsec-status-child-installed-handmade.txt"),
            `${b} codes`,
            "tunnels_rc=0",
            "ike_rc=0",
        ].join("\n");
        const parse = await serialized(parseObservation);
        const at = new Date("2026-12-01T10:00:00Z");
        const observation = parseObservation("n1", stdout, b, at);
        expect(parse("n1", stdout, b, at)).toEqual(observation);
        const here = evaluateNode(expectation, observation);
        expect(here.established).toBe(2);
        expect(here.health).toBe("protected");
        expect(remote(expectation, observation)).toEqual(here);
    });

    it("parses status output and script framing exactly as in-process", async () => {
        const tunnels = await serialized(parseTunnelsShow);
        const ike = await serialized(parseIpsecStatus);
        const sections = await serialized(parseSections);
        for (const f of ["tunnels-show-3node-configured-n2.txt", "tunnels-show-invalid-removed-handmade.txt", "tunnels-show-kube-ovn-docs-ovs-ovn-d7hdt.txt"]) {
            expect(tunnels(fixture(f))).toEqual(parseTunnelsShow(fixture(f)));
        }
        for (const f of ["ipsec-statusall-handmade.txt", "ipsec-status-ike-established-responder.txt"]) expect(ike(fixture(f))).toEqual(parseIpsecStatus(fixture(f)));
        const framed = "@@b@@ facts\na=1\n@@b@@ tunnels\nx\n";
        expect([...sections(framed, "@@b@@")]).toEqual([...parseSections(framed, "@@b@@")]);
    });
});

describe("state shared by the providers of one host", () => {
    // (Both copies run in node's own context, as in the host; jest's sandbox has another global.)
    it("two serialized copies of the module see one limiter and one book (globalThis), never a copy", async () => {
        const { hostState } = await import("../../components/host/hostState");
        const copy = async () => (requireFromString((await pulumi.runtime.serializeFunction(() => hostState, { isFactoryFunction: true })).text) as unknown as { handler: typeof hostState }).handler;
        const [a, b] = await Promise.all([copy(), copy()]);
        expect(a).not.toBe(b);
        a().changedAt["k"] = 42;
        expect(b().changedAt["k"]).toBe(42);
        delete a().changedAt["k"];
    });
});
