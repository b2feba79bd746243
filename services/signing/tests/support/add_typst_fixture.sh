#!/usr/bin/env bash
# Adds a report rendered by the project's Typst renderer to the test fixtures, as is and
# rewritten by qpdf with object streams and a cross-reference stream. Every PDF in
# tests/fixtures is signed and checked by the integration tests.
# Usage: add_typst_fixture.sh [REPORT.pdf]   (default: /work/scratch/sample/report.pdf)
set -euo pipefail
source=${1:-/work/scratch/sample/report.pdf}
fixtures=$(dirname "$0")/../fixtures
cp "$source" "$fixtures/typst-report.pdf"
qpdf --object-streams=generate "$source" "$fixtures/typst-report-xref-stream.pdf"
pdfinfo "$fixtures/typst-report.pdf" | grep -E 'Producer|Pages|PDF version'
