#!/usr/bin/env bash
# cmake --install of a build tree into a scratch DESTDIR, with a prefix that
# is not /usr: every installed file must land under DESTDIR/PREFIX, and the
# expected ones must be there.
#
#   install_layout.sh BUILD_DIR [CMAKE]
set -uo pipefail
build=$1
cmake=${2:-cmake}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=/opt/stasis-test
if ! DESTDIR=$tmp/dest "$cmake" --install "$build" --prefix "$prefix" >"$tmp/log" 2>&1; then
  cat "$tmp/log" >&2
  echo "install_layout.sh: cmake --install failed" >&2
  exit 1
fi
failed=0
passed=0
while read -r f; do
  case $f in
  "$tmp/dest$prefix"/*) passed=$((passed + 1)) ;;
  *) echo "installed outside DESTDIR/PREFIX: $f" >&2; failed=$((failed + 1)) ;;
  esac
done < <(find "$tmp/dest" -type f -o -type l)
# The completion directories are cache settings (cmake/Install.cmake;
# debian/rules puts zsh's in Debian's share/zsh/vendor-completions).
cached() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
bash_dir=$(cached STASIS_BASH_COMPLETION_DIR)
zsh_dir=$(cached STASIS_ZSH_COMPLETION_DIR)
want=(sbin/stasis "${bash_dir:-share/bash-completion/completions}/stasis"
      "${zsh_dir:-share/zsh/site-functions}/_stasis" share/doc/stasis/image-format.md)
if grep -q '^STASIS_MAN_PAGES:' "$build/CMakeCache.txt" && [ -f "$build/docs/man/stasis.8" ]; then
  want+=(share/man/man8/stasis.8 share/man/man5/stasis-image.5)
fi
for w in "${want[@]}"; do
  if [ -e "$tmp/dest$prefix/$w" ]; then passed=$((passed + 1)); else
    echo "missing: $prefix/$w" >&2; failed=$((failed + 1)); fi
done
[ -x "$tmp/dest$prefix/sbin/stasis" ] || { echo "sbin/stasis is not executable" >&2; failed=$((failed + 1)); }
echo "install layout: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
