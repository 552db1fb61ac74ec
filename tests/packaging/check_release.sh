#!/usr/bin/env bash
# Checks one target-device release archive (ci/release.sh runs it for each):
# its SHA256SUMS verify; sbin/stasis is a static, stripped ELF of the
# architecture in its name; `stasis --version` runs (under qemu-<arch>-static
# for a foreign one) and names that version and architecture; the man pages
# render without groff warnings.
#
#   tests/packaging/check_release.sh build/release/stasis-0.1.0-aarch64.tar.xz
set -uo pipefail
tarball=$(realpath "$1")
here=$(dirname "$(realpath "$0")")
name=$(basename "$tarball" .tar.xz)  # stasis-<version>-<arch>
arch=${name##*-}
version=${name#stasis-}
version=${version%-"$arch"}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
ok() { echo "  ok: $*"; passed=$((passed + 1)); }
bad() { echo "  FAILED: $*" >&2; failed=$((failed + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

case $arch in
x86_64) class=ELF64 data=little machine="Advanced Micro Devices X86-64" qemu= ;;
aarch64) class=ELF64 data=little machine="AArch64" qemu=qemu-aarch64-static ;;
arm) class=ELF32 data=little machine="ARM" qemu=qemu-arm-static ;;
ppc64le) class=ELF64 data=little machine="PowerPC64" qemu=qemu-ppc64le-static ;;
s390x) class=ELF64 data=big machine="IBM S/390" qemu=qemu-s390x-static ;;
*) echo "check_release.sh: $tarball: unknown architecture '$arch'" >&2; exit 1 ;;
esac
[ "$arch" = "$(uname -m)" ] && qemu=
echo "== $(basename "$tarball"): $arch, version $version"

tar -xJf "$tarball" -C "$tmp"
dir=$tmp/$name
check "one top directory $name" test "$(ls "$tmp")" = "$name"
check "SHA256SUMS verify" bash -c 'cd "$1" && sha256sum --quiet -c SHA256SUMS' _ "$dir"
check "SHA256SUMS covers every file" bash -c \
  'cd "$1" && diff <(find . -type f ! -name SHA256SUMS -printf "%P\n" | LC_ALL=C sort) <(awk "{print \$2}" SHA256SUMS | LC_ALL=C sort)' _ "$dir"
bin=$dir/sbin/stasis
header=$(readelf -h "$bin" 2>&1)
check "ELF class $class" grep -q "Class: *$class" <<<"$header"
check "ELF byte order $data endian" grep -q "Data: .*$data endian" <<<"$header"
check "ELF machine $machine" grep -q "Machine: *$machine\$" <<<"$header"
check "statically linked (no interpreter, no NEEDED)" \
  bash -c '! readelf -l "$1" | grep -q INTERP && ! readelf -d "$1" 2>/dev/null | grep -q NEEDED' _ "$bin"
check "stripped" bash -c '! readelf -S "$1" | grep -q "\.symtab"' _ "$bin"
for page in share/man/man8/stasis.8 share/man/man5/stasis-image.5; do
  check "has $page" test -f "$dir/$page"
done
check "man pages render without warnings" "$here/man_render.sh" "$dir/share/man/man8/stasis.8" \
  "$dir/share/man/man5/stasis-image.5"

if [ -n "$qemu" ] && ! command -v "$qemu" >/dev/null; then
  bad "$qemu not installed"
else
  out=$(if [ -n "$qemu" ]; then "$qemu" "$bin" --version; else "$bin" --version; fi 2>&1)
  check "stasis --version under ${qemu:-the native CPU}: $out" \
    grep -qx "stasis $version (git [0-9a-f]*\(-dirty\)\?, $arch)" <<<"$out"
fi
size=$(stat -c %s "$bin")
echo "  sbin/stasis: $((size / 1024)) KiB static"
echo "$(basename "$tarball"): $passed passed, $failed failed"
[ "$failed" -eq 0 ]
