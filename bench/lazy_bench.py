#!/usr/bin/env python3
"""Lazy restore benchmark: time to first response. Prints one JSON document.

bench/mem_target with MIB MiB of touched memory (one area) is dumped to
tmpfs, then restored twice:
  eager  `stasis restore -d`: every page is read in before the process runs;
  lazy   `stasis lazy-pages` started first, then `stasis restore -d
         --lazy-pages`: the process runs at once and its pages arrive on
         first touch and in the background.
The first response is the time from starting the restore until the
restored process answers a ping (SIGUSR2, answered without touching its
memory). For lazy it also reports when the server had filled everything,
and both restores are verified by the process itself (SIGUSR1).

  bench/lazy_bench.py --stasis build/x86_64/stasis --target build/x86_64/bench/mem_target \
      [--mib 1024] [--tmpfs /dev/shm] [--repeat 3]
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cr_bench import become_subreaper, kill, run, start_target, verify_restored, wait_for  # noqa: E402


def ping(pid, verify):
    pong = verify + ".pong"
    if os.path.exists(pong):
        os.unlink(pong)
    os.kill(pid, signal.SIGUSR2)
    wait_for(pong, 120)


def one_round(args, tmp):
    work = tempfile.mkdtemp(dir=tmp, prefix="lazy-bench-")
    images = os.path.join(work, "images")
    os.mkdir(images)
    out = {}
    proc, verify = start_target(args.target, args.mib, 1, work)
    pid = proc.pid
    try:
        run([args.stasis, "dump", "-t", str(pid), "-D", images, "-v0"])
        proc.wait()
        t0 = time.monotonic()
        run([args.stasis, "restore", "-D", images, "-d", "-v0"])
        ping(pid, verify)
        out["eager_first_response_s"] = time.monotonic() - t0
        out["eager_verified"] = verify_restored(pid, verify)
        kill(pid)

        server = subprocess.Popen([args.stasis, "lazy-pages", "-D", images, "-v3", "-o",
                                   os.path.join(work, "lazy.log")], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(os.path.join(images, "lazy-pages.sock"), 60)
        t0 = time.monotonic()
        run([args.stasis, "restore", "-D", images, "-d", "--lazy-pages", "-v0"])
        ping(pid, verify)
        out["lazy_first_response_s"] = time.monotonic() - t0
        server.wait(timeout=300)
        out["lazy_all_memory_s"] = time.monotonic() - t0
        out["lazy_server_exit"] = server.returncode
        out["lazy_verified"] = verify_restored(pid, verify)
        kill(pid)
    finally:
        kill(pid)
        shutil.rmtree(work, ignore_errors=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stasis", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--tmpfs", default="/dev/shm")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    become_subreaper()
    rounds = [one_round(args, args.tmpfs) for _ in range(args.repeat)]
    best = {k: min(r[k] for r in rounds) for k in ("eager_first_response_s", "lazy_first_response_s",
                                                    "lazy_all_memory_s")}
    best = {k: round(v, 4) for k, v in best.items()}
    best["first_response_speedup"] = round(best["eager_first_response_s"] / best["lazy_first_response_s"], 1)
    best["all_verified"] = all(r["eager_verified"] and r["lazy_verified"] and r["lazy_server_exit"] == 0
                               for r in rounds)
    out = {"benchmark": "lazy-restore-time-to-first-response", "mib": args.mib, "tmpfs": args.tmpfs,
           "ncpu": os.cpu_count(), "kernel": os.uname().release, "repeat": args.repeat, "best": best}
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
