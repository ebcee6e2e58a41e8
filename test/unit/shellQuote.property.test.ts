/**
 * Property: any string without NUL, quoted by shellQuote, reaches a real `sh` as exactly one
 * word, unchanged; a string with NUL is refused. Many strings go through one sh call per run.
 */
import { execFileSync } from "child_process";
import fc from "fast-check";
import { shellQuote } from "../../components/transport/shellQuote";
import { anyText, shellWord } from "../support/arbitraries";

/** What sh sees: each argument printed, NUL-terminated, so that word splitting would show. */
function throughSh(values: string[]): string[] {
    const out = execFileSync("sh", ["-c", `printf '%s\\0' ${values.map(shellQuote).join(" ")}`], { encoding: "utf8" });
    return out.split("\0").slice(0, -1);
}

describe("shellQuote (property)", () => {
    it("any string round-trips through a real sh as one word, unchanged", () => {
        fc.assert(
            fc.property(fc.array(shellWord(), { minLength: 1, maxLength: 40 }), (values) => {
                expect(throughSh(values)).toEqual(values);
            }),
            { numRuns: 60 },
        );
    });

    it("a quoted value never leaves single quotes: nothing of it runs", () => {
        // A value followed by a command: if quoting broke, the command would run (or sh fail).
        fc.assert(
            fc.property(shellWord(), (value) => {
                const out = execFileSync("sh", ["-c", `v=${shellQuote(value)}; printf '%s' "$v"`], { encoding: "utf8" });
                expect(out).toBe(value);
            }),
            { numRuns: 40 },
        );
    });

    it("refuses every string holding a NUL", () => {
        fc.assert(
            fc.property(anyText(20), anyText(20), (a, b) => {
                expect(() => shellQuote(`${a}\0${b}`)).toThrow(/NUL/);
            }),
        );
    });
});
