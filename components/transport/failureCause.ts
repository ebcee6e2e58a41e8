/**
 * What a failed command's own error text says about the cause, and so whether retrying can
 * help. One place for the verdict: the scripts pass a failing command's message on (exit 76)
 * and never guess; local tools (kubectl) are judged by the same table.
 *
 * Only causes the text names are recognised; anything else is "not recognised" and the caller
 * says so, quoting the text, instead of inventing a cause.
 */

export interface FailureCause {
    /** Short name of the cause, e.g. "read-only file system". */
    cause: string;
    /** Retrying cannot fix it (it needs a person): no retries. */
    permanent: boolean;
    /** What to do about it. */
    hint: string;
}

interface Rule extends FailureCause {
    pattern: RegExp;
}

// Order matters: OVSDB's own messages contain errno texts ("No such file or directory" when the
// socket is gone) that mean "the database is not there", not "a file of ours is missing".
const RULES: readonly Rule[] = [
    {
        pattern: /no answer within \d+ s|the database is not responding|Alarm clock|timed out/i,
        cause: "timeout",
        permanent: false,
        hint: "the pod or its database is slow or hung; it is retried; if it persists, check the pod, or raise execTimeoutSeconds",
    },
    {
        pattern: /database connection failed|unix:.*db\.sock|ovsdb-server/i,
        cause: "OVSDB not answering",
        permanent: false,
        hint: "ovsdb-server in the pod is not running or not answering; it is retried; if it persists, check the ovs-ovn pod (kubectl logs, ovs-ctl status)",
    },
    {
        pattern: /Read-only file system/i,
        cause: "read-only file system",
        permanent: true,
        hint: "the file system that holds the path is read-only (a full or failing disk is often remounted read-only): fix the node's disk or mount, then run again",
    },
    {
        pattern: /No space left on device|Disk quota exceeded/i,
        cause: "no space left on device",
        permanent: true,
        hint: "free space on the file system that holds the path (df in the pod), then run again",
    },
    {
        pattern: /Permission denied|Operation not permitted/i,
        cause: "permission denied",
        permanent: true,
        hint: "the pod may not write there: check the container's security context and the file's attributes (lsattr), then run again",
    },
    {
        pattern: /command not found|: not found|not found in the pod's PATH|executable file not found|No such file or directory.*(exec|spawn)|ENOENT/i,
        cause: "program not found",
        permanent: true,
        hint: "a program is missing in the pod: use an ovs-ovn image that has it",
    },
];

/** The cause a command's message names, or null when it names none we know. */
export function classifyFailure(text: string): FailureCause | null {
    for (const rule of RULES) {
        if (rule.pattern.test(text)) return { cause: rule.cause, permanent: rule.permanent, hint: rule.hint };
    }
    return null;
}
