/**
 * What leaves a lab node on the wire, and what a node's netfilter rules counted, read
 * independently of the product: the fail-closed tests ask "did this Geneve datagram leave
 * in plain text?" and "did the guard drop it?".
 *
 * - sendGeneveDatagram: one UDP datagram from a node to a peer's UDP 6081, watched with
 *   tcpdump on the lab bridge (every node's eth0 is a port of it). tcpdump is started and
 *   READY (its "listening on" line) before the send. Absence is decided without a timer:
 *   right after the probe the same node sends a sentinel to the same peer on another port;
 *   both take the same path (OUTPUT chain, the one ARP queue for that peer, the node's veth,
 *   the bridge), so once the sentinel is captured the probe either was captured before it
 *   or never left.
 * - iptablesRules / ruleCounter: a chain's rules with their packet counters, in a node's
 *   network namespace (`iptables -S -v`).
 *
 * Needs tcpdump and iptables on the host (`npm run lab -- install`).
 */
import { spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import { LabNode, LabStatus, podOk, podSh } from "./lab";

/** Geneve's UDP port (what the fail-closed guard is about). */
export const GENEVE_PORT = 6081;
/** The sentinel's port: any port a Geneve guard leaves alone. */
const SENTINEL_PORT = 6082;

export interface DatagramResult {
    /** The probe (UDP to the peer's 6081) was captured on the lab bridge: it left the node in plain text. */
    seen: boolean;
    /** The sender's error, e.g. "PermissionError" when netfilter dropped it in OUTPUT; "" when sendto succeeded. */
    sendError: string;
    /** The capture lines, for failure messages. */
    captured: string[];
}

function needTool(file: string, pkg: string): void {
    const found = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"].some((d) => fs.existsSync(`${d}/${file}`));
    if (!found) throw new Error(`${file} is not installed: run \`npm run lab -- install\` (Debian package ${pkg})`);
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * Sends one UDP datagram (4 random bytes) from `from` to `to`'s UDP 6081 and reports whether
 * it crossed the lab bridge. Throws when tcpdump does not start or the sentinel is not seen
 * within `timeoutMs` (then something drops all of the node's UDP to that peer, or the lab is down).
 */
export async function sendGeneveDatagram(lab: LabStatus, from: LabNode, to: LabNode, timeoutMs = 10_000): Promise<DatagramResult> {
    needTool("tcpdump", "tcpdump");
    for (const ip of [from.ip, to.ip]) if (!IPV4.test(ip)) throw new Error(`not an IPv4 address: ${ip}`);
    const token = crypto.randomBytes(4).toString("hex");
    // only our two datagrams: this pair, these ports, our payload
    const filter = `udp and src host ${from.ip} and dst host ${to.ip} and (dst port ${GENEVE_PORT} or dst port ${SENTINEL_PORT}) and udp[8:4] = 0x${token}`;
    // promiscuous (tcpdump's default): a bridge device passes frames forwarded between its
    // ports up to a capture only then (br_handle_frame_finish); --immediate-mode: each
    // packet is printed as it comes, not when a buffer fills
    const tcpdump = spawn("nsenter", [`--net=${lab.bridge.netns}`, "--", "tcpdump", "-i", lab.bridge.device, "-n", "-q", "-l", "--immediate-mode", filter], {
        stdio: ["ignore", "pipe", "pipe"],
    });
    const lines: string[] = [];
    let stderr = "";
    let stdoutBuf = "";
    const waiters: Array<() => void> = [];
    const wake = () => waiters.splice(0).forEach((w) => w());
    tcpdump.stdout.setEncoding("utf8").on("data", (d: string) => {
        stdoutBuf += d;
        const parts = stdoutBuf.split("\n");
        stdoutBuf = parts.pop() ?? "";
        lines.push(...parts);
        wake();
    });
    tcpdump.stderr.setEncoding("utf8").on("data", (d: string) => {
        stderr += d;
        wake();
    });
    let exited = false;
    const done = () => {
        exited = true;
        wake();
    };
    tcpdump.on("exit", done);
    tcpdump.on("error", (e) => {
        stderr += `${e.message}\n`;
        done();
    });
    const until = async (what: string, cond: () => boolean): Promise<void> => {
        const deadline = Date.now() + timeoutMs;
        while (!cond()) {
            if (exited) throw new Error(`tcpdump exited while waiting for ${what}: ${stderr.trim()}`);
            const left = deadline - Date.now();
            if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (tcpdump: ${stderr.trim()}; captured: ${JSON.stringify(lines)})`);
            await new Promise<void>((r) => {
                const t = setTimeout(r, left);
                waiters.push(() => {
                    clearTimeout(t);
                    r();
                });
            });
        }
    };
    const probe = (l: string) => l.includes(` > ${to.ip}.${GENEVE_PORT}:`);
    const sentinel = (l: string) => l.includes(` > ${to.ip}.${SENTINEL_PORT}:`);
    try {
        await until("tcpdump to listen", () => /listening on /.test(stderr));
        // one exec: the probe, then the sentinel; the probe's error is reported, not fatal
        const send = podSh(
            lab,
            from.target,
            `python3 -c '
import socket, sys
data = bytes.fromhex(sys.argv[1])
err = ""
try:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(data, (sys.argv[2], ${GENEVE_PORT}))
except OSError as e:
    err = type(e).__name__
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(data, (sys.argv[2], ${SENTINEL_PORT}))
print(err)
' ${token} ${to.ip}`,
        );
        if (send.status !== 0) throw new Error(`[${from.name}] sending the datagrams failed (exit ${send.status}): ${send.stderr}`);
        await until(`the sentinel datagram from ${from.name} to ${to.ip}:${SENTINEL_PORT} on the lab bridge`, () => lines.some(sentinel));
        const upTo = lines.slice(0, lines.findIndex(sentinel));
        return { seen: upTo.some(probe), sendError: send.stdout.trim(), captured: [...lines] };
    } finally {
        if (!exited) {
            tcpdump.kill("SIGTERM");
            await until("tcpdump to exit", () => exited).catch(() => tcpdump.kill("SIGKILL"));
        }
    }
}

export interface IptablesRule {
    /** The rule as `iptables -S` prints it, without the counters (e.g. "-A OUTPUT -d 10.213.0.11/32 -p udp ... -j DROP"). */
    spec: string;
    packets: number;
    bytes: number;
}

const CHAIN = /^[A-Za-z0-9_.-]{1,28}$/;
const TABLES = ["filter", "raw", "mangle", "nat", "security"];

/** The rules of one chain in a node's network namespace, in order, with their counters. */
export function iptablesRules(lab: LabStatus, node: LabNode, chain: string, table = "filter"): IptablesRule[] {
    needTool("iptables", "iptables");
    if (!CHAIN.test(chain)) throw new Error(`not a chain name: ${chain}`);
    if (!TABLES.includes(table)) throw new Error(`not a table: ${table}`);
    const out = podOk(lab, node.target, `iptables -w 5 -t ${table} -S ${chain} -v`);
    const rules: IptablesRule[] = [];
    for (const line of out.split("\n")) {
        if (!line.startsWith("-A ")) continue;
        const m = / -c (\d+) (\d+)(?= |$)/.exec(line);
        if (!m) throw new Error(`[${node.name}] no counters in: ${line}`);
        rules.push({ spec: (line.slice(0, m.index) + line.slice(m.index + m[0].length)).trim(), packets: Number(m[1]), bytes: Number(m[2]) });
    }
    return rules;
}

/**
 * The packet counter of the one rule of `chain` whose spec matches (a substring, e.g. the
 * rule's `--comment`, or a RegExp). Throws when no rule or several rules match.
 */
export function ruleCounter(lab: LabStatus, node: LabNode, chain: string, match: string | RegExp, table = "filter"): number {
    const rules = iptablesRules(lab, node, chain, table);
    const hits = rules.filter((r) => (typeof match === "string" ? r.spec.includes(match) : match.test(r.spec)));
    if (hits.length !== 1) throw new Error(`[${node.name}] ${hits.length} rules of ${table}/${chain} match ${String(match)}: ${JSON.stringify(rules.map((r) => r.spec))}`);
    return hits[0].packets;
}
