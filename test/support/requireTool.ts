/**
 * A test that needs a tool fails when it is missing, saying what to install: an assertion
 * behind `if (toolExists)` would pass silently on a machine without it.
 */
import { findProgram } from "../../components/util/findProgram";

export function requireTool(program: string, install: string): string {
    const found = findProgram(program);
    if (found === null) throw new Error(`${program} is not installed (not on PATH): this test needs it; install it with: ${install}`);
    return found;
}
