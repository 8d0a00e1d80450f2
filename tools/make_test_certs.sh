#!/usr/bin/env bash
# Makes a throw-away PKI for the TLS tests (tests/access/tls_test.cc, test_python_tls.py):
#   tools/make_test_certs.sh DIR [NAME]
# writes DIR/NAME-ca.{pem,key} (a CA), DIR/NAME-server.{pem,key} (signed by it, for localhost and
# 127.0.0.1) and DIR/NAME-client.{pem,key} (a client certificate signed by it, CN NAME-client).
# NAME defaults to "test". EC P-256 keys, valid 2 days: nothing here is meant to be kept.
set -euo pipefail
dir="$1"
name="${2:-test}"
mkdir -p "$dir"
cd "$dir"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

key "$name-ca.key"
openssl req -x509 -new -key "$name-ca.key" -subj "/CN=$name test CA" -days 2 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out "$name-ca.pem" 2>/dev/null

sign() {  # sign <stem> <subject> <extensions>
  key "$1.key"
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
  printf '%b' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$name-ca.pem" -CAkey "$name-ca.key" -CAcreateserial \
    -days 2 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
sign "$name-server" "/CN=localhost" \
  "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE"
sign "$name-client" "/CN=$name-client" \
  "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE"
rm -f "$name-ca.srl"
