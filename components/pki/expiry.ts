/**
 * How long a certificate has left, and whether the next `pulumi up` renews it: the tls provider
 * replaces a certificate once `now >= notAfter - earlyRenewalHours` (its `readyForRenewal`),
 * and a preview in that window shows the replacement. Computed when the program runs, so an
 * output says what was true at the end of that command, however long ago the certificate was made.
 */

export interface CertificateExpiry {
    /** RFC 3339 end of validity. */
    notAfter: string;
    /** Whole days until notAfter (negative once expired). */
    daysLeft: number;
    /** The next `up` renews it: it is inside its early-renewal window (or expired). */
    renewsOnNextUp: boolean;
}

const DAY_MS = 24 * 3600 * 1000;

/** Null when notAfter is not a time (e.g. unknown under unit-test mocks). */
export function expiryOf(notAfter: string, earlyRenewalHours: number, now: Date): CertificateExpiry | null {
    const end = Date.parse(notAfter);
    if (Number.isNaN(end)) return null;
    return { notAfter, daysLeft: Math.floor((end - now.getTime()) / DAY_MS), renewsOnNextUp: now.getTime() >= end - earlyRenewalHours * 3600 * 1000 };
}
