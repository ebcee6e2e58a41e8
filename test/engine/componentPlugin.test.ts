/**
 * The package as a multi-language component provider (issue 9 item 2): started the way the
 * engine starts it for `pulumi package add` and for Python/Go/C#/YAML programs
 * (`@pulumi/pulumi/cmd/run-plugin` on the package directory, PulumiPlugin.yaml `runtime: nodejs`),
 * spoken to over gRPC: GetSchema (checked, and compared with the committed schema.json) and
 * Construct with the harness's ResourceMonitor answering every registration as Pulumi's mocks do
 * (the inputs as the state). Needs the compiled package (bin/, built by globalSetup).
 */
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import * as resproto from "@pulumi/pulumi/proto/resource_pb";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import { existsSync, readFileSync } from "fs";
import { join } from "path";
import { urnOf } from "../../tools/engine/deployment";
import { fromStruct, toStruct } from "../../tools/engine/providerHost";
import { ComponentPlugin, PACKAGE_DIR, SCHEMA_FILE, formatSchema, startComponentPlugin } from "../../tools/schema/componentPlugin";

jest.setTimeout(180_000);

const PROJECT = "consumer";
const STACK = "dev";
const TOKEN = "kube-ovn-ipsec:index:KubeOvnIpsec";
/** What the mock tls provider answers as the CA's certPem. */
const CA_PEM = `-----BEGIN CERTIFICATE-----\n${Buffer.from("the CA of this test").toString("base64")}\n-----END CERTIFICATE-----\n`;
/** The CA's end of validity in this test: 100 days from when the test started. */
const CA_NOT_AFTER = new Date(Date.now() + 100 * 24 * 3600 * 1000).toISOString().replace(/\.\d+Z$/, "Z");

interface Registration {
    type: string;
    name: string;
    custom: boolean;
    parent: string;
    object: Record<string, unknown>;
}

interface SchemaProperty {
    description?: string;
    type?: string;
    $ref?: string;
    items?: SchemaProperty;
    additionalProperties?: SchemaProperty;
}

interface SchemaType {
    type: string;
    description?: string;
    properties?: Record<string, SchemaProperty>;
    enum?: Array<{ name: string; value: string; description?: string }>;
}

interface Schema {
    name: string;
    resources: Record<string, { isComponent: boolean; inputProperties: Record<string, SchemaProperty>; requiredInputs?: string[]; properties: Record<string, SchemaProperty>; required?: string[] }>;
    types: Record<string, SchemaType>;
}

const registrations: Registration[] = [];
const logged: string[] = [];
const unsupported: string[] = [];
let plugin: ComponentPlugin;
let served: string;

beforeAll(async () => {
    plugin = await startComponentPlugin({
        registerResource: async (req: resproto.RegisterResourceRequest) => {
            const object = fromStruct(req.getObject());
            const reg = { type: req.getType(), name: req.getName(), custom: req.getCustom(), parent: req.getParent(), object };
            registrations.push(reg);
            const res = new resproto.RegisterResourceResponse();
            res.setUrn(urnOf(PROJECT, STACK, reg.parent || null, reg.type, reg.name));
            if (reg.custom) res.setId(`${reg.name}-id`);
            // As Pulumi's mocks: the inputs are the state; only the CA certificate gets the
            // outputs a provider would compute that the test follows to the component's outputs.
            const state = reg.type === "tls:index/selfSignedCert:SelfSignedCert" ? { ...object, certPem: CA_PEM, validityEndTime: CA_NOT_AFTER } : object;
            res.setObject(structproto.Struct.fromJavaScript(state as Record<string, structproto.JavaScriptValue>));
            return res;
        },
        registerResourceOutputs: async () => undefined,
        log: (entry) => logged.push(`${entry.severity}: ${entry.message}`),
        unsupported: (call) => unsupported.push(call),
    });
    served = await plugin.host.getSchema();
});

afterAll(async () => {
    await plugin?.stop();
});

/** Every property of a schema object: [path, property]. */
function propertiesOf(schema: Schema): Array<[string, SchemaProperty]> {
    const out: Array<[string, SchemaProperty]> = [];
    for (const [token, resource] of Object.entries(schema.resources)) {
        for (const [key, p] of Object.entries(resource.inputProperties)) out.push([`${token} input ${key}`, p]);
        for (const [key, p] of Object.entries(resource.properties)) out.push([`${token} output ${key}`, p]);
    }
    for (const [token, type] of Object.entries(schema.types)) {
        for (const [key, p] of Object.entries(type.properties ?? {})) out.push([`${token}.${key}`, p]);
    }
    return out;
}

