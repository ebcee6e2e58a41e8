/**
 * The API stand-in as a background process of the lab (`npm run lab -- kubeconfig` starts it,
 * `npm run lab -- down` stops it):
 *
 *   node -r @swc-node/register lab/kubeApi/main.ts <lab state dir>   3>ready-fifo
 *
 * It writes `<state>/kube-api/kubeconfig` (0600: it holds the token) and appends every request
 * to `<state>/kube-api/requests.log` (JSON lines), then says "ready <url>" on fd 3. It stops on
 * SIGTERM, and by itself when the lab's state dir is gone (a `down` by a lab.sh that predates
 * it, or a deleted state dir), so it never outlives the lab.
 */
import * as fs from "fs";
import * as path from "path";
import { startKubeApi } from "./server";

async function main(stateDir: string | undefined): Promise<void> {
    if (!stateDir || !fs.existsSync(path.join(stateDir, ".kube-ovn-ipsec-lab"))) throw new Error(`usage: main.ts <lab state dir> (got ${stateDir ?? "nothing"}, which is not a lab state dir)`);
    const dir = path.join(stateDir, "kube-api");
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const api = await startKubeApi({ requestLogFile: path.join(dir, "requests.log") });
    const kubeconfig = api.writeKubeconfig(path.join(dir, "kubeconfig"));
    let stopping = false;
    const stop = () => {
        if (stopping) return;
        stopping = true;
        api.close().finally(() => process.exit(0));
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    setInterval(() => {
        if (!fs.existsSync(path.join(stateDir, ".kube-ovn-ipsec-lab"))) stop();
    }, 2000).unref();
    console.error(`[kube-api ${new Date().toISOString()}] serving the lab at ${api.url}; kubeconfig ${kubeconfig}`);
    try {
        fs.writeSync(3, `ready ${api.url}\n`);
        fs.closeSync(3);
    } catch {
        // started by hand, without a readiness pipe
    }
}

main(process.argv[2]).catch((e: unknown) => {
    console.error(`[kube-api] ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
});
