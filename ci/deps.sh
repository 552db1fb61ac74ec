#!/usr/bin/env bash
# Installs every Debian package that building, testing and cross-building
# stasis needs. Idempotent: a second run on a ready machine does no apt work.
#
# The multiarch trap (see docs/design.md, "Build"): packages marked
# Multi-Arch: same must carry one version on every architecture. The amd64
# linux-libc-dev may come from the security suite while the foreign arches
# only have the main suite's version; a naive install then proposes to remove
# the host compilers. We pin linux-libc-dev to the newest version that every
# architecture offers, and refuse to go on if apt still wants to remove
# anything.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "ci/deps.sh: must run as root (it installs Debian packages)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
FOREIGN=(arm64 armhf ppc64el s390x)
ALL=(amd64 "${FOREIGN[@]}")

NATIVE_PKGS=(
  build-essential cmake ninja-build ccache pkg-config python3
  protobuf-compiler libprotobuf-dev libcapstone-dev libboost-program-options-dev
  libgtest-dev libgmock-dev zlib1g-dev
  clang-14 libclang-rt-14-dev llvm-14
  g++-aarch64-linux-gnu g++-arm-linux-gnueabihf g++-powerpc64le-linux-gnu g++-s390x-linux-gnu
  qemu-user-static
  qemu-system-arm qemu-system-ppc qemu-system-misc qemu-system-x86 cpio xz-utils
  binutils-multiarch file
  pandoc debhelper lintian bash-completion zsh
)
# pkgconf:<arch> provides <triplet>-pkg-config for Debian cross package builds.
PER_ARCH_PKGS=(libc6-dev libprotobuf-dev libcapstone-dev libboost-program-options-dev libgtest-dev zlib1g-dev pkgconf)

have_arch() { dpkg --print-foreign-architectures | grep -qx "$1"; }

added=0
for a in "${FOREIGN[@]}"; do
  if ! have_arch "$a"; then
    dpkg --add-architecture "$a"
    added=1
  fi
done

