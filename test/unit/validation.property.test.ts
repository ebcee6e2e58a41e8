/**
 * Property: whatever arguments pass validation, the values they put into the node scripts
 * appear there only inside single quotes. Checked by difference: a script built from random
 * validated values and the same script built from fixed ones agree on every character outside
 * single quotes, so no value can add a word, an expansion or a command.
 */
import fc from "fast-check";
import { applyScript } from "../../components/node/applyScript";
import { nodeFilePaths } from "../../components/node/nodeFiles";
import { observeScript } from "../../components/observe/observeScript";
import { validateArgs } from "../../components/validation";
import { hostileString, anyText } from "../support/arbitraries";
import { outsideSingleQuotes } from "../support/shellText";

const CERT = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
const limits = { budgetSeconds: 50, ovsdbTimeoutSeconds: 5 };
const boundary = "@@koi-0123456789abcdef@@";

/** Candidate system-ids: mostly shaped like the real ones, many hostile. */
const systemIdCandidate = fc.oneof(
    fc.uuid(),
    fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
    hostileString(10),
    anyText(20),
    fc.stringMatching(/^[A-Za-z0-9._-]{0,8}$/).chain((a) => hostileString(3).map((b) => a + b)),
);

function scripts(systemIds: string[]): string[] {
    return systemIds.flatMap((sid, i) => {
        const paths = nodeFilePaths(sid, CERT, CERT);
        const peers = systemIds.filter((_, j) => j !== i);
        return [
            applyScript({ boundary, limits, systemId: sid, paths, guard: i % 2 === 0, restartServices: i % 2 === 1 }),
            observeScript({ boundary, limits, mode: "configured", peerSystemIds: peers, waitSeconds: 10 }),
        ];
    });
}

describe("validated values reach the node scripts only quoted (property)", () => {
    it("outside single quotes, a script is the same whatever validated values it holds", () => {
        let passed = 0;
        fc.assert(
            fc.property(fc.array(systemIdCandidate, { minLength: 1, maxLength: 3 }), (candidates) => {
                const args = { nodes: candidates.map((systemId, i) => ({ name: `node-${i}`, systemId })) };
                let systemIds: string[];
                try {
                    systemIds = validateArgs(args).nodes.map((n) => n.systemId);
                } catch {
                    return; // refused: nothing of it is ever built into a script
                }
                passed++;
                const fixed = systemIds.map((_, i) => `fixed-system-id-${i}`);
                const mine = scripts(systemIds).map(outsideSingleQuotes);
                const reference = scripts(fixed).map(outsideSingleQuotes);
                expect(mine).toEqual(reference);
            }),
            { numRuns: 300 },
        );
        // The property was checked on values that passed, not only on refusals.
        expect(passed).toBeGreaterThan(50);
    });

    it("every value validation accepts as a system-id is free of shell syntax too (defence in depth)", () => {
        fc.assert(
            fc.property(systemIdCandidate, (sid) => {
                let accepted = true;
                try {
                    validateArgs({ nodes: [{ name: "n", systemId: sid }] });
                } catch {
                    accepted = false;
                }
                if (accepted) expect(sid).toMatch(/^[A-Za-z0-9._-]+$/);
            }),
            { numRuns: 300 },
        );
    });
});
