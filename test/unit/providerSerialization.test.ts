/**
 * The dynamic providers as the engine receives them: serialized into `__provider`, loaded the
 * way Pulumi's dynamic-provider host loads them (require-from-string), and callable.
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
    it.each(["NodeIpsec", "Preflight", "IpsecSwitch", "IpsecStatus"])("%s loads and exposes create/update/delete/diff", (type) => {
        const p = providers.get(type);
        expect(p).toBeDefined();
        for (const m of ["create", "update", "delete", "diff"]) expect(typeof p?.[m]).toBe("function");
    });

    it.each(["NodeIpsec", "IpsecSwitch", "IpsecStatus"])("%s can be refreshed (read)", (type) => {
        expect(typeof providers.get(type)?.read).toBe("function");
    });

    it("the loaded node provider diffs by certificate content, access and drift", async () => {
        const node = providers.get("NodeIpsec") as Provider;
        const access = { kind: "command", prefix: ["x", "{target}"], targets: { central: "c", nodes: { w1: "t1" } }, scriptVia: "argv", kubeOvnVersion: null };
        const transport = { access, exec: { timeoutSeconds: 60, retries: 2 }, parallelism: 10 };
        const news = { node: "w1", systemId: "sid-1", transport, caCertPem: "CA", certPem: "CERT", privateKeyPem: "KEY" };
        const live = { systemId: "sid-1", configured: true, filesIntact: true, privateKeyMode: "600", monitorRunning: true, ikeDaemonRunning: true, error: null };
        const installed = { certificatePath: "/c", privateKeyPath: "/k", caCertPath: "/ca", certSha256: sha256Hex("CERT"), caCertSha256: sha256Hex("CA"), startedMonitor: true, startedIkeDaemon: true, previous: null };
        const olds = { node: "w1", systemId: "sid-1", transport, installed, privateKeyFileSha256: sha256Hex("KEY"), live };
        expect(await node.diff("node/w1", olds, news)).toMatchObject({ changes: false, replaces: [] });
        expect(await node.diff("node/w1", olds, { ...news, certPem: "CERT2" })).toMatchObject({ changes: true });
        expect(await node.diff("node/w1", olds, { ...news, transport: { ...transport, access: { ...access, prefix: ["y", "{target}"] } } })).toMatchObject({ changes: true });
        expect(await node.diff("node/w1", olds, { ...news, transport: { ...transport, parallelism: 3 } })).toMatchObject({ changes: true });
        expect(await node.diff("node/w1", { ...olds, live: { ...live, monitorRunning: false } }, news)).toMatchObject({ changes: true });
        expect(await node.diff("node/w1", olds, { ...news, node: "w9" })).toMatchObject({ changes: true, replaces: ["node"] });
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
        };
        const raw = { tunnelsShow: fixture("tunnels-show-3node-configured-n1.txt"), tunnelsShowOk: true, ipsecStatus: fixture("ipsec-status-child-installed-handmade.txt"), ipsecStatusOk: true, monitorRunning: true, ikeDaemonRunning: true };
        const here = evaluateNode(expectation, raw);
        expect(here.established).toBe(2);
        expect(remote(expectation, raw)).toEqual(here);
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
