#!/usr/bin/env bash
# Proves file validation (seed 003): a program maps a file of its own; after
# the dump the file changes (a byte appended, then — with the size put back —
# its content). `stasis restore` refuses with one line naming the file,
# leaves no process with the PID behind and the images untouched; with the
# file put back, the same images restore and the program's check passes.
# --file-validation=checksum is what catches a same-size change.
. "$(dirname "$0")/common.sh"

prog=$bin/memory_file_mappings_keep_content_and_sharing
mkdir "$tmp/images"
start_target "$prog"
mapped=$(awk '$6 ~ "^'"$tmp"'/work/" && $6 !~ /(ready|prog.log)$/ {print $6; exit}' "/proc/$pid/maps")
[ -n "$mapped" ] && [ -f "$mapped" ] || fail "the target maps no file of its work dir"

"$stasis" dump -t "$pid" -D "$tmp/images" --file-validation=checksum -o "$tmp/dump.log" -v4 2>"$tmp/dump.err" ||
  fail "dump failed: $(cat "$tmp/dump.err")"
for _ in $(seq 1500); do [ -d "/proc/$pid" ] || break; sleep 0.02; done
[ -d "/proc/$pid" ] && fail "PID $pid still exists after the dump"
images_before=$(cd "$tmp/images" && sha256sum ./*)

cp -p "$mapped" "$tmp/original"
printf 'x' >>"$mapped"
expect_clean_failure "restore with a grown $mapped" "$(basename "$mapped")" restore-size \
  "$stasis" restore -D "$tmp/images" -d --pidfile "$tmp/restored.pid" -o "$tmp/restore.log" -v4
[ -d "/proc/$pid" ] && fail "a refused restore left PID $pid behind"

cp -p "$tmp/original" "$mapped"
printf 'Z' | dd of="$mapped" bs=1 seek=0 conv=notrunc status=none
expect_clean_failure "restore with a same-size changed $mapped" "checksum" restore-content \
  "$stasis" restore -D "$tmp/images" -d --file-validation=checksum --pidfile "$tmp/restored.pid" \
  -o "$tmp/restore.log" -v4
[ -d "/proc/$pid" ] && fail "a refused restore left PID $pid behind"
images_after=$(cd "$tmp/images" && sha256sum ./*)
[ "$images_before" = "$images_after" ] || fail "a refused restore changed the images"

cp -p "$tmp/original" "$mapped"
"$stasis" restore -D "$tmp/images" -d --file-validation=checksum --pidfile "$tmp/restored.pid" \
  -o "$tmp/restore.log" -v4 2>"$tmp/restore.err" || fail "restore with the file put back failed: $(cat "$tmp/restore.err")"
expect_own_check_passes
pass "$(cat "$tmp/restore-size.err") / $(cat "$tmp/restore-content.err")"
