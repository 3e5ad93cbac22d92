#!/usr/bin/env bash
# Installs Debian's Chromium (and its driver) for the browser tests when missing. Never downloads
# a browser from anywhere else: Playwright drives /usr/bin/chromium via executable_path.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if [ ! -x /usr/bin/chromium ] || ! command -v chromedriver >/dev/null 2>&1; then
  echo "Installing Debian packages: chromium chromium-driver"
  as_root apt-get update -q
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends chromium chromium-driver
fi
/usr/bin/chromium --version
