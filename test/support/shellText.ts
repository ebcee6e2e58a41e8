/**
 * The parts of a POSIX sh script that lie outside single quotes, for tests that check that a
 * value only ever appears quoted. A small lexer: single and double quotes, backslashes, `$( )`
 * nesting (also inside double quotes), and comments. It does not need to be a whole shell:
 * the tests compare two scripts that differ only in the values, lexed the same way.
 */
export function outsideSingleQuotes(script: string): string {
    type Ctx = { kind: "top" | "subst" | "double"; depth: number };
    const stack: Ctx[] = [{ kind: "top", depth: 0 }];
    let out = "";
    let wordStart = true;
    for (let i = 0; i < script.length; i++) {
        const c = script[i];
        const ctx = stack[stack.length - 1];
        if (ctx.kind === "double") {
            out += c;
            if (c === "\\") out += script[++i] ?? "";
            else if (c === '"') stack.pop();
            else if (c === "$" && script[i + 1] === "(") {
                out += "(";
                i++;
                stack.push({ kind: "subst", depth: 1 });
            }
            continue;
        }
        // top level or inside $( ): quotes open, comments run to the end of the line.
        if (c === "'") {
            const end = script.indexOf("'", i + 1);
            if (end < 0) throw new Error(`unterminated single quote at ${i}`);
            out += "''";
            i = end;
            wordStart = false;
            continue;
        }
        if (c === "#" && wordStart) {
            const end = script.indexOf("\n", i);
            i = end < 0 ? script.length : end - 1;
            continue;
        }
        out += c;
        if (c === "\\") {
            out += script[++i] ?? "";
        } else if (c === '"') {
            stack.push({ kind: "double", depth: 0 });
        } else if (c === "$" && script[i + 1] === "(") {
            out += "(";
            i++;
            stack.push({ kind: "subst", depth: 1 });
        } else if (ctx.kind === "subst" && c === "(") {
            ctx.depth++;
        } else if (ctx.kind === "subst" && c === ")") {
            if (--ctx.depth === 0) stack.pop();
        }
        wordStart = /[\s;&|(){}]/.test(c);
    }
    if (stack.length !== 1) throw new Error(`unbalanced script: ${stack.map((s) => s.kind).join(" > ")} still open`);
    return out;
}
