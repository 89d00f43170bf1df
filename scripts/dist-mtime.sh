#!/bin/sh
# SPDX-License-Identifier: MIT
#
# meson dist script: gives the tarball's top directory the time of the
# commit, as git archive gives every file in it. Meson creates that
# directory itself, at the current time, so without this two `meson dist`
# runs of one commit give different tarballs and checksums.
set -eu
root=${MESON_DIST_ROOT:?run by meson dist}
touch -r "$root/meson.build" "$root"
