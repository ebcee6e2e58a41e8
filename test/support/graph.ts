/**
 * Builds a program under Pulumi's mocks and records what it registers: type, name, inputs
 * (secrets still wrapped, exactly as the engine would receive them), the explicit dependsOn,
 * and when each registration started and finished. For graph tests; no provider runs here.
 */
import * as pulumi from "@pulumi/pulumi";
import { fakePrivateKeyPem } from "../fixtures/fakeKeys";
// The SDK's own "wait until every outstanding RPC is done": internal (stripped from its typings).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };

export const SECRET_SIG = "4dabf18193072939515e22adb298388d";

export interface Registration {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
    dependsOn: string[];
    startedAt: number;
    finishedAt: number;
}

/** Fake but well-formed outputs for the resources the component registers. */
function fakeOutputs(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
    const b64 = Buffer.from(`mock ${name}`).toString("base64");
    switch (type) {
        case "tls:index/privateKey:PrivateKey":
            // What the provider returns (and marks secret); the mock cannot mark it.
            return { ...inputs, privateKeyPem: fakePrivateKeyPem(b64), publicKeyPem: `-----BEGIN PUBLIC KEY-----\n${b64}\n-----END PUBLIC KEY-----\n` };
        case "tls:index/certRequest:CertRequest":
            return { ...inputs, certRequestPem: `-----BEGIN CERTIFICATE REQUEST-----\n${b64}\n-----END CERTIFICATE REQUEST-----\n` };
        case "tls:index/selfSignedCert:SelfSignedCert":
        case "tls:index/locallySignedCert:LocallySignedCert":
            return { ...inputs, certPem: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`, validityEndTime: "2030-01-01T00:00:00Z", readyForRenewal: false };
        default:
            if (type.startsWith("pulumi-nodejs:dynamic")) {
                const { __provider: _provider, ...rest } = inputs;
                const installed = { certificatePath: `/c/${name}`, privateKeyPath: `/k/${name}`, caCertPath: "/ca", certSha256: `sha-${name}`, caCertSha256: "sha-ca", startedMonitor: true, startedIkeDaemon: true, previous: null };
                return { ...rest, installed, enabled: inputs.enabled, reports: [], summary: { ready: true }, live: {} };
            }
            return inputs;
    }
}

export interface GraphOptions {
    /** Delay every registration by this many ms, to make ordering observable. */
    delayMs?: number;
}

/**
 * Runs `build` under fresh mocks and returns every registration once all RPCs settled.
 * `build` may throw (validation): the registrations made until then are returned with it.
 */
export async function captureGraph(
    build: (opts: pulumi.ComponentResourceOptions) => unknown,
    options: GraphOptions = {},
): Promise<{ registrations: Registration[]; error: unknown }> {
    const registrations: Registration[] = [];
    const dependsOnByName = new Map<string, string[]>();
    await pulumi.runtime.setMocks(
        {
            newResource: async (args: pulumi.runtime.MockResourceArgs) => {
                const startedAt = performance.now();
                if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
                const inputs = args.inputs as Record<string, unknown>;
                registrations.push({ type: args.type, name: args.name, inputs, dependsOn: dependsOnByName.get(args.name) ?? [], startedAt, finishedAt: performance.now() });
                return { id: `${args.name}-id`, state: fakeOutputs(args.type, args.name, inputs) };
            },
            call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
        },
        "kube-ovn-ipsec",
        "test",
        false,
    );
    // A component's transformations run in-process on each child and see its options: the
    // only place where explicit dependsOn is visible under mocks.
    const record: pulumi.ResourceTransformation = (args) => {
        const deps = args.opts.dependsOn;
        const list = deps === undefined ? [] : Array.isArray(deps) ? deps : [deps];
        dependsOnByName.set(
            args.name,
            list.map((d) => (d as unknown as { __name?: string }).__name ?? String(d)),
        );
        return undefined;
    };
    let error: unknown = null;
    try {
        await build({ transformations: [record] });
    } catch (e) {
        error = e;
    }
    await waitForRPCs();
    return { registrations, error };
}

/** Resolves an Output's value (test-side only). */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((v) => resolve(v)));
}

export function isSecretWrapper(value: unknown): value is { value: unknown } {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SECRET_SIG] !== undefined;
}

/** Every string reachable from `value`, except inside secret wrappers, with its path. */
export function plainStrings(value: unknown, path = "$"): Array<{ path: string; text: string }> {
    if (typeof value === "string") return [{ path, text: value }];
    if (isSecretWrapper(value)) return [];
    if (Array.isArray(value)) return value.flatMap((v, i) => plainStrings(v, `${path}[${i}]`));
    if (typeof value === "object" && value !== null) return Object.entries(value).flatMap(([k, v]) => plainStrings(v, `${path}.${k}`));
    return [];
}
