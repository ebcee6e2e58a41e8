// The harness must fail this program with the compiler's message (TS2322), as the CLI would.
const port: number = "not a number";
export const out = port;
