#!/usr/bin/env python3
"""Samples /proc for a process tree: RSS, PSS and CPU per process and in total.

Used by scripts/desktop-profile.sh (read it first): it launches the desktop app
and demo traffic, then runs

    desktop_profile.py --pid APP_PID --traffic-secs T --idle-secs I --out DIR

The traffic phase starts when this sampler starts and lasts T seconds (the
script runs `berth demo --duration-secs T` beside it); the idle phase follows
for I seconds with no traffic. Every --interval seconds each process of the
tree is sampled. Writes DIR/desktop-profile.csv (one row per process and
sample) and DIR/desktop-profile.md (the figures). Python 3.11, stdlib only.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import struct
import time
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024

# What counts towards "the app plus its WebKit processes". The embedded
# PostgreSQL (when there is one) is reported, but not in the total: it is the
# database, not the desktop.
ROLES = {
    "WebKitWebProces": "web",
    "WebKitNetworkPr": "network",
    "berth-desktop": "app",
    "postgres": "database",
}


@dataclass
class Proc:
    pid: int
    ppid: int
    comm: str
    ticks: int  # utime + stime
    rss_kb: int
    pss_kb: int | None

    @property
    def role(self) -> str:
        return ROLES.get(self.comm, "other")


def read_proc(pid: int) -> Proc | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm may contain spaces and parentheses: split at the last ')'.
    head, _, rest = stat.rpartition(")")
    comm = head.split("(", 1)[1]
    fields = rest.split()
    ppid = int(fields[1])
    ticks = int(fields[11]) + int(fields[12])
    rss_kb = int(fields[21]) * PAGE_KB
    pss_kb = None
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss_kb = int(line.split()[1])
                break
    except OSError:
        pass
    return Proc(pid, ppid, comm, ticks, rss_kb, pss_kb)


def tree(root: int) -> list[Proc]:
    """Every live process descending from `root`, `root` included."""
    procs = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            p = read_proc(int(entry))
            if p is not None:
                procs[p.pid] = p
    if root not in procs:
        return []
    children: dict[int, list[int]] = {}
    for p in procs.values():
        children.setdefault(p.ppid, []).append(p.pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(procs[pid])
        todo.extend(children.get(pid, []))
    return out


def resident_frames(pid: int) -> set[int]:
    """The physical frame numbers of `pid`'s resident pages (/proc/PID/pagemap;
    without root the kernel hides them and every one reads as 0)."""
    ranges, cur = [], None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split(maxsplit=1)[0]
            if not head.endswith(":"):
                lo, hi = (int(x, 16) for x in head.split("-"))
                cur = [lo, hi, 0]
                ranges.append(cur)
            elif head == "Rss:" and cur is not None:
                cur[2] = int(line.split()[1])
    page = os.sysconf("SC_PAGE_SIZE")
    frames = set()
    with open(f"/proc/{pid}/pagemap", "rb") as f:
        for lo, hi, rss in ranges:
            if not rss:
                continue
            f.seek(lo // page * 8)
            for (entry,) in struct.iter_unpack("<Q", f.read((hi - lo) // page * 8)):
                if entry >> 63:  # present
                    frames.add(entry & ((1 << 55) - 1))
    return frames


def unique_kb(procs: list[Proc]) -> int | None:
    """Resident memory of the tree (the database left out) with every physical
    page counted once: what the tree holds whatever else runs (PSS shrinks
    when another process maps the same libraries; this does not). None when
    frame numbers are hidden (not root). Reads every mapping: ~2 s of CPU."""
    frames: set[int] = set()
    for p in procs:
        if p.role == "database":
            continue
        try:
            frames |= resident_frames(p.pid)
        except OSError:
            continue
    frames.discard(0)
    return len(frames) * PAGE_KB if frames else None


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


@dataclass
class Sample:
    t: float  # seconds since the start
    phase: str
    procs: list[Proc]
    cpu: dict[int, float]  # pid -> % of one core since the previous sample
    load: float
    unique_kb: int | None = None  # see unique_kb(); only at the report's marks

    def rss(self, roles=("app", "web", "network", "other")) -> int:
        return sum(p.rss_kb for p in self.procs if p.role in roles)

    def pss(self, roles=("app", "web", "network", "other")) -> int:
        return sum(p.pss_kb or 0 for p in self.procs if p.role in roles)

    def cpu_of(self, role: str) -> float:
        return sum(self.cpu.get(p.pid, 0.0) for p in self.procs if p.role == role)


def sample_loop(args) -> list[Sample]:
    start = time.monotonic()
    end = args.traffic_secs + args.idle_secs
    prev: dict[int, tuple[float, int]] = {}
    samples = []
    marks = sorted({mark_secs(args), args.traffic_secs})  # the report's two points
    with open(args.out / "desktop-profile.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t_s", "phase", "pid", "name", "role", "rss_kb", "pss_kb", "cpu_pct", "load1"])
        while True:
            now = time.monotonic()
            t = now - start
            procs = tree(args.pid)
            if not procs:
                print("desktop-profile: the app exited", flush=True)
                break
            cpu = {}
            for p in procs:
                if p.pid in prev:
                    t0, k0 = prev[p.pid]
                    cpu[p.pid] = 100.0 * (p.ticks - k0) / TICKS / max(now - t0, 1e-6)
                prev[p.pid] = (now, p.ticks)
            phase = "traffic" if t < args.traffic_secs else "idle"
            s = Sample(t, phase, procs, cpu, loadavg())
            if marks and t >= marks[0]:
                while marks and t >= marks[0]:
                    marks.pop(0)
                s.unique_kb = unique_kb(procs)
                if s.unique_kb is not None:
                    print(f"desktop-profile: {t:5.0f} s tree's resident pages, each counted once: "
                          f"{s.unique_kb / 1024:.0f} MB", flush=True)
            samples.append(s)
            for p in procs:
                w.writerow([f"{t:.1f}", phase, p.pid, p.comm, p.role, p.rss_kb,
                            p.pss_kb if p.pss_kb is not None else "",
                            f"{cpu.get(p.pid, 0.0):.1f}", s.load])
            f.flush()
            if len(samples) % max(1, int(30 / args.interval)) == 0:
                print(f"desktop-profile: {t:5.0f} s {phase:7} total RSS {s.rss() / 1024:4.0f} MB, PSS {s.pss() / 1024:4.0f} MB, "
                      f"web {s.cpu_of('web'):5.1f} % CPU, load {s.load}", flush=True)
            if t >= end:
                break
            time.sleep(max(0.0, args.interval - (time.monotonic() - now)))
    return samples


def mark_secs(args) -> float:
    """ "Minute 2" of the traffic (earlier on a short run)."""
    return min(120.0, args.traffic_secs / 2)


def at(samples: list[Sample], t: float) -> Sample:
    """The first sample at or after `t` (the last one if none)."""
    return next((s for s in samples if s.t >= t), samples[-1])


def mean_cpu(samples: list[Sample], role: str, lo: float, hi: float) -> tuple[float, float]:
    vals = [s.cpu_of(role) for s in samples if lo <= s.t <= hi and s.cpu]
    if not vals:
        return float("nan"), float("nan")
    return statistics.fmean(vals), max(vals)


def report(args, samples: list[Sample]) -> str:
    first, last = at(samples, mark_secs(args)), at(samples, args.traffic_secs)
    growth = 100.0 * (last.rss() - first.rss()) / max(first.rss(), 1)
    growth_pss = 100.0 * (last.pss() - first.pss()) / max(first.pss(), 1)
    # CPU with traffic: after the first 30 s (start-up); without: after the
    # last bots ran out (they run up to ~18 s) and the queue drained.
    traffic = mean_cpu(samples, "web", min(30, args.traffic_secs / 3), args.traffic_secs)
    settle = args.traffic_secs + min(30, args.idle_secs / 2)
    idle = mean_cpu(samples, "web", settle, args.traffic_secs + args.idle_secs)
    app_t = mean_cpu(samples, "app", min(30, args.traffic_secs / 3), args.traffic_secs)
    loads = [s.load for s in samples]
    end = samples[-1]

    def mb(kb: int) -> str:
        return f"{kb / 1024:.0f} MB"

    def kb(v: int | None) -> str:
        return "? (frame numbers need root)" if v is None else mb(v)

    lines = [
        "# Desktop profile",
        "",
        f"App pid {args.pid} ({args.build} build); {args.traffic_secs:.0f} s of demo traffic, then {args.idle_secs:.0f} s without; "
        f"a sample every {args.interval:.0f} s. Machine load (1 min) during the run: "
        f"min {min(loads):.2f}, median {statistics.median(loads):.2f}, max {max(loads):.2f} "
        f"on {os.cpu_count()} cores. CPU is % of one core.",
        "",
        "| figure | value | target |",
        "|---|---|---|",
        f"| total RSS (app + WebKit), {first.t / 60:.1f} min into traffic | {mb(first.rss())} | |",
        f"| total RSS at the end of traffic ({last.t / 60:.1f} min) | {mb(last.rss())} | ≤ 300 MB |",
        f"| RSS growth between the two | {growth:+.1f} % | ≤ 10 % |",
        f"| total PSS (app + WebKit), {first.t / 60:.1f} min into traffic | {mb(first.pss())} | |",
        f"| total PSS at the end of traffic ({last.t / 60:.1f} min) | {mb(last.pss())} | (≤ 300 MB) |",
        f"| PSS growth between the two | {growth_pss:+.1f} % | (≤ 10 %) |",
        f"| resident pages of the tree, each counted once, {first.t / 60:.1f} min | {kb(first.unique_kb)} | |",
        f"| the same at the end of traffic ({last.t / 60:.1f} min) | {kb(last.unique_kb)} | (≤ 300 MB) |",
        f"| web process CPU with demo traffic, mean (max) | {traffic[0]:.1f} % ({traffic[1]:.1f} %) | ≤ 10 % |",
        f"| web process CPU without traffic, mean (max) | {idle[0]:.1f} % ({idle[1]:.1f} %) | ≤ 2 % |",
        f"| app process CPU with demo traffic, mean | {app_t[0]:.1f} % | |",
        "",
        f"Processes at the end ({end.t:.0f} s):",
        "",
        "| pid | process | role | RSS | PSS |",
        "|---|---|---|---|---|",
    ]
    for p in end.procs:
        pss = mb(p.pss_kb) if p.pss_kb is not None else "?"
        lines.append(f"| {p.pid} | {p.comm} | {p.role} | {mb(p.rss_kb)} | {pss} |")
    lines += ["", "RSS counts every page a process has resident, so a shared library "
              "(libwebkit2gtk, mesa's libLLVM) counts once per process that maps it; the "
              "target is in RSS. PSS splits each shared page between the processes "
              "mapping it, so the total is what the tree costs the machine; it also "
              "shrinks when other processes (another WebKit app) map the same libraries. "
              "The tree's resident pages counted once (from /proc/PID/pagemap) is the "
              "RSS of the tree as a whole: shared pages once, whatever else runs.",
              "", "The embedded database (role `database`), if any, is not in the totals.",
              "Every sample: `desktop-profile.csv`.", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pid", type=int, required=True, help="the app's pid (root of the tree)")
    ap.add_argument("--traffic-secs", type=float, required=True)
    ap.add_argument("--idle-secs", type=float, required=True)
    ap.add_argument("--interval", type=float, default=5.0)
    ap.add_argument("--build", default="debug", help="which build of the app runs (for the report)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    samples = sample_loop(args)
    if not samples:
        raise SystemExit("desktop-profile: no sample (did the app start?)")
    text = report(args, samples)
    (args.out / "desktop-profile.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
