#!/bin/sh
# vhswd as help2man sees it (switch/daemon/dist/meson.build): runs $VHSWD,
# and for --help joins vhswd's "usage:" lines into the one "Usage:" line
# help2man turns into the SYNOPSIS.  The options stay vhswd's own text.
set -e
if [ "$1" = "--help" ]; then
	"$VHSWD" --help | awk '
		/^usage:/ { u = "Usage:" substr($0, 7); inu = 1; next }
		inu && /^ +\[/ { sub(/^ +/, " "); u = u $0; next }
		inu { print u; inu = 0 }
		{ print }
		END { if (inu) print u }'
else
	exec "$VHSWD" "$@"
fi
