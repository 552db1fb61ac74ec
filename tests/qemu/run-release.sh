#!/usr/bin/env bash
# The VM tier for target-device releases: boots the static stasis of each
# release archive (ci/release.sh: build/release/stasis-<version>-<arch>.tar.xz),
# byte for byte as shipped, under qemu-system with that arch's Debian kernel,
# and checks that there
#   - `stasis --version` names the archive's version and architecture, and
#   - `stasis check` exits 0 (this kernel has what checkpoint/restore needs).
#
#   tests/qemu/run-release.sh build/release/stasis-0.1.0-arm.tar.xz [...]
#
# The guest is the tier's own /init (init/vm_init.c, compiled static here
# with the arch's compiler, as toolchains/<arch>.cmake names it) and the
# release binary as /bin/stasis, packed by make-initramfs.sh with no
# scenario: /init prints the version, `stasis check` and its exit status,
# then powers off (run-vm.sh boots it). About 10-30 s of TCG per arch.
# Console logs: build/vm/logs/<arch>-release.console.log.
#
# Environment: STASIS_VM_DIR (default build/vm: kernels, logs),
# STASIS_VM_BOOT_TIMEOUT (seconds per boot, default 300).
# Exit status: 0 when every archive passed, 1 otherwise, 2 usage.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ $# -ge 1 ] && [ "${1:-}" != -h ] && [ "${1:-}" != --help ] ||
  { sed -n '2,/^set -uo/p' "$0" | sed -e '/^set -uo/d' -e 's/^# \{0,1\}//' >&2; exit 2; }
export STASIS_VM_DIR=${STASIS_VM_DIR:-$root/build/vm}
timeout=${STASIS_VM_BOOT_TIMEOUT:-300}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Checks one archive; prints "release-vm: <arch>: PASS|FAIL ..." last.
check_one() {
  local tarball name arch version work compiler triple log line start
  tarball=$(realpath "$1")
  name=$(basename "$tarball" .tar.xz) # stasis-<version>-<arch>
  arch=${name##*-}
  version=${name#stasis-}
  version=${version%-"$arch"}
  work=$tmp/$arch
  mkdir -p "$work"
  fail() { echo "release-vm: $arch: FAIL $*"; return 1; }

  if [ "$arch" = "$(uname -m)" ]; then
    compiler=gcc
  else
    triple=$(sed -n 's/^set(STASIS_TRIPLE \([^)]*\)).*/\1/p' "$root/toolchains/$arch.cmake" 2>/dev/null)
    [ -n "$triple" ] || { fail "unknown architecture (no toolchains/$arch.cmake)"; return; }
    compiler=$triple-gcc
  fi
  tar -xJf "$tarball" -C "$work" "$name/sbin/stasis" || { fail "no $name/sbin/stasis in $tarball"; return; }
  # -D_FILE_OFFSET_BITS=64: as the arm toolchain file builds it.
  "$compiler" -static -O2 -std=gnu11 -Wall -Wextra -Werror -D_FILE_OFFSET_BITS=64 \
    -DSTASIS_VM_ARCH="\"$arch\"" -o "$work/init" "$here/init/vm_init.c" ||
    { fail "cannot compile init/vm_init.c with $compiler"; return; }
  echo "# release check: no scenarios" >"$work/scenarios"
  "$here/make-initramfs.sh" "$work/guest.cpio" - "$work/init" "$work/$name/sbin/stasis" \
    "$work/scenarios" "$work" || { fail "cannot pack the guest"; return; }

  log=$STASIS_VM_DIR/logs/$arch-release.console.log
  echo "== release $name: boot $arch"
  start=$SECONDS
  if ! "$here/run-vm.sh" "$arch" --guest "$work/guest.cpio" --log "$log" --timeout "$timeout" >"$work/run.log" 2>&1; then
    cat "$work/run.log"
    fail "the guest did not start (console: $log)"
    return
  fi
  # The whole `stasis check` report stays in the console log.
  grep -E "^STASIS-VM $arch (VERSION|CHECK) |^checkpoint/restore: " "$log" | sed 's/^/   /'
  line=$(grep -m1 "^STASIS-VM $arch VERSION " "$log" | cut -d' ' -f4-)
  grep -qx "stasis $version (git [0-9a-f]*\(-dirty\)\?, $arch)" <<<"$line" ||
    { fail "stasis --version in the guest said '${line:-nothing}', not stasis $version for $arch"; return; }
  line=$(grep -m1 "^STASIS-VM $arch CHECK " "$log" | cut -d' ' -f4-)
  [ "$line" = "exit 0" ] || { fail "stasis check in the guest: ${line:-no result} (console: $log)"; return; }
  grep -q "^STASIS-VM $arch END " "$log" || { fail "the guest did not finish (console: $log)"; return; }
  echo "release-vm: $arch: PASS $line, kernel $(sed -n "s/^STASIS-VM $arch BEGIN .*kernel \([^ ]*\).*/\1/p" "$log")," \
    "booted in $((SECONDS - start))s"
}

failed=0
for t in "$@"; do
  check_one "$t" || failed=1
done
exit $failed
