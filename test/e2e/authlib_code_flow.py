"""Runs Gatehouse's authorization code flow with Authlib and plain HTTP, as a browser and a client would.

Usage: GATEHOUSE_E2E_PASSWORD=... authlib_code_flow.py ISSUER CLIENT_ID CLIENT_SECRET USERNAME REDIRECT_URI SCOPE

The "browser" is a requests.Session that keeps the session cookie, follows each 303 by hand and
reads the hidden form fields out of the HTML. The client is Authlib's OAuth2Session: it builds
the authorization URL (PKCE S256, state), redeems the code with the verifier and refreshes.
Nothing needs to listen at REDIRECT_URI: the flow stops at the Location of the last 303.

Prints one JSON summary on stdout. Exits non-zero (with the reason on stderr) on any failure.
(requests-oauthlib 1.3 in Debian 12 has no PKCE support, hence Authlib.)
"""

import base64
import json
import os
import sys
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from html_form import Form

TIMEOUT = 10


def fail(message: str) -> None:
    raise SystemExit(f"authlib_code_flow: {message}")


def expect_303(response: requests.Response, to: str) -> str:
    if response.status_code != 303:
        fail(f"{response.request.method} {response.url} answered {response.status_code}, expected 303: {response.text[:500]}")
    location = response.headers.get("Location", "")
    if not location.startswith(to):
        fail(f"{response.request.method} {response.url} redirected to {location!r}, expected {to}…")
    return location


def page_form(browser: requests.Session, url: str) -> tuple[Form, str]:
    response = browser.get(url, allow_redirects=False, timeout=TIMEOUT)
    if response.status_code != 200 or not response.headers.get("Content-Type", "").startswith("text/html"):
        fail(f"GET {url} answered {response.status_code} {response.headers.get('Content-Type')}: {response.text[:500]}")
    form = Form()
    form.feed(response.text)
    if not form.action or "csrf_token" not in form.hidden or "request" not in form.hidden:
        fail(f"no form with csrf_token and request on {url}")
    return form, urljoin(url, form.action)


def jwt_payload(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def main() -> int:
    if len(sys.argv) != 7 or "GATEHOUSE_E2E_PASSWORD" not in os.environ:
        print(__doc__, file=sys.stderr)
        return 2
    issuer, client_id, client_secret, username, redirect_uri, scope = sys.argv[1:]
    password = os.environ["GATEHOUSE_E2E_PASSWORD"]

    # RFC 8414 metadata, at the well-known URL with the issuer's path appended.
    parts = urlsplit(issuer)
    metadata = requests.get(f"{parts.scheme}://{parts.netloc}/.well-known/oauth-authorization-server{parts.path}", timeout=TIMEOUT).json()
    if metadata["issuer"] != issuer:
        fail(f"metadata issuer {metadata['issuer']!r} is not {issuer!r}")
    token_endpoint = metadata["token_endpoint"]

    client = OAuth2Session(
        client_id,
        client_secret,
        scope=scope,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    code_verifier = generate_token(64)
    authorization_url, state = client.create_authorization_url(metadata["authorization_endpoint"], code_verifier=code_verifier)
    query = parse_qs(urlsplit(authorization_url).query)
    if query.get("code_challenge_method") != ["S256"] or not query.get("code_challenge"):
        fail(f"Authlib built no S256 challenge: {authorization_url}")

    browser = requests.Session()
    # /authorize → 303 to the login page, setting the session cookie.
    response = browser.get(authorization_url, allow_redirects=False, timeout=TIMEOUT)
    login_url = expect_303(response, f"{issuer}/login?request=")
    session_cookie = response.headers.get("Set-Cookie", "")

    # The login form, filled in and posted with the cookie and the hidden fields.
    form, action = page_form(browser, login_url)
    response = browser.post(action, data={**form.hidden, "username": username, "password": password}, allow_redirects=False, timeout=TIMEOUT)
    consent_url = expect_303(response, f"{issuer}/consent?request=")

    # The consent form: Allow.
    form, action = page_form(browser, consent_url)
    response = browser.post(action, data={**form.hidden, "decision": "allow"}, allow_redirects=False, timeout=TIMEOUT)
    callback = expect_303(response, f"{redirect_uri}?")

    params = parse_qs(urlsplit(callback).query)
    if params.get("state") != [state]:
        fail(f"state came back as {params.get('state')}, expected {state!r}")
    if params.get("iss") != [issuer]:
        fail(f"iss (RFC 9207) is {params.get('iss')}, expected {issuer!r}")

    # Authlib redeems the code (it checks state again) with the PKCE verifier, then refreshes.
    token = client.fetch_token(token_endpoint, authorization_response=callback, code_verifier=code_verifier, timeout=TIMEOUT)
    first_refresh_token = token["refresh_token"]
    refreshed = client.refresh_token(token_endpoint, timeout=TIMEOUT)
    if refreshed.get("refresh_token") in (None, first_refresh_token):
        fail("the refresh did not rotate the refresh token")

    # The retired refresh token again: refused (and, per the README, the family is revoked).
    try:
        client.refresh_token(token_endpoint, refresh_token=first_refresh_token, timeout=TIMEOUT)
        reused_error = None
    except OAuthError as error:
        reused_error = error.error

    print(
        json.dumps(
            {
                "iss": params["iss"][0],
                "state_ok": True,
                "session_cookie": session_cookie,
                "consent_scopes": [text.strip() for text in form.scope_texts],
                "code_prefix": params["code"][0][:4],
                "token_type": token["token_type"],
                "expires_in": token["expires_in"],
                "scope": token["scope"],
                "access_token": token["access_token"],
                "access_token_sub": jwt_payload(token["access_token"])["sub"],
                "refreshed": True,
                "refreshed_scope": refreshed["scope"],
                "refreshed_access_token": refreshed["access_token"],
                "refreshed_access_token_sub": jwt_payload(refreshed["access_token"])["sub"],
                "reused_refresh_token_error": reused_error,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
