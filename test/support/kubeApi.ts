/**
 * The lab's API stand-in (lab/kubeApi) for tests: started in the test process (so a test can
 * bend the cluster through `api.scenario`), a kubeconfig for it, the product's resolved kubectl
 * access pointing at it, and a kubectl wrapper that records every argv kubectl was given.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { ResolvedKubectlAccess } from "../../components/transport/access";
import { KubeApi, startKubeApi } from "../../lab/kubeApi/server";

export interface KubectlUnderTest {
    api: KubeApi;
    dir: string;
    kubeconfig: string;
    access: ResolvedKubectlAccess;
    /** Every argv kubectl received (one entry per run; the script is one element of it). */
    argvLog(): string[];
    close(): Promise<void>;
}

/** Resolved kubectl access as the product builds it from `{ kind: "kubectl", kubeconfig, context }`. */
export function accessFor(kubeconfig: string, over: Partial<ResolvedKubectlAccess> = {}): ResolvedKubectlAccess {
    return {
        kind: "kubectl",
        kubectl: "kubectl",
        kubeconfig,
        context: "kube-ovn-ipsec-lab",
        namespace: "kube-system",
        ovsPodSelector: "app=ovs",
        ovsContainer: "openvswitch",
        centralPodSelector: "ovn-nb-leader=true",
        centralContainer: "ovn-central",
        kubeOvnVersion: null,
        ...over,
    };
}

export async function startKubectlUnderTest(): Promise<KubectlUnderTest> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "koi-kubectl-"));
    // kubectl's discovery cache of this run, not the user's ~/.kube/cache.
    process.env.KUBECACHEDIR = path.join(dir, "cache");
    const api = await startKubeApi();
    const kubeconfig = api.writeKubeconfig(path.join(dir, "kubeconfig"));
    const log = path.join(dir, "argv.log");
    const wrapper = path.join(dir, "kubectl");
    // Each argv element on its own line, NUL-terminated runs: newlines inside the script stay visible.
    fs.writeFileSync(wrapper, `#!/bin/sh\n{ for a in "$@"; do printf '%s\\n' "$a"; done; printf '\\0'; } >> '${log}'\nexec kubectl "$@"\n`, { mode: 0o755 });
    return {
        api,
        dir,
        kubeconfig,
        access: accessFor(kubeconfig, { kubectl: wrapper }),
        argvLog: () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").split("\0").filter((s) => s.trim() !== "") : []),
        async close() {
            await api.close();
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}

/** Exec requests the stand-in served (after `since`), as "<pod> <exit code>". */
export function execsServed(api: KubeApi, since = 0): Array<{ pod: string; exitCode: number | null; stdinBytes: number; clientWentAway: boolean; url: string }> {
    return api.requests.slice(since).flatMap((r) => {
        if (!r.exec) return [];
        const pod = /\/pods\/([^/]+)\/exec/.exec(r.url)?.[1] ?? "";
        return [{ pod, exitCode: r.exec.exitCode, stdinBytes: r.exec.stdinBytes, clientWentAway: r.exec.clientWentAway, url: r.url }];
    });
}

/** Exec attempts that reached the API (upgrades, served or refused). */
export function execAttempts(api: KubeApi, since = 0): string[] {
    return api.requests.slice(since).filter((r) => /\/exec\?/.test(r.url)).map((r) => `${r.method} ${/\/pods\/([^/]+)\/exec/.exec(r.url)?.[1]} ${r.status}`);
}

/** Polls (every 50 ms, at most 5 s) until the stand-in has recorded what a test waits for. */
export async function eventually(condition: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) throw new Error("timed out waiting for the API stand-in's request log");
        await new Promise((r) => setTimeout(r, 50));
    }
}
