/**
 * A user's program unit-tested the way Pulumi's testing guide does it: `setMocks` whose
 * `newResource` answers with the inputs as the state (no outputs of the children at all), the
 * program imported after the mocks are set, and assertions on what it registers. The component
 * must build under such mocks (issue 9 item 5: it crashed reading the node resources' outputs).
 */
import * as pulumi from "@pulumi/pulumi";
import type { KubeOvnIpsec as KubeOvnIpsecClass } from "../../components";

interface Registered {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
}

// Everything here settles in well under a second; an output that never resolves fails fast.
jest.setTimeout(20_000);

/** How a secret reaches the mocks (the SDK's `specialSigKey` and `specialSecretSig`). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

const registered: Registered[] = [];
/** Names of the resources each resource was made to depend on (recorded by a transformation). */
const dependsOn = new Map<string, pulumi.Resource[]>();

beforeAll(async () => {
    // As in the guide: inputs as state, an id made from the name, calls echo their inputs.
    await pulumi.runtime.setMocks(
        {
            newResource: (args: pulumi.runtime.MockResourceArgs) => {
                registered.push({ type: args.type, name: args.name, inputs: args.inputs });
                return { id: `${args.name}_id`, state: args.inputs };
            },
            call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
        },
        "user-project",
        "test",
        false,
    );
});

/** The user's program: what they would have in index.ts. */
async function userProgram(): Promise<KubeOvnIpsecClass> {
    const { KubeOvnIpsec } = await import("../../components");
    return new KubeOvnIpsec(
        "ipsec",
        {
            nodes: [
                { name: "worker-1", systemId: "11111111-1111-4111-8111-111111111111" },
                { name: "worker-2", systemId: "22222222-2222-4222-8222-222222222222" },
                { name: "worker-3", systemId: "33333333-3333-4333-8333-333333333333" },
            ],
            access: { kubectl: { namespace: "platform-ovn" } },
        },
        {
            // A documented resource option (also applied to every child): records dependsOn.
            transformations: [
                (args) => {
                    const deps = args.opts.dependsOn;
                    dependsOn.set(args.name, deps === undefined ? [] : (Array.isArray(deps) ? deps : [deps]).filter((d): d is pulumi.Resource => pulumi.Resource.isInstance(d)));
                    return undefined;
                },
            ],
        },
    );
}

/** An Output's value (mocks resolve everything; an unknown would never resolve). */
function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply(resolve));
}

const nameOf = async (r: pulumi.Resource) => (await valueOf(r.urn)).split("::").pop() as string;

describe("a user's program with KubeOvnIpsec under Pulumi's documented mocks", () => {
    let ipsec: KubeOvnIpsecClass;
    let outputs: { enabled: boolean; status: unknown; nodes: Array<{ name: string; certificatePath?: string; live: { health?: string } }> };

    beforeAll(async () => {
        ipsec = await userProgram();
        // Every output settles (none crashes or hangs on a child output the mocks did not give).
        const [enabled, status, nodes, caCertPem] = await Promise.all([valueOf(ipsec.enabled), valueOf(ipsec.status), valueOf(ipsec.nodes), valueOf(ipsec.caCertPem)]);
        outputs = { enabled, status, nodes };
        void caCertPem;
    });

    it("publishes one kubernetes.io/tls Secret per node, in the given namespace, plus the CA's", () => {
        const secrets = registered.filter((r) => r.type === "kubernetes:core/v1:Secret");
        const metadata = secrets.map((s) => s.inputs.metadata as { name: string; namespace: string });
        expect(metadata.map((m) => m.namespace)).toEqual(["platform-ovn", "platform-ovn", "platform-ovn", "platform-ovn"]);
        expect(metadata.map((m) => m.name).sort()).toEqual(["kube-ovn-ipsec-ca", "kube-ovn-ipsec-worker-1", "kube-ovn-ipsec-worker-2", "kube-ovn-ipsec-worker-3"]);
        expect(secrets.filter((s) => s.inputs.type === "kubernetes.io/tls")).toHaveLength(3);
    });

    it("makes one node resource per node, each after the preflight and the CA trust stage; the switch after every node", async () => {
        const nodeResources = registered.filter((r) => r.type === "pulumi-nodejs:dynamic/kube-ovn-ipsec:NodeIpsec");
        expect(nodeResources.map((r) => r.inputs.node).sort()).toEqual(["worker-1", "worker-2", "worker-3"]);
        for (const r of nodeResources) expect(await Promise.all((dependsOn.get(r.name) ?? []).map(nameOf))).toEqual(["ipsec-preflight", "ipsec-ca-trust"]);
        expect((await Promise.all((dependsOn.get("ipsec-switch") ?? []).map(nameOf))).sort()).toEqual(["ipsec-worker-1", "ipsec-worker-2", "ipsec-worker-3"]);
    });

    it("keeps private keys secret on their way to the node resources", () => {
        for (const r of registered.filter((x) => x.type.endsWith(":NodeIpsec"))) {
            // The mocks see a secret as Pulumi's secret signature around its value (here none:
            // the tls mock gave no key, inputs as state).
            expect(r.inputs.privateKeyPem).toEqual({ [SECRET_SIG]: SECRET_SIG_VALUE, value: null });
        }
    });

    it("gives outputs that say nothing was observed (the mocks ran nothing)", () => {
        expect(outputs.nodes.map((n) => [n.name, n.certificatePath, n.live.health])).toEqual([
            ["worker-1", undefined, undefined],
            ["worker-2", undefined, undefined],
            ["worker-3", undefined, undefined],
        ]);
        expect(outputs.status).toEqual({ nodes: [], summary: undefined });
    });
});
