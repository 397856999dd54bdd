"""Signs a user in with OpenID Connect through Gatehouse's pages, with Authlib as the relying party.

Usage: GATEHOUSE_E2E_PASSWORD=... authlib_openid.py ISSUER CLIENT_ID CLIENT_SECRET USERNAME REDIRECT_URI POST_LOGOUT_REDIRECT_URI ALG

Authlib's OAuth2Session builds the authentication request (PKCE S256, state, nonce), redeems the
code and refreshes; authlib.jose checks each ID Token's signature against the issuer's JWKS
(allowing ALG only) and authlib.oidc.core's CodeIDToken its claims (iss, aud, exp, iat, nonce,
at_hash, azp). A requests.Session plays the browser: it keeps the session cookie and submits the
login and consent forms. The session ends at the end_session_endpoint (RP-Initiated Logout 1.0)
with id_token_hint, post_logout_redirect_uri and state; a prompt=none request then must answer
login_required. Nothing needs to listen at the redirect URIs: the flow reads the Location headers.

Prints one JSON summary on stdout. Exits non-zero (with the reason on stderr) on any failure.
"""

import html
import json
import os
import re
import sys
import time
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, JsonWebToken
from authlib.oidc.core import CodeIDToken, IDToken
from html_form import Form

TIMEOUT = 10
SCOPE = "openid profile email address phone offline_access"


def fail(message: str) -> None:
    raise SystemExit(f"authlib_openid: {message}")


def without_query(url: str) -> str:
    """The URL for an error message: its query may hold a code or a token."""
    return urlsplit(url)._replace(query="…").geturl()


def expect_303(response: requests.Response, to: str) -> str:
    where = f"{response.request.method} {without_query(response.url)}"
    if response.status_code != 303:
        fail(f"{where} answered {response.status_code}, expected 303: {response.text[:500]}")
    location = urljoin(response.url, response.headers.get("Location", ""))
    if not location.startswith(to):
        fail(f"{where} redirected to {without_query(location)!r}, expected {to}…")
    return location


def page_form(browser: requests.Session, url: str) -> tuple[Form, str]:
    response = browser.get(url, allow_redirects=False, timeout=TIMEOUT)
    if response.status_code != 200 or not response.headers.get("Content-Type", "").startswith("text/html"):
        fail(f"GET {url} answered {response.status_code} {response.headers.get('Content-Type')}: {response.text[:500]}")
    form = Form()
    form.feed(response.text)
    if not form.action:
        fail(f"no form on {url}")
    return form, urljoin(url, form.action)


def sign_in(browser: requests.Session, authorization_url: str, issuer: str, redirect_uri: str, username: str, password: str) -> tuple[str, list[str]]:
    """Walks /authorize → login → consent; returns the callback URL and the pages answered."""
    pages = []
    response = browser.get(authorization_url, allow_redirects=False, timeout=TIMEOUT)
    for _ in range(4):
        location = expect_303(response, "")
        if location.startswith(redirect_uri):
            return location, pages
        if location.startswith(f"{issuer}/login?"):
            pages.append("login")
            form, action = page_form(browser, location)
            response = browser.post(action, data={**form.hidden, "username": username, "password": password}, allow_redirects=False, timeout=TIMEOUT)
        elif location.startswith(f"{issuer}/consent?"):
            pages.append("consent")
            form, action = page_form(browser, location)
            response = browser.post(action, data={**form.hidden, "decision": "allow"}, allow_redirects=False, timeout=TIMEOUT)
        else:
            fail(f"unexpected redirect to {location}")
    fail("the sign-in did not reach the redirect URI")


def validated(jwt: JsonWebToken, keys, token: str, claims_cls, issuer: str, client_id: str, params: dict) -> dict:
    """The ID Token's claims after authlib checked its signature and its claims."""
    claims = jwt.decode(
        token,
        keys,
        claims_cls=claims_cls,
        claims_options={"iss": {"essential": True, "value": issuer}, "aud": {"essential": True, "value": client_id}},
        claims_params={"client_id": client_id, **params},
    )
    claims.validate(now=int(time.time()), leeway=5)
    return {"header": dict(claims.header), "claims": dict(claims)}


