//! The node's OAuth 2 authorization server end to end: a real node on a loopback port, an app
//! registered by the owner with `hearth oauth client add`, and
//! - an independent client library (Python's authlib, from PyPI) going through authorization
//!   code + PKCE with the consent step in real headless Chromium (playwright-core), then the
//!   API, refresh with rotation, introspection and revocation;
//! - hostile requests by plain HTTP (ureq): wrong redirect URI, plain PKCE, a missing or wrong
//!   CSRF token, a wrong passphrase, a wrong verifier, a replayed code, a wrong client secret.

use std::process::Command;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hearth_e2e::{Node, PASSPHRASE, TestVault, describe, py_script, python};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A vault with one note, and a confidential client whose redirect URI is on a free loopback
/// port; returns (vault, client id, client secret, port).
fn setup(name: &str) -> (TestVault, String, String, u16) {
    let vault = TestVault::init();
    vault.ok(&[
        "add",
        "--text",
        "Planted tomatoes and basil in the garden on Sunday.",
    ]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let client = vault.json(&[
        "oauth",
        "client",
        "add",
        "--name",
        name,
        "--redirect-uri",
        &redirect,
    ]);
    let id = client["client_id"].as_str().expect("client_id").to_owned();
    let secret = client["client_secret"]
        .as_str()
        .expect("client_secret")
        .to_owned();
    (vault, id, secret, port)
}
#[test]
fn authlib_completes_code_and_pkce_with_consent_in_chromium_then_refreshes_and_revokes() {
    let (vault, client_id, secret, port) = setup("Garden Notes");
    let mut node = Node::start(&vault, &["--build-memories"]);
    let artifacts =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts");
    std::fs::create_dir_all(&artifacts).expect("artifacts dir");
    let screenshot = artifacts.join("oauth-consent.png");
    let _ = std::fs::remove_file(&screenshot);

    let out = Command::new(python())
        .arg(py_script("oauth_client.py"))
        .env("HEARTH_URL", &node.url)
        .env("HEARTH_CLIENT_ID", &client_id)
        .env("HEARTH_CLIENT_SECRET", &secret)
        .env("HEARTH_REDIRECT_PORT", port.to_string())
        .env("HEARTH_OWNER_PASSPHRASE", PASSPHRASE)
        .env("HEARTH_SCREENSHOT", &screenshot)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}\nnode log:\n{}",
        describe(&out),
        node.log()
    );
    let r: Value = serde_json::from_slice(&out.stdout).expect("the script's JSON");

    assert_eq!(r["authlib_version"], "1.9.10");
    assert_eq!(r["metadata"]["issuer"], node.url.as_str());
    assert_eq!(
        r["metadata"]["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert!(
        r["metadata"].get("registration_endpoint").is_none(),
        "{}",
        r["metadata"]
    );
    assert_eq!(r["authorize_url_has_s256"], true);
    // The consent page said in plain words what the app asked for.
    assert_eq!(r["consent"]["title"], "Hearth: allow Garden Notes?");
    let asks = r["consent"]["asks"].to_string();
    assert!(
        asks.contains("search and read the matching memories"),
        "{asks}"
    );
    assert!(asks.contains("compute embeddings"), "{asks}");
    assert!(
        r["consent"]["callback"]
            .as_str()
            .unwrap()
            .contains("state=")
    );
    assert_eq!(r["callback_has_iss"], true);
    // The owner unchecked model.embed: the token has memories.search only.
    assert_eq!(r["token"]["token_type"], "Bearer");
    assert_eq!(r["token"]["scope"], "memories.search");
    let expires_in = r["token"]["expires_in"].as_i64().unwrap();
    assert!((1..=900).contains(&expires_in), "{expires_in}");
    assert_eq!(r["search"], 200);
    assert_eq!(r["embed_unchecked"], 403);
    assert_eq!(r["introspect_active"]["active"], true);
    assert_eq!(r["introspect_active"]["client_id"], client_id.as_str());
    assert_eq!(r["introspect_active"]["scope"], "memories.search");
    // Refresh rotates; revocation ends the access token.
    assert_eq!(r["refresh_rotated"], true);
    assert_eq!(r["refreshed_search"], 200);
    assert_eq!(r["revoke_status"], 200);
    assert_eq!(r["revoked_search"], 401);
    assert_eq!(
        r["introspect_revoked"],
        serde_json::json!({"active": false})
    );
    // The old refresh token replayed: refused, and its whole family (and grants) with it.
    assert_eq!(
        r["reuse"],
        serde_json::json!({"status": 400, "error": "invalid_grant"})
    );
    assert_eq!(
        r["family_after_reuse"],
        serde_json::json!({"status": 400, "error": "invalid_grant"})
    );
    assert_eq!(r["first_access_after_reuse"], 401);

    let png = std::fs::read(&screenshot).expect("the consent screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 5_000,
        "{} bytes",
        png.len()
    );

    assert!(node.stop(), "clean stop; log:\n{}", node.log());
    let log = node.log();
    assert!(
        !log.contains(&secret),
        "the client secret never reaches the log"
    );
    let entries = vault.audit_entries();
    let actions: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "oauth.client.register",
        "oauth.consent",
        "oauth.token",
        "oauth.revoke",
        "oauth.refresh.reused",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let text = serde_json::to_string(&entries).unwrap();
    assert!(!text.contains(&secret), "no secret in the audit log");
    // The access tokens are grants the owner can list.
    let grants = vault.json(&["grant", "list"]);
    let mine: Vec<&Value> = grants
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["app"] == client_id.as_str())
        .collect();
    assert!(mine.len() >= 2, "{grants}");
    assert!(mine.iter().all(|g| g["status"] == "revoked"), "{grants}");
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A rendered consent page: status, the pending request id, its CSRF token, its cookie.
struct Page {
    status: u16,
    location: Option<String>,
    body: String,
    cookie: Option<String>,
}

