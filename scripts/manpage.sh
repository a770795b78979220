#!/bin/sh
# Writes a man page for `mscada` or one of its modules from its --help text,
# so the page says what the program says (`make install` installs them):
#
#   sh scripts/manpage.sh MSCADA_BINARY [MODULE] > mscada-MODULE.1
#   sh scripts/manpage.sh MSCADA_BINARY --all DIR    (every module `mscada
#                                                    --help` lists, and mscada.1)
set -eu
bin=$1
module=${2:-}
if [ "$module" = --all ]; then
    dir=$3
    mkdir -p "$dir"
    sh "$0" "$bin" > "$dir/mscada.1"
    for m in $("$bin" --help | sed -n '/^Modules:/,/^$/p' | awk 'NR>1 && NF {print $1}'); do
        sh "$0" "$bin" "$m" > "$dir/mscada-$m.1"
    done
    exit 0
fi
version=$("$bin" --version 2>/dev/null | awk '{print $NF}')
if [ -n "$module" ]; then
    help=$("$bin" "$module" --help)
    name="mscada-$module"
    summary=$(printf '%s\n' "$help" | sed -n '3p')
else
    help=$("$bin" --help)
    name="mscada"
    summary="SCADA toolkit: PLC drivers, a tag bus and history, one process per module"
fi
upper=$(printf '%s' "$name" | tr '[:lower:]' '[:upper:]')
# roff: a leading . or ' starts a request, and \ escapes: quote them.
esc() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }

printf '.TH %s 1 "" "mscada %s" "mscada manual"\n' "$upper" "$version"
printf '.SH NAME\n%s \\- %s\n' "$name" "$(printf '%s' "$summary" | esc)"
printf '.SH SYNOPSIS\n.nf\n'
printf '%s\n' "$help" | sed -n '/^Usage:/,/^$/p' | sed 's/^Usage: *//; s/^ *//' |
    sed '/^$/d' | esc
printf '.fi\n.SH DESCRIPTION\n.nf\n'
printf '%s\n' "$help" | sed '1,/^$/d' | esc
printf '.fi\n.SH SEE ALSO\n'
if [ -n "$module" ]; then
    printf '.BR mscada (1)\n'
else
    printf 'One page per module:\n'
    "$bin" --help | sed -n '/^Modules:/,/^$/p' | awk 'NR>1 && NF {print ".BR mscada-" $1 " (1)"}'
fi
printf '.PP\nThe documentation in /usr/share/doc/mscada or the docs/ folder of the source.\n'
