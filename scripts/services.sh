# Sourced by scripts/test and scripts/demo: starts PostgreSQL and RabbitMQ on this machine if
# they are not running (the commands of this machine kind), and waits until they answer; installs
# the document tools the report tests use and the browser the dashboard test drives.

ensure_postgres() {
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
    for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL does not answer on 127.0.0.1:5432" >&2; return 1; }
}

ensure_rabbitmq() {
  if ! rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
    echo "starting RabbitMQ" >&2
    rabbitmq-server -detached
    for _ in $(seq 1 90); do rabbitmq-diagnostics -q ping >/dev/null 2>&1 && break; sleep 1; done
  fi
  rabbitmq-diagnostics -q ping >/dev/null 2>&1 || { echo "RabbitMQ does not answer" >&2; return 1; }
}

# The tools the report tests read documents with: poppler's pdftotext and pdftoppm (Debian's
# poppler-utils), python-docx (PyPI), which opens a DOCX as Word's own model does, and openpyxl
# (PyPI), which reads a workbook as a spreadsheet program's model does; and the SMTP server the
# delivery tests send to (aiosmtpd, PyPI).
ensure_report_tools() {
  if ! command -v pdftotext >/dev/null 2>&1 || ! command -v pdftoppm >/dev/null 2>&1; then
    echo "installing poppler-utils" >&2
    (apt-get install -y -q poppler-utils >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q poppler-utils >/dev/null; })
  fi
  if ! python3 -c 'import docx' >/dev/null 2>&1; then
    echo "installing python-docx" >&2
    python3 -m pip install -q 'python-docx==1.1.2'
  fi
  if ! python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
    echo "installing aiosmtpd" >&2
    python3 -m pip install -q 'aiosmtpd==1.4.6'
  fi
  if ! python3 -c 'import openpyxl' >/dev/null 2>&1; then
    echo "installing openpyxl" >&2
    python3 -m pip install -q 'openpyxl==3.1.5'
  fi
}

# The tools the signing tests judge signed PDFs with: openssl (the throwaway PKI and the
# time-stamp authority), poppler's pdfsig with NSS's certutil (its trust store), qpdf (structure
# check), and pyHanko with its CLI (PyPI), validating against the test CA as trust root.
ensure_signing_tools() {
  local missing=()
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  command -v certutil >/dev/null 2>&1 || missing+=(libnss3-tools)
  command -v qpdf >/dev/null 2>&1 || missing+=(qpdf)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    (apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; })
  fi
  if ! python3 -c 'import pyhanko, pyhanko_certvalidator, cryptography' >/dev/null 2>&1 || ! command -v pyhanko >/dev/null 2>&1; then
    echo "installing pyhanko" >&2
    python3 -m pip install -q 'pyhanko==0.38.0' 'pyhanko-cli==0.6.0'
  fi
}

# The browser the dashboard test drives: Debian's chromium (playwright-core downloads no browser
# of its own and is pointed at /usr/bin/chromium), and tests/browser's node modules as locked.
ensure_browser() {
  if [ ! -x /usr/bin/chromium ]; then
    echo "installing chromium" >&2
    export DEBIAN_FRONTEND=noninteractive
    (apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; })
  fi
  if [ ! -d tests/browser/node_modules ] || [ tests/browser/package-lock.json -nt tests/browser/node_modules ]; then
    echo "installing the browser test's node modules" >&2
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}

# The OpenID Connect provider the sign-in tests start (tests/oidc/provider.mjs): npm's
# oidc-provider, a certified implementation, pinned in tests/oidc's lock file.
ensure_oidc_provider() {
  if [ ! -d tests/oidc/node_modules ] || [ tests/oidc/package-lock.json -nt tests/oidc/node_modules ]; then
    echo "installing the test identity provider's node modules" >&2
    (cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}

# cargo-machete finds dependencies a crate declares and never uses; installed from crates.io
# (pinned) when missing.
ensure_machete() {
  if ! cargo machete --version >/dev/null 2>&1; then
    echo "installing cargo-machete" >&2
    cargo install --locked --quiet cargo-machete@0.9.2
  fi
}

# cargo-nextest runs each test in a process of its own (the tests that read the process's
# metrics count only their own doings) and the cluster's fault tests one at a time
# (.config/nextest.toml); installed from crates.io (pinned) when missing, about five minutes
# of building on 2 cores.
ensure_nextest() {
  if ! cargo nextest --version >/dev/null 2>&1; then
    echo "installing cargo-nextest" >&2
    cargo install --locked --quiet cargo-nextest@0.9.151
  fi
}

ensure_services() {
  ensure_postgres
  ensure_rabbitmq
}

# schemathesis (PyPI), which the contract test (tests/tests/e2e/contract.rs) runs against a
# live API with every check: with everything it runs with pinned (tests/contract/requirements.txt),
# in a virtualenv of its own under ~/.cache/baocao named after those pins, installed once (with
# Debian's python3-venv if the virtualenv module is missing); after that it needs no network.
# scripts/test installs it before the tests, and the test itself if it is missing.
SCHEMATHESIS_REQUIREMENTS="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/contract/requirements.txt"
SCHEMATHESIS_VENV=${BAOCAO_SCHEMATHESIS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/baocao/schemathesis-$(sha256sum "$SCHEMATHESIS_REQUIREMENTS" | cut -c1-12)}
ensure_schemathesis() {
  if [[ -x $SCHEMATHESIS_VENV/bin/schemathesis ]] && cmp -s "$SCHEMATHESIS_VENV/.pins" "$SCHEMATHESIS_REQUIREMENTS"; then
    return
  fi
  if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    echo "installing python3-venv" >&2
    export DEBIAN_FRONTEND=noninteractive
    (apt-get install -y -q python3-venv >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q python3-venv >/dev/null; })
  fi
  echo "installing schemathesis into $SCHEMATHESIS_VENV" >&2
  rm -rf "$SCHEMATHESIS_VENV"
  python3 -m venv "$SCHEMATHESIS_VENV"
  "$SCHEMATHESIS_VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$SCHEMATHESIS_REQUIREMENTS"
  cp "$SCHEMATHESIS_REQUIREMENTS" "$SCHEMATHESIS_VENV/.pins"
}