impl Page {
    fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("{name} in {}", self.body))
            + marker.len();
        let end = self.body[start..].find('"').unwrap() + start;
        self.body[start..end].to_owned()
    }
}

fn get_page(url: &str) -> Page {
    let mut r = agent().get(url).call().expect("GET");
    let header = |r: &ureq::http::Response<ureq::Body>, h: &str| {
        r.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let location = header(&r, "location");
    let cookie = header(&r, "set-cookie").map(|c| c.split(';').next().unwrap().to_owned());
    Page {
        status: r.status().as_u16(),
        location,
        body: r.body_mut().read_to_string().unwrap_or_default(),
        cookie,
    }
}

fn post_form(
    url: &str,
    cookie: Option<&str>,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> Page {
    let body: String = form
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut request = agent()
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        request = request.header("Cookie", c);
    }
    if let Some((id, secret)) = basic {
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        request = request.header("Authorization", format!("Basic {b64}"));
    }
    let mut r = request.send(body.as_bytes()).expect("POST");
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Page {
        status: r.status().as_u16(),
        location,
        body: r.body_mut().read_to_string().unwrap_or_default(),
        cookie: None,
    }
}

fn query_param(location: &str, name: &str) -> Option<String> {
    let query = location.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[test]
fn hostile_oauth_requests_are_refused() {
    let (vault, client_id, secret, port) = setup("Probe");
    let node = Node::start(&vault, &["--allow-dynamic-registration"]);
    let base = &node.url;
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let verifier = "v".repeat(43) + "-good-verifier";
    let authorize = |redirect: &str, method: &str, state: &str| {
        format!(
            "{base}/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope={}&state={}&code_challenge={}&code_challenge_method={method}",
            enc(&client_id),
            enc(redirect),
            enc("memories.search model.chat"),
            enc(state),
            challenge(&verifier)
        )
    };

    // A redirect URI that is not registered exactly: shown to the owner, never redirected.
    for wrong in [
        format!("{redirect}/x"),
        format!("http://127.0.0.1:{port}/Callback"),
        format!("http://localhost:{port}/callback"),
    ] {
        let page = get_page(&authorize(&wrong, "S256", "s"));
        assert_eq!(
            (page.status, page.location.as_deref()),
            (400, None),
            "{wrong}"
        );
    }
    // Plain PKCE: refused, sent back to the app with the state and the issuer.
    let page = get_page(&authorize(&redirect, "plain", "st&1"));
    assert_eq!(page.status, 303);
    let location = page.location.unwrap();
    assert!(location.starts_with(&redirect), "{location}");
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(query_param(&location, "state").as_deref(), Some("st&1"));
    assert_eq!(
        query_param(&location, "iss").as_deref(),
        Some(base.as_str())
    );
    // An unknown client: no redirect at all.
    let page = get_page(&authorize(&redirect, "S256", "s").replace(&client_id, "nobody"));
    assert_eq!((page.status, page.location.as_deref()), (400, None));

    // The consent form: CSRF token and cookie both needed, and the owner's passphrase.
    let consent = |state: &str| get_page(&authorize(&redirect, "S256", state));
    let page = consent("state-1");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Allow <q>Probe</q>"), "{}", page.body);
    let (rid, csrf, cookie) = (
        page.field("request"),
        page.field("csrf"),
        page.cookie.clone().unwrap(),
    );
    let source = page.field("source");
    let url = format!("{base}/oauth/authorize");
    let approve = |cookie: Option<&str>, csrf: &str, passphrase: &str| {
        post_form(
            &url,
            cookie,
            None,
            &[
                ("request", &rid),
                ("csrf", csrf),
                ("passphrase", passphrase),
                ("right", "memories.search"),
                ("expires", "1h"),
                ("decision", "approve"),
            ],
        )
    };
    let missing = post_form(
        &url,
        Some(&cookie),
        None,
        &[
            ("request", &rid),
            ("passphrase", PASSPHRASE),
            ("decision", "approve"),
        ],
    );
    assert_eq!((missing.status, missing.location.as_deref()), (400, None));
    let wrong_csrf = approve(Some(&cookie), &"x".repeat(43), PASSPHRASE);
    assert_eq!(
        (wrong_csrf.status, wrong_csrf.location.as_deref()),
        (403, None)
    );
    let no_cookie = approve(None, &csrf, PASSPHRASE);
    assert_eq!(
        (no_cookie.status, no_cookie.location.as_deref()),
        (403, None)
    );
    let wrong_pass = approve(Some(&cookie), &csrf, "not the passphrase");
    assert_eq!(
        (wrong_pass.status, wrong_pass.location.as_deref()),
        (401, None)
    );
    assert!(wrong_pass.body.contains("passphrase is not right"));
    // A right the app did not ask for cannot be added on the form.
    let widened = post_form(
        &url,
        Some(&cookie),
        None,
        &[
            ("request", &rid),
            ("csrf", &csrf),
            ("passphrase", PASSPHRASE),
            ("right", "memories.search"),
            ("right", "records.export"),
            ("source", &source),
            ("expires", "1h"),
            ("decision", "approve"),
        ],
    );
    assert_eq!(widened.status, 303, "{}", widened.body);
    let code_a = query_param(widened.location.as_deref().unwrap(), "code").expect("a code");
    assert_eq!(
        query_param(widened.location.as_deref().unwrap(), "state").as_deref(),
        Some("state-1")
    );
    // The same consent cannot be answered twice.
    assert_eq!(approve(Some(&cookie), &csrf, PASSPHRASE).status, 400);

    let token_url = format!("{base}/oauth/token");
    let auth = Some((client_id.as_str(), secret.as_str()));
    let exchange = |code: &str, redirect: &str, verifier: &str, auth: Option<(&str, &str)>| {
        let page = post_form(
            &token_url,
            None,
            auth,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect),
                ("code_verifier", verifier),
            ],
        );
        let body: Value = serde_json::from_str(&page.body).unwrap_or(Value::Null);
        (page.status, body)
    };
    let error = |r: &(u16, Value)| (r.0, r.1["error"].as_str().map(str::to_owned));
    // Wrong client secret, wrong redirect URI: refused.
    assert_eq!(
        error(&exchange(
            &code_a,
            &redirect,
            &verifier,
            Some((&client_id, "wrong"))
        )),
        (401, Some("invalid_client".into()))
    );
    assert_eq!(
        error(&exchange(&code_a, &format!("{redirect}x"), &verifier, auth)),
        (400, Some("invalid_grant".into()))
    );
    // A wrong verifier burns the code.
    assert_eq!(
        error(&exchange(&code_a, &redirect, &"w".repeat(43), auth)),
        (400, Some("invalid_grant".into()))
    );
    assert_eq!(
        error(&exchange(&code_a, &redirect, &verifier, auth)),
        (400, Some("invalid_grant".into()))
    );
    // An unknown code.
    assert_eq!(
        error(&exchange("not-a-code", &redirect, &verifier, auth)),
        (400, Some("invalid_grant".into()))
    );

    // A good code works once; its replay revokes what it gave.
    let page = consent("state-2");
    let (rid2, csrf2, cookie2) = (
        page.field("request"),
        page.field("csrf"),
        page.cookie.clone().unwrap(),
    );
    let ok = post_form(
        &url,
        Some(&cookie2),
        None,
        &[
            ("request", &rid2),
            ("csrf", &csrf2),
            ("passphrase", PASSPHRASE),
            ("right", "memories.search"),
            ("right", "model.chat"),
            ("source", &source),
            ("expires", "1h"),
            ("decision", "approve"),
        ],
    );
    let code_b = query_param(ok.location.as_deref().unwrap(), "code").unwrap();
    let (status, tokens) = exchange(&code_b, &redirect, &verifier, auth);
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["scope"], "memories.search model.chat");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let search = |token: &str| {
        agent()
            .post(format!("{base}/v1/memories/search"))
            .header("Authorization", format!("Bearer {token}"))
            .send_json(serde_json::json!({"query": "garden"}))
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(search(&access), 200);
    assert_eq!(
        error(&exchange(&code_b, &redirect, &verifier, auth)),
        (400, Some("invalid_grant".into()))
    );
    assert_eq!(search(&access), 401, "the replayed code's token is revoked");
    let refresh = post_form(
        &token_url,
        None,
        auth,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    );
    assert_eq!(
        refresh.status, 400,
        "and its refresh family: {}",
        refresh.body
    );

    // Deny: the app hears access_denied, with its state.
    let page = consent("state-3");
    let denied = post_form(
        &url,
        page.cookie.as_deref(),
        None,
        &[
            ("request", &page.field("request")),
            ("csrf", &page.field("csrf")),
            ("decision", "deny"),
        ],
    );
    let location = denied.location.unwrap();
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(query_param(&location, "state").as_deref(), Some("state-3"));

    // Dynamic registration (on for this node): a public client; then the metadata says so.
    let mut r = agent().post(format!("{base}/oauth/register"))
        .send_json(serde_json::json!({"client_name": "Dyn", "redirect_uris": ["http://127.0.0.1:1/cb"], "token_endpoint_auth_method": "none"}))
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let registered: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    assert!(
        registered["client_id"].is_string() && registered.get("client_secret").is_none(),
        "{registered}"
    );
    let mut r = agent()
        .post(format!("{base}/oauth/register"))
        .send_json(
            serde_json::json!({"client_name": "Bad", "redirect_uris": ["http://evil.example/cb"]}),
        )
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let bad: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(bad["error"], "invalid_redirect_uri");
    let mut r = agent()
        .get(format!("{base}/.well-known/oauth-authorization-server"))
        .call()
        .unwrap();
    let meta: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(
        meta["registration_endpoint"],
        format!("{base}/oauth/register")
    );
    // Introspection needs a confidential client.
    let public = post_form(
        &format!("{base}/oauth/introspect"),
        None,
        None,
        &[
            ("client_id", registered["client_id"].as_str().unwrap()),
            ("token", &access),
        ],
    );
    assert_eq!(public.status, 401);
    drop(node);
}
