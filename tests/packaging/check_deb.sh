#!/usr/bin/env bash
# Checks one built stasis .deb (ci/package.sh runs it for each):
#   - the Architecture field, and the ELF class, byte order and machine of
#     /usr/sbin/stasis match that architecture;
#   - the file list: binary, both man pages, bash and zsh completion,
#     copyright; nothing outside /usr; Depends filled in by dpkg-shlibdeps;
#   - every shared library the binary needs is in a package named in Depends;
#   - the binary runs: `stasis --version` (under qemu-<arch>-static for a
#     foreign package) prints this package's version and architecture;
#   - a native package is installed with `dpkg --root` into a throwaway root
#     and `stasis --version` and `stasis check` run from there; `man stasis`
#     and `man 5 stasis-image` find its pages and its bash and zsh
#     completion work (bash_completion_test.sh, zsh_completion_test.sh).
#
#   tests/packaging/check_deb.sh build/packages/stasis_0.1.0_arm64.deb
#
# Exit 0 when every check passed; prints "N passed, N failed" last.
set -uo pipefail
deb=$(realpath "$1")
here=$(dirname "$(realpath "$0")")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
ok() { echo "  ok: $*"; passed=$((passed + 1)); }
bad() { echo "  FAILED: $*" >&2; failed=$((failed + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

arch=$(dpkg-deb -f "$deb" Architecture)
version=$(dpkg-deb -f "$deb" Version)
depends=$(dpkg-deb -f "$deb" Depends)
# Debian architecture -> stasis name, ELF class, byte order, readelf machine, qemu.
case $arch in
amd64) stasis_arch=x86_64 class=ELF64 data=little machine="Advanced Micro Devices X86-64" qemu= ;;
arm64) stasis_arch=aarch64 class=ELF64 data=little machine="AArch64" qemu=qemu-aarch64-static ;;
armhf) stasis_arch=arm class=ELF32 data=little machine="ARM" qemu=qemu-arm-static ;;
ppc64el) stasis_arch=ppc64le class=ELF64 data=little machine="PowerPC64" qemu=qemu-ppc64le-static ;;
s390x) stasis_arch=s390x class=ELF64 data=big machine="IBM S/390" qemu=qemu-s390x-static ;;
*) echo "check_deb.sh: $deb: unexpected Architecture '$arch'" >&2; exit 1 ;;
esac
echo "== $(basename "$deb"): $arch ($stasis_arch), version $version"
native=$(dpkg --print-architecture)
[ "$arch" = "$native" ] && qemu=

check "file name says $arch" test "$(basename "$deb")" = "stasis_${version}_${arch}.deb"
check "Depends filled in (${depends})" \
  bash -c '[[ "$1" == *libc6* && "$1" != *'"'"'${'"'"'* ]]' _ "$depends"

dpkg-deb -x "$deb" "$tmp/x"
bin=$tmp/x/usr/sbin/stasis
header=$(readelf -h "$bin" 2>&1)
check "ELF class $class" grep -q "Class: *$class" <<<"$header"
check "ELF byte order $data endian" grep -q "Data: .*$data endian" <<<"$header"
check "ELF machine $machine" grep -q "Machine: *$machine\$" <<<"$header"
check "dynamically linked (dpkg-shlibdeps has work to do)" bash -c 'readelf -d "$1" | grep -q NEEDED' _ "$bin"

files=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')
for want in /usr/sbin/stasis /usr/share/man/man8/stasis.8.gz /usr/share/man/man5/stasis-image.5.gz \
  /usr/share/bash-completion/completions/stasis /usr/share/zsh/vendor-completions/_stasis \
  /usr/share/doc/stasis/copyright; do
  check "contains $want" grep -qx "$want" <<<"$files"
done
check "nothing outside /usr" bash -c '! grep -v -e "^/$" -e "^/usr/" -e "^/usr$" <<<"$1"' _ "$files"
check "nothing in /usr/local" bash -c '! grep -q "^/usr/local" <<<"$1"' _ "$files"

