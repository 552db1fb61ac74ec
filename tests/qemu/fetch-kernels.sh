#!/usr/bin/env bash
# Fetches the Debian kernels the VM tier boots, and caches them under
# build/vm/kernels/<arch>/<generation>/ (or $STASIS_VM_DIR/kernels):
#
#   kernel     the image qemu-system -kernel takes (vmlinuz; vmlinux on ppc64le)
#   release    its `uname -r` (6.1.0-50-arm64)
#   package    the .deb it came from (linux-image-6.1.0-50-arm64_6.1.176-1_arm64)
#
# Generations:
#   bookworm                 6.1, the default
#   bookworm-backports       6.12, same flavours
#   bookworm-backports-16k   6.12, aarch64 only: flavour arm64-16k (16 KiB pages)
#   bookworm-backports-64k   6.12, ppc64le only: flavour powerpc64le-64k (64 KiB
#                            pages, the page size of ppc64le's bookworm kernel)
# The backports ones go through a private apt source list and lists
# directory under build/vm/apt/bookworm-backports/ (the system's apt sources
# are never touched).
#
#   tests/qemu/fetch-kernels.sh [--backports] [ARCH...]     default: all five
#   tests/qemu/fetch-kernels.sh --generation G[,G...] [ARCH...]
#   tests/qemu/fetch-kernels.sh --modules --generation G [ARCH...]
#
# --backports fetches bookworm and bookworm-backports; --generation exactly
# the generations listed. A generation without a flavour for an arch (the
# 16k one on anything but aarch64, the 64k one on anything but ppc64le) is
# skipped with a note.
#
# Idempotent: a kernel whose package is cached is not downloaded again, and
# apt is asked at most once a day (STASIS_VM_REFRESH=1: now). When
# apt cannot name the current package (no index for that architecture, no
# network) a cached kernel is used as it is.
#
# No modules by default: the guest of the VM tier needs only the serial
# console, which every Debian flavour has built in. --modules (the
# cross-kernel tier, run-xkernel.sh, shares a host directory over 9p) also
# takes from the package what a 9p share needs:
#
#   modules/<name>.ko   9p, 9pnet_virtio and the virtio transport of the
#                       arch's machine (virtio_pci; virtio_ccw on s390x),
#                       with what they depend on (modinfo depends=),
#                       decompressed (6.12 ships .ko.xz)
#   modules/load        their names in load order (dependencies first);
#                       built-in ones (modules.builtin) are left out
#   config              the kernel's /boot/config-<release>
#
# A cached kernel without modules/load is fetched again under --modules.
set -euo pipefail
cd "$(dirname "$0")/../.."
me=fetch-kernels

generations=(bookworm)
modules=0
arches=()
want_gen=''
for a in "$@"; do
  if [ "$want_gen" = 1 ]; then
    IFS=, read -r -a generations <<<"$a"
    want_gen=''
    continue
  fi
  case $a in
    --backports) generations=(bookworm bookworm-backports) ;;
    --modules) modules=1 ;;
    --generation) want_gen=1 ;;
    --generation=*) IFS=, read -r -a generations <<<"${a#--generation=}" ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed -e '/^set -e/d' -e 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "$me: unknown option '$a'" >&2; exit 2 ;;
    *) arches+=("$a") ;;
  esac
done
[ "$want_gen" = 1 ] && { echo "$me: --generation needs a value" >&2; exit 2; }
for g in "${generations[@]}"; do
  case $g in
    bookworm|bookworm-backports|bookworm-backports-16k|bookworm-backports-64k) ;;
    *) echo "$me: unknown generation '$g' (have: bookworm bookworm-backports bookworm-backports-16k" \
            "bookworm-backports-64k)" >&2; exit 2 ;;
  esac
done
[ ${#arches[@]} -eq 0 ] && arches=(x86_64 aarch64 arm ppc64le s390x)

vm_dir=${STASIS_VM_DIR:-$PWD/build/vm}
mkdir -p "$vm_dir/kernels"

# stasis arch -> Debian arch and kernel flavour.
debian_arch() {
  case $1 in
    x86_64) echo amd64 ;; aarch64) echo arm64 ;; arm) echo armhf ;;
    ppc64le) echo ppc64el ;; s390x) echo s390x ;;
    *) echo "$me: unknown architecture '$1' (have: x86_64 aarch64 arm ppc64le s390x)" >&2; return 1 ;;
  esac
}
# The flavour of arch $1 in generation $2; nothing when that generation has
# none for the arch.
flavour() {
  case $2 in
    *-16k) [ "$1" = aarch64 ] && echo arm64-16k; return 0 ;;
    *-64k) [ "$1" = ppc64le ] && echo powerpc64le-64k; return 0 ;;
  esac
  case $1 in
    x86_64) echo amd64 ;; aarch64) echo arm64 ;; arm) echo armmp-lpae ;;
    ppc64le) echo powerpc64le ;; s390x) echo s390x ;;
  esac
}
# The Debian suite apt fetches a generation from.
suite() { local g=${1%-16k}; echo "${g%-64k}"; }

