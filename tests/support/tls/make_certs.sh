#!/bin/sh
# make_certs.sh - regenerates the test CA and certificates in this folder (openssl CLI).
set -e
cd "$(dirname "$0")"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cat > "$W/ca.cnf" <<CNF
[ca]
default_ca = d
[d]
database = $W/index.txt
new_certs_dir = $W
serial = $W/serial
default_md = sha256
policy = p
copy_extensions = none
[p]
commonName = supplied
[ext_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign
subjectKeyIdentifier = hash
[ext_server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = \$ENV::SAN
CNF
SAN=DNS:unused   # read by the config file even where unused
export SAN
DATES="-startdate 20240101000000Z -enddate 21240101000000Z"
: > "$W/index.txt"
echo 01 > "$W/serial"
ca() {   # ca NAME CN: self-signed, valid 2024-2124 whatever today's date
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/$1.key" \
        -out "$W/$1.csr" -subj "/CN=$2"
    openssl ca -batch -selfsign -config "$W/ca.cnf" -keyfile "$W/$1.key" -in "$W/$1.csr" \
        -out "$1.pem" -notext -extensions ext_ca $DATES
}
ca ca "countly_mp test CA"
ca other_ca "countly_mp other CA"
leaf() {   # leaf NAME SAN
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
        -out "$W/$1.csr" -subj "/CN=$1"
    SAN="$2" openssl ca -batch -config "$W/ca.cnf" -cert ca.pem -keyfile "$W/ca.key" \
        -in "$W/$1.csr" -out "$1.pem" -notext -extensions ext_server \
        $DATES
}
leaf server "IP:127.0.0.1,DNS:localhost"
leaf wrong_host "DNS:wrong.invalid"
for c in ca other_ca; do
    openssl x509 -in $c.pem -outform DER -out $c.der
done
