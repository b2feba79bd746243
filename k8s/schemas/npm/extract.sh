#!/usr/bin/env bash
# Regenerates the JSON Schemas of k8s/schemas/ that come from npm packages (see SOURCES.md):
# installs the packages pinned in package.json + package-lock.json (npm ci, into a temporary
# folder, so nothing lands in the work tree) and runs extract.mjs there. Needs Node.js and
# npm, and the npm registry. scripts/check-deploy does not run this: it validates against
# the committed JSON.
#   k8s/schemas/npm/extract.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here"/package.json "$here"/package-lock.json "$here"/tsconfig.json "$here"/extract.mjs "$work"/
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
(cd "$work" && node extract.mjs "$here/..")
