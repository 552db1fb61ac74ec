#!/usr/bin/env python3
"""Pre-dump benchmark: how long the tree stays frozen. Prints one JSON document.

A process with MIB MiB of memory keeps writing RATE percent of its pages per
second (bench/dirty_target). It is dumped twice:
  plain        `stasis dump` straight away;
  incremental  two pre-dumps one second apart, then, a second later, the
               dump on top of them (--prev-images-dir), which saves only
               the pages written since the second pre-dump: with its
               pre-copy pass (the default: most of those pages are copied
               while the tree runs, the frozen pass saves what was written
               during that pass) and with --no-pre-copy.
Each dump's freeze time (from seizing the tree to killing it) is what the
dump logs ("the tree was frozen for N ms"). Both restores are verified by
the target. With --modes the incremental run is repeated per dirty
tracking mode (STASIS_DIRTY_TRACKING): the kernel's best ("auto"), and
"content", what kernels without uffd-wp and soft-dirty get.

  bench/predump_bench.py --stasis build/x86_64/stasis --target build/x86_64/bench/dirty_target \
      [--mib 1024] [--rate 5] [--gap 1.0] [--modes auto,content] [--tmpfs /dev/shm]
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cr_bench import become_subreaper, kill, run, verify_restored, wait_for  # noqa: E402

FROZEN = re.compile(r"the tree was frozen for ([0-9.]+) ms")
FOUND = re.compile(r"changes found by (\S+)")


def stasis(args, cmd, log, env=None):
    """Runs one stasis command; returns its freeze times in order (a dump's
    pre-copy pass logs one before its own) and how it found changes."""
    run([args.stasis] + cmd + ["-v3", "-o", log], env=env)
    with open(log) as f:
        text = f.read()
    frozen = [float(v) for v in FROZEN.findall(text)]
    found = FOUND.findall(text)
    return frozen, (found[-1] if found else None)


def dir_bytes(d):
    """Bytes of the files under d (a dump's pre-copy pass included)."""
    return sum(os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(d) for f in files)


def start(args, work):
    ready, verify = os.path.join(work, "ready"), os.path.join(work, "verify")
    proc = subprocess.Popen([args.target, str(args.mib), str(args.rate), ready, verify], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            close_fds=True)
    wait_for(ready, 300)
    time.sleep(args.gap)  # let it write for a while, as a running service does
    return proc, verify


def restore_and_verify(args, images, pid, verify):
    run([args.stasis, "restore", "-D", images, "-d", "-v0"])
    ok = verify_restored(pid, verify)
    kill(pid)
    return ok


def plain(args, tmp):
    work = tempfile.mkdtemp(dir=tmp, prefix="predump-bench-")
    try:
        images = os.path.join(work, "images")
        os.mkdir(images)
        proc, verify = start(args, work)
        frozen, _ = stasis(args, ["dump", "-t", str(proc.pid), "-D", images], os.path.join(work, "dump.log"))
        proc.wait()
        return {"freeze_ms": frozen[-1] if frozen else None, "images_bytes": dir_bytes(images),
                "verified": restore_and_verify(args, images, proc.pid, verify)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def incremental(args, tmp, mode, pre_copy):
    work = tempfile.mkdtemp(dir=tmp, prefix="predump-bench-")
    env = dict(os.environ)
    env.pop("STASIS_DIRTY_TRACKING", None)
    if mode != "auto":
        env["STASIS_DIRTY_TRACKING"] = mode
    try:
        dirs = [os.path.join(work, d) for d in ("pre1", "pre2", "images")]
        for d in dirs:
            os.mkdir(d)
        proc, verify = start(args, work)
        pid = str(proc.pid)
        out = {"mode": mode, "pre_copy": pre_copy}
        f1, _ = stasis(args, ["pre-dump", "-t", pid, "-D", dirs[0]], os.path.join(work, "pre1.log"), env)
        time.sleep(args.gap)
        f2, found = stasis(args, ["pre-dump", "-t", pid, "-D", dirs[1], "--prev-images-dir", "../pre1"],
                           os.path.join(work, "pre2.log"), env)
        time.sleep(args.gap)
        f3, found3 = stasis(args, ["dump", "-t", pid, "-D", dirs[2], "--prev-images-dir", "../pre2"] +
                            ([] if pre_copy else ["--no-pre-copy"]), os.path.join(work, "dump.log"), env)
        proc.wait()
        pass_dir = os.path.join(dirs[2], "pre-copy")
        made_pass = os.path.exists(os.path.join(pass_dir, "inventory.img"))
        out.update({"tracking": found3 or found, "pre_dump_1_freeze_ms": f1[-1], "pre_dump_2_freeze_ms": f2[-1],
                    # The dump's own freeze; its pre-copy pass (a pre-dump)
                    # froze the tree briefly before, reported apart.
                    "freeze_ms": f3[-1], "pre_copy_freeze_ms": f3[0] if made_pass and len(f3) > 1 else None,
                    "pre_dump_1_bytes": dir_bytes(dirs[0]), "pre_dump_2_bytes": dir_bytes(dirs[1]),
                    "pre_copy_bytes": dir_bytes(pass_dir) if made_pass else 0,
                    "images_bytes": dir_bytes(dirs[2]),
                    "verified": restore_and_verify(args, dirs[2], proc.pid, verify)})
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stasis", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--rate", type=float, default=5.0, help="percent of the pages written per second")
    ap.add_argument("--gap", type=float, default=1.0, help="seconds between the stages")
    ap.add_argument("--modes", default="auto,content")
    ap.add_argument("--tmpfs", default="/dev/shm")
    args = ap.parse_args()
    become_subreaper()
    base = plain(args, args.tmpfs)
    out = {"benchmark": "pre-dump-freeze-time", "mib": args.mib, "rate_percent_per_s": args.rate,
           "gap_s": args.gap, "ncpu": os.cpu_count(), "kernel": os.uname().release, "plain": base,
           "incremental": []}
    for mode in args.modes.split(","):
        # Content comparison arms nothing a pre-copy pass could use.
        for pre_copy in ((True, False) if mode != "content" else (True,)):
            r = incremental(args, args.tmpfs, mode, pre_copy)
            if base["freeze_ms"] and r["freeze_ms"] is not None:
                r["freeze_vs_plain"] = round(r["freeze_ms"] / base["freeze_ms"], 3)
            out["incremental"].append(r)
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
