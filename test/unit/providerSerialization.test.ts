/**
 * The dynamic providers as the engine receives them: serialized into `__provider`, loaded the
 * way Pulumi's dynamic-provider host loads them (require-from-string), and callable.
 */
import { KubeOvnIpsec } from "../../components";
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
        const news = { node: "w1", systemId: "sid-1", access, exec: { timeoutSeconds: 60, retries: 2 }, parallelism: 10, caCertPem: "CA", certPem: "CERT", privateKeyPem: "KEY" };
        const live = { systemId: "sid-1", configured: true, filesIntact: true, privateKeyMode: "600", monitorRunning: true, ikeDaemonRunning: true, error: null };
        const olds = { ...news, certSha256: sha256Hex("CERT"), caCertSha256: sha256Hex("CA"), privateKeyFileSha256: sha256Hex("KEY"), live };
        expect(await node.diff("node/w1", olds, news)).toMatchObject({ changes: false, replaces: [] });
        expect(await node.diff("node/w1", olds, { ...news, certPem: "CERT2" })).toMatchObject({ changes: true });
        expect(await node.diff("node/w1", olds, { ...news, access: { ...access, prefix: ["y", "{target}"] } })).toMatchObject({ changes: true });
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
});
