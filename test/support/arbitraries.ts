/**
 * fast-check generators shared by the property tests: strings a hostile or broken remote end
 * (or argument) could hold, and the shell's special characters in dense mixes.
 */
import fc from "fast-check";

/** Fragments that mean something to sh, awk, our framing or a line-oriented parser. */
const SPECIAL = ["'", "''", '"', "\\", "$", "$(id)", "`id`", "${x}", "!", "*", "?", "[", "]", "~", "#", ";", "&", "|", "<", ">", "(", ")", "{", "}", " ", "\t", "\n", "\r", "\r\n", "-", "--", "=", "%s", "%", "é", "☃", "\u00a0", "\u2028", "😀", "koi-", "koi-end", "koi-file certificate", "koi-sum ", "@@koi-", "None", ":"];

/** Dense mixes of shell-special fragments and ordinary text. */
export const hostileString = (maxLength = 40): fc.Arbitrary<string> =>
    fc.array(fc.oneof(fc.constantFrom(...SPECIAL), fc.string({ maxLength: 4 })), { maxLength }).map((parts) => parts.join(""));

/** Any string of code points (no lone surrogates: those are not text on any wire). */
export const anyText = (maxLength = 200): fc.Arbitrary<string> => fc.string({ unit: "binary", maxLength });

/** Hostile or arbitrary, without NUL (which argv and shell words cannot carry at all). */
export const shellWord = (): fc.Arbitrary<string> => fc.oneof(hostileString(), anyText(60)).filter((s) => !s.includes("\0"));
