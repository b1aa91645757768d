#!/usr/bin/env bash
# TEST-ONLY: makes a throw-away CA and per-host certificates with openssl, for the
# TLS tests (unit checks of the certificate preflight and the TLS e2e). A real
# stack takes the operator's own CA and certificates; nothing here is product code.
#
# Usage: harness/make-certs.sh DIR IP [IP...]
#
# Writes into DIR (created; keys mode 0600):
#   ca.crt ca.key            the test CA (reused when DIR already has one, so a
#                            second run issues renewed host certificates under the
#                            same CA: the certificate-renewal test)
#   <ip>.crt <ip>.key        per host: a new key, subjectAltName IP:<ip>, CN <ip>,
#                            extendedKeyUsage serverAuth+clientAuth (Redis uses the
#                            same pair for its server and its client side), 30 days
#   bad/expired.crt          for the first IP and its key, valid 2020-01-01 to 2020-01-02
#   bad/wrong.key            a key that matches none of the certificates
#   bad/other-ca.crt         for the first IP and its key, signed by another CA
#                            (bad/other-ca-root.crt)
#   bad/wrong-san.crt        for the first IP's key, but naming 203.0.113.9 only
# and prints DIR.
set -euo pipefail

die() { printf 'make-certs: error: %s\n' "$*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: $0 DIR IP [IP...]"
command -v openssl >/dev/null 2>&1 || die "openssl is required (Debian package openssl)"
dir=$1; shift
for ip in "$@"; do
  [[ $ip =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || die "not an IPv4 address: '$ip'"
done
mkdir -p -- "$dir/bad"
umask 077
work=$(mktemp -d "${TMPDIR:-/tmp}/make-certs.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; }

make_ca() { # key crt cn
  newkey "$1"
  openssl req -x509 -new -key "$1" -sha256 -days 365 -subj "/CN=$3" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -out "$2" 2>/dev/null
}

# sign key ca_crt ca_key san out [startdate enddate]
sign() {
  local key=$1 cacrt=$2 cakey=$3 san=$4 out=$5 start=${6:-} end=${7:-}
  openssl req -new -key "$key" -subj "/CN=${san#IP:}" -out "$work/req.csr" 2>/dev/null
  printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=$san" >"$work/ext"
  if [ -z "$start" ]; then
    openssl x509 -req -in "$work/req.csr" -CA "$cacrt" -CAkey "$cakey" -CAcreateserial \
      -CAserial "$work/serial" -days 30 -sha256 -extfile "$work/ext" -out "$out" 2>/dev/null
  else
    # `openssl x509` (3.0) cannot back-date; `openssl ca` takes explicit dates.
    : >"$work/index.txt"
    printf '%s\n' "[ca]" "default_ca=c" "[c]" "database=$work/index.txt" "new_certs_dir=$work" \
      "serial=$work/ca-serial" "default_md=sha256" "policy=p" "unique_subject=no" \
      "[p]" "commonName=supplied" >"$work/ca.cnf"
    openssl rand -hex 8 >"$work/ca-serial"
    openssl ca -batch -config "$work/ca.cnf" -cert "$cacrt" -keyfile "$cakey" -in "$work/req.csr" \
      -startdate "$start" -enddate "$end" -extfile "$work/ext" -notext -out "$out" 2>/dev/null
  fi
}

[ -s "$dir/ca.key" ] && [ -s "$dir/ca.crt" ] || make_ca "$dir/ca.key" "$dir/ca.crt" "sentinel-test-ca"
for ip in "$@"; do
  newkey "$dir/$ip.key"
  sign "$dir/$ip.key" "$dir/ca.crt" "$dir/ca.key" "IP:$ip" "$dir/$ip.crt"
done

first=$1
sign "$dir/$first.key" "$dir/ca.crt" "$dir/ca.key" "IP:$first" "$dir/bad/expired.crt" 20200101000000Z 20200102000000Z
newkey "$dir/bad/wrong.key"
make_ca "$work/other-ca.key" "$dir/bad/other-ca-root.crt" "other-test-ca"
sign "$dir/$first.key" "$dir/bad/other-ca-root.crt" "$work/other-ca.key" "IP:$first" "$dir/bad/other-ca.crt"
sign "$dir/$first.key" "$dir/ca.crt" "$dir/ca.key" "IP:203.0.113.9" "$dir/bad/wrong-san.crt"
chmod 0644 "$dir"/*.crt "$dir"/bad/*.crt
printf '%s\n' "$dir"
