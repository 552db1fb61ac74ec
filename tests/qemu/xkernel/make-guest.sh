#!/usr/bin/env bash
# Packs the cross-kernel tier's guest: an uncompressed newc initramfs with
#
#   /init              tests/qemu/xkernel/xkernel_init.c, static
#   /bin/stasis        the static stasis
#   /live/<name>       the program that moves between kernels, static
#
# all stripped. The modules of each kernel are not in it: run-xkernel.sh
# appends them as a second archive per boot (the kernel unpacks
# concatenated archives one after the other). Called by
# tests/qemu/CMakeLists.txt (target stasis_xkernel_guest).
#
#   make-guest.sh OUT STRIP INIT STASIS PROGRAM NAME
set -euo pipefail
[ $# -eq 6 ] || { sed -n '2,/^set -e/p' "$0" | sed -e '/^set -e/d' -e 's/^# \{0,1\}//' >&2; exit 2; }
out=$1 strip=$2 init=$3 stasis=$4 prog=$5 name=$6
stage=$(mktemp -d "${out}.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,live,proc,sys,dev,tmp}
"$strip" -o "$stage/init" "$init"
"$strip" -o "$stage/bin/stasis" "$stasis"
"$strip" -o "$stage/live/$name" "$prog"
chmod 755 "$stage/init" "$stage/bin/stasis" "$stage/live/$name"
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible) >"$out.tmp"
mv "$out.tmp" "$out"
