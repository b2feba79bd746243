#!/usr/bin/env bash
# Makes a throwaway PKI for the signing tests, with openssl only:
#   root.pem                 root CA (the trust anchor given to pdfsig and pyHanko)
#   sub.pem                  intermediate CA, issued by the root
#   signer.p12               RSA signer (O=UBND phường Trí Quả) + chain, OpenSSL 3 defaults
#   signer-legacy.p12        the same with -legacy (RC2/3DES, SHA-1 MAC)
#   signer-ec.p12            ECDSA P-256 signer + chain
#   expired.p12              a signer whose certificate expired in 2021
#   soon.p12                 a signer whose certificate ends in 10 days
#   no-key.p12               certificates only (-nokeys)
#   no-cert.p12              a private key only (-nocerts)
#   mismatch.p12             a key with another signer's certificate (written by Python's
#                            `cryptography`, a pyHanko dependency, as openssl refuses to)
#   ed25519.p12              an Ed25519 signer (a key type the library does not support)
#   wrong-usage.p12          a signer whose key usage is keyEncipherment only (not for signatures)
#   costly-mac.p12           a MAC computed with 2,000,000 iterations (-iter 2000000)
#   costly-pbes2.p12         a key encrypted with PBKDF2 at 2,000,000 iterations (MAC at 1)
#   costly-legacy.p12        the same with -legacy (3DES, PKCS#12 key derivation)
#   no-mac.p12               a file without an integrity MAC (-nomac)
#   tsa.pem / tsa.key        a time-stamping unit's certificate (EKU timeStamping), issued by the root
#   long-chain.pem           24 filler certificates and the root, which make a time-stamp token
#                            of about 21 KB
#   tls-root.pem             a CA of its own for TLS servers (not among the webpki roots)
#   tls-server.pem / .key    the time-stamp authority's HTTPS certificate (127.0.0.1 and
#                            localhost), issued by tls-root.pem
#   tsa.cnf                  configuration for `openssl ts -reply`: sections tsa_config and
#                            tsa_long_chain (the same authority, sending long-chain.pem too)
#   nss/                     an NSS database trusting root.pem, for pdfsig
# Usage: make_pki.sh DIR PASSWORD
set -euo pipefail
dir=$1
password=$2
mkdir -p "$dir"
cd "$dir"

cat > ca.cnf <<'EOF'
[ req ]
distinguished_name = dn
string_mask = utf8only
utf8 = yes
prompt = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_signer ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_wrong_usage ]
basicConstraints = critical, CA:false
keyUsage = critical, keyEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_tsa ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_tls_server ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ ca ]
default_ca = test_ca
[ test_ca ]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[ any ]
countryName = optional
organizationName = optional
commonName = supplied
EOF
: > index.txt
echo 1000 > serial

quiet() { "$@" > /dev/null 2>&1 || { echo "failed: $*" >&2; "$@"; exit 1; }; }

# issue NAME ISSUER EXTENSIONS SUBJECT KEYALG [ca dates...]
issue() {
  local name=$1 issuer=$2 ext=$3 subject=$4 keyalg=$5
  shift 5
  quiet openssl genpkey $keyalg -out "$name.key"
  quiet openssl req -new -config ca.cnf -utf8 -key "$name.key" -subj "$subject" -out "$name.csr"
  quiet openssl ca -batch -config ca.cnf -utf8 -notext -extensions "$ext" \
    -cert "$issuer.pem" -keyfile "$issuer.key" -in "$name.csr" -out "$name.pem" "$@"
}

rsa="-algorithm RSA -pkeyopt rsa_keygen_bits:2048"
ec="-algorithm EC -pkeyopt ec_paramgen_curve:P-256"
quiet openssl req -x509 -new -config ca.cnf -utf8 -extensions v3_ca -days 3650 \
  -newkey rsa:2048 -nodes -keyout root.key -subj "/C=VN/O=Baocao Test CA/CN=Baocao Test Root" -out root.pem
issue sub root v3_ca "/C=VN/O=Baocao Test CA/CN=Baocao Test Sub CA" "$rsa" -days 3000
issue signer sub v3_signer "/C=VN/O=UBND phường Trí Quả/CN=Nguyễn Văn An" "$rsa" -days 365
issue signer-ec sub v3_signer "/C=VN/O=UBND phường Trí Quả/CN=Trần Thị Bình" "$ec" -days 365
issue expired sub v3_signer "/C=VN/O=UBND phường Trí Quả/CN=Lê Văn Cũ" "$rsa" \
  -startdate 20200101000000Z -enddate 20210101000000Z
