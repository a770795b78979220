#!/bin/sh
# `make uninstall`: removes every file the last `make install` wrote (the
# install manifest CMake kept), under $DESTDIR as the install was, then the
# folders of ours that were left empty.
#
#   [DESTDIR=DIR] sh scripts/uninstall.sh MANIFEST
set -u
manifest=${1:?usage: sh scripts/uninstall.sh MANIFEST}
if [ ! -f "$manifest" ]; then
    echo "uninstall: $manifest not found: nothing was installed from this" \
         "build folder (run make install first, with the same BUILD)" >&2
    exit 1
fi
status=0
while IFS= read -r f || [ -n "$f" ]; do
    [ -n "$f" ] || continue
    f=${DESTDIR:-}$f
    if [ -e "$f" ] || [ -L "$f" ]; then
        rm -f "$f" && echo "-- Removed: $f" || status=1
        # Folders of ours that are now empty (share/mscada, include/mscada,
        # share/doc/mscada...), never a system folder such as bin/.
        d=$(dirname "$f")
        while case $d in *mscada*) rmdir "$d" 2>/dev/null ;; *) false ;; esac
        do d=$(dirname "$d"); done
    fi
done < "$manifest"
[ $status -eq 0 ] && rm -f "$manifest"
exit $status
