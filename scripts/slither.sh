#!/usr/bin/env bash
# Static analysis of contracts/ with slither, offline.
#
#   scripts/slither.sh [extra slither flags]
#
# slither runs from its own virtualenv (SLITHER_VENV, default ~/.cache/model-ledger/
# slither-<version>; created with pip on first use: its dependencies would clash with
# web3 in .venv). It does not compile anything itself (solc-select downloads compilers,
# which fails here): contracts/ is compiled by Hardhat with the pinned solc-js, in a
# scratch copy so the work tree's artifacts are left alone, and slither reads that
# build (--hardhat-ignore-compile). OpenZeppelin's sources are analysed but not
# reported (--exclude-dependencies).
#
# Exit 0 when every finding of high or medium impact is explained in
# docs/static-analysis.md (scripts/slither_triage.py checks), 1 otherwise, 2 when
# slither itself fails. SLITHER_JSON=FILE keeps slither's JSON report.
set -euo pipefail
cd "$(dirname "$0")/.."

SLITHER_VERSION=0.11.6
venv="${SLITHER_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/model-ledger/slither-$SLITHER_VERSION}"
if [ ! -x "$venv/bin/slither" ]; then
  echo "slither.sh: installing slither-analyzer $SLITHER_VERSION into $venv" >&2
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "slither-analyzer==$SLITHER_VERSION"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r contracts hardhat.config.js package.json "$work/"
ln -s "$PWD/node_modules" "$work/node_modules"
(cd "$work" && npx hardhat compile --quiet)

report="${SLITHER_JSON:-$work/slither.json}"
rm -f "$report"
if ! (cd "$work" && "$venv/bin/slither" . --hardhat-ignore-compile --exclude-dependencies --fail-none --json "$report"); then
  echo "slither.sh: slither failed" >&2
  exit 2
fi
exec "$venv/bin/python" scripts/slither_triage.py "$report" docs/static-analysis.md
