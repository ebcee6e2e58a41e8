/**
 * A faithful, sequential replay of Kube-OVN's manual procedure, `dist/images/ipsec.sh init`
 * (v1.12; FACTS.md section 1), against the lab: the same commands, in the same order, with
 * the same restarts, one exec round trip per `kubectl exec` / `kubectl cp`, stopping at the
 * first failure as the script does under `set -euo pipefail`.
 *
 * Substitutions (the lab has no Kubernetes API and no kubectl):
 *  - `kubectl exec POD -- CMD` -> the lab's exec prefix (behind the counting wrapper) +
 *    `sh -c CMD`: one round trip each, as kubectl exec.
 *  - `kubectl cp POD:FILE ./local` -> an exec of `cat FILE` (content kept in this process's
 *    memory); `kubectl cp ./local POD:DIR/` -> an exec of `cat > DIR/NAME` with the content
 *    on stdin. kubectl cp is one exec of `tar` in the pod each way: same round trips.
 *  - `/kube-ovn` (the ovs-ovn image's WORKDIR, hence the cwd of `kubectl exec`, where
 *    `ovs-pki req` writes and the CA pod receives requests) -> `/root`, the lab's exec cwd,
 *    which is private to each pod (the lab's `/kube-ovn` would be the host's).
 *  - `kubectl get pod -l ...` (API reads, not execs) -> `lab.sh status --json`, counted as
 *    API calls; the local `rm -f` of the copies -> dropping them from memory.
 *  - The pods are taken in the lab's order; the first one is the CA, as `caPod` in the script.
 *
 * After the script's last restart, every node's `tunnels/show` (what `ipsec.sh status`
 * runs) is polled until every tunnel is CONFIGURED: those polls go to a separate log.
 */
import { LabStatus, labStatus, podSh } from "../test/support/lab";
import { tunnelHeaders, waitFor } from "../test/support/node";

export interface ReplayStep {
    /** The node the step works for (the CA pod's own steps and `init` are the CA node's). */
    forNode: string;
    /** Where the exec ran. */
    target: string;
    /** The ipsec.sh command it mirrors. */
    mirrors: string;
    ms: number;
}

export interface ReplayResult {
    /** Start of the script until every tunnel is CONFIGURED. */
    wallMs: number;
    /** Start of the script until it returns (its last `service ipsec restart`). */
    scriptMs: number;
    /** After the script, until every node shows every tunnel CONFIGURED. */
    convergeMs: number;
    /** `tunnels/show` execs made while waiting (not counted as the script's round trips). */
    polls: number;
    /** `kubectl get pod` calls of the script (API reads, not execs). */
    apiCalls: number;
    steps: ReplayStep[];
    /** Per node: how long `service openvswitch-ipsec restart` and `service ipsec restart` took. */
    restarts: Array<{ node: string; monitorRestartMs: number; ikeRestartMs: number }>;
}

/** What ipsec.sh works from: the central pod and the OVS pods, in list order. */
interface Pods {
    central: string;
    ovs: Array<{ node: string; target: string }>;
}

export class ReplayError extends Error {}

