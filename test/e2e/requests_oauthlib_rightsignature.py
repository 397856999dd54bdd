"""A Doorkeeper-style client (requests-oauthlib, no PKCE) against Gatehouse's RightSignature surface.

Usage: GATEHOUSE_E2E_PASSWORD=... requests_oauthlib_rightsignature.py BASE CLIENT_ID CLIENT_SECRET USERNAME REDIRECT_URI

The client is requests-oauthlib's OAuth2Session, as a RightSignature integration would use it:
authorization URL with state at BASE/oauth/authorize, code exchange and refresh at BASE/oauth/token,
token info at BASE/oauth/token/info, revocation at BASE/oauth/revoke. A requests.Session plays the
browser on the login and consent pages. Prints one JSON summary; exits non-zero on any failure.
"""

import json
import os
import sys
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from html_form import Form
from requests_oauthlib import OAuth2Session

TIMEOUT = 10


def fail(message: str) -> None:
    raise SystemExit(f"requests_oauthlib_rightsignature: {message}")


def follow(browser: requests.Session, response: requests.Response) -> str:
    if response.status_code != 303:
        fail(f"{response.request.method} {response.url} answered {response.status_code}: {response.text[:300]}")
    return urljoin(response.url, response.headers["Location"])


def submit(browser: requests.Session, url: str, fields: dict[str, str]) -> str:
    page = browser.get(url, allow_redirects=False, timeout=TIMEOUT)
    if page.status_code != 200:
        fail(f"GET {url} answered {page.status_code}")
    form = Form()
    form.feed(page.text)
    if not form.action:
        fail(f"no form on {url}")
    return follow(browser, browser.post(urljoin(url, form.action), data={**form.hidden, **fields}, allow_redirects=False, timeout=TIMEOUT))


def main() -> None:
    base, client_id, client_secret, username, redirect_uri = sys.argv[1:6]
    password = os.environ["GATEHOUSE_E2E_PASSWORD"]
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"  # plain http on 127.0.0.1 only
    client = OAuth2Session(client_id, redirect_uri=redirect_uri, scope=["read"])
    authorization_url, state = client.authorization_url(f"{base}/oauth/authorize")

    browser = requests.Session()
    location = follow(browser, browser.get(authorization_url, allow_redirects=False, timeout=TIMEOUT))
    handed_over = urlsplit(location).path
    location = follow(browser, browser.get(location, allow_redirects=False, timeout=TIMEOUT))
    location = submit(browser, location, {"username": username, "password": password})
    location = submit(browser, location, {"decision": "allow"})
    if not location.startswith(redirect_uri):
        fail(f"the flow ended at {location}")
    returned = parse_qs(urlsplit(location).query)

    token = client.fetch_token(f"{base}/oauth/token", authorization_response=location, client_secret=client_secret, include_client_id=True)
    info = client.get(f"{base}/oauth/token/info", timeout=TIMEOUT).json()
    refreshed = client.refresh_token(f"{base}/oauth/token", client_id=client_id, client_secret=client_secret)
    revoked = requests.post(f"{base}/oauth/revoke", data={"token": refreshed["access_token"]}, auth=(client_id, client_secret), timeout=TIMEOUT)
    after = requests.get(f"{base}/oauth/token/info", params={"access_token": refreshed["access_token"]}, timeout=TIMEOUT)
    print(
        json.dumps(
            {
                "handed_over_to": handed_over,
                "state_ok": returned.get("state") == [state],
                "iss": returned.get("iss", [None])[0],
                "token_type": token["token_type"],
                "expires_in": token["expires_in"],
                "scope": token["scope"],
                "created_at": token["created_at"],
                "info_application": info["application"],
                "info_scope": info["scope"],
                "refreshed_new_refresh_token": refreshed["refresh_token"] != token["refresh_token"],
                "revoke_status": revoked.status_code,
                "revoke_body": revoked.json(),
                "after_revoke_status": after.status_code,
                "after_revoke_challenge": after.headers.get("WWW-Authenticate"),
            }
        )
    )


if __name__ == "__main__":
    main()
