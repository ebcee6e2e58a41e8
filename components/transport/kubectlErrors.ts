/**
 * What kubectl's own failures mean, read from its stderr: kubectl exits 1 both when it fails
 * (credentials, connection, a pod that is gone) and when the remote command exits 1, and only
 * its message tells them apart. Messages are kubectl's (staging/src/k8s.io/kubectl/pkg/cmd/util/
 * helpers.go: "You must be logged in to the server (...)", "Error from server (<Reason>): ...";
 * client-go: `context "x" does not exist`, "The connection to the server ... was refused";
 * remotecommand: "command terminated with exit code N" when the command's own status came back).
 * Seen through the real kubectl against the lab's API stand-in (test/kubectl).
 */
import type { ResolvedKubectlAccess } from "./access";

export interface KubectlFailure {
    /** One line: what failed, for which kubeconfig/context, and what to do. */
    detail: string;
    transient: boolean;
    hint?: string;
    /** The pod named in the exec is gone or not running: look it up again before retrying. */
    podGone: boolean;
    /** kubectl's stderr adds nothing to the detail (e.g. repeated discovery errors). */
    quiet: boolean;
}

function whose(access: ResolvedKubectlAccess): string {
    const context = access.context ? `context "${access.context}"` : "the current context";
    const kubeconfig = access.kubeconfig ? `kubeconfig ${access.kubeconfig}` : "the default kubeconfig ($KUBECONFIG or ~/.kube/config)";
    return `${context} of ${kubeconfig}`;
}

/**
 * kubectl's failure, if its stderr says it failed itself; null when the remote command's exit
 * status came back or the message is not one we know (the caller's generic handling applies).
 */
export function kubectlFailure(access: ResolvedKubectlAccess, stderr: string): KubectlFailure | null {
    if (/^command terminated with exit code \d+$/m.test(stderr)) return null;
    const said = (re: RegExp) => re.exec(stderr);
    let m: RegExpExecArray | null;
    if (said(/You must be logged in to the server|^error: Unauthorized|\(Unauthorized\)/m)) {
        return {
            detail: `Unauthorized: the API server rejected the credentials of ${whose(access)}; renew them (token or client certificate) or set access.kubectl.kubeconfig / access.kubectl.context to credentials that may read pods and exec into them in ${access.namespace}`,
            transient: false,
            podGone: false,
            quiet: true,
        };
    }
    if (said(/Please enter Username|^error: EOF$/m)) {
        // A user entry without token, certificate or exec plugin: kubectl prompts for a username
        // (on stdout) and, stdin being closed, fails with a bare "error: EOF".
        return { detail: `${whose(access)} has no credentials (kubectl asked for a username)`, transient: false, hint: "give that context's user a token, a client certificate or an exec credential plugin", podGone: false, quiet: true };
    }
    if ((m = said(/^Error from server \(Forbidden\): (.*)$/m))) {
        return { detail: `Forbidden for ${whose(access)}: ${m[1]}`, transient: false, hint: `grant it get/list on pods, nodes and deployments and create on pods/exec in ${access.namespace}`, podGone: false, quiet: true };
    }
    if ((m = said(/^error: context "([^"]*)" does not exist$/m))) {
        return { detail: `context "${m[1]}" is not in ${access.kubeconfig ? `kubeconfig ${access.kubeconfig}` : "the default kubeconfig"}`, transient: false, hint: "set access.kubectl.context to one of `kubectl config get-contexts -o name`", podGone: false, quiet: true };
    }
    if ((m = said(/The connection to the server (\S+) was refused/))) {
        return { detail: `the API server ${m[1]} of ${whose(access)} refused the connection`, transient: true, hint: "check that the API server is up and that the kubeconfig's server address is right, then run again", podGone: false, quiet: true };
    }
    if ((m = said(/Unable to connect to the server: (.*)$/m))) {
        const tls = /x509|certificate/i.test(m[1]);
        return {
            detail: `cannot reach the API server of ${whose(access)}: ${m[1].trim()}`,
            transient: !tls && !/no such host/.test(m[1]),
            hint: tls ? "the kubeconfig's certificate-authority does not match the API server's certificate" : "check the network path to the API server and its address in the kubeconfig",
            podGone: false,
            quiet: true,
        };
    }
    if ((m = said(/^Error from server \(NotFound\): pods "([^"]+)" not found$/m))) {
        return { detail: `pod ${m[1]} is gone (replaced since it was looked up?)`, transient: true, podGone: true, quiet: true };
    }
    if ((m = said(/container not found \("([^"]*)"\)|does not have a host assigned|cannot exec into a container in a completed pod/))) {
        return { detail: "the pod is not running its container any more (being replaced?)", transient: true, podGone: true, quiet: false };
    }
    if (said(/error reading from error stream|websocket: close 1006|unexpected EOF|connection reset by peer/)) {
        return { detail: "the exec connection broke before the command's exit status came back", transient: true, podGone: false, quiet: false };
    }
    return null;
}
