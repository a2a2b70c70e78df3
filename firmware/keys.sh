#!/usr/bin/env bash
# Bundle signing keys.
#   keys.sh dev               make the development CA and signing key under firmware/keys/dev/ (once;
#                             git-ignored, never committed); prints the directory
#   keys.sh keyring           print the CA that images trust: $SKYTRAIL_KEYRING if set, else the dev CA
#   keys.sh production DIR    make a production CA and signing key in DIR (do this on an offline
#                             machine; keep ca.key off the build server; see docs/install.md)
#   keys.sh other DIR         a CA and signer that images do not trust (for the image test)
# A production build sets SKYTRAIL_SIGNING_CERT, SKYTRAIL_SIGNING_KEY and SKYTRAIL_KEYRING (paths).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DEV_DIR=${SKYTRAIL_DEV_KEYS:-$HERE/keys/dev}

make_ca_and_signer() {  # DIR SUBJECT-PREFIX DAYS
    local dir=$1 name=$2 days=$3
    mkdir -p "$dir"; chmod 700 "$dir"
    cat >"$dir/openssl.cnf" <<CNF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[v3_ca]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_signer]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
CNF
    openssl req -x509 -newkey rsa:4096 -nodes -keyout "$dir/ca.key" -out "$dir/ca.pem" -days "$days" \
        -subj "/O=Skytrail/CN=$name bundle CA" -config "$dir/openssl.cnf" -extensions v3_ca 2>/dev/null
    openssl req -newkey rsa:4096 -nodes -keyout "$dir/signing.key" -out "$dir/signing.csr" \
        -subj "/O=Skytrail/CN=$name bundle signer" -config "$dir/openssl.cnf" 2>/dev/null
    openssl x509 -req -in "$dir/signing.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
        -out "$dir/signing.pem" -days "$days" -extfile "$dir/openssl.cnf" -extensions v3_signer 2>/dev/null
    chmod 600 "$dir"/*.key
    rm -f "$dir/signing.csr"
}

ensure_dev() {
    if [ ! -f "$DEV_DIR/signing.pem" ]; then
        make_ca_and_signer "$DEV_DIR" "Skytrail development" 3650
        echo "[keys] development CA made in $DEV_DIR (never ship images that trust it)" >&2
    fi
}

case "${1:-}" in
dev) ensure_dev; echo "$DEV_DIR" ;;
keyring)
    if [ -n "${SKYTRAIL_KEYRING:-}" ]; then cat "$SKYTRAIL_KEYRING"; else ensure_dev; cat "$DEV_DIR/ca.pem"; fi ;;
production)
    [ -n "${2:-}" ] || { echo "usage: keys.sh production DIR" >&2; exit 2; }
    [ ! -e "$2/ca.key" ] || { echo "keys.sh: $2 already holds a CA; not overwriting" >&2; exit 1; }
    make_ca_and_signer "$2" "Skytrail production" 7300; echo "$2" ;;
other)
    [ -n "${2:-}" ] || { echo "usage: keys.sh other DIR" >&2; exit 2; }
    [ -f "$2/signing.pem" ] || make_ca_and_signer "$2" "Untrusted test" 30; echo "$2" ;;
*) echo "usage: keys.sh dev | keyring | production DIR | other DIR" >&2; exit 2 ;;
esac
