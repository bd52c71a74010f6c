#!/usr/bin/env bash
# Installs the system tools the test suites use, from Debian's packages, when they are missing.
# sha256sum/openssl: independent digest cross-checks; unshare: offline verification in a network
# namespace with no interfaces.
set -euo pipefail

missing=()
command -v openssl >/dev/null || missing+=(openssl)
command -v sha256sum >/dev/null || missing+=(coreutils)
command -v unshare >/dev/null || missing+=(util-linux)

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing tools: ${missing[*]}; install them (Debian: apt-get install ${missing[*]})" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
