#!/usr/bin/env bash
# Install scimkit's C library: header, shared and static library, pkg-config file.
#
#     scripts/install-c.sh [--debug] [--no-build] PREFIX
#
# Builds scimkit-ffi (release, or debug with --debug; --no-build uses what is
# already built) with `cargo build --locked`, then installs
#
#     PREFIX/include/scimkit.h
#     LIBDIR/libscimkit.so.<version>, libscimkit.so.<major> (the SONAME), libscimkit.so
#     LIBDIR/libscimkit.a
#     LIBDIR/pkgconfig/scimkit.pc      (from ffi/scimkit.pc.in)
#
# LIBDIR is PREFIX/lib unless the LIBDIR variable says otherwise. Honours
# CARGO_TARGET_DIR. Afterwards: PKG_CONFIG_PATH=LIBDIR/pkgconfig pkg-config
# --cflags --libs scimkit (add --static to link libscimkit.a).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }

profile=release
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --debug) profile=debug; shift ;;
    --no-build) build=0; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "install-c.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) break ;;
  esac
done
if [ $# -ne 1 ]; then
  usage >&2
  exit 2
fi

prefix=$(realpath -m "$1")
libdir=$(realpath -m "${LIBDIR:-$prefix/lib}")
target_dir="${CARGO_TARGET_DIR:-target}"
if [ "$build" = 1 ]; then
  if [ "$profile" = release ]; then
    cargo build --locked -p scimkit-ffi --release
  else
    cargo build --locked -p scimkit-ffi
  fi
fi
src="$target_dir/$profile"
for f in libscimkit_ffi.so libscimkit_ffi.a; do
  [ -f "$src/$f" ] || { echo "install-c.sh: $src/$f not found (build first)" >&2; exit 1; }
done

version=$(sed -n '/^\[workspace\.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
major=${version%%.*}
# What a static link needs besides libscimkit.a (rustc --print native-static-libs).
libs_private="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"

install -d "$prefix/include" "$libdir/pkgconfig"
install -m 644 include/scimkit.h "$prefix/include/scimkit.h"
install -m 755 "$src/libscimkit_ffi.so" "$libdir/libscimkit.so.$version"
ln -sfn "libscimkit.so.$version" "$libdir/libscimkit.so.$major"
ln -sfn "libscimkit.so.$major" "$libdir/libscimkit.so"
install -m 644 "$src/libscimkit_ffi.a" "$libdir/libscimkit.a"
sed -e "s|@PREFIX@|$prefix|g" -e "s|@LIBDIR@|$libdir|g" \
    -e "s|@VERSION@|$version|g" -e "s|@LIBS_PRIVATE@|$libs_private|g" \
    ffi/scimkit.pc.in > "$libdir/pkgconfig/scimkit.pc"
echo "installed scimkit $version ($profile) into $prefix"
