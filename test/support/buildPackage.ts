/**
 * jest globalSetup: compiles the package (bin/, tsconfig.build.json) before any test runs. The
 * dynamic providers' stubs in the state `require("kube-ovn-ipsec/providers")`, which resolves to
 * bin/ (this repository by self-reference), so every test that reaches the dynamic-provider host
 * must run the code as it is now, not an earlier build. Incremental: ~1 s when nothing changed.
 */
import { spawnSync } from "child_process";
import * as path from "path";

export default function buildPackage(): void {
    // test/run.sh builds once for the two jest processes it runs side by side (two compilers
    // writing bin/ at once could leave a torn file).
    if (process.env.KOI_PACKAGE_BUILT === "1") return;
    const repo = path.resolve(__dirname, "..", "..");
    const tsc = path.join(repo, "node_modules", "typescript", "bin", "tsc");
    const r = spawnSync(process.execPath, [tsc, "-p", path.join(repo, "tsconfig.build.json")], { cwd: repo, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`building the package (tsc -p tsconfig.build.json) failed:\n${r.stdout}${r.stderr}`);
}
