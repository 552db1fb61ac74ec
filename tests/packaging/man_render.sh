#!/usr/bin/env bash
# Every man page renders as man(1) renders it (tbl, then groff -man) without
# a single groff warning (-ww), and lexgrog (what mandb and lintian use)
# finds its NAME section.
#
#   man_render.sh PAGE...
set -uo pipefail
failed=0
for page in "$@"; do
  good=1
  warnings=$(groff -t -ww -man -Tutf8 -z "$page" 2>&1)
  if [ -n "$warnings" ]; then
    echo "$page: groff warnings:" >&2
    echo "$warnings" >&2
    good=0
  fi
  if command -v lexgrog >/dev/null && ! lexgrog "$page" >/dev/null 2>&1; then
    echo "$page: lexgrog cannot parse the NAME section" >&2
    good=0
  fi
  [ "$good" = 1 ] || failed=$((failed + 1))
done
echo "man pages: $(($# - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
