/** The bounded-parallelism helper, the redaction net, and the tests' tool check. */
import { createLimiter, mapSettled } from "../../components/util/concurrency";
import { redact, tail } from "../../components/util/redact";
import { requireTool } from "../support/requireTool";
import { fakePrivateKeyPem, privateKeyHeader } from "../fixtures/fakeKeys";

describe("concurrency", () => {
    it.each([1, 3, 10])("never runs more than %i tasks at once, and runs them all", async (limit) => {
        let active = 0;
        let peak = 0;
        const items = Array.from({ length: 25 }, (_, i) => i);
        const results = await mapSettled(items, limit, async (i) => {
            active++;
            peak = Math.max(peak, active);
            await new Promise((r) => setTimeout(r, 2 + (i % 3)));
            active--;
            if (i === 7) throw new Error("seven");
            return i * 2;
        });
        expect(peak).toBe(Math.min(limit, items.length));
        expect(results.filter((r) => r.ok)).toHaveLength(24);
        expect(results[7]).toEqual({ ok: false, error: new Error("seven") });
        expect(results[8]).toEqual({ ok: true, value: 16 });
    });

    it("a slot freed while new work arrives in the same tick is not double-booked", async () => {
        const limiter = createLimiter(1);
        let active = 0;
        let peak = 0;
        const task = async () => {
            active++;
            peak = Math.max(peak, active);
            await Promise.resolve();
            active--;
        };
        const first = limiter.run(task);
        const second = limiter.run(task); // waits
        await first; // frees the slot: handed to `second`
        const third = limiter.run(task); // arrives right then
        await Promise.all([second, third]);
        expect(peak).toBe(1);
    });
});

describe("redact", () => {
    it("cuts PEM private keys (even unterminated) and long base64 runs", () => {
        const key = fakePrivateKeyPem("Q".repeat(64), "").trimEnd();
        expect(redact(`before ${key} after`)).toBe("before [redacted private key] after");
        expect(redact(`x ${privateKeyHeader("EC ")}\nabc`)).toBe("x [redacted private key]");
        expect(redact(`blob ${"a".repeat(80)}==`)).toBe("blob [redacted]");
        expect(redact("/etc/ipsec.d/certs/kube-ovn-ipsec-0c4f4b1e-1111-4222-8333-000000000001-1234abcd.pem")).toContain("kube-ovn-ipsec-0c4f4b1e");
    });

    it("tail keeps the last lines, bounded", () => {
        const text = Array.from({ length: 50 }, (_, i) => `line ${i}`).join("\n");
        expect(tail(text, 3)).toBe("line 47\nline 48\nline 49");
        expect(tail("x".repeat(5000) + "\n", 5, 100).length).toBeLessThanOrEqual(103);
    });
});

describe("requireTool (test support)", () => {
    it("finds an installed tool and fails, naming what to install, for a missing one", () => {
        expect(requireTool("sh", "apt-get install dash")).toMatch(/\/sh$/);
        expect(() => requireTool("koi-no-such-tool", "apt-get install koi-tool")).toThrow("koi-no-such-tool is not installed (not on PATH): this test needs it; install it with: apt-get install koi-tool");
    });
});
