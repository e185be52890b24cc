#!/usr/bin/env sh
# Make sure a Chromium is available for the UI test (tests/test_ops_ui.py drives it through the
# Python `playwright` package, which cannot download browsers here). Installs Debian's `chromium` with
# apt-get when it is missing and we are root; otherwise says why not and leaves the test to skip
# with that reason. Never fails the build: the test reports the missing browser itself.
set -u

CHROMIUM="${PSYK_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
    echo "ensure_browser: found $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "ensure_browser: no Chromium at $CHROMIUM and not root, so not installing it;" \
         "run 'sudo apt-get install -y chromium' (the UI test will be skipped until then)"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_browser: no Chromium at $CHROMIUM and no apt-get on this system;" \
         "install Chromium and set PSYK_CHROMIUM to its path (the UI test will be skipped until then)"
    exit 0
fi
echo "ensure_browser: installing Debian's chromium with apt-get"
if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; then
    echo "ensure_browser: installed $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
else
    echo "ensure_browser: apt-get could not install chromium (offline?); the UI test will be skipped"
fi
exit 0