/** The exported interface's property names, read from the declaration the package ships. */
function declaredProperties(interfaceName: string): string[] {
    const source = readFileSync(join(PACKAGE_DIR, "components", "args.ts"), "utf8");
    const body = new RegExp(`export interface ${interfaceName} \\{([\\s\\S]*?)\\n\\}`).exec(source)?.[1];
    if (!body) throw new Error(`components/args.ts has no interface ${interfaceName}`);
    return [...body.matchAll(/^ {4}(\w+)\??:/gm)].map((m) => m[1]);
}

describe("the package as a component provider (run-plugin over gRPC)", () => {
    test("PulumiPlugin.yaml says the runtime the engine needs", () => {
        const plugin = readFileSync(join(PACKAGE_DIR, "PulumiPlugin.yaml"), "utf8");
        expect(plugin).toMatch(/^runtime: nodejs$/m);
        // The analyzer's entry point: the TypeScript sources (main/exports name the compiled JavaScript).
        expect(readFileSync(join(PACKAGE_DIR, "index.ts"), "utf8")).toMatch(/^export \* from "\.\/components";$/m);
    });

    test("GetSchema serves the component with every input and output, each described", () => {
        const schema = JSON.parse(served) as Schema;
        expect(schema.name).toBe("kube-ovn-ipsec");
        const component = schema.resources[TOKEN];
        expect(component.isComponent).toBe(true);
        expect(Object.keys(component.inputProperties).sort()).toEqual(declaredProperties("KubeOvnIpsecArgs").sort());
        expect(component.requiredInputs).toEqual(["nodes"]);
        expect(Object.keys(component.properties).sort()).toEqual(["caCertPem", "caExpiry", "enabled", "nodes", "status"]);
        // Access: two optional, separate objects (the schema has no unions).
        expect(Object.keys(schema.types["kube-ovn-ipsec:index:Access"].properties ?? {}).sort()).toEqual(["command", "kubectl"]);
        expect(Object.keys(schema.types["kube-ovn-ipsec:index:KubectlAccess"].properties ?? {}).sort()).toEqual(declaredProperties("KubectlAccess").sort());
        expect(Object.keys(schema.types["kube-ovn-ipsec:index:CommandAccess"].properties ?? {}).sort()).toEqual(declaredProperties("CommandAccess").sort());
        const undescribed = propertiesOf(schema)
            .filter(([, p]) => !p.description?.trim())
            .map(([where]) => where);
        expect(undescribed).toEqual([]);
    });

    test("the closed sets are enums, with the values validation accepts", async () => {
        const schema = JSON.parse(served) as Schema;
        const { KeyAlgorithm, WaitFor, ScriptVia, NodeHealth, TunnelState } = await import("../../components");
        const values = (token: string) => (schema.types[`kube-ovn-ipsec:index:${token}`].enum ?? []).map((e) => e.value).sort();
        expect(values("KeyAlgorithm")).toEqual(Object.values(KeyAlgorithm).sort());
        expect(values("WaitFor")).toEqual(Object.values(WaitFor).sort());
        expect(values("ScriptVia")).toEqual(Object.values(ScriptVia).sort());
        expect(values("NodeHealth")).toEqual(Object.values(NodeHealth).sort());
        expect(values("TunnelState")).toEqual(Object.values(TunnelState).sort());
    });

    test("the committed schema.json is what the code serves (npm run schema rewrites it)", () => {
        expect(existsSync(SCHEMA_FILE)).toBe(true);
        const committed = readFileSync(SCHEMA_FILE, "utf8");
        if (committed !== formatSchema(served)) {
            throw new Error("schema.json differs from the schema the package serves: run `npm run schema` and commit schema.json");
        }
    });

    test("Construct registers the CA, each node's key and certificate, the Secrets and the dynamic resources", async () => {
        const nodes = [
            { name: "node-a", systemId: "aaaaaaaa-0000-4000-8000-000000000001" },
            { name: "node-b", systemId: "bbbbbbbb-0000-4000-8000-000000000002" },
            { name: "node-c", systemId: "cccccccc-0000-4000-8000-000000000003" },
        ];
        const namespace = "platform-ovn";
        const req = new provproto.ConstructRequest();
        req.setProject(PROJECT).setStack(STACK).setOrganization("organization").setMonitorendpoint(plugin.engine.address);
        req.setDryrun(false).setParallel(4).setType(TOKEN).setName("ipsec").setAcceptsOutputValues(true);
        // What a Python or YAML program sends: plain values named as in the schema.
        req.setInputs(toStruct({ nodes, access: { kubectl: { namespace } }, waitFor: "established", parallelism: 2 }));
        const res = await plugin.host.construct(req);

        expect(unsupported).toEqual([]);
        expect(logged.filter((l) => l.startsWith("error"))).toEqual([]);
        const urn = res.getUrn();
        expect(urn).toBe(urnOf(PROJECT, STACK, null, TOKEN, "ipsec"));
        const component = registrations.find((r) => r.type === TOKEN);
        expect(component?.custom).toBe(false);

        const children = registrations.filter((r) => r.type !== TOKEN);
        const named = (type: string) => children.filter((r) => r.type === type).map((r) => r.name).sort();
        const perNode = (suffix: string) => nodes.map((n) => `ipsec-${n.name}${suffix}`).sort();
        expect(named("tls:index/privateKey:PrivateKey")).toEqual(["ipsec-ca-key", ...perNode("-key")].sort());
        expect(named("tls:index/selfSignedCert:SelfSignedCert")).toEqual(["ipsec-ca"]);
        expect(named("tls:index/locallySignedCert:LocallySignedCert")).toEqual(perNode("-cert"));
        expect(named("kubernetes:core/v1:Secret")).toEqual(["ipsec-ca-secret", ...perNode("-secret")].sort());
        expect(named("pulumi-nodejs:dynamic/kube-ovn-ipsec:NodeIpsec")).toEqual(perNode(""));
        for (const single of ["Preflight", "IpsecSwitch", "IpsecStatus", "IpsecReadiness"]) {
            expect(named(`pulumi-nodejs:dynamic/kube-ovn-ipsec:${single}`)).toHaveLength(1);
        }
        // Every child belongs to the component; the Secrets go to the namespace given.
        expect(children.filter((r) => r.parent !== urn).map((r) => r.name)).toEqual([]);
        for (const secret of children.filter((r) => r.type === "kubernetes:core/v1:Secret")) {
            expect((secret.object.metadata as { namespace?: string }).namespace).toBe(namespace);
        }
        // The inputs arrived as given: the status waits for what the program asked.
        const status = children.find((r) => r.type.endsWith(":IpsecStatus"));
        expect(status?.object.waitFor).toBe("established");
        expect(status?.object.nodes).toEqual(nodes);

        // The dynamic resources carry only the stub that loads the providers from the installed package.
        for (const dynamic of children.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/"))) {
            const provider = String(dynamic.object.__provider);
            expect(provider).toContain("kube-ovn-ipsec/providers");
            expect(provider.length).toBeLessThan(8 * 1024);
        }

        // The state Construct returns is the component's outputs, as the schema lists them.
        const schema = JSON.parse(served) as Schema;
        const state = fromStruct(res.getState());
        expect(Object.keys(state).sort()).toEqual(Object.keys(schema.resources[TOKEN].properties).sort());
        expect(state.caCertPem).toBe(CA_PEM);
        // 100 days minus the seconds since the test started.
        expect(state.caExpiry).toEqual({ notAfter: CA_NOT_AFTER, daysLeft: 99, renewsOnNextUp: false });
        expect((state.nodes as Array<{ name: string }>).map((n) => n.name)).toEqual(nodes.map((n) => n.name));
    });

    test("the YAML example's properties are accepted as they are written (a second Construct)", async () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const yaml = require("js-yaml") as { load(text: string): unknown };
        const program = yaml.load(readFileSync(join(PACKAGE_DIR, "examples", "yaml", "Pulumi.yaml"), "utf8")) as { resources: Record<string, { type: string; properties: Record<string, unknown> }> };
        const [name, resource] = Object.entries(program.resources)[0];
        // Pulumi YAML resolves `<package>:<Type>` to the index module's token.
        expect(resource.type.replace(/^([^:]+):([^:]+)$/, "$1:index:$2")).toBe(TOKEN);
        const before = registrations.length;
        const req = new provproto.ConstructRequest();
        req.setProject(PROJECT).setStack(STACK).setMonitorendpoint(plugin.engine.address).setDryrun(true).setParallel(4).setType(TOKEN).setName(name);
        req.setInputs(toStruct(resource.properties));
        await plugin.host.construct(req);
        const added = registrations.slice(before);
        const nodes = resource.properties.nodes as Array<{ name: string }>;
        expect(added.filter((r) => r.type.endsWith(":NodeIpsec")).map((r) => r.name).sort()).toEqual(nodes.map((n) => `${name}-${n.name}`).sort());
        // access.kubectl.context: the Secrets go through a Kubernetes provider for that context.
        const provider = added.find((r) => r.type === "pulumi:providers:kubernetes");
        expect(provider?.object.context).toBe((resource.properties.access as { kubectl: { context: string } }).kubectl.context);
    });
});
