#!/usr/bin/env bash
# Proves: `stasis restore -D DIR` where DIR has no inventory.img (an
# incomplete dump) fails with one line on stderr about the missing
# inventory, starts nothing, and leaves DIR as it was.
. "$(dirname "$0")/common.sh"

mkdir "$tmp/images"
echo "not an image" >"$tmp/images/core-1.img"
before=$(cd "$tmp/images" && sha256sum ./*)
expect_clean_failure "restore without inventory.img" "inventory" restore \
  "$stasis" restore -D "$tmp/images" -d --pidfile "$tmp/restored.pid" -o "$tmp/restore.log" -v4
[ -s "$tmp/restored.pid" ] && fail "a failed restore wrote a pidfile ($(cat "$tmp/restored.pid"))"
after=$(cd "$tmp/images" && sha256sum ./*)
[ "$before" = "$after" ] || fail "the failed restore changed the image directory"
pass "$(cat "$tmp/restore.err")"
