/**
 * POSIX single-quote quoting: the only quoting that needs no knowledge of the shell's other
 * rules. Every value interpolated into a remote script goes through it, validated or not.
 */
export function shellQuote(value: string): string {
    if (value.includes("\0")) {
        // A NUL cannot be passed through argv or a shell word at all.
        throw new Error("a NUL byte cannot be quoted for the shell");
    }
    return "'" + value.replace(/'/g, "'\\''") + "'";
}
