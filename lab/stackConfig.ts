/**
 * The stack config that points the stack program at the lab, as the harness passes it
 * (`kube-ovn-ipsec:<key>` -> value; structured values are passed as JSON, as the CLI does).
 */
import type { NodeSpec } from "../components";
import type { StackConfig } from "../stacks/program";
import { LabNode, LabStatus, labAccess } from "./labStatus";

/** Command access, the lab's nodes, `waitFor: configured`; with overrides. */
export function configFor(lab: LabStatus, over: Omit<Partial<StackConfig>, "nodes"> & { nodes?: Array<LabNode | NodeSpec> } = {}): Record<string, unknown> {
    const nodes = (over.nodes ?? lab.nodes).map((n) => ({ name: n.name, systemId: n.systemId }));
    const cfg: StackConfig = {
        access: { command: labAccess(lab) },
        waitFor: "configured",
        timeoutSeconds: 60,
        execTimeoutSeconds: 30,
        ...over,
        nodes,
    };
    return Object.fromEntries(Object.entries(cfg).filter(([, v]) => v !== undefined).map(([k, v]) => [`kube-ovn-ipsec:${k}`, v]));
}
