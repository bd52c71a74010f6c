#!/usr/bin/env bash
# Installs the system tools the test suites use, from Debian's packages, when they are missing.
# sha256sum/openssl: independent digest cross-checks; unshare: offline verification in a network
# namespace with no interfaces; poppler-utils: independent readers of the PDFs; chromium: the
# browser test of the public verification page (test/e2e/verify-page.e2e.test.ts).
set -euo pipefail

missing=()
command -v openssl >/dev/null || missing+=(openssl)
command -v sha256sum >/dev/null || missing+=(coreutils)
command -v unshare >/dev/null || missing+=(util-linux)
{ command -v pdftotext && command -v pdftoppm; } >/dev/null || missing+=(poppler-utils)
[ -x /usr/bin/chromium ] || missing+=(chromium)

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing tools: ${missing[*]}; install them (Debian: apt-get install ${missing[*]})" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
