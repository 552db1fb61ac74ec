#!/usr/bin/env python3
"""Copy-on-write preservation across a tree: what it saves. Prints JSON.

Starts bench/mem_target with MIB of touched memory and CHILDREN children
that share it copy-on-write, then dumps and restores the tree twice: with
copy-on-write preservation (the default) and without it (STASIS_DUMP_COW=0,
every child's memory saved and restored in full). For each it reports dump
and restore time, the size of the images, and the tree's summed PSS before
the dump and after the restore (verified by the parent after each restore).

  bench/cow_bench.py --stasis build/x86_64/stasis --target build/x86_64/bench/mem_target \
      [--mib 512] [--children 8] [--tmpfs /dev/shm] [--repeat 3]
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from cr_bench import become_subreaper, run, verify_restored, wait_for


def tree_pids(root):
    pids = [root]
    for tid in os.listdir(f"/proc/{root}/task"):
        with open(f"/proc/{root}/task/{tid}/children") as f:
            pids += [int(p) for p in f.read().split()]
    return pids


def tree_pss_kib(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
    return total


def kill_tree(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    # As subreaper we inherit the restored tree: reap all of it.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if os.waitpid(-1, os.WNOHANG) == (0, 0):
                time.sleep(0.005)
        except ChildProcessError:
            return


def reap(pids):
    """Waits until every PID is free again: the dump killed the tree and, as
    subreaper, we must reap the children it re-parented to us."""
    deadline = time.monotonic() + 10
    while any(os.path.exists(f"/proc/{p}") for p in pids) and time.monotonic() < deadline:
        try:
            if os.waitpid(-1, os.WNOHANG) == (0, 0):
                time.sleep(0.005)
        except ChildProcessError:
            time.sleep(0.005)


def one_round(args, cow, tmp):
    work = tempfile.mkdtemp(dir=tmp, prefix="cow-bench-")
    images = os.path.join(work, "images")
    os.mkdir(images)
    ready, verify = os.path.join(work, "ready"), os.path.join(work, "verify")
    proc = subprocess.Popen([args.target, str(args.mib), "1", ready, verify, str(args.children)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, close_fds=True)
    pid = proc.pid
    result = {"cow_preserved": cow}
    try:
        wait_for(ready, 300)
        pids = tree_pids(pid)
        result["processes"] = len(pids)
        result["pss_before_kib"] = tree_pss_kib(pids)
        env = dict(os.environ, STASIS_DUMP_COW="1" if cow else "0")
        result["dump_s"] = run([args.stasis, "dump", "-t", str(pid), "-D", images, "-v0"], env=env)
        proc.wait()
        reap(pids)
        result["image_bytes"] = sum(os.path.getsize(os.path.join(images, f)) for f in os.listdir(images))
        result["restore_s"] = run([args.stasis, "restore", "-D", images, "-d", "-v0"])
        result["pss_after_kib"] = tree_pss_kib(tree_pids(pid))
        result["verified"] = verify_restored(pid, verify)
    finally:
        kill_tree(pid)
        subprocess.run(["rm", "-rf", work])
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stasis", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--mib", type=int, default=512)
    ap.add_argument("--children", type=int, default=8)
    ap.add_argument("--tmpfs", default="/dev/shm")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    become_subreaper()
    out = {"benchmark": "cow-across-tree", "mib": args.mib, "children": args.children, "tmpfs": args.tmpfs,
           "ncpu": os.cpu_count(), "kernel": os.uname().release, "runs": []}
    for cow in (True, False):
        rounds = [one_round(args, cow, args.tmpfs) for _ in range(args.repeat)]
        best = dict(rounds[0])
        for key in ("dump_s", "restore_s"):
            best[key] = round(min(r[key] for r in rounds), 3)
        best["pss_after_vs_before"] = round(max(r["pss_after_kib"] / r["pss_before_kib"] for r in rounds), 3)
        best["all_verified"] = all(r["verified"] for r in rounds)
        best["repeat"] = args.repeat
        out["runs"].append(best)
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