# Every NEEDED library belongs to a package named in Depends (what
# dpkg-shlibdeps should have found); looked up in this machine's dpkg
# database, where ci/deps.sh installed the libraries of every architecture.
needed=$(readelf -d "$bin" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
for lib in $needed; do
  owner=$(dpkg -S "*/$lib" 2>/dev/null | grep ":$arch:" | head -1 | cut -d: -f1)
  if [ -z "$owner" ]; then
    owner=$(dpkg -S "*/$lib" 2>/dev/null | grep -v ':' | head -1 | cut -d: -f1)
  fi
  if [ -z "$owner" ]; then
    echo "  note: no $arch package on this machine ships $lib; not checked"
    continue
  fi
  check "$lib ($owner) in Depends" bash -c '[[ ", $1," == *", $2 "* || ", $1," == *", $2,"* || ", $1," == *"| $2 "* ]]' _ "$depends" "$owner"
done

# Runs the unpacked binary: natively, or under qemu-user with the multiarch
# libraries of this machine (no -L: the ELF interpreter path resolves to the
# multiarch loader, see toolchains/common.cmake).
run() {
  if [ -n "$qemu" ]; then "$qemu" "$@"; else "$@"; fi
}
if [ -n "$qemu" ] && ! command -v "$qemu" >/dev/null; then
  bad "$qemu not installed"
else
  out=$(run "$bin" --version 2>&1)
  check "stasis --version under ${qemu:-the native CPU}: $out" \
    grep -qx "stasis ${version%%-*} (git [0-9a-f]*\(-dirty\)\?, $stasis_arch)" <<<"$out"
fi

if [ "$arch" = "$native" ]; then
  # A throwaway root with an empty dpkg database: the package installs
  # there with dpkg itself (its dependencies are this machine's, hence
  # --force-depends), and runs from there.
  r=$tmp/root
  mkdir -p "$r/var/lib/dpkg/info" "$r/var/lib/dpkg/updates" "$r/var/lib/dpkg/triggers"
  touch "$r/var/lib/dpkg/status" "$r/var/lib/dpkg/available"
  if dpkg --root="$r" --force-depends --force-not-root --log=/dev/null -i "$deb" >"$tmp/dpkg.log" 2>&1; then
    ok "dpkg --root installs it"
    status=$(dpkg --root="$r" -s stasis 2>/dev/null | sed -n 's/^Status: //p')
    check "dpkg --root says: $status" test "$status" = "install ok installed"
    out=$("$r/usr/sbin/stasis" --version 2>&1)
    check "installed stasis --version: $out" grep -q "^stasis ${version%%-*} " <<<"$out"
    if "$r/usr/sbin/stasis" check >"$tmp/check.out" 2>&1; then
      ok "installed stasis check: $(tail -2 "$tmp/check.out" | head -1)"
    else
      sed 's/^/    /' "$tmp/check.out" | tail -15 >&2
      bad "installed stasis check"
    fi
    # `man stasis` by name, as a user types it, with the installed pages
    # as the only manual.
    check "man stasis finds and renders the installed stasis(8)" \
      bash -c 'MANPATH="$1" MANWIDTH=80 man stasis 2>&1 | grep -q "^COMMANDS"' _ "$r/usr/share/man"
    check "man 5 stasis-image finds the installed stasis-image(5)" \
      bash -c 'MANPATH="$1" MANWIDTH=80 man 5 stasis-image 2>&1 | grep -q "^NAME"' _ "$r/usr/share/man"
    # The installed completion, driven as bash-completion and zsh load it.
    for t in "bash_completion_test.sh $r/usr/share/bash-completion/completions/stasis" \
             "zsh_completion_test.sh $r/usr/share/zsh/vendor-completions/_stasis"; do
      read -r script file <<<"$t"
      "$here/$script" "$file" >"$tmp/completion.log" 2>&1
      case $? in
      0) ok "installed completion: $script: $(tail -1 "$tmp/completion.log")" ;;
      77) echo "  note: $script skipped: $(tail -1 "$tmp/completion.log")" ;;
      *) sed 's/^/    /' "$tmp/completion.log" | tail -15 >&2; bad "installed completion: $script" ;;
      esac
    done
    dpkg --root="$r" --force-not-root --log=/dev/null -P stasis >"$tmp/purge.log" 2>&1
    check "dpkg --root purges it, leaving no file" \
      bash -c '[ -z "$(find "$1/usr" -type f 2>/dev/null)" ]' _ "$r"
  else
    cat "$tmp/dpkg.log" >&2
    bad "dpkg --root installs it"
  fi
fi

echo "$(basename "$deb"): $passed passed, $failed failed"
[ "$failed" -eq 0 ]
