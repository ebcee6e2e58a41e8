/**
 * scriptKit.ts: the framing helpers, and the prelude every remote script starts with, run for real in a local `sh`, the
 * shell the transport starts in the pod: each function it defines does what its comment says
 * (the deadline arithmetic, `fail`'s report line and exit code, `need`'s list, the lock's
 * modes and its timeout). Node tools the prelude wraps (ovs-vsctl, ovs-appctl, ipsec, service)
 * are small fakes on PATH that record their argv: what is under test is the prelude, not them.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EXIT_COMMAND_FAILED, EXIT_PERMANENT, EXIT_TRANSIENT } from "../../components/transport/exitCodes";
import { NODE_LOCK, ScriptLimits, newBoundary, parseFacts, parseSections, prelude, purposeOf, scriptLabel } from "../../components/transport/scriptKit";
import { shellQuote as q } from "../../components/transport/shellQuote";
import { requireTool } from "../support/requireTool";

const BOUNDARY = "@@koi-00112233aabbccdd@@";
const PURPOSE = { name: "prelude-test", readOnly: true };

let dir: string;
let fakeBin: string;

beforeAll(() => {
    for (const tool of ["timeout", "flock", "mktemp", "sed", "tr", "head", "tail"]) requireTool(tool, "apt-get install -y coreutils util-linux sed");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "koi-prelude-"));
    fakeBin = path.join(dir, "bin");
    fs.mkdirSync(fakeBin);
    // Each fake records its argv (one line) and exits with $FAKE_RC.
    for (const tool of ["ovs-vsctl", "ovs-appctl", "ipsec", "service"]) {
        fs.writeFileSync(path.join(fakeBin, tool), `#!/bin/sh\necho "${tool} $*" >> ${q(path.join(dir, "calls"))}\n[ -e /proc/self/fd/9 ] && echo "${tool} had fd 9" >> ${q(path.join(dir, "calls"))}\necho "${tool} said line1"\necho "${tool} said line2"\nexit \${FAKE_RC:-0}\n`, { mode: 0o755 });
    }
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
beforeEach(() => fs.rmSync(path.join(dir, "calls"), { force: true }));

interface Run {
    status: number | null;
    stdout: string;
    stderr: string;
}

/** Runs the prelude followed by `body` in `sh -c`, with the fakes first on PATH. */
function run(body: string, limits: ScriptLimits = { budgetSeconds: 100, ovsdbTimeoutSeconds: 5 }, env: Record<string, string> = {}): Run {
    const r = spawnSync("sh", ["-c", `${prelude(BOUNDARY, limits, PURPOSE)}${body}`], {
        encoding: "utf8",
        env: { PATH: `${fakeBin}:/usr/bin:/bin`, HOME: dir, ...env },
        timeout: 20_000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const calls = (): string[] => (fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").split("\n").filter(Boolean) : []);
/** Moves the script's deadline into the past: the budget is spent. */
const OVER = "END=$(( $(date +%s) - 5 ))\n";

describe("the script prelude, in a real sh", () => {
    it("opens with the label, sets the locale and the budget, and appends the sbin directories to PATH", () => {
        const limits = { budgetSeconds: 20.7, ovsdbTimeoutSeconds: 4.9 };
        const r = run(`printf '%s\\n' "$LC_ALL" "$B" "$BUDGET" "$T" "$PERMANENT" "$TRANSIENT" "$CMDFAIL" "$LOCK" "$PATH"`, limits);
        expect(r.status).toBe(0);
        expect(prelude(BOUNDARY, limits, PURPOSE).split("\n")[0]).toBe(scriptLabel(PURPOSE));
        expect(r.stdout.split("\n").slice(0, 9)).toEqual(["C", BOUNDARY, String(Math.floor(limits.budgetSeconds)), String(Math.floor(limits.ovsdbTimeoutSeconds)), String(EXIT_PERMANENT), String(EXIT_TRANSIENT), String(EXIT_COMMAND_FAILED), NODE_LOCK, `${fakeBin}:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin`]);
    });

    it("never gives a budget or a tool timeout under one second", () => {
        const r = run(`echo "$BUDGET $T"`, { budgetSeconds: 0.2, ovsdbTimeoutSeconds: 0 });
        expect(r.stdout).toBe("1 1\n");
    });

    it("left counts down from the budget and stops at 0; cap bounds by it and is at least 1", () => {
        const fresh = run(`echo "$(left) $(cap 5) $(cap 100000)"`, { budgetSeconds: 100, ovsdbTimeoutSeconds: 5 });
        const [left, small, big] = fresh.stdout.trim().split(" ").map(Number);
        expect(left).toBeGreaterThanOrEqual(99);
        expect(left).toBeLessThanOrEqual(100);
        expect(small).toBe(5);
        expect(big).toBe(left);
        expect(run(`${OVER}echo "$(left) $(cap 10)"`).stdout).toBe("0 1\n");
    });

    it("bounded cuts a command to N seconds and to what is left of the budget", () => {
        const t0 = Date.now();
        const cut = run(`bounded 1 sleep 10; echo "rc=$?"`);
        expect(cut.stdout).toBe("rc=124\n");
        const over = run(`${OVER}bounded 60 sleep 10; echo "rc=$?"`);
        expect(over.stdout).toBe("rc=124\n");
        expect(Date.now() - t0).toBeLessThan(6000);
        expect(run(`bounded 5 echo through; echo "rc=$?"`).stdout).toBe("through\nrc=0\n");
    });

    it("fail runs the rollback hook, reports the step on stderr and exits with the code given", () => {
        const r = run(`on_fail() { echo rolled-back; }\nfail $PERMANENT write-files "cannot write" "/etc/x\r"\necho not-reached`);
        expect(r.status).toBe(EXIT_PERMANENT);
        expect(r.stdout).toBe("rolled-back\n");
        expect(r.stderr).toBe("kube-ovn-ipsec: step=write-files: cannot write /etc/x\n\n");
        expect(run(`fail $TRANSIENT read "x"`).status).toBe(EXIT_TRANSIENT);
    });

    it("a report is cut at 700 bytes and still ends its line", () => {
        const r = run(`fail 3 s "$(printf 'x%.0s' $(seq 1 2000))"`);
        expect(r.stderr.endsWith("\n")).toBe(true);
        expect(Buffer.byteLength(r.stderr.trimEnd())).toBe(700);
        expect(r.stderr.startsWith("kube-ovn-ipsec: step=s: xxx")).toBe(true);
    });

    it("fail_cmd passes on the command's own error text on one line and exits with the command-failed code", () => {
        const r = run(`on_fail() { echo rolled-back; }\nout=$(printf 'mv: cannot move\\nRead-only file system   \\n')\nfail_cmd write-files "$out" "cannot install /etc/ipsec.d/x"\necho not-reached`);
        expect(r.status).toBe(EXIT_COMMAND_FAILED);
        expect(r.stdout).toBe("rolled-back\n");
        expect(r.stderr).toBe("kube-ovn-ipsec: step=write-files: cannot install /etc/ipsec.d/x: mv: cannot move Read-only file system\n\n");
    });

    it("oneline says what an OVS tool's alarm means, drops the shell's bare 'Alarm clock', and bounds the text", () => {
        const alarm = run(`printf 'ovs-vsctl: ... terminating with signal 14 (Alarm clock)\\nAlarm clock\\n' | oneline`, { budgetSeconds: 100, ovsdbTimeoutSeconds: 7 });
        expect(alarm.stdout).toBe("no answer within 7 s (the database is not responding)");
        const long = run(`seq 1 1000 | oneline`);
        expect(long.stdout).toHaveLength(400);
        expect(long.stdout.startsWith("1 2 3 4")).toBe(true);
        expect(run(`printf 'a\\r\\nb\\n\\n' | oneline`).stdout).toBe("a  b");
    });

    it("section starts a section that parseSections reads back", () => {
        const r = run(`section facts\necho a=1\nsection tunnels\necho t`);
        expect(r.stdout).toBe(`${BOUNDARY} facts\na=1\n${BOUNDARY} tunnels\nt\n`);
        expect([...parseSections(r.stdout, BOUNDARY)]).toEqual([["facts", "a=1"], ["tunnels", "t\n"]]);
    });

    it("vsctl bounds ovs-vsctl by the tool timeout, and by the budget once it is nearly spent", () => {
        run(`vsctl get Open_vSwitch . external_ids:system-id`, { budgetSeconds: 100, ovsdbTimeoutSeconds: 6 });
        run(`${OVER}vsctl show`, { budgetSeconds: 100, ovsdbTimeoutSeconds: 6 });
        expect(calls()).toEqual(["ovs-vsctl --timeout=6 get Open_vSwitch . external_ids:system-id", "ovs-vsctl --timeout=1 show"]);
    });

    it("need names every missing tool at once and fails permanently; with all present it goes on", () => {
        const r = run(`need sh koi-no-such-a ipsec koi-no-such-b\necho not-reached`);
        expect(r.status).toBe(EXIT_PERMANENT);
        expect(r.stdout).toBe("");
        expect(r.stderr).toMatch(/^kube-ovn-ipsec: step=check-tools: not found in the pod's PATH \(.*\/usr\/sbin:\/sbin\): koi-no-such-a koi-no-such-b\n/);
        expect(run(`need sh ipsec ovs-vsctl\necho went-on`).stdout).toBe("went-on\n");
    });

    it("run_service runs through `service` with the lock's fd closed, keeps its output off stdout, and service_said reads it", () => {
        const r = run(`exec 9>${q(path.join(dir, "fd9"))}\nrun_service openvswitch-ipsec restart; echo "rc=$?"\nservice_said; echo\necho "$SVC_LOG"`);
        expect(r.stdout.split("\n").slice(0, 2)).toEqual(["rc=0", "service said line1 service said line2"]);
        expect(calls()).toEqual(["service openvswitch-ipsec restart"]);
        const log = r.stdout.split("\n")[2];
        expect(log).not.toBe("");
        expect(fs.existsSync(log)).toBe(false); // removed when the script exits
        expect(run(`run_service x start; echo "rc=$?"`, undefined, { FAKE_RC: "4" }).stdout).toBe("rc=4\n");
    });

    it("wait_until returns as soon as the condition holds, and gives up at N seconds or the deadline, setting waited", () => {
        const flag = path.join(dir, "flag");
        fs.rmSync(flag, { force: true });
        const soon = run(`(sleep 0.3; touch ${q(flag)}) &\nwait_until 10 test -e ${q(flag)}; echo "rc=$? waited=$waited"`);
        expect(soon.stdout).toMatch(/^rc=0 waited=[01]\n$/);
        const t0 = Date.now();
        const never = run(`wait_until 1 false; echo "rc=$? waited=$waited"`);
        expect(never.stdout).toMatch(/^rc=1 waited=[12]\n$/);
        const spent = run(`${OVER}wait_until 30 false; echo "rc=$?"`);
        expect(spent.stdout).toBe("rc=1\n");
        expect(Date.now() - t0).toBeLessThan(8000);
    });

    it("monitor_up and ike_up ask the daemons and report their answer as the exit code", () => {
        expect(run(`monitor_up && echo up; ike_up && echo ike`).stdout).toBe("up\nike\n");
        expect(calls()).toEqual(["ovs-appctl -t ovs-monitor-ipsec --timeout=3 version", "ipsec status"]);
        expect(run(`monitor_up || echo down; ike_up || echo ike-down`, undefined, { FAKE_RC: "1" }).stdout).toBe("down\nike-down\n");
    });

    describe("the node lock", () => {
        const lockFile = () => path.join(dir, "node.lock");
        /** Holds the lock from another process until the returned function is called. */
        async function holdLock(mode: "-s" | "-x"): Promise<() => void> {
            const holder = spawn("flock", [mode, lockFile(), "sh", "-c", "echo held; sleep 30"], { stdio: ["ignore", "pipe", "ignore"], detached: true });
            await new Promise<void>((resolve) => holder.stdout.once("data", () => resolve()));
            // Its own process group: the sleep under flock goes with it.
            return () => process.kill(-(holder.pid as number), "SIGKILL");
        }

        it("exclusive holds it on fd 9 for the rest of the script", () => {
            const r = run(`LOCK=${q(lockFile())}\nlock exclusive\nflock -n -s ${q(lockFile())} true && echo free || echo taken`);
            expect(r.stdout).toBe("taken\n");
        });

        it("shared can be taken while another reader holds it; exclusive waits the budget and says why it gave up", async () => {
            const release = await holdLock("-s");
            try {
                expect(run(`LOCK=${q(lockFile())}\nlock shared\necho got-it`, { budgetSeconds: 2, ovsdbTimeoutSeconds: 1 }).stdout).toBe("got-it\n");
                const r = run(`LOCK=${q(lockFile())}\nlock exclusive\necho not-reached`, { budgetSeconds: 1, ovsdbTimeoutSeconds: 1 });
                expect(r.status).toBe(EXIT_TRANSIENT);
                expect(r.stdout).toBe("");
                expect(r.stderr).toContain(`step=lock: another kube-ovn-ipsec command is still running on this node (it held ${lockFile()} for the whole 1 s budget)`);
            } finally {
                release();
            }
        });

        it("a lock file that cannot be opened fails with the file system's own words", () => {
            const r = run(`LOCK=${q(path.join(dir, "no-such-dir", "x.lock"))}\nlock exclusive\necho not-reached`);
            expect(r.status).toBe(EXIT_COMMAND_FAILED);
            expect(r.stderr).toMatch(/step=lock: cannot open the node lock .*no-such-dir\/x\.lock: .*cannot create .*no-such-dir\/x\.lock: Directory nonexistent$/m);
        });
    });
});

describe("script framing", () => {
    it("a boundary is random, and nothing but the boundary starts a section", () => {
        const a = newBoundary();
        const b = newBoundary();
        expect(a).toMatch(/^@@koi-[0-9a-f]{16}@@$/);
        expect(a).not.toBe(b);
        const out = `before\n${a} one\n${b} not-one\n${a}two\n${a}  padded  \nlast`;
        expect([...parseSections(out, a)]).toEqual([["one", `${b} not-one\n${a}two`], ["padded", "last"]]);
        expect(parseSections("no sections here\n", a).size).toBe(0);
    });

    it("a script's label round-trips its purpose; other text has none", () => {
        for (const purpose of [{ name: "apply", readOnly: false }, { name: "observe", readOnly: true }]) {
            expect(purposeOf(`${scriptLabel(purpose)}\nexport LC_ALL=C`)).toEqual(purpose);
        }
        expect(scriptLabel({ name: "x", readOnly: false })).not.toBe(scriptLabel({ name: "x", readOnly: true }));
        expect(purposeOf("sh -c 'ovs-vsctl show'")).toBeNull();
    });

    it("facts are key=value lines: the first = splits, values are trimmed, lines without a key are ignored", () => {
        expect(parseFacts("a=1\nb= x=y \n=orphan\nno equals\n")).toEqual({ a: "1", b: "x=y" });
        expect(parseFacts(undefined)).toEqual({});
    });
});
