#!/usr/bin/env bash
# Records the live vDSO of every kernel of the cross-kernel pairs
# (tests/qemu/xkernel-pairs.txt) as test data, next to this script:
#
#   <arch>/<generation>.vdso     the bytes of [vdso], as mapped (an ELF)
#   <arch>/<generation>.layout   release R
#                                page_size N
#                                <area> <start - [vdso] start, signed hex> <size, hex>
#                                ... one line per [vdso] [vvar] [vvar_vclock]
#                                [sigpage] [vectors] area, in address order
#
#   tests/data/vdso/record.sh [ARCH...]          default: all five
#
# How: builds record_init.c with the arch's cross gcc (static), packs it as
# the /init of an initramfs, boots it under each kernel of the arch's pair
# with tests/qemu/run-vm.sh (kernels from tests/qemu/fetch-kernels.sh,
# cached in build/vm/kernels), and decodes the "VDSO-RECORD" lines of the
# console. Needs the cross compilers and qemu-system of ci/deps.sh. Console
# logs: build/vm/logs/vdso-record-<arch>-<generation>.console.log.
#
# A [vdso] is the same for every boot of a kernel build (the kernel links
# it in), so a re-record changes the files only when the kernel package did;
# the release in the .layout says which one it was.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
me=record-vdso
cd "$root"

arches=("$@")
[ ${#arches[@]} -eq 0 ] && arches=(x86_64 aarch64 arm ppc64le s390x)
vm_dir=${STASIS_VM_DIR:-$root/build/vm}
work=$vm_dir/vdso-record
mkdir -p "$work" "$vm_dir/logs"

cc_of() {
  case $1 in
    x86_64) echo "${CC_x86_64:-x86_64-linux-gnu-gcc}" ;;
    aarch64) echo aarch64-linux-gnu-gcc ;; arm) echo arm-linux-gnueabihf-gcc ;;
    ppc64le) echo powerpc64le-linux-gnu-gcc ;; s390x) echo s390x-linux-gnu-gcc ;;
    *) echo "$me: unknown architecture '$1'" >&2; return 1 ;;
  esac
}

# "<area> <signed hex offset> <hex size>" for the maps lines on stdin.
layout_lines() {
  local vdso_start=$1 range name a b off
  while read -r range _ _ _ _ name; do
    a=$((16#${range%-*})) b=$((16#${range#*-}))
    off=$((a - vdso_start))
    if [ "$off" -lt 0 ]; then
      printf "%s -0x%x 0x%x\n" "${name//[\[\]]/}" $((-off)) $((b - a))
    else
      printf "%s 0x%x 0x%x\n" "${name//[\[\]]/}" "$off" $((b - a))
    fi
  done
}

decode() { # LOG ARCH GEN
  local log=$1 arch=$2 gen=$3 lines out=$here/$2
  lines=$(sed -n 's/^VDSO-RECORD //p' "$log")
  if grep -q '^ABORT' <<<"$lines"; then
    echo "$me: $arch/$gen: the guest says: $(grep '^ABORT' <<<"$lines")" >&2; return 1
  fi
  grep -qx BEGIN <<<"$lines" && grep -q '^END ' <<<"$lines" || {
    echo "$me: $arch/$gen: no complete record on the console ($log)" >&2; return 1; }
  local release page_size size maps vdso_line vdso_start
  release=$(sed -n 's/^release //p' <<<"$lines")
  page_size=$(sed -n 's/^page_size //p' <<<"$lines")
  size=$(sed -n 's/^END //p' <<<"$lines")
  maps=$(sed -n 's/^map //p' <<<"$lines")
  vdso_line=$(grep ' \[vdso\]$' <<<"$maps" | head -1)
  [ -n "$vdso_line" ] || { echo "$me: $arch/$gen: no [vdso] line" >&2; return 1; }
  vdso_start=$((16#${vdso_line%%-*}))
  # The hex lines must cover [vdso] exactly, in order, 32 bytes each.
  local expect=0 off hex bytes=''
  while read -r off hex; do
    [ $((16#$off)) -eq "$expect" ] || { echo "$me: $arch/$gen: hex line at $off, expected $(printf %x $expect)" >&2; return 1; }
    expect=$((expect + ${#hex} / 2))
  done < <(sed -n 's/^hex //p' <<<"$lines")
  [ "$expect" -eq "$size" ] || { echo "$me: $arch/$gen: $expect bytes decoded, the guest sent $size" >&2; return 1; }
  mkdir -p "$out"
  sed -n 's/^hex [0-9a-f]* //p' <<<"$lines" | xxd -r -p >"$out/$gen.vdso.tmp"
  [ "$(stat -c %s "$out/$gen.vdso.tmp")" -eq "$size" ] || { echo "$me: $arch/$gen: bad hex" >&2; return 1; }
  if ! readelf -h "$out/$gen.vdso.tmp" >/dev/null 2>&1; then
    echo "$me: $arch/$gen: the [vdso] bytes are no ELF readelf reads" >&2; return 1
  fi
  {
    echo "release $release"
    echo "page_size $page_size"
    layout_lines "$vdso_start" <<<"$maps"
  } >"$out/$gen.layout.tmp"
  mv "$out/$gen.vdso.tmp" "$out/$gen.vdso"
  mv "$out/$gen.layout.tmp" "$out/$gen.layout"
  echo "$me: $arch/$gen: $release, page size $page_size, [vdso] $size bytes -> tests/data/vdso/$arch/$gen.{vdso,layout}"
  sed 's/^/    /' "$out/$gen.layout"
}

failed=0
for arch in "${arches[@]}"; do
  pair=$(awk -v a="$arch" '$1 == a { print $2, $3 }' "$root/tests/qemu/xkernel-pairs.txt")
  [ -n "$pair" ] || { echo "$me: no pair for '$arch' in tests/qemu/xkernel-pairs.txt" >&2; failed=1; continue; }
  cc=$(cc_of "$arch") || { failed=1; continue; }
  command -v "$cc" >/dev/null || { [ "$arch" = x86_64 ] && [ "$(uname -m)" = x86_64 ] && cc=gcc; }
  dir=$work/$arch
  rm -rf "$dir" && mkdir -p "$dir/stage/dev" "$dir/stage/proc"
  "$cc" -static -O2 -Wall -Wextra -Werror -DRECORD_ARCH="\"$arch\"" -o "$dir/stage/init" "$here/record_init.c"
  (cd "$dir/stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) >"$dir/guest.cpio"
  for gen in $pair; do
    log=$vm_dir/logs/vdso-record-$arch-$gen.console.log
    "$root/tests/qemu/run-vm.sh" "$arch" --guest "$dir/guest.cpio" --kernel-generation "$gen" --log "$log" \
      --timeout 300 --no-results >"$log.run" 2>&1 || { cat "$log.run" >&2; }
    decode "$log" "$arch" "$gen" || failed=1
  done
done
exit $failed