/** Runs the procedure. `script` and `poll` are the lab status with the wrapped prefixes. */
export async function manualReplay(lab: LabStatus, scriptPrefix: string[], pollPrefix: string[]): Promise<ReplayResult> {
    const viaScript: LabStatus = { ...lab, prefix: scriptPrefix };
    const viaPoll: LabStatus = { ...lab, prefix: pollPrefix };
    const steps: ReplayStep[] = [];
    const restarts: ReplayResult["restarts"] = [];
    let apiCalls = 0;

    /** One `kubectl exec` (or one side of a `kubectl cp`); fails like `set -e` would. */
    const exec = (forNode: string, target: string, mirrors: string, cmd: string, stdin?: string): string => {
        const r = podSh(viaScript, target, cmd, stdin);
        steps.push({ forNode, target, mirrors, ms: r.ms });
        if (r.status !== 0) throw new ReplayError(`manual procedure failed at "${mirrors}" on ${target} (exit ${r.status}): ${r.stderr.trim().slice(0, 400)}`);
        return r.stdout;
    };
    /** `kubectl get pod ...`: an API read. */
    const apiGetPods = (): Pods => {
        apiCalls++;
        const s = labStatus();
        return { central: s.central.target, ovs: s.nodes.map((n) => ({ node: n.name, target: n.target })) };
    };

    const t0 = performance.now();

    // getOvnCentralPod: NB_POD=$(kubectl get pod -n kube-system -l ovn-nb-leader=true | ...)
    const { central } = apiGetPods();
    // podNames=`kubectl get pod -n kube-system -l app=ovs -o 'jsonpath={.items[*].metadata.name}'`
    const { ovs } = apiGetPods();
    // for pod in $podNames; do caPod=$pod; break; done
    const ca = ovs[0];

    // kubectl exec -it $caPod -n kube-system -- ovs-pki init --force > /dev/null
    exec(ca.node, ca.target, "ovs-pki init --force", "ovs-pki init --force > /dev/null");

    const systemIds: Record<string, string> = {};
    for (const pod of ovs) {
        // systemId=$(kubectl exec -it ${pod} -- ovs-vsctl get Open_vSwitch . external_ids:system-id | tr -d '"' | tr -d '\r')
        const id = exec(pod.node, pod.target, "ovs-vsctl get Open_vSwitch . external_ids:system-id", "ovs-vsctl get Open_vSwitch . external_ids:system-id").replace(/["\r\n]/g, "");
        if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id)) throw new ReplayError(`unexpected system-id on ${pod.target}: ${JSON.stringify(id)}`);
        systemIds[pod.node] = id;

        // kubectl exec -it $pod -- ovs-pki req -u $systemId --force > /dev/null   (writes in the cwd)
        exec(pod.node, pod.target, "ovs-pki req -u $systemId --force", `ovs-pki req -u ${id} --force > /dev/null`);
        // kubectl exec -it $pod -- mv "${systemId}-privkey.pem" /etc/ipsec.d/private/
        exec(pod.node, pod.target, "mv ${systemId}-privkey.pem /etc/ipsec.d/private/", `mv "${id}-privkey.pem" /etc/ipsec.d/private/`);
        // kubectl exec -it $pod -- mv "${systemId}-req.pem" /etc/ipsec.d/reqs/
        exec(pod.node, pod.target, "mv ${systemId}-req.pem /etc/ipsec.d/reqs/", `mv "${id}-req.pem" /etc/ipsec.d/reqs/`);

        if (pod.target === ca.target) {
            // kubectl exec -it $pod -- rm -f "/etc/ipsec.d/reqs/${systemId}-cert.pem" > /dev/null
            exec(pod.node, pod.target, "rm -f /etc/ipsec.d/reqs/${systemId}-cert.pem", `rm -f "/etc/ipsec.d/reqs/${id}-cert.pem" > /dev/null`);
            // kubectl exec -it $pod -- ovs-pki sign -b "/etc/ipsec.d/reqs/${systemId}" switch > /dev/null
            exec(pod.node, pod.target, "ovs-pki sign -b /etc/ipsec.d/reqs/${systemId} switch", `ovs-pki sign -b "/etc/ipsec.d/reqs/${id}" switch > /dev/null`);
            // kubectl exec -it $pod -- mv "/etc/ipsec.d/reqs/${systemId}-cert.pem" /etc/ipsec.d/certs/
            exec(pod.node, pod.target, "mv /etc/ipsec.d/reqs/${systemId}-cert.pem /etc/ipsec.d/certs/", `mv "/etc/ipsec.d/reqs/${id}-cert.pem" /etc/ipsec.d/certs/`);
            // kubectl exec -it $pod -- cp /var/lib/openvswitch/pki/switchca/cacert.pem /etc/ipsec.d/cacerts/ > /dev/null
            exec(pod.node, pod.target, "cp .../switchca/cacert.pem /etc/ipsec.d/cacerts/", "cp /var/lib/openvswitch/pki/switchca/cacert.pem /etc/ipsec.d/cacerts/ > /dev/null");
        } else {
            // kubectl cp "${pod}:/etc/ipsec.d/reqs/${systemId}-req.pem" "${systemId}-req.pem"
            const req = exec(pod.node, pod.target, "kubectl cp $pod:/etc/ipsec.d/reqs/${systemId}-req.pem .", `cat "/etc/ipsec.d/reqs/${id}-req.pem"`);
            // kubectl cp "${systemId}-req.pem" "${caPod}:/kube-ovn/"
            exec(pod.node, ca.target, "kubectl cp ${systemId}-req.pem $caPod:/kube-ovn/", `cat > "/root/${id}-req.pem"`, req);
            // kubectl exec -it $caPod -- rm -f "/kube-ovn/${systemId}-cert.pem"
            exec(pod.node, ca.target, "rm -f /kube-ovn/${systemId}-cert.pem (CA pod)", `rm -f "/root/${id}-cert.pem"`);
            // kubectl exec -it $caPod -- ovs-pki sign -b ${systemId} switch > /dev/null   (cwd /kube-ovn)
            exec(pod.node, ca.target, "ovs-pki sign -b ${systemId} switch (CA pod)", `ovs-pki sign -b ${id} switch > /dev/null`);
            // kubectl cp "${caPod}:/kube-ovn/${systemId}-cert.pem" "${systemId}-cert.pem"
            const cert = exec(pod.node, ca.target, "kubectl cp $caPod:/kube-ovn/${systemId}-cert.pem .", `cat "/root/${id}-cert.pem"`);
            // kubectl cp "${systemId}-cert.pem" "${pod}:/etc/ipsec.d/certs/"
            exec(pod.node, pod.target, "kubectl cp ${systemId}-cert.pem $pod:/etc/ipsec.d/certs/", `cat > "/etc/ipsec.d/certs/${id}-cert.pem"`, cert);
            // kubectl cp "${caPod}:/var/lib/openvswitch/pki/switchca/cacert.pem" cacert.pem
            const cacert = exec(pod.node, ca.target, "kubectl cp $caPod:.../switchca/cacert.pem .", "cat /var/lib/openvswitch/pki/switchca/cacert.pem");
            // kubectl cp cacert.pem "${pod}:/etc/ipsec.d/cacerts/"
            exec(pod.node, pod.target, "kubectl cp cacert.pem $pod:/etc/ipsec.d/cacerts/", "cat > /etc/ipsec.d/cacerts/cacert.pem", cacert);
            // kubectl exec -it $caPod -- rm -f "/kube-ovn/${systemId}-req.pem"
            exec(pod.node, ca.target, "rm -f /kube-ovn/${systemId}-req.pem (CA pod)", `rm -f "/root/${id}-req.pem"`);
            // kubectl exec -it $caPod -- rm -f "/kube-ovn/${systemId}-cert.pem"
            exec(pod.node, ca.target, "rm -f /kube-ovn/${systemId}-cert.pem (CA pod)", `rm -f "/root/${id}-cert.pem"`);
            // rm -f ${systemId}-req.pem; rm -f ${systemId}-cert.pem; rm -f cacert.pem   (local: dropped)
        }

        // kubectl exec -it $pod -- ovs-vsctl set Open_vSwitch . other_config:certificate=... private_key=... ca_cert=...
        exec(
            pod.node,
            pod.target,
            "ovs-vsctl set Open_vSwitch . other_config:certificate=... other_config:private_key=... other_config:ca_cert=...",
            `ovs-vsctl set Open_vSwitch . other_config:certificate=/etc/ipsec.d/certs/"${id}-cert.pem" other_config:private_key=/etc/ipsec.d/private/"${id}-privkey.pem" other_config:ca_cert=/etc/ipsec.d/cacerts/cacert.pem`,
        );
    }

    // kubectl ko nbctl set nb_global . ipsec=true
    //   (the ko plugin looks up the NB leader through the API, then execs ovn-nbctl in it)
    apiCalls++;
    labStatus();
    exec("(cluster)", central, "kubectl ko nbctl set nb_global . ipsec=true", "ovn-nbctl set nb_global . ipsec=true");

    for (const pod of ovs) {
        // kubectl exec -it -n kube-system $pod -- service openvswitch-ipsec restart > /dev/null
        exec(pod.node, pod.target, "service openvswitch-ipsec restart", "service openvswitch-ipsec restart > /dev/null");
        const monitorRestartMs = steps[steps.length - 1].ms;
        // kubectl exec -it -n kube-system $pod -- service ipsec restart > /dev/null
        exec(pod.node, pod.target, "service ipsec restart", "service ipsec restart > /dev/null");
        restarts.push({ node: pod.node, monitorRestartMs, ikeRestartMs: steps[steps.length - 1].ms });
    }
    const scriptMs = performance.now() - t0;

    // "it may take a few seconds to setup ipsec completely": poll `tunnels/show` on every node
    // (as `ipsec.sh status` does) until every tunnel to every peer is CONFIGURED.
    let polls = 0;
    const pending = new Set(ovs.map((p) => p.node));
    const configured = (pod: { node: string; target: string }): boolean => {
        polls++;
        const r = podSh(viaPoll, pod.target, "ovs-appctl -t ovs-monitor-ipsec tunnels/show");
        if (r.status !== 0) return false;
        const peers = ovs.filter((p) => p.node !== pod.node).map((p) => systemIds[p.node]).sort();
        const tunnels = tunnelHeaders(r.stdout);
        return tunnels.length === peers.length && tunnels.every((t) => t.state === "CONFIGURED") && tunnels.map((t) => t.remoteName).sort().join(",") === peers.join(",");
    };
    await waitFor(
        "every tunnel CONFIGURED after the manual procedure",
        () => {
            for (const pod of ovs) if (pending.has(pod.node) && configured(pod)) pending.delete(pod.node);
            return pending.size === 0;
        },
        120_000,
    );
    const wallMs = performance.now() - t0;
    return { wallMs, scriptMs, convergeMs: wallMs - scriptMs, polls, apiCalls, steps, restarts };
}