# One `apt-get update`, only when the indexes are missing or a day old.
stamp=/var/lib/apt/lists/.stasis-deps-update
need_update=$added
[ -f "$stamp" ] || need_update=1
if [ -f "$stamp" ] && [ -n "$(find "$stamp" -mmin +1440 2>/dev/null)" ]; then need_update=1; fi
for a in "${FOREIGN[@]}"; do
  ls /var/lib/apt/lists/*_dists_bookworm_main_binary-"$a"_Packages* >/dev/null 2>&1 || need_update=1
done
if [ "$need_update" = 1 ]; then
  echo "ci/deps.sh: apt-get update"
  # Some indexes (security has no s390x; third-party sources have no foreign
  # arches) may fail: the main indexes are enough.
  apt-get update -q -o APT::Update::Error-Mode=any >/dev/null 2>&1 || apt-get update -q >/dev/null 2>&1 || true
  touch "$stamp"
fi

# The newest version of package $1 that every architecture in $2.. offers.
common_version() {
  local pkg=$1 a versions
  shift
  versions=$(apt-cache madison "$pkg:$1" | awk -F'|' '{gsub(/ /,"",$2); print $2}' | sort -u)
  shift
  for a in "$@"; do
    versions=$(comm -12 <(echo "$versions") \
      <(apt-cache madison "$pkg:$a" | awk -F'|' '{gsub(/ /,"",$2); print $2}' | sort -u))
  done
  local best=
  for v in $versions; do
    if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then best=$v; fi
  done
  echo "$best"
}
LIBC_DEV_VERSION=$(common_version linux-libc-dev "${ALL[@]}")
if [ -z "$LIBC_DEV_VERSION" ]; then
  echo "ci/deps.sh: no linux-libc-dev version is available for all of: ${ALL[*]}" >&2
  exit 1
fi

want=("${NATIVE_PKGS[@]}")
for a in "${ALL[@]}"; do
  for p in "${PER_ARCH_PKGS[@]}"; do want+=("$p:$a"); done
  want+=("linux-libc-dev:$a=$LIBC_DEV_VERSION")
done

# Fast path: everything already installed at the wanted versions.
missing=()
for spec in "${want[@]}"; do
  pkg=${spec%%=*}
  ver=
  [[ "$spec" == *=* ]] && ver=${spec#*=}
  q=$pkg
  [[ "$q" == *:* ]] || q="$q:amd64"
  status=$(dpkg-query -W -f='${db:Status-Abbrev}|${Version}' "$q" 2>/dev/null ||
           dpkg-query -W -f='${db:Status-Abbrev}|${Version}' "${pkg%%:*}" 2>/dev/null || true)
  if [[ "$status" != ii* ]] || { [ -n "$ver" ] && [ "${status#*|}" != "$ver" ]; }; then
    missing+=("$spec")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "ci/deps.sh: all packages present (linux-libc-dev $LIBC_DEV_VERSION on ${ALL[*]})"
  exit 0
fi

echo "ci/deps.sh: installing ${#missing[@]} package(s): ${missing[*]}"
# Simulate first. When a foreign Multi-Arch: same library cannot follow the
# amd64 version (the security index of a foreign arch failed to download, or
# lags), pin that library to a version every involved arch has, and retry.
# pin_arches[pkg]: the arches a skewed library is pinned on; pin_ver[pkg]: the
# one version it gets on all of them; moved: installed siblings that follow.
declare -A pin_arches=() pin_ver=()
moved_pins=()
pins=()
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  pins=("${moved_pins[@]}")
  for pkg in "${!pin_ver[@]}"; do
    for a in ${pin_arches[$pkg]}; do pins+=("$pkg:$a=${pin_ver[$pkg]}"); done
  done
  if sim=$(apt-get install -s -y --no-install-recommends --allow-downgrades "${want[@]}" "${pins[@]}" 2>&1); then
    # A pinned library may drag installed siblings of the same source
    # (libssl3 -> libssl-dev, openssl) into removal: move them to the same
    # version when the archive has it, else refuse below.
    moved=0
    for r in $(echo "$sim" | sed -n 's/^Remv \([^ ]*\) .*/\1/p'); do
      for pin in "${pins[@]}"; do
        v=${pin#*=}
        if apt-cache madison "$r" | awk -F'|' '{gsub(/ /,"",$2); print $2}' | grep -qxF "$v" &&
           [[ " ${pins[*]} " != *" $r=$v "* ]]; then
          echo "ci/deps.sh: moving $r to $v with its library"
          moved_pins+=("$r=$v"); moved=1; break
        fi
      done
    done
    [ "$moved" = 1 ] || break
    continue
  fi
  # Every package named in apt's complaint, with its arch (amd64 when bare):
  # "X:arch : Depends: Y:arch (= V) but it is not installable", "... but it
  # is not going to be installed", "Breaks: Y:arch (!= V)". apt resolves
  # dependencies against candidate versions only, so a library pinned below
  # its candidate must be pinned on every arch that depends on it.
  skewed=$(echo "$sim" | sed -n '/unmet dependencies/,$p' |
    grep -oE '^ *[a-z0-9][a-z0-9.+-]*(:[a-z0-9]+)? :|(Depends|Breaks): [a-z0-9][a-z0-9.+-]*(:[a-z0-9]+)?' |
    sed -E 's/^(Depends|Breaks): //; s/ *:$//; s/^ *//' |
    awk -F: '{print $1, ($2 == "" ? "amd64" : $2)}' | sort -u)
  grew=0
  while read -r pkg arch; do
    [ -n "$pkg" ] || continue
    case " ${pin_arches[$pkg]:-} " in *" $arch "*) continue ;; esac
    pin_arches[$pkg]="${pin_arches[$pkg]:-amd64} $arch"
    grew=1
  done <<<"$skewed"
  if [ "$grew" = 0 ] || [ "$attempt" = 10 ]; then
    echo "$sim" | tail -20 >&2
    echo "ci/deps.sh: apt-get cannot resolve the package set (see above)" >&2
    exit 1
  fi
  for pkg in "${!pin_arches[@]}"; do
    pin_arches[$pkg]=$(echo ${pin_arches[$pkg]} | tr ' ' '\n' | sort -u | tr '\n' ' ')
    # Multi-Arch: same libraries need one version on every arch we install.
    ver=$(common_version "$pkg" "${ALL[@]}")
    [ -n "$ver" ] || ver=$(common_version "$pkg" ${pin_arches[$pkg]})
    if [ -z "$ver" ]; then
      echo "$sim" | tail -20 >&2
      echo "ci/deps.sh: no common version of $pkg for ${pin_arches[$pkg]}" >&2
      exit 1
    fi
    pin_ver[$pkg]=$ver
  done
  echo "ci/deps.sh: attempt $attempt: pinning (multiarch version skew):" \
    $(for p in "${!pin_ver[@]}"; do echo "$p=${pin_ver[$p]}[${pin_arches[$p]% }]"; done | sort)
done
if echo "$sim" | grep -q '^Remv '; then
  echo "$sim" | grep '^Remv ' >&2
  echo "ci/deps.sh: refusing: installing would remove the packages above (multiarch version skew?)" >&2
  exit 1
fi
apt-get install -y -q --no-install-recommends --allow-downgrades "${want[@]}" "${pins[@]}" >/dev/null
echo "ci/deps.sh: done (linux-libc-dev $LIBC_DEV_VERSION on ${ALL[*]})"

# The VM tier boots Debian's own kernel packages (never a hand-made kernel):
# fetched here, cached in build/vm/kernels (ci/vm.sh fetches any that are
# still missing). STASIS_VM=0 skips them, as it skips the tier.
if [ "${STASIS_VM:-1}" != 0 ]; then
  "$(dirname "$0")/../tests/qemu/fetch-kernels.sh"
fi
