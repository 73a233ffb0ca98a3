#!/usr/bin/env bash
# Build libdmclient's test client (testdmclient) from the kit in ../shared/interop/libdmclient,
# with the kit's own patches and then mostate's (patches/ beside this script): each is a small
# change a test needs (see its header comment), none a copy of libdmclient's code.
#
#   usage: interop/libdmclient/build.sh [PREFIX]   (default: ~/.cache/mostate-libdmclient-HASH)
#
# HASH names the tarball and every patch, so a changed patch gets a fresh build. The build's
# dependencies (autotools, libcurl and sqlite3 headers) are those of the kit's build.sh, which
# this runs first (it installs them with apt-get when root). Prints the path of testdmclient.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kit=${MOSTATE_LIBDMCLIENT_KIT:-$(cd "$here/../../.." && pwd)/shared/interop/libdmclient}
if [[ ! -f $kit/build.sh ]]; then
  echo "libdmclient's kit is not at $kit (../shared beside the checkout)" >&2
  exit 1
fi
stamp=$(cat "$kit"/libdmclient-*.tar.gz "$kit"/patches/*.patch "$here"/patches/*.patch \
  | sha256sum | cut -c1-12)
prefix=${1:-$HOME/.cache/mostate-libdmclient-$stamp}
bin=$prefix/bin/testdmclient
if [[ -x $bin ]]; then echo "$bin"; exit 0; fi

bash "$kit/build.sh" >/dev/null  # the dependencies, and the kit's own build, cached
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xzf "$kit"/libdmclient-*.tar.gz -C "$work"
cd "$work/libdmclient"
for p in "$kit"/patches/*.patch "$here"/patches/*.patch; do patch -s -p1 <"$p"; done
{
  autoreconf -i
  ./configure --enable-tests --prefix="$prefix"
  make -j"$(nproc)"
  make install
} >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; exit 1; }
echo "$bin"