# apt options for one generation: the system's configuration for bookworm, a
# private source list, lists and cache directory for backports.
apt_opts=()
apt_setup() {
  local gen
  gen=$(suite "$1")
  local root=$vm_dir/apt/$gen
  mkdir -p "$root/cache/archives/partial"
  # A package cache of our own: this machine's apt may be configured to keep
  # none, and then every apt-cache call re-parses all indexes (~6 s of CPU).
  apt_opts=(-o APT::Sandbox::User=root -o Dir::Cache::pkgcache="$root/cache/pkgcache.bin"
            -o Dir::Cache::srcpkgcache="$root/cache/srcpkgcache.bin")
  [ "$gen" = bookworm ] && return 0
  mkdir -p "$root/lists/partial"
  if [ ! -f "$root/sources.list" ]; then
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $gen main" \
      >"$root/sources.list"
  fi
  apt_opts+=(-o Dir::Etc::SourceList="$root/sources.list" -o Dir::Etc::SourceParts=/dev/null
             -o Dir::State::Lists="$root/lists" -o Dir::Cache="$root/cache")
  # One update a day is plenty.
  local stamp=$root/updated
  if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440 2>/dev/null)" ]; then
    echo "$me: apt-get update ($gen, private lists in $root)"
    if apt-get "${apt_opts[@]}" update -q >"$root/update.log" 2>&1; then
      touch "$stamp"
    else
      echo "$me: apt-get update for $gen failed (see $root/update.log); using what is cached" >&2
    fi
  fi
}

# The versioned image package the flavour's meta package depends on, e.g.
# linux-image-6.1.0-50-arm64 (amd64 may name the -unsigned twin too; the
# signed one carries the same image).
image_package() {
  local gen=$1 darch=$2 flav=$3 meta dep
  meta=linux-image-$flav
  if [ "$(suite "$gen")" = bookworm-backports ]; then
    # Pick the candidate from backports explicitly: the meta package there
    # has a higher version than bookworm's.
    dep=$(apt-cache "${apt_opts[@]}" show "$meta:$darch" 2>/dev/null |
          sed -n 's/^Depends: .*\(linux-image-[0-9][^ ,]*-'"$flav"'\).*/\1/p' | sort -V | tail -1)
  else
    dep=$(apt-cache "${apt_opts[@]}" depends "$meta:$darch" 2>/dev/null |
          sed -n 's/^ *Depends: \(linux-image-[0-9][^: ]*\).*/\1/p' | grep -v -- '-unsigned$' | head -1)
  fi
  [ -n "$dep" ] && echo "$dep"
}

