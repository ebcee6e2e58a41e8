/**
 * Every validation rule, one row each: the error names the argument and says what is wrong,
 * and the component registers nothing at all when it throws.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { KubeOvnIpsec, KubeOvnIpsecArgs, ValidationError, validateArgs } from "../../components";
import { resolveAccess } from "../../components/validation";
import { captureGraph } from "../support/graph";

const node = (name: string, systemId: string) => ({ name, systemId });
const base: KubeOvnIpsecArgs = { nodes: [node("worker-1", "0c4f4b1e-1111-4222-8333-000000000001"), node("worker-2", "0c4f4b1e-1111-4222-8333-000000000002")] };
const cmd = (extra: Record<string, unknown> = {}) => ({
    command: {
        prefix: ["nsenter", "--net=/run/netns/{target}", "--"],
        targets: { central: "ovn-central", nodes: { "worker-1": "w1", "worker-2": "w2" } },
        kubeOvnVersion: "v1.12.35",
        ...extra,
    },
});

// [case, args, expected fragment of the message (argument path and rule)]
const cases: Array<[string, unknown, RegExp]> = [
    ["args not an object", null, /args null: must be an object/],
    ["nodes missing", { ...base, nodes: undefined }, /nodes undefined: must be a list/],
    ["empty node list", { ...base, nodes: [] }, /nodes \[\]: must name at least one node/],
    ["node not an object", { ...base, nodes: ["worker-1"] }, /nodes\[0\] "worker-1": must be \{ name, systemId \}/],
    ["upper-case node name", { ...base, nodes: [node("Worker", "a1")] }, /nodes\[0\]\.name "Worker": must be a Kubernetes node name/],
    ["node name with a space", { ...base, nodes: [node("a b", "a1")] }, /nodes\[0\]\.name "a b"/],
    ["node name too long", { ...base, nodes: [node("a".repeat(254), "a1")] }, /nodes\[0\]\.name "a{30,}\.\.\.: must be a Kubernetes node name/],
    ["duplicate node name", { ...base, nodes: [node("w", "a1"), node("w", "a2")] }, /nodes\[1\]\.name "w": duplicate of nodes\[0\]/],
    ["duplicate system-id", { ...base, nodes: [node("w1", "a1"), node("w2", "a1")] }, /nodes\[1\]\.systemId "a1": duplicate of nodes\[0\]/],
    ["empty system-id", { ...base, nodes: [node("w1", "")] }, /nodes\[0\]\.systemId "": must be an OVS system-id/],
    ["system-id with a slash", { ...base, nodes: [node("w1", "../etc")] }, /nodes\[0\]\.systemId "\.\.\/etc"/],
    ["system-id too long", { ...base, nodes: [node("w1", "a".repeat(65))] }, /nodes\[0\]\.systemId/],
    ["unknown argument", { ...base, enable: true }, /enable true: is not an argument of KubeOvnIpsec/],
    ["enabled not boolean", { ...base, enabled: "yes" }, /enabled "yes": must be true or false/],
    ["unknown access kind", { ...base, access: { ssh: {} } }, /access\.ssh \{\}: is not an access kind: set access\.kubectl or access\.command/],
    ["both access kinds", { ...base, access: { kubectl: {}, command: cmd().command } }, /access "kubectl, command": must set one of kubectl and command, not both/],
    ["unknown kubectl option", { ...base, access: { kubectl: { namespce: "x" } } }, /access\.kubectl\.namespce "x": is not a kubectl access option/],
    ["bad namespace", { ...base, access: { kubectl: { namespace: "Kube_System" } } }, /access\.kubectl\.namespace "Kube_System": must be a Kubernetes namespace/],
    ["missing kubeconfig file", { ...base, access: { kubectl: { kubeconfig: "/nonexistent/kubeconfig" } } }, /access\.kubectl\.kubeconfig "\/nonexistent\/kubeconfig": does not exist/],
    ["kubeconfig is a directory", { ...base, access: { kubectl: { kubeconfig: os.tmpdir() } } }, /access\.kubectl\.kubeconfig .*: is not a file/],
    ["context starting with a dash", { ...base, access: { kubectl: { context: "--insecure" } } }, /access\.kubectl\.context "--insecure": must be a kubeconfig context name/],
    ["kubectl path with a newline", { ...base, access: { kubectl: { binary: "kubectl\nrm" } } }, /access\.kubectl\.binary "kubectl\\nrm": must be a non-empty path/],
    ["kubectl starting with a dash", { ...base, access: { kubectl: { binary: "-x" } } }, /access\.kubectl\.binary "-x": must not start with '-'/],
    ["bad pod selector", { ...base, access: { kubectl: { ovsPodSelector: "app" } } }, /access\.kubectl\.ovsPodSelector "app": must be one label requirement/],
    ["bad container", { ...base, access: { kubectl: { ovsContainer: "Open vSwitch" } } }, /access\.kubectl\.ovsContainer "Open vSwitch"/],
    ["command prefix missing", { ...base, access: cmd({ prefix: [] }) }, /access\.command\.prefix \[\]: must be a non-empty argv list/],
    ["command prefix without placeholder", { ...base, access: cmd({ prefix: ["ssh", "host"] }) }, /access\.command\.prefix .*must contain the placeholder \{target\}/],
    ["command prefix with NUL", { ...base, access: cmd({ prefix: ["ssh", "a\u0000b", "{target}"] }) }, /access\.command\.prefix\[1\] "a\\u0000b": must be a non-empty string without NUL/],
    ["unknown command option", { ...base, access: cmd({ shell: "bash" }) }, /access\.command\.shell "bash": is not a command access option/],
    ["targets missing", { ...base, access: cmd({ targets: undefined }) }, /access\.command\.targets undefined: must be \{ central, nodes/],
    ["node without a target", { ...base, access: cmd({ targets: { central: "c", nodes: { "worker-1": "w1" } } }) }, /access\.command\.targets\.nodes "worker-2": has no target for this node/],
    ["target starting with a dash", { ...base, access: cmd({ targets: { central: "-oProxyCommand=x", nodes: { "worker-1": "w1", "worker-2": "w2" } } }) }, /access\.command\.targets\.central "-oProxyCommand=x": must be a target/],
    ["target with shell metacharacters", { ...base, access: cmd({ targets: { central: "c", nodes: { "worker-1": "w1;reboot", "worker-2": "w2" } } }) }, /access\.command\.targets\.nodes\.worker-1 "w1;reboot": must be a target/],
    ["bad scriptVia", { ...base, access: cmd({ scriptVia: "file" }) }, /access\.command\.scriptVia "file": must be one of argv, stdin/],
    ["Kube-OVN v1.13 hint", { ...base, access: cmd({ kubeOvnVersion: "v1.13.2" }) }, /access\.command\.kubeOvnVersion "v1\.13\.2": Kube-OVN v1\.13\.2 has built-in IPsec/],
    ["Kube-OVN too old", { ...base, access: cmd({ kubeOvnVersion: "v1.11.3" }) }, /access\.command\.kubeOvnVersion "v1\.11\.3": Kube-OVN v1\.11\.3 predates IPsec support/],
    ["unreadable version", { ...base, access: cmd({ kubeOvnVersion: "latest" }) }, /access\.command\.kubeOvnVersion "latest": must be a version like/],
    ["command access without a version", { ...base, access: cmd({ kubeOvnVersion: undefined }) }, /access\.command\.kubeOvnVersion undefined: is required with command access/],
    ["kubectl access stating v1.13", { ...base, access: { kubectl: { kubeOvnVersion: "v1.13.0" } } }, /access\.kubectl\.kubeOvnVersion "v1\.13\.0": Kube-OVN v1\.13\.0 has built-in IPsec/],
    ["kubectl not installed", { ...base, access: { kubectl: { binary: "/nonexistent/bin/kubectl" } } }, /access\.kubectl\.binary "\/nonexistent\/bin\/kubectl": is not an installed program/],
    ["kubectl not on PATH", { ...base, access: { kubectl: { binary: "kubectl-that-does-not-exist" } } }, /access\.kubectl\.binary "kubectl-that-does-not-exist": is not an installed program/],
    ["command prefix program missing", { ...base, access: cmd({ prefix: ["no-such-transport-program", "{target}"] }) }, /access\.command\.prefix\[0\] "no-such-transport-program": is not an installed program/],
    ["failClosed not boolean", { ...base, failClosed: "yes" }, /failClosed "yes": must be true or false/],
    ["natTraversal not boolean", { ...base, natTraversal: "true" }, /natTraversal "true": must be true or false/],
    ["exec timeout below 5 s", { ...base, execTimeoutSeconds: 4 }, /execTimeoutSeconds 4: must be an integer from 5 to 600/],
    ["ECDSA node keys", { ...base, certificate: { algorithm: "ECDSA-P256" } }, /certificate\.algorithm "ECDSA-P256": node keys must be RSA/],
    ["unknown key algorithm", { ...base, certificate: { algorithm: "DSA" } }, /certificate\.algorithm "DSA": must be one of RSA2048/],
    ["organization with a comma", { ...base, certificate: { organization: "Acme, Inc" } }, /certificate\.organization "Acme, Inc": must be 1-64/],
    ["organization with a trailing space", { ...base, certificate: { organization: "acme " } }, /certificate\.organization "acme "/],
    ["validity not an integer", { ...base, certificate: { validityHours: 1.5 } }, /certificate\.validityHours 1\.5: must be an integer/],
    ["early renewal >= validity", { ...base, certificate: { validityHours: 100, earlyRenewalHours: 100 } }, /certificate\.earlyRenewalHours 100: must be less than certificate\.validityHours \(100\)/],
    ["CA shorter than certificates", { ...base, ca: { validityHours: 8760 } }, /ca\.validityHours 8760: must exceed certificate\.validityHours/],
    ["CA common name with a slash", { ...base, ca: { commonName: "a/b" } }, /ca\.commonName "a\/b"/],
    ["bad waitFor", { ...base, waitFor: "up" }, /waitFor "up": must be one of none, configured, established/],
    ["timeout 0", { ...base, timeoutSeconds: 0 }, /timeoutSeconds 0: must be an integer from 1 to 3600/],
    ["parallelism 0", { ...base, parallelism: 0 }, /parallelism 0: must be an integer from 1 to 200/],
    ["exec timeout too long", { ...base, execTimeoutSeconds: 601 }, /execTimeoutSeconds 601/],
    ["negative retries", { ...base, retries: -1 }, /retries -1/],
    ["publishSecrets not boolean", { ...base, publishSecrets: 1 }, /publishSecrets 1: must be true or false/],
];

describe("validateArgs", () => {
    it.each(cases)("rejects %s", (_name, args, expected) => {
        let error: unknown;
        try {
            validateArgs(args as KubeOvnIpsecArgs);
        } catch (e) {
            error = e;
        }
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as Error).message).toMatch(/^kube-ovn-ipsec: invalid arguments, nothing was changed:/);
        expect((error as Error).message).toMatch(expected);
    });

    it("reports every problem at once", () => {
        const e = (() => {
            try {
                validateArgs({ nodes: [node("A", "")], waitFor: "x" as never, parallelism: 0 });
            } catch (err) {
                return err as ValidationError;
            }
            throw new Error("no error");
        })();
        expect(e.problems).toHaveLength(4);
    });

    it("applies production defaults", () => {
        const s = validateArgs(base);
        expect(s).toMatchObject({
            enabled: true,
            access: { kind: "kubectl", kubectl: "kubectl", kubeconfig: null, context: null, namespace: "kube-system" },
            certificate: { algorithm: "RSA2048", organization: "kube-ovn", validityHours: 8760, earlyRenewalHours: 720 },
            ca: { algorithm: "ECDSA-P256", commonName: "kube-ovn-ipsec CA", organization: "kube-ovn", validityHours: 87600 },
            waitFor: "configured",
            timeoutSeconds: 120,
            parallelism: 10,
            exec: { timeoutSeconds: 60, retries: 2 },
            publishSecrets: true,
            failClosed: false,
            natTraversal: false,
            secretNamespace: "kube-system",
        });
    });

    it("accepts an existing kubeconfig, a context like an EKS ARN, and command access", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "koi-"));
        const kubeconfig = path.join(dir, "config");
        fs.writeFileSync(kubeconfig, "apiVersion: v1\n");
        expect(validateArgs({ ...base, access: { kubectl: { kubeconfig, context: "arn:aws:eks:eu-west-1:1234:cluster/prod" } } }).access).toMatchObject({ kubeconfig, context: "arn:aws:eks:eu-west-1:1234:cluster/prod" });
        expect(validateArgs({ ...base, access: cmd({ kubeOvnVersion: "v1.12.22" }) }).access).toMatchObject({ kind: "command", scriptVia: "argv", kubeOvnVersion: "v1.12.22" });
    });

    it.each(["v1.10.11", "v1.11.4", "v1.12.0", "1.12.30"])("accepts Kube-OVN %s", (v) => {
        expect(() => validateArgs({ ...base, access: cmd({ kubeOvnVersion: v }) })).not.toThrow();
    });
});

describe("validation boundaries and messages (mutation survivors of the 2026-12-03 run)", () => {
    const problemsOf = (args: unknown): string[] => {
        try {
            validateArgs(args as KubeOvnIpsecArgs);
            return [];
        } catch (e) {
            expect(e).toBeInstanceOf(ValidationError);
            expect((e as Error).name).toBe("ValidationError");
            // One problem per line, each as "  - <problem>".
            return (e as Error).message.split("\n").slice(1).map((l) => {
                expect(l.startsWith("  - ")).toBe(true);
                return l.slice(4);
            });
        }
    };

    it("integer ranges include both ends, and every message names its argument", () => {
        for (const [key, min, max] of [["parallelism", 1, 200], ["timeoutSeconds", 1, 3600], ["retries", 0, 10], ["execTimeoutSeconds", 5, 600]] as const) {
            expect(problemsOf({ ...base, [key]: min })).toEqual([]);
            expect(problemsOf({ ...base, [key]: max })).toEqual([]);
            expect(problemsOf({ ...base, [key]: min - 1 })[0]).toMatch(new RegExp(`^${key} ${min - 1}: `));
            expect(problemsOf({ ...base, [key]: max + 1 })[0]).toMatch(new RegExp(`^${key} ${max + 1}: `));
        }
        expect(problemsOf({ ...base, certificate: { earlyRenewalHours: -1 } })[0]).toMatch(/^certificate\.earlyRenewalHours -1: /);
        expect(problemsOf({ ...base, ca: { validityHours: 0 } })[0]).toMatch(/^ca\.validityHours 0: /);
        expect(problemsOf({ ...base, ca: { algorithm: "DSA" } })[0]).toMatch(/^ca\.algorithm "DSA": /);
        expect(problemsOf({ ...base, ca: { organization: "a/b" } })[0]).toMatch(/^ca\.organization "a\/b": /);
        expect(problemsOf({ ...base, ca: { generation: 0 } })[0]).toMatch(/^ca\.generation 0: /);
    });

    it("a node name of 253 characters passes, 254 does not; every dot-separated part must be valid", () => {
        const long = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`;
        expect(long).toHaveLength(253);
        expect(problemsOf({ ...base, nodes: [node(long, "a1")] })).toEqual([]);
        expect(problemsOf({ ...base, nodes: [node(`${long}x`, "a1")] })).toHaveLength(1);
        expect(problemsOf({ ...base, nodes: [node("good.-bad", "a1")] })[0]).toMatch(/^nodes\[0\]\.name "good\.-bad": must be a Kubernetes node name/);
    });

    it("shows a refused value in at most 80 characters, non-printable ones escaped", () => {
        const shown = (v: string) => problemsOf({ ...base, nodes: [node(v, "a1")] })[0].split(": must")[0].slice("nodes[0].name ".length);
        expect(shown("A".repeat(78))).toBe(JSON.stringify("A".repeat(78)));
        expect(shown("A".repeat(79))).toBe(`${JSON.stringify("A".repeat(79)).slice(0, 77)}...`);
        expect(shown("A\u00e9B")).toBe(String.raw`"A\u00e9B"`);
    });

    it("accepts every argument of KubeOvnIpsecArgs at once", () => {
        const all: Required<KubeOvnIpsecArgs> = {
            ...base,
            enabled: false,
            access: { kubectl: { namespace: "kube-system" } },
            certificate: { validityHours: 100, earlyRenewalHours: 10 },
            ca: { generation: 2 },
            waitFor: "none",
            timeoutSeconds: 30,
            parallelism: 3,
            execTimeoutSeconds: 30,
            retries: 1,
            publishSecrets: false,
            failClosed: true,
            natTraversal: true,
        };
        expect(problemsOf(all)).toEqual([]);
        expect(validateArgs(all)).toMatchObject({ enabled: false, waitFor: "none", timeoutSeconds: 30, parallelism: 3, exec: { timeoutSeconds: 30, retries: 1 }, publishSecrets: false, failClosed: true, natTraversal: true, ca: { generation: 2 }, certificate: { validityHours: 100 } });
    });

    it("file paths: 1 to 4096 characters without NUL, CR or LF; a file that exists and can be read", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "koi-paths-"));
        try {
            const file = path.join(dir, "kubeconfig");
            fs.writeFileSync(file, "apiVersion: v1\n");
            const kubeconfig = (p: string) => problemsOf({ ...base, access: { kubectl: { kubeconfig: p } } });
            expect(kubeconfig(file)).toEqual([]);
            expect(validateArgs({ ...base, access: { kubectl: { kubeconfig: file } } }).access).toMatchObject({ kubeconfig: file });
            // The length bound, at both ends (the path need not exist for the length rule: binary).
            const binary = (p: string) => problemsOf({ ...base, access: { kubectl: { binary: p } } });
            const long = `/${"a".repeat(4095)}`;
            expect(binary(long)).toEqual([expect.stringMatching(/^access\.kubectl\.binary "\/a+\.\.\.: is not an installed program/)]);
            expect(binary(`${long}a`)).toEqual([expect.stringMatching(/^access\.kubectl\.binary "\/a+\.\.\.: must be a non-empty path without control characters$/)]);
            expect(binary("")).toEqual(['access.kubectl.binary "": must be a non-empty path without control characters']);
            for (const c of ["\0", "\r", "\n"]) expect(kubeconfig(`${file}${c}x`)).toEqual([expect.stringMatching(/^access\.kubectl\.kubeconfig .*: must be a non-empty path without control characters$/)]);
            expect(problemsOf({ ...base, access: { kubectl: { kubeconfig: 42 } } })).toEqual(["access.kubectl.kubeconfig 42: must be a non-empty path without control characters"]);
            // A file-system error other than ENOENT is named by its code (a symlink loop: ELOOP).
            const loop = path.join(dir, "loop");
            fs.symlinkSync(loop, loop);
            expect(kubeconfig(loop)).toEqual([`access.kubectl.kubeconfig ${JSON.stringify(loop)}: cannot be read (ELOOP)`]);
            expect(kubeconfig(path.join(dir, "missing"))).toEqual([`access.kubectl.kubeconfig ${JSON.stringify(path.join(dir, "missing"))}: does not exist`]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("resolves every default, and accepts every kubectl option at once", () => {
        const resolved = validateArgs(base);
        expect(resolved.access).toEqual({ kind: "kubectl", kubectl: "kubectl", kubeconfig: null, context: null, namespace: "kube-system", ovsPodSelector: "app=ovs", ovsContainer: "openvswitch", centralPodSelector: "ovn-nb-leader=true", centralContainer: "ovn-central", kubeOvnVersion: null });
        expect(resolved.ca).toMatchObject({ algorithm: "ECDSA-P256", commonName: "kube-ovn-ipsec CA", organization: "kube-ovn", validityHours: 87600, generation: 1 });
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "koi-kc-"));
        try {
            const kubeconfig = path.join(dir, "config");
            fs.writeFileSync(kubeconfig, "apiVersion: v1\n");
            const kubectl = { kubeconfig, context: "ctx@cluster", namespace: "ovn", binary: "kubectl", ovsPodSelector: "app=ovs2", ovsContainer: "ovs", centralPodSelector: "leader=yes", centralContainer: "central", kubeOvnVersion: "v1.12.35" };
            expect(problemsOf({ ...base, access: { kubectl } })).toEqual([]);
            const { binary, ...rest } = kubectl;
            expect(validateArgs({ ...base, access: { kubectl } }).access).toEqual({ kind: "kubectl", kubectl: binary, ...rest });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("names each rule it refuses: containers, selectors, the CA subject, objects that are not objects", () => {
        const kubectl = (o: Record<string, unknown>) => problemsOf({ ...base, access: { kubectl: o } });
        expect(kubectl({ ovsContainer: "Bad_Name" })).toEqual(['access.kubectl.ovsContainer "Bad_Name": must be a container name (DNS-1123 label)']);
        expect(kubectl({ centralContainer: "-x" })).toEqual(['access.kubectl.centralContainer "-x": must be a container name (DNS-1123 label)']);
        expect(kubectl({ centralPodSelector: "a b" })).toEqual(['access.kubectl.centralPodSelector "a b": must be one label requirement like ovn-nb-leader=true']);
        expect(problemsOf({ ...base, ca: { commonName: "a/b" } })).toEqual(['ca.commonName "a/b": must be 1-64 of A-Z a-z 0-9 space . _ -']);
        expect(problemsOf({ ...base, ca: { organization: "" } })).toEqual(['ca.organization "": must be 1-64 of A-Z a-z 0-9 space . _ -']);
        expect(problemsOf({ ...base, access: "kubectl" })).toEqual(['access "kubectl": must be an object: { kubectl: {...} } or { command: {...} }']);
        expect(problemsOf({ ...base, access: { kubectl: 1 } })).toEqual(["access.kubectl 1: must be an object"]);
        expect(problemsOf({ ...base, certificate: [] })).toEqual(["certificate []: must be an object"]);
        expect(problemsOf({ ...base, ca: "x" })).toEqual(['ca "x": must be an object']);
        // Two problems: two lines, each its own.
        expect(problemsOf({ ...base, ca: "x", certificate: [] })).toEqual(["certificate []: must be an object", 'ca "x": must be an object']);
    });

    it("command access: every prefix element, the first one's program, the targets' shape and keys", () => {
        const command = (o: Record<string, unknown>) => problemsOf({ ...base, access: { command: { ...cmd().command, ...o } } });
        expect(problemsOf({ ...base, access: { command: "nsenter" } })).toEqual(expect.arrayContaining(['access.command "nsenter": must be an object: { prefix, targets, kubeOvnVersion }']));
        expect(command({ prefix: ["nsenter", "", "{target}"] })).toEqual(['access.command.prefix[1] "": must be a non-empty string without NUL']);
        expect(command({ prefix: ["nsenter", "x".repeat(4096), "{target}"] })).toEqual([]);
        expect(command({ prefix: ["nsenter", "x".repeat(4097), "{target}"] })).toEqual([expect.stringMatching(/^access\.command\.prefix\[1\] "x+\.\.\.: must be a non-empty string without NUL$/)]);
        expect(command({ prefix: ["/nonexistent/prog", "{target}"] })).toEqual(['access.command.prefix[0] "/nonexistent/prog": is not an installed program (not on PATH, or not executable)']);
        // No valid element at all: reported, not a crash on the missing first element.
        expect(command({ prefix: [42] })).toEqual(["access.command.prefix[0] 42: must be a non-empty string without NUL", "access.command.prefix [42]: must contain the placeholder {target}"]);
        expect(command({ targets: { central: "c", nodes: "w1" } })).toEqual(expect.arrayContaining(['access.command.targets.nodes "w1": must map node names to targets']));
        expect(command({ targets: { central: "c", nodes: { "worker-1": "w1", "worker-2": "w2", Bad_Key: "x" } } })).toEqual(['access.command.targets.nodes "Bad_Key": key must be a Kubernetes node name']);
    });

    it("resolveAccess (node discovery) refuses a bad access the same way", () => {
        expect(() => resolveAccess({ kubectl: { namespace: "Bad" } } as never)).toThrow(ValidationError);
        expect(() => resolveAccess({ kubectl: { namespace: "Bad" } } as never)).toThrow(/access\.kubectl\.namespace "Bad": must be a Kubernetes namespace/);
        expect(resolveAccess(undefined)).toMatchObject({ kind: "kubectl", namespace: "kube-system" });
    });

    it("at most 5000 nodes", () => {
        const many = (n: number) => Array.from({ length: n }, (_, i) => node(`n${i}`, `sid-${i}`));
        expect(problemsOf({ ...base, nodes: many(5000) })).toEqual([]);
        expect(problemsOf({ ...base, nodes: many(5001) })).toEqual(['nodes "5001 entries": at most 5000 nodes']);
    });
});

describe("the component with invalid arguments", () => {
    it("throws before registering any resource", async () => {
        const { registrations, error } = await captureGraph((opts) => new KubeOvnIpsec("bad", { nodes: [node("w", "a1"), node("w", "a2")] }, opts));
        expect(error).toBeInstanceOf(ValidationError);
        expect(registrations).toEqual([]);
    });
});
