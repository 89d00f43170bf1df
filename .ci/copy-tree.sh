#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Copies the source tree to a scratch directory for the packaging checks:
# the files git knows (tracked and untracked, not ignored, not deleted), or,
# outside a git checkout, everything but build*/, obj-*/ and .git.
#
# Usage: bash .ci/copy-tree.sh SRCDIR DESTDIR   (DESTDIR is created)

set -u
set -o pipefail

[ $# -eq 2 ] || { echo "usage: copy-tree.sh SRCDIR DESTDIR" >&2; exit 2; }
srcdir=$1
dest=$2
mkdir -p "$dest" || exit 1
if command -v git >/dev/null 2>&1 && git -C "$srcdir" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$srcdir" && git ls-files -z --cached --others --exclude-standard) \
        | (cd "$srcdir" && while IFS= read -r -d '' f; do
               [ -e "$f" ] || [ -L "$f" ] || continue   # deleted in the work tree
               printf '%s\0' "$f"
           done) \
        | (cd "$srcdir" && tar --null -T - -cf -) | tar -xf - -C "$dest"
else
    (cd "$srcdir" && tar --exclude='./build*' --exclude='./obj-*' --exclude='./.git' -cf - .) \
        | tar -xf - -C "$dest"
fi