def main() -> int:
    if len(sys.argv) != 8 or "GATEHOUSE_E2E_PASSWORD" not in os.environ:
        print(__doc__, file=sys.stderr)
        return 2
    issuer, client_id, client_secret, username, redirect_uri, post_logout_redirect_uri, alg = sys.argv[1:]
    password = os.environ["GATEHOUSE_E2E_PASSWORD"]

    # OpenID Connect Discovery 1.0 §4: the issuer with /.well-known/openid-configuration appended.
    metadata = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=TIMEOUT).json()
    if metadata["issuer"] != issuer:
        fail(f"discovery issuer {metadata['issuer']!r} is not {issuer!r}")
    keys = JsonWebKey.import_key_set(requests.get(metadata["jwks_uri"], timeout=TIMEOUT).json())
    # Only the algorithm the client registered: an ID Token signed otherwise fails to decode.
    jwt = JsonWebToken([alg])

    client = OAuth2Session(
        client_id,
        client_secret,
        scope=SCOPE,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    code_verifier = generate_token(64)
    nonce = generate_token(24)
    # Core §11: offline_access is honoured with prompt=consent.
    authorization_url, state = client.create_authorization_url(metadata["authorization_endpoint"], code_verifier=code_verifier, nonce=nonce, prompt="consent")

    browser = requests.Session()
    callback, pages = sign_in(browser, authorization_url, issuer, redirect_uri, username, password)
    params = parse_qs(urlsplit(callback).query)
    if params.get("state") != [state] or params.get("iss") != [issuer]:
        fail(f"the callback has state {params.get('state')} and iss {params.get('iss')}")

    token = client.fetch_token(metadata["token_endpoint"], authorization_response=callback, code_verifier=code_verifier, timeout=TIMEOUT)
    if "id_token" not in token:
        fail(f"no id_token in the token response (scope {token.get('scope')!r})")
    first = validated(jwt, keys, token["id_token"], CodeIDToken, issuer, client_id, {"nonce": nonce, "access_token": token["access_token"]})

    # UserInfo (Core §5.3): GET and POST, with the access token as a Bearer token.
    userinfo_get = client.get(metadata["userinfo_endpoint"], timeout=TIMEOUT)
    userinfo_post = client.post(metadata["userinfo_endpoint"], timeout=TIMEOUT)
    for response in (userinfo_get, userinfo_post):
        if response.status_code != 200 or not response.headers.get("Content-Type", "").startswith("application/json"):
            fail(f"{response.request.method} UserInfo answered {response.status_code} {response.headers.get('Content-Type')}: {response.text[:300]}")

    # Refresh (Core §12.2): a new ID Token for the same authentication.
    refreshed = client.refresh_token(metadata["token_endpoint"], timeout=TIMEOUT)
    if "id_token" not in refreshed:
        fail("the refresh returned no ID Token")
    second = validated(jwt, keys, refreshed["id_token"], IDToken, issuer, client_id, {"access_token": refreshed["access_token"]})

    # RP-Initiated Logout 1.0 §2 at the end_session_endpoint, in the browser.
    end_state = generate_token(16)
    end_session = f"{metadata['end_session_endpoint']}?" + urlencode(
        {"id_token_hint": refreshed["id_token"], "post_logout_redirect_uri": post_logout_redirect_uri, "state": end_state}
    )
    response = browser.get(end_session, allow_redirects=False, timeout=TIMEOUT)
    confirmed = False
    if response.status_code == 200:
        # A confirmation page (the OP may ask even with a valid hint): submit it.
        form = Form()
        form.feed(response.text)
        if not form.action:
            fail(f"the end-session page has no form: {response.text[:300]}")
        # A browser posts the submit button's name and value with the form.
        button = re.search(r'<button[^>]*type="submit"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', response.text)
        data = {**form.hidden, **({button.group(1): html.unescape(button.group(2))} if button else {})}
        response = browser.post(urljoin(end_session, form.action), data=data, allow_redirects=False, timeout=TIMEOUT)
        confirmed = True
    after_logout = expect_303(response, post_logout_redirect_uri)

    # The session is over: prompt=none must now answer login_required (Core §3.1.2.6).
    silent_url, silent_state = client.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=generate_token(64), nonce=generate_token(24), prompt="none", scope="openid"
    )
    silent = parse_qs(urlsplit(expect_303(browser.get(silent_url, allow_redirects=False, timeout=TIMEOUT), redirect_uri)).query)

    print(
        json.dumps(
            {
                "pages": pages,
                "token_type": token["token_type"],
                "scope": token["scope"],
                "has_refresh_token": "refresh_token" in token,
                "id_token": first,
                "userinfo_get": userinfo_get.json(),
                "userinfo_post": userinfo_post.json(),
                "refreshed_id_token": second,
                "refresh_token_rotated": refreshed.get("refresh_token") not in (None, token.get("refresh_token")),
                "logout_confirmation_page": confirmed,
                "post_logout_redirect": after_logout,
                "end_state": end_state,
                "prompt_none_after_logout": {k: v[0] for k, v in silent.items()},
                "prompt_none_state_ok": silent.get("state") == [silent_state],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
