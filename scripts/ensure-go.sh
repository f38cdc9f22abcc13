#!/usr/bin/env bash
# Install Debian's Go and golang.org/x/mod if missing: tests/interop checks our C2SP notes,
# checkpoints and proofs with Go's sumdb/note and sumdb/tlog, built offline from
# /usr/share/gocode (GOPATH mode).
set -euo pipefail
if command -v go >/dev/null 2>&1 && [ -d /usr/share/gocode/src/golang.org/x/mod/sumdb/note ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "installing Go and golang.org/x/mod (Debian packages) for the interoperability tests" >&2
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
  golang-go golang-golang-x-mod-dev
