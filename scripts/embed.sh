#!/bin/sh
# embed.sh SYMBOL FILE: print a C file that defines SYMBOL, the bytes of
# FILE followed by a NUL, and SYMBOL_len, their number (without the NUL).
set -eu
sym=$1
file=$2
[ -r "$file" ] || { echo "embed.sh: cannot read $file" >&2; exit 1; }
printf '/* Generated from %s by scripts/embed.sh; do not edit. */\n' "$file"
printf '#include "web.h"\n\nconst char %s[] = {\n' "$sym"
od -An -v -tx1 "$file" | sed -e 's/ *$//' -e '/^$/d' \
    -e 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g' -e 's/^/\t/'
printf '\t0x00\n};\nconst size_t %s_len = sizeof(%s) - 1;\n' "$sym" "$sym"
