/**
 * The harness tests' program: the resources the stack config lists (`files:resources`), so each
 * test describes its program as data and the harness runs it the way the CLI would.
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { TestFile } from "../../fileProvider";

/** A value, or another resource's output (`of`.`output`, with a suffix). */
type ValueSpec = string | { of: string; output: string; suffix?: string };

interface FileSpec {
    name: string;
    file?: string;
    content?: ValueSpec;
    dependsOn?: string[];
    failOn?: "create" | "update" | "delete" | null;
    dbr?: boolean;
    extra?: string;
    secretExtra?: string;
    delayMs?: number;
}

const config = new pulumi.Config();
const scenario = config.get("throw");
if (scenario) throw new Error(scenario);
const message = config.get("log");
if (message) void pulumi.log.info(message);
if (config.getBoolean("invoke")) void pulumi.runtime.invoke("files:index:nothing", {});

const dir = config.require("dir");
const outputsOf = new Map<string, Record<string, pulumi.Output<unknown>>>();
const resources = new Map<string, pulumi.Resource>();

function valueOf(spec: ValueSpec | undefined, fallback: string): pulumi.Input<string> {
    if (spec === undefined) return fallback;
    if (typeof spec === "string") return spec;
    const outputs = outputsOf.get(spec.of);
    if (!outputs) throw new Error(`no resource ${spec.of} before this one`);
    return pulumi.interpolate`${outputs[spec.output]}${spec.suffix ?? ""}`;
}

for (const spec of config.requireObject<FileSpec[]>("resources")) {
    const dependsOn = (spec.dependsOn ?? []).map((n) => resources.get(n) as pulumi.Resource);
    const f = new TestFile(
        spec.name,
        {
            dir,
            file: spec.file ?? `${spec.name}.txt`,
            content: valueOf(spec.content, `${spec.name}-v1`),
            failOn: spec.failOn ?? null,
            dbr: spec.dbr ?? false,
            extra: spec.secretExtra !== undefined ? pulumi.secret(spec.secretExtra) : spec.extra,
            delayMs: spec.delayMs,
        },
        { dependsOn },
    );
    resources.set(spec.name, f);
    outputsOf.set(spec.name, { id: f.id, content: f.content, size: f.size, writes: f.writes, extra: f.extra });
}

if (config.getBoolean("tlsKey")) {
    const key = new tls.PrivateKey("key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
    outputsOf.set("key", { privateKeyPem: key.privateKeyPem });
    if (config.getBoolean("tlsCert")) {
        const cert = new tls.SelfSignedCert("cert", {
            privateKeyPem: key.privateKeyPem,
            subject: { commonName: "example", organization: "harness" },
            validityPeriodHours: 10,
            earlyRenewalHours: 2,
            allowedUses: ["digital_signature", "server_auth"],
            dnsNames: ["example.test"],
        });
        outputsOf.set("cert", { certPem: cert.certPem, readyForRenewal: cert.readyForRenewal, validityStartTime: cert.validityStartTime });
    }
}

/** Stack outputs: name -> `resource.output`, or a literal. */
const exported: Record<string, unknown> = {};
for (const [name, ref] of Object.entries(config.getObject<Record<string, string>>("outputs") ?? {})) {
    const [of, output] = ref.split(".");
    exported[name] = output === undefined ? ref : outputsOf.get(of)?.[output];
}
export = exported;
