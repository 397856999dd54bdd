"""Gets client_credentials tokens from Gatehouse with Authlib, an independent OAuth 2.0 client.

Usage: authlib_client_credentials.py TOKEN_URL CLIENT_ID CLIENT_SECRET

Prints one JSON object: {"client_secret_basic": TOKEN, "client_secret_post": TOKEN}, where
each TOKEN is the token response as Authlib parsed it. Exits non-zero on any failure.
"""

import json
import sys

from authlib.integrations.requests_client import OAuth2Session


def fetch(token_url: str, client_id: str, client_secret: str, method: str) -> dict:
    with OAuth2Session(client_id, client_secret, token_endpoint_auth_method=method) as session:
        token = session.fetch_token(token_url, grant_type="client_credentials", timeout=10)
    return dict(token)


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    token_url, client_id, client_secret = sys.argv[1:]
    result = {method: fetch(token_url, client_id, client_secret, method) for method in ("client_secret_basic", "client_secret_post")}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
