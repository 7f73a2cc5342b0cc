#!/usr/bin/env bash
# One home for IANA transform numbers (issue: "one source of truth per
# concept"): the wire crate's registry (crates/wire/src/registry) defines
# every transform type and transform ID; every other crate takes its numbers
# from there (`EncrId::ENCR_AES_CBC.0`, …). This check fails when a transform
# constant is defined with a number anywhere else.
set -euo pipefail
cd "$(dirname "$0")/.."

names='ENCR|PRF|INTEG|KE|ESN|NO_ESN|AUTH_NONE|ENCR_[A-Z0-9_]+|PRF_[A-Z0-9_]+|AUTH_[A-Z0-9_]+|MODP_[A-Z0-9_]+|ECP_[A-Z0-9_]+|CURVE[0-9]+|ML_KEM_[0-9]+'
patterns=(
  # const ENCR_AES_CBC: u16 = 12;
  "const (${names})\\s*:\\s*u(8|16)\\s*=\\s*[0-9]"
  # enum variants numbered by hand: AesCbc = 12,
  "^\\s*(Aes|Hmac|Modp|Ecp|Curve|ChaCha|Null|Esn|Prf|Auth)[A-Za-z0-9_]*\\s*=\\s*[0-9]+\\s*,"
  # a parser's table with bare numbers: Token::Ke(36)
  "Token::(Encr|Integ|Prf|Ke|Esn)\\([0-9]"
)
found=0
for p in "${patterns[@]}"; do
  if hits=$(grep -rnE --include='*.rs' "$p" crates fuzz | grep -v '^crates/wire/src/registry/'); then
    echo "$hits"
    found=1
  fi
done
if ((found)); then
  echo "check-catalogue: IANA transform numbers defined outside crates/wire/src/registry (take them from the registry)" >&2
  exit 1
fi
echo "check-catalogue: ok (transform numbers only in crates/wire/src/registry)"
