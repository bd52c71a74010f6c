#!/usr/bin/env bash
# Installs the test tools that come from other registries than npm, each pinned, into a cache
# outside the repository (reused when present, rebuilt when absent or broken):
#   schemathesis: generates requests from the node's own OpenAPI document and checks every answer
#   against it (test/e2e/api-contract.e2e.test.ts). From PyPI, in a virtual environment of its own.
# Prints nothing on success but the path of what it installed.
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5
cache="${EVIDENCE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/evidence-node}"
venv="$cache/schemathesis-$SCHEMATHESIS_VERSION"

if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "python3 with venv is missing; install it (Debian: apt-get install python3 python3-venv)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv
fi

if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  rm -rf "$venv"
  mkdir -p "$cache"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  "$venv/bin/schemathesis" --version | grep -q "$SCHEMATHESIS_VERSION"
fi
echo "$venv/bin/schemathesis"
