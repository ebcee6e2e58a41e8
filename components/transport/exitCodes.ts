/**
 * Exit codes our remote scripts use on purpose; anything else is the transport's or unexpected.
 * Kept apart from exec.ts so that the script builders and the runner share them without a cycle.
 */

/** The script decided: retrying cannot help (a wrong system-id, a tool missing from the pod). */
export const EXIT_PERMANENT = 3;
/** The script decided: worth retrying (OVSDB not answering, a service slow to start). */
export const EXIT_TRANSIENT = 75; // EX_TEMPFAIL
/**
 * A command inside the script failed and the script passes on its own error text; the runner
 * classifies the cause from it (failureCause.ts), so that the verdict is made in one place.
 */
export const EXIT_COMMAND_FAILED = 76;
