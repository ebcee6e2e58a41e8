/** The machine a benchmark ran on: what it takes to compare two result files. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";

export interface MachineDetails {
    hostname: string;
    os: string;
    kernel: string;
    arch: string;
    cpuModel: string;
    cpus: number;
    memoryGiB: number;
    /** 1/5/15-minute load averages when the benchmark started: other work skews timings. */
    loadAverage: number[];
    node: string;
    pulumiSdk: string;
    /** dpkg-query versions of the packages the lab runs. */
    packages: Record<string, string>;
    /** systemd-detect-virt, when available. */
    virtualization: string | null;
}

const PACKAGES = ["openvswitch-switch", "openvswitch-ipsec", "openvswitch-pki", "ovn-central", "ovn-host", "strongswan"];

function capture(file: string, args: string[]): string | null {
    const r = spawnSync(file, args, { encoding: "utf8" });
    return r.status === 0 ? r.stdout.trim() : null;
}

function osName(): string {
    try {
        const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(fs.readFileSync("/etc/os-release", "utf8"));
        return m ? m[1] : os.type();
    } catch {
        return os.type();
    }
}

function packageVersions(): Record<string, string> {
    const out = capture("dpkg-query", ["-W", "-f=${Package} ${Version}\\n", ...PACKAGES]) ?? "";
    const versions: Record<string, string> = Object.fromEntries(PACKAGES.map((p) => [p, "not installed"]));
    for (const line of out.split("\n")) {
        const [name, version] = line.split(" ");
        if (name && version) versions[name] = version;
    }
    return versions;
}

export function machineDetails(): MachineDetails {
    const cpus = os.cpus();
    return {
        hostname: os.hostname(),
        os: osName(),
        kernel: os.release(),
        arch: os.arch(),
        cpuModel: cpus[0]?.model.trim() ?? "unknown",
        cpus: cpus.length,
        memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
        loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
        node: process.version,
        pulumiSdk: (require("@pulumi/pulumi/package.json") as { version: string }).version,
        packages: packageVersions(),
        virtualization: capture("systemd-detect-virt", []),
    };
}

/** Cumulative CPU time of the whole machine (all CPUs), from /proc/stat, in clock ticks. */
export interface CpuTicks {
    busy: number;
    total: number;
}

export function cpuTicks(): CpuTicks {
    const line = fs.readFileSync("/proc/stat", "utf8").split("\n")[0];
    // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest is in user)
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = user + nice + system + idle + iowait + irq + softirq + steal;
    return { busy: total - idle - iowait, total };
}

/** Share of the machine's CPU capacity (all CPUs) used between two readings, in percent. */
export function busyPercent(before: CpuTicks, after: CpuTicks): number {
    const total = after.total - before.total;
    return total <= 0 ? 0 : Math.round(((after.busy - before.busy) / total) * 1000) / 10;
}