# The modules a 9p share needs, for arch $1 (generation $2) from package $3
# (release $4), unpacked in scratch directory $5, into $6/modules.
extract_modules() {
  local arch=$1 gen=$2 deb=$3 release=$4 tmp=$5 out=$6
  # The transport: virtio_pci, or on s390x virtio_ccw, which is no module
  # of its own (CONFIG_S390_GUEST builds it in).
  local want=(9p 9pnet_virtio) transport=virtio_pci symbol=CONFIG_VIRTIO_PCI
  [ "$arch" = s390x ] && transport=virtio_ccw symbol=CONFIG_S390_GUEST
  echo "$me: $arch/$gen: unpacking the modules of $(basename "$deb")"
  # The whole module tree (dependencies may sit anywhere in it), and the
  # kernel's config for the record.
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards './lib/modules/*' './boot/config-*' || {
    echo "$me: $arch/$gen: cannot unpack $deb" >&2; return 1; }
  local mdir=$tmp/lib/modules/$release
  if grep -qx "$symbol=y" "$tmp"/boot/config-*; then
    echo "$me: $arch/$gen: $transport is built in ($symbol=y)"
  else
    want+=("$transport")
  fi
  [ -d "$mdir" ] || { echo "$me: $arch/$gen: no lib/modules/$release in $deb" >&2; return 1; }
  # name -> file; '-' and '_' are the same in module names.
  declare -A file=()
  local f n
  while IFS= read -r f; do
    n=${f##*/}; n=${n%%.ko*}; n=${n//-/_}
    file[$n]=$f
  done < <(find "$mdir/kernel" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz')
  declare -A builtin=() done=()
  if [ -f "$mdir/modules.builtin" ]; then
    while IFS= read -r f; do
      n=${f##*/}; n=${n%%.ko*}; n=${n//-/_}
      builtin[$n]=1
    done <"$mdir/modules.builtin"
  fi
  local staged=$tmp/modules.new order=()
  mkdir -p "$staged"
  plain() { # FILE -> its uncompressed bytes on stdout
    case $1 in
      *.xz) xz -dc "$1" ;; *.zst) zstd -dc "$1" ;; *.gz) gzip -dc "$1" ;; *) cat "$1" ;;
    esac
  }
  # Depth first: a module after everything it depends on.
  visit() {
    local m=${1//-/_} deps d
    [ -n "${done[$m]:-}" ] && return 0
    done[$m]=1
    if [ -n "${builtin[$m]:-}" ]; then return 0; fi
    [ -n "${file[$m]:-}" ] || { echo "$me: $arch/$gen: module $m is neither built in nor in $deb" >&2; return 1; }
    plain "${file[$m]}" >"$staged/$m.ko" || { echo "$me: $arch/$gen: cannot decompress ${file[$m]}" >&2; return 1; }
    deps=$(tr '\0' '\n' <"$staged/$m.ko" | sed -n 's/^depends=//p' | head -1)
    for d in ${deps//,/ }; do visit "$d" || return 1; done
    order+=("$m")
  }
  for n in "${want[@]}"; do visit "$n" || return 1; done
  printf '%s\n' "${order[@]}" >"$staged/load"
  cp "$tmp"/boot/config-* "$out/config" 2>/dev/null || true
  rm -rf "$out/modules"
  mv "$staged" "$out/modules"
  rm -rf "$tmp/lib"
  echo "$me: $arch/$gen: modules $(paste -sd' ' "$out/modules/load") -> $out/modules"
}

fetch_one() {
  local arch=$1 gen=$2 darch flav pkg out tmp deb image release
  darch=$(debian_arch "$arch") || return 1
  flav=$(flavour "$arch" "$gen")
  if [ -z "$flav" ]; then
    echo "$me: $arch/$gen: no such flavour for $arch, skipped"
    return 0
  fi
  out=$vm_dir/kernels/$arch/$gen
  mkdir -p "$out"
  # Asking apt costs seconds per call: a kernel checked within a day is
  # current enough (STASIS_VM_REFRESH=1 asks anyway).
  local have_modules=1
  [ "$modules" = 1 ] && [ ! -f "$out/modules/load" ] && have_modules=0
  if [ -s "$out/kernel" ] && [ "$have_modules" = 1 ] && [ "${STASIS_VM_REFRESH:-0}" != 1 ] && [ -f "$out/checked" ] &&
     [ -z "$(find "$out/checked" -mmin +1440 2>/dev/null)" ]; then
    echo "$me: $arch/$gen: $(cat "$out/package") (cached)"
    return 0
  fi
  apt_setup "$gen"
  if ! pkg=$(image_package "$gen" "$darch" "$flav"); then
    if [ -s "$out/kernel" ] && [ "$have_modules" = 1 ]; then
      echo "$me: $arch/$gen: apt names no linux-image-$flav:$darch; using cached $(cat "$out/package")"
      return 0
    fi
    echo "$me: $arch/$gen: apt knows no linux-image-$flav:$darch (is the $darch index there? ci/deps.sh adds it)" >&2
    return 1
  fi
  tmp=$(mktemp -d "$vm_dir/kernels/.fetch.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" RETURN
  # Which exact .deb: name_version_arch, as apt-get download will call it.
  local version
  version=$(apt-cache "${apt_opts[@]}" show "$pkg:$darch" 2>/dev/null | sed -n 's/^Version: //p' | sort -V | tail -1)
  if [ -s "$out/kernel" ] && [ "$have_modules" = 1 ] &&
     [ "$(cat "$out/package" 2>/dev/null)" = "${pkg}_${version}_$darch" ]; then
    echo "$me: $arch/$gen: $(cat "$out/package") (cached, current)"
    touch "$out/checked"
    return 0
  fi
  echo "$me: $arch/$gen: apt-get download $pkg:$darch=$version"
  (cd "$tmp" && apt-get "${apt_opts[@]}" download -q "$pkg:$darch=$version" >download.log 2>&1) || {
    cat "$tmp/download.log" >&2
    echo "$me: $arch/$gen: apt-get download $pkg:$darch failed" >&2
    return 1
  }
  deb=$(ls "$tmp"/*.deb)
  # The image sits near the start of data.tar: tar stops after it
  # (--occurrence) instead of decompressing ~400 MB of modules, and dpkg-deb
  # then dies of SIGPIPE, which is expected.
  dpkg-deb --fsys-tarfile "$deb" 2>/dev/null | tar -x -C "$tmp" --wildcards --occurrence=1 './boot/vmlinu[xz]-*' || true
  image=$(ls "$tmp"/boot/vmlinu[xz]-* 2>/dev/null | head -1)
  [ -n "$image" ] || { echo "$me: $arch/$gen: no vmlinuz/vmlinux in $deb" >&2; return 1; }
  release=${image##*/vmlinu?-}
  if [ "$modules" = 1 ]; then
    extract_modules "$arch" "$gen" "$deb" "$release" "$tmp" "$out" || return 1
  fi
  mv "$image" "$out/kernel.tmp"
  mv "$out/kernel.tmp" "$out/kernel"
  echo "$release" >"$out/release"
  basename "$deb" .deb >"$out/package"
  touch "$out/checked"
  echo "$me: $arch/$gen: $release -> $out/kernel"
}

failed=0
for gen in "${generations[@]}"; do
  for arch in "${arches[@]}"; do
    fetch_one "$arch" "$gen" || failed=1
  done
done
exit $failed
