#!/usr/bin/env bash
# The Debian packages the tests need beyond Python: chromium (the console's browser tests),
# Pango (WeasyPrint's text layout, for the console's PDF reports) and prometheus (its
# promtool checks the alert rules in deploy/monitoring).  `make test` runs
# this; it installs only what is missing, and only as root.  Without root it says loudly
# what is missing: the browser tests are then skipped with that reason, never silently.
set -uo pipefail

missing=()
[ -x "${DAMRONG_CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium)
ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0' || missing+=(libpango-1.0-0 libpangoft2-1.0-0)
command -v promtool >/dev/null || missing+=(prometheus)  # promtool checks deploy/monitoring
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "!! missing system packages: ${missing[*]} (install them as root with apt-get);" \
         "the browser, PDF and promtool tests will be skipped" >&2
    exit 0
fi
echo "installing system packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null \
    || { apt-get update -qq && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; } \
    || echo "!! could not install ${missing[*]}: the browser, PDF and promtool tests will be skipped" >&2
