"""Registers a confidential client at Gatehouse (RFC 7591) and gets a token with it through Authlib.

Usage: authlib_registration.py ISSUER INITIAL_ACCESS_TOKEN SCOPE

Discovery (RFC 8414) gives the registration endpoint; the registration is a plain JSON POST
with the initial access token as a Bearer token (Authlib has the server side of RFC 7591, not a
client). Authlib's OAuth2Session then authenticates with the issued secret (client_secret_basic)
for a client_credentials token. The client reads its registration (RFC 7592) and deletes itself.

Prints one JSON summary on stdout; exits non-zero on any failure.
"""

import json
import sys

import requests
from authlib.integrations.requests_client import OAuth2Session

TIMEOUT = 10


def fail(message: str) -> None:
    raise SystemExit(f"authlib_registration: {message}")


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    issuer, initial_token, scope = sys.argv[1:]
    metadata = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=TIMEOUT).json()
    endpoint = metadata.get("registration_endpoint")
    if not endpoint:
        fail("no registration_endpoint in the metadata")
    registered = requests.post(
        endpoint,
        json={
            "client_name": "Authlib service",
            "token_endpoint_auth_method": "client_secret_basic",
            "grant_types": ["client_credentials"],
            "response_types": [],
            "scope": scope,
        },
        headers={"Authorization": f"Bearer {initial_token}"},
        timeout=TIMEOUT,
    )
    if registered.status_code != 201:
        fail(f"registration answered {registered.status_code}: {registered.text}")
    client = registered.json()
    session = OAuth2Session(client["client_id"], client["client_secret"], token_endpoint_auth_method="client_secret_basic", scope=scope)
    token = session.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    management = {"Authorization": f"Bearer {client['registration_access_token']}"}
    read = requests.get(client["registration_client_uri"], headers=management, timeout=TIMEOUT)
    deleted = requests.delete(client["registration_client_uri"], headers=management, timeout=TIMEOUT)
    after = requests.post(
        metadata["token_endpoint"],
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]),
        timeout=TIMEOUT,
    )
    print(
        json.dumps(
            {
                "client_id": client["client_id"],
                "client_secret_expires_at": client.get("client_secret_expires_at"),
                "token_type": token["token_type"],
                "scope": token.get("scope"),
                "access_token": token["access_token"],
                "read_status": read.status_code,
                "read_client_name": read.json().get("client_name"),
                "delete_status": deleted.status_code,
                "after_delete_status": after.status_code,
                "after_delete_error": after.json().get("error"),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