issue soon sub v3_signer "/C=VN/O=UBND phường Trí Quả/CN=Phạm Văn Sắp" "$rsa" -days 10
issue ed25519 sub v3_signer "/C=VN/O=UBND phường Trí Quả/CN=Ed25519" "-algorithm ED25519" -days 365
issue wrong-usage sub v3_wrong_usage "/C=VN/O=UBND phường Trí Quả/CN=Mã Hoá Khoá" "$rsa" -days 365
issue tsa root v3_tsa "/C=VN/O=Baocao Test CA/CN=Baocao Test TSA" "$rsa" -days 3000
quiet openssl req -x509 -new -config ca.cnf -utf8 -extensions v3_ca -days 3650 \
  -newkey rsa:2048 -nodes -keyout tls-root.key -subj "/C=VN/O=Baocao Test TLS CA/CN=Baocao Test TLS Root" \
  -out tls-root.pem
issue tls-server tls-root v3_tls_server "/C=VN/O=Baocao Test TSA/CN=127.0.0.1" "$rsa" -days 365
cat sub.pem root.pem > chain.pem

export_p12() {
  local out=$1
  shift
  quiet openssl pkcs12 -export -passout "pass:$password" -out "$out" "$@"
}
export_p12 signer.p12 -inkey signer.key -in signer.pem -certfile chain.pem -name signer
export_p12 signer-legacy.p12 -legacy -inkey signer.key -in signer.pem -certfile chain.pem
export_p12 signer-ec.p12 -inkey signer-ec.key -in signer-ec.pem -certfile chain.pem
export_p12 expired.p12 -inkey expired.key -in expired.pem -certfile chain.pem
export_p12 soon.p12 -inkey soon.key -in soon.pem -certfile chain.pem
export_p12 no-key.p12 -nokeys -in signer.pem -certfile chain.pem
export_p12 no-cert.p12 -nocerts -inkey signer.key
export_p12 ed25519.p12 -inkey ed25519.key -in ed25519.pem -certfile chain.pem
export_p12 wrong-usage.p12 -inkey wrong-usage.key -in wrong-usage.pem -certfile chain.pem
# Work factors the loader refuses; only the one derivation under test is costly, to keep this fast.
export_p12 costly-mac.p12 -inkey signer.key -in signer.pem -iter 2000000 -keypbe NONE -certpbe NONE
export_p12 costly-pbes2.p12 -inkey signer.key -in signer.pem -iter 2000000 -nomaciter -certpbe NONE
export_p12 costly-legacy.p12 -legacy -inkey signer.key -in signer.pem -iter 2000000 -nomaciter \
  -certpbe NONE
export_p12 no-mac.p12 -inkey signer.key -in signer.pem -certfile chain.pem -nomac
python3 - "$password" <<'EOF'
import sys
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
key = serialization.load_pem_private_key(open("expired.key", "rb").read(), None)
cert = x509.load_pem_x509_certificate(open("signer.pem", "rb").read())
encryption = serialization.BestAvailableEncryption(sys.argv[1].encode())
open("mismatch.p12", "wb").write(pkcs12.serialize_key_and_certificates(b"x", key, None, [cert], encryption))
EOF

# Certificates that only make a token long (more than the room the signer reserves for one).
: > long-chain.pem
for i in $(seq 1 24); do
  quiet openssl req -x509 -new -config ca.cnf -key root.key -days 30 \
    -subj "/C=VN/O=Baocao Test CA/CN=Filler $i" -out filler.pem
  cat filler.pem >> long-chain.pem
done
cat root.pem >> long-chain.pem

# tsa_section NAME CERTS
tsa_section() {
  cat <<EOF
[ $1 ]
dir = $PWD
serial = \$dir/tsaserial
crypto_device = builtin
signer_cert = \$dir/tsa.pem
certs = \$dir/$2
signer_key = \$dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
EOF
}
{
  printf '[ tsa ]\ndefault_tsa = tsa_config\n'
  tsa_section tsa_config root.pem
  tsa_section tsa_long_chain long-chain.pem
} > tsa.cnf
echo 01 > tsaserial

# pdfsig (poppler/NSS) reads trust from an NSS database.
mkdir -p nss
quiet certutil -N -d "sql:$PWD/nss" --empty-password
quiet certutil -A -d "sql:$PWD/nss" -n "Baocao Test Root" -t "CT,C,C" -i root.pem
