#!/usr/bin/env bash
# Installs what the integration tests shell out to (as root, on Debian):
#   openssl (the test PKI and the time-stamp authority), poppler-utils (pdfsig, pdftoppm,
#   pdftotext), libnss3-tools (certutil, for pdfsig's trust store), qpdf (structure check),
#   and pyHanko (validation).
set -euo pipefail
need_apt=()
command -v openssl > /dev/null || need_apt+=(openssl)
command -v pdfsig > /dev/null || need_apt+=(poppler-utils)
command -v certutil > /dev/null || need_apt+=(libnss3-tools)
command -v qpdf > /dev/null || need_apt+=(qpdf)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi
python3 -c 'import pyhanko, pyhanko_certvalidator' 2> /dev/null || python3 -m pip install -q pyhanko pyhanko-cli
command -v pyhanko > /dev/null || python3 -m pip install -q pyhanko-cli
