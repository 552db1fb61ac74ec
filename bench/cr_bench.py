#!/usr/bin/env python3
"""Checkpoint/restore throughput benchmark. Prints one JSON document.

For each size it starts bench/mem_target with that much touched anonymous
memory, dumps it (timed) into an image directory on tmpfs, restores it with
the in-place path and with the premap path (each timed, each verified by the
target itself), and measures the ceiling: a plain copy of the same bytes on
the same tmpfs (copy_file_range of the pages image, one in-kernel copy).
A restore has a second ceiling: the target's own first touch of the same
memory (mapping it and writing every page, timed by the target), since a
restore must make every page present again; where the host makes first
touches expensive (nested paging), that one binds.

  bench/cr_bench.py --stasis build/x86_64/stasis --target build/x86_64/bench/mem_target \
      [--sizes 256,1024,4096] [--vmas 1] [--tmpfs /dev/shm] [--repeat 3]
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time


def wait_for(path, timeout):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {path}")
        time.sleep(0.005)


def run(cmd, **kw):
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    dt = time.monotonic() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    return dt


def start_target(target, mib, vmas, work):
    ready = os.path.join(work, "ready")
    verify = os.path.join(work, "verify")
    for f in (ready, verify):
        if os.path.exists(f):
            os.unlink(f)
    proc = subprocess.Popen([target, str(mib), str(vmas), ready, verify], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            close_fds=True)
    wait_for(ready, 300)
    return proc, verify


def touch_seconds(work):
    """How long the target took to map and first touch its memory (its ready
    file says): the least a restore spends making the same pages present."""
    with open(os.path.join(work, "ready")) as f:
        for word in f.read().split():
            if word.startswith("touch_ns="):
                return int(word[len("touch_ns="):]) / 1e9
    return None


def verify_restored(pid, verify_file):
    if os.path.exists(verify_file):
        os.unlink(verify_file)
    os.kill(pid, signal.SIGUSR1)
    wait_for(verify_file, 300)
    with open(verify_file) as f:
        return f.read().strip() == "ok"


def become_subreaper():
    # A restored process (restore -d) is re-parented when stasis exits; as
    # subreaper we inherit it and can reap it, so its PID is free again.
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    for _ in range(4000):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                return
        except ChildProcessError:
            if not os.path.exists(f"/proc/{pid}"):
                return
        time.sleep(0.005)


def one_round(args, mib, vmas, tmp):
    work = tempfile.mkdtemp(dir=tmp, prefix="bench-")
    images = os.path.join(work, "images")
    os.mkdir(images)
    result = {"mib": mib, "vmas": vmas}
    proc, verify = start_target(args.target, mib, vmas, work)
    pid = proc.pid
    result["touch_s"] = touch_seconds(work)
    try:
        result["dump_s"] = run([args.stasis, "dump", "-t", str(pid), "-D", images, "-v0"])
        proc.wait()
        pages = [f for f in os.listdir(images) if f.startswith("pages-")]
        size = sum(os.path.getsize(os.path.join(images, f)) for f in pages)
        result["pages_bytes"] = size
        for path, env in (("inplace", {}), ("premap", {"STASIS_RESTORE_PREMAP": "1"})):
            e = dict(os.environ, **env)
            result[f"restore_{path}_s"] = run([args.stasis, "restore", "-D", images, "-d", "-v0"], env=e)
            result[f"restore_{path}_verified"] = verify_restored(pid, verify)
            kill(pid)
        # Ceiling: the same bytes copied once on the same tmpfs.
        src = os.path.join(images, pages[0])
        dst = os.path.join(work, "copy")
        t0 = time.monotonic()
        with open(src, "rb") as fi, open(dst, "wb") as fo:
            left = os.path.getsize(src)
            while left:
                n = os.copy_file_range(fi.fileno(), fo.fileno(), left)
                if n <= 0:
                    break
                left -= n
        result["copy_s"] = time.monotonic() - t0
    finally:
        kill(pid)
        subprocess.run(["rm", "-rf", work])
    gb = result["pages_bytes"] / 1e9
    result["dump_gbps"] = gb / result["dump_s"]
    result["restore_inplace_gbps"] = gb / result["restore_inplace_s"]
    result["restore_premap_gbps"] = gb / result["restore_premap_s"]
    result["copy_gbps"] = gb / result["copy_s"]
    result["touch_gbps"] = gb / result["touch_s"]
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stasis", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--sizes", default="256,1024,4096")
    ap.add_argument("--vmas", type=int, default=1)
    ap.add_argument("--tmpfs", default="/dev/shm")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    become_subreaper()
    out = {"benchmark": "checkpoint-restore-throughput", "tmpfs": args.tmpfs, "ncpu": os.cpu_count(),
           "kernel": os.uname().release, "runs": []}
    for mib in [int(s) for s in args.sizes.split(",")]:
        rounds = [one_round(args, mib, args.vmas, args.tmpfs) for _ in range(args.repeat)]
        best = {k: v for k, v in rounds[0].items()}
        for key in ("dump_s", "restore_inplace_s", "restore_premap_s", "copy_s", "touch_s"):
            best[key] = min(r[key] for r in rounds)
        gb = best["pages_bytes"] / 1e9
        for key in ("dump", "restore_inplace", "restore_premap", "copy", "touch"):
            best[f"{key}_gbps"] = round(gb / best[f"{key}_s"], 3)
        best["dump_vs_copy"] = round(best["dump_gbps"] / best["copy_gbps"], 3)
        best["restore_inplace_vs_copy"] = round(best["restore_inplace_gbps"] / best["copy_gbps"], 3)
        # A restore also makes every page present in the process: on hosts
        # where first touching memory is slower than copying it (nested
        # paging), that, not the copy, is its ceiling.
        best["restore_inplace_vs_touch"] = round(best["restore_inplace_gbps"] / best["touch_gbps"], 3)
        best["all_verified"] = all(r["restore_inplace_verified"] and r["restore_premap_verified"] for r in rounds)
        best["repeat"] = args.repeat
        out["runs"].append(best)
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
