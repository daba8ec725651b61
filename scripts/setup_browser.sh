#!/usr/bin/env bash
# Headless Chromium and its WebDriver (Debian's chromium and chromium-driver packages) for the
# browser test of `get3d serve` (tests/get3d/test_serve.py drives the system browser through
# selenium; nothing downloads a browser of its own). A no-op when both are installed. Without
# apt-get (or root/sudo) it prints a loud warning and the browser test skips; an apt failure fails.
set -euo pipefail

have_browser() {
  command -v chromedriver >/dev/null 2>&1 &&
    { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; }
}

if have_browser; then
  exit 0
fi
warn() {
  echo "########################################################################################"
  echo "[setup] WARNING: $1"
  echo "[setup] Chromium and chromedriver are missing: the headless browser test of get3d serve"
  echo "[setup] (tests/get3d/test_serve.py::test_page_in_headless_chromium) will SKIP."
  echo "########################################################################################"
}
if ! command -v apt-get >/dev/null 2>&1; then
  warn "no apt-get on this machine; install Chromium and its driver yourself"
  exit 0
fi
SUDO=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    warn "not root and no password-less sudo: cannot apt-get install chromium chromium-driver"
    exit 0
  fi
fi
echo "[setup] installing chromium and chromium-driver (apt) for the browser test of get3d serve"
"${SUDO[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium chromium-driver
have_browser || { echo "[setup] chromium-driver installed but chromium/chromedriver not on PATH" >&2; exit 1; }
