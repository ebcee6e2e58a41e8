/**
 * Whether a program can be started the way execa will start it: a path is checked as it is, a
 * bare name is looked up on PATH. Lets validation say "kubectl is not installed" before anything
 * runs, instead of a node step failing with a spawn error later.
 */
import * as fs from "fs";
import * as path from "path";

function isExecutableFile(file: string): boolean {
    try {
        fs.accessSync(file, fs.constants.X_OK);
        return fs.statSync(file).isFile();
    } catch {
        return false;
    }
}

export function findProgram(program: string, envPath: string = process.env.PATH ?? ""): string | null {
    if (program.includes("/")) return isExecutableFile(program) ? program : null;
    for (const dir of envPath.split(path.delimiter)) {
        if (dir === "") continue;
        const candidate = path.join(dir, program);
        if (isExecutableFile(candidate)) return candidate;
    }
    return null;
}
