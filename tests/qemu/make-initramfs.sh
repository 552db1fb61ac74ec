#!/usr/bin/env bash
# Packs the VM tier's guest: an uncompressed newc initramfs (no decompression
# under TCG) with
#
#   /init                       tests/qemu/init/vm_init.c, static
#   /bin/stasis                 the static stasis
#   /live/<scenario>            the static live scenario programs
#   /etc/stasis-vm/scenarios    what /init runs, in order
#
# Binaries are stripped copies (the build keeps the unstripped ones for
# addr2line). Called by tests/qemu/CMakeLists.txt (target stasis_vm_guest),
# and by run-release.sh with STRIP "-": binaries copied as they are (a
# release binary is tested byte for byte) and an empty scenario list.
#
#   make-initramfs.sh OUT STRIP|- INIT STASIS SCENARIO_LIST LIVE_BIN_DIR
set -euo pipefail
[ $# -eq 6 ] || { sed -n '2,/^set -e/p' "$0" | sed -e '/^set -e/d' -e 's/^# \{0,1\}//' >&2; exit 2; }
out=$1 strip=$2 init=$3 stasis=$4 list=$5 live_bin=$6

stage=$(mktemp -d "${out}.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,live,etc/stasis-vm,proc,sys,dev,tmp}

put() { # DEST SOURCE
  if [ "$strip" = - ]; then cp "$2" "$1"; else "$strip" -o "$1" "$2"; fi
}
put "$stage/init" "$init"
put "$stage/bin/stasis" "$stasis"
cp "$list" "$stage/etc/stasis-vm/scenarios"
while read -r run _; do
  case $run in ''|'#'*) continue ;; esac
  name=${run%%.*}   # a run <scenario>.<mode> uses the scenario's program
  [ -e "$stage/live/$name" ] && continue
  [ -x "$live_bin/$name" ] || { echo "make-initramfs: no program $live_bin/$name for run $run" >&2; exit 1; }
  put "$stage/live/$name" "$live_bin/$name"
done <"$list"
chmod 755 "$stage/init" "$stage/bin/stasis"
find "$stage/live" -type f -exec chmod 755 {} +

# Owned by root, stable order and timestamps: the same inputs give the same
# archive.
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible) >"$out.tmp"
mv "$out.tmp" "$out"
