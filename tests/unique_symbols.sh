#!/bin/sh
# No two objects of libduomail_lib.a may define one global symbol.  The
# linker takes the first object that defines a symbol it needs and never
# looks at the other, so a clash does not fail the build: it silently runs
# the wrong function (IMAP's EXPUNGE once ran the `duomail expunge`
# subcommand, which had taken the name cmd_expunge).
# usage: unique_symbols.sh LIBRARY
set -e
dups=$(nm -g --defined-only "$1" | awk 'NF == 3 && $2 ~ /^[TDBR]$/ { print $3 }' | sort | uniq -d)
if [ -n "$dups" ]; then
	echo "defined in more than one object of $1:" >&2
	echo "$dups" >&2
	exit 1
fi
echo "every global symbol of $1 is defined once"
