#!/usr/bin/env bash
# Proves: `stasis restore --lazy-pages` when no `stasis lazy-pages` serves
# the images fails with one line saying so, starts nothing (the PID stays
# free) and leaves the images untouched; `stasis lazy-pages` on a pre-dump
# refuses with one line.
. "$(dirname "$0")/common.sh"

prog=$bin/memory_heap_and_anonymous_keep_content
mkdir "$tmp/images" "$tmp/pre"
start_target "$prog"
STASIS_DIRTY_TRACKING=content "$stasis" pre-dump -t "$pid" -D "$tmp/pre" -o "$tmp/pre.log" -v4 2>"$tmp/pre.err" ||
  fail "pre-dump failed: $(cat "$tmp/pre.err")"
"$stasis" dump -t "$pid" -D "$tmp/images" -o "$tmp/dump.log" -v4 2>"$tmp/dump.err" ||
  fail "dump failed: $(cat "$tmp/dump.err")"
for _ in $(seq 1500); do [ -d "/proc/$pid" ] || break; sleep 0.02; done
[ -d "/proc/$pid" ] && fail "PID $pid still exists after the dump"
before=$(cd "$tmp/images" && sha256sum ./*)

expect_clean_failure "lazy restore without a server" "lazy-pages" restore \
  "$stasis" restore -D "$tmp/images" -d --lazy-pages --pidfile "$tmp/restored.pid" -o "$tmp/restore.log" -v4
[ -d "/proc/$pid" ] && fail "a refused lazy restore left PID $pid behind"
after=$(cd "$tmp/images" && sha256sum ./*)
[ "$before" = "$after" ] || fail "the refused restore changed the images"

expect_clean_failure "lazy-pages on a pre-dump" "pre-dump" lazy-pre \
  "$stasis" lazy-pages -D "$tmp/pre" -o "$tmp/lazy-pre.log" -v4
pass "$(cat "$tmp/restore.err") / $(cat "$tmp/lazy-pre.err")"
