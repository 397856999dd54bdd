"""Trades a JWT assertion signed by Authlib for a Gatehouse access token (RFC 7523 jwt-bearer grant).

Usage: authlib_jwt_bearer.py TOKEN_URL SERVICE_ACCOUNT_ID KID PEM_FILE [SCOPE]

The algorithm follows the private key in PEM_FILE (PKCS#8): EC P-256 -> ES256, RSA -> RS256,
Ed25519 -> EdDSA. The assertion is built by Authlib's own RFC 7523 helper,
authlib.oauth2.rfc7523.JWTBearerGrant.sign: iss = sub = SERVICE_ACCOUNT_ID, aud = TOKEN_URL,
iat = now, exp = iat + 300, a fresh jti (uuid4), header {alg, kid, typ: JWT}. It is POSTed as
application/x-www-form-urlencoded with requests.

Prints one JSON object: {"status": HTTP status, "alg": ..., "assertion": ..., "response": parsed JSON
body}. Exits non-zero only when something other than the server's answer goes wrong.
"""

import json
import sys
import time
import uuid

import requests
from authlib.oauth2.rfc7523 import JWTBearerGrant
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def algorithm_of(pem: bytes) -> str:
    key = load_pem_private_key(pem, password=None)
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1":
        return "ES256"
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "EdDSA"
    raise ValueError(f"unsupported private key type {type(key).__name__}")


def main() -> int:
    if len(sys.argv) not in (5, 6):
        print(__doc__, file=sys.stderr)
        return 2
    token_url, account_id, kid, pem_file = sys.argv[1:5]
    scope = sys.argv[5] if len(sys.argv) == 6 else None
    with open(pem_file, "rb") as f:
        pem = f.read()
    alg = algorithm_of(pem)
    issued_at = int(time.time())
    assertion = JWTBearerGrant.sign(
        pem,
        issuer=account_id,
        audience=token_url,
        subject=account_id,
        issued_at=issued_at,
        expires_at=issued_at + 300,
        claims={"jti": str(uuid.uuid4())},
        header={"alg": alg, "kid": kid, "typ": "JWT"},
    )
    data = {"grant_type": GRANT_TYPE, "assertion": assertion.decode("ascii") if isinstance(assertion, bytes) else assertion}
    if scope:
        data["scope"] = scope
    response = requests.post(token_url, data=data, headers={"Accept": "application/json"}, timeout=10)
    print(json.dumps({"status": response.status_code, "alg": alg, "assertion": data["assertion"], "response": response.json()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
