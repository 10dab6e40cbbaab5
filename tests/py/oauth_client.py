"""An app connecting to a Hearth node with an independent OAuth 2 client library (authlib, from
PyPI): authorization code with PKCE (S256), the owner's consent in real headless Chromium
(tests/browser/consent.mjs), then the API with the access token, refresh with rotation,
introspection and revocation (RFC 7009).

Environment: HEARTH_URL, HEARTH_CLIENT_ID, HEARTH_CLIENT_SECRET, HEARTH_REDIRECT_PORT (the
registered redirect URI is http://127.0.0.1:PORT/callback), HEARTH_OWNER_PASSPHRASE (passed to
the browser script), HEARTH_SCREENSHOT (where the consent page's screenshot goes).
Prints one JSON object with what it saw; tests/tests/node_oauth.rs asserts on it.
"""

import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import authlib
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

url = os.environ["HEARTH_URL"]
port = int(os.environ["HEARTH_REDIRECT_PORT"])
redirect_uri = f"http://127.0.0.1:{port}/callback"
out = {"authlib_version": authlib.__version__}

# The node's metadata (RFC 8414).
meta = requests.get(f"{url}/.well-known/oauth-authorization-server", timeout=30).json()
out["metadata"] = meta

# The app's loopback callback.
received = {}


class Callback(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        # Only the callback: the browser also asks for /favicon.ico.
        if self.path.startswith("/callback?"):
            received["path"] = self.path
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"You can close this window.")

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", port), Callback)
threading.Thread(target=server.serve_forever, daemon=True).start()

session = OAuth2Session(
    os.environ["HEARTH_CLIENT_ID"],
    os.environ["HEARTH_CLIENT_SECRET"],
    redirect_uri=redirect_uri,
    scope="memories.search model.embed",
    code_challenge_method="S256",
    token_endpoint_auth_method="client_secret_basic",
)
verifier = generate_token(64)
authorize_url, state = session.create_authorization_url(
    meta["authorization_endpoint"], code_verifier=verifier
)
out["authorize_url_has_s256"] = "code_challenge_method=S256" in authorize_url

# The owner consents in the browser, unchecking model.embed.
browser = Path(__file__).resolve().parent.parent / "browser" / "consent.mjs"
shown = subprocess.run(
    ["node", str(browser), authorize_url, "model.embed", os.environ["HEARTH_SCREENSHOT"]],
    capture_output=True,
    text=True,
    timeout=120,
)
if shown.returncode != 0:
    sys.exit(f"the browser step failed:\n{shown.stdout}\n{shown.stderr}")
out["consent"] = json.loads(shown.stdout.strip().splitlines()[-1])
server.shutdown()
callback = f"http://127.0.0.1:{port}{received['path']}"
out["callback_has_iss"] = f"iss={requests.utils.quote(meta['issuer'], safe='')}" in callback

# authlib checks the state and sends the PKCE verifier.
token = session.fetch_token(
    meta["token_endpoint"], authorization_response=callback, code_verifier=verifier
)
out["token"] = {k: token.get(k) for k in ("token_type", "expires_in", "scope")}
first_refresh = token["refresh_token"]


def call(access, path, body):
    r = requests.post(
        f"{url}{path}", json=body, headers={"Authorization": f"Bearer {access}"}, timeout=120
    )
    return r.status_code


out["search"] = call(token["access_token"], "/v1/memories/search", {"query": "garden"})
out["embed_unchecked"] = call(
    token["access_token"], "/v1/embeddings", {"model": "all-minilm-l6-v2", "input": "x"}
)
out["introspect_active"] = session.introspect_token(
    meta["introspection_endpoint"], token=token["access_token"]
).json()

# Refresh: a new access token and a new refresh token.
refreshed = session.refresh_token(meta["token_endpoint"], refresh_token=first_refresh)
out["refresh_rotated"] = refreshed["refresh_token"] != first_refresh
out["refreshed_search"] = call(refreshed["access_token"], "/v1/memories/search", {"query": "x"})

# Revoke the new access token (RFC 7009): the API then refuses it.
revoked = session.revoke_token(
    meta["revocation_endpoint"], token=refreshed["access_token"], token_type_hint="access_token"
)
out["revoke_status"] = revoked.status_code
out["revoked_search"] = call(refreshed["access_token"], "/v1/memories/search", {"query": "x"})
out["introspect_revoked"] = session.introspect_token(
    meta["introspection_endpoint"], token=refreshed["access_token"]
).json()

# The old refresh token again: refused, and the whole family with it.
reuse = requests.post(
    meta["token_endpoint"],
    data={"grant_type": "refresh_token", "refresh_token": first_refresh},
    auth=(os.environ["HEARTH_CLIENT_ID"], os.environ["HEARTH_CLIENT_SECRET"]),
    timeout=30,
)
out["reuse"] = {"status": reuse.status_code, "error": reuse.json().get("error")}
after = requests.post(
    meta["token_endpoint"],
    data={"grant_type": "refresh_token", "refresh_token": refreshed["refresh_token"]},
    auth=(os.environ["HEARTH_CLIENT_ID"], os.environ["HEARTH_CLIENT_SECRET"]),
    timeout=30,
)
out["family_after_reuse"] = {"status": after.status_code, "error": after.json().get("error")}
out["first_access_after_reuse"] = call(
    token["access_token"], "/v1/memories/search", {"query": "x"}
)

print(json.dumps(out))
