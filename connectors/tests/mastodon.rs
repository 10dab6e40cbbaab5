//! Mastodon as a live source, against a fake instance speaking the API on loopback (real HTTP,
//! real OAuth 2 with PKCE S256, a real vault): connecting as a browser would, a first sync across
//! several pages, incremental syncs, refused states, verifiers and codes, revoked and refreshed
//! tokens, rate limits, and no token in the vault's files.

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hearth_connectors::live::mastodon::{self, ConnectOptions};
use hearth_connectors::live::oauth::{HttpClient, PkceCodeVerifier};
use hearth_connectors::live::{
    self, Connection, LiveError, SyncOptions, SyncSummary, list_connections, load_connection,
};
use hearth_e2e::contains;
use hearth_e2e::fake_mastodon::{self, ACCOUNT_ID, FakeMastodon};
use hearth_vault::{InitOptions, Kind, Record, RecordFilter, SecretString, Vault};
use serde_json::json;

fn new_vault(dir: &Path) -> Vault {
    Vault::init(
        &dir.join("vault"),
        &SecretString::from("correct horse battery staple".to_owned()),
        &InitOptions {
            scrypt_log_n: 10,
            identity_recipient: None,
        },
    )
    .expect("init vault")
}

/// Runs `connect` while a browser thread follows the URL with `tamper` applied to the redirect.
fn connect_with(
    vault: &mut Vault,
    server: &FakeMastodon,
    tamper: impl FnOnce(String) -> String + Send,
) -> (Result<Connection, LiveError>, fake_mastodon::BrowserResult) {
    let http = HttpClient::new();
    let options = ConnectOptions {
        instance: server.url(),
        timeout: Duration::from_secs(30),
        ..ConnectOptions::default()
    };
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::scope(|scope| {
        let browser = scope.spawn(move || {
            let url = rx.recv().expect("the authorization URL");
            fake_mastodon::follow_authorization_with(&url, tamper)
        });
        let mut on_url = |url: &live::oauth::Url| tx.send(url.to_string()).expect("send URL");
        let result = mastodon::connect(vault, &http, &options, &mut on_url);
        (result, browser.join().expect("browser thread"))
    })
}

fn connect(vault: &mut Vault, server: &FakeMastodon) -> Connection {
    let (result, page) = connect_with(vault, server, |l| l);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("You can close this tab"),
        "{}",
        page.body
    );
    result.expect("connect")
}

fn sync_with(vault: &mut Vault, id: &str, options: &SyncOptions) -> Result<SyncSummary, LiveError> {
    live::sync(vault, id, &HttpClient::new(), options, &mut |_: &str| {})
}

fn sync(vault: &mut Vault, id: &str) -> SyncSummary {
    sync_with(vault, id, &SyncOptions::default()).expect("sync")
}

fn posts(vault: &Vault) -> Vec<Record> {
    let mut records = vault
        .list(&RecordFilter {
            sources: vec!["mastodon".into()],
            ..RecordFilter::default()
        })
        .expect("list");
    records.sort_by_key(|r| r.data.occurred_at);
    records
}

fn statuses_requests(server: &FakeMastodon) -> Vec<String> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.contains("/statuses"))
        .collect()
}

fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            out.extend(std::fs::read(&path).expect("read"));
        }
    }
    out
}

/// Three distinctive statuses (a post with markup and media, a reply, a boost), then `filler`.
fn seed(server: &FakeMastodon, filler: usize) -> Vec<String> {
    let photo = server.add_media("harbour.jpg", b"\xFF\xD8\xFF\xE0 fake jpeg bytes");
    let first = server.post_with(
        "<p>Morning swim at the harbour &amp; coffee after.</p><p>Water was <em>cold</em>!</p>",
        "2024-03-02T08:15:00.000Z",
        |s| {
            s["spoiler_text"] = json!("cold water");
            s["tags"] = json!([{ "name": "swimming", "url": "x" }]);
            s["media_attachments"] = json!([{
                "id": "77", "type": "image", "url": photo,
                "preview_url": photo, "remote_url": null,
                "description": "The harbour at dawn"
            }]);
        },
    );
    let reply_to = first.clone();
    let reply = server.post_with(
        "<p><span class=\"h-card\"><a href=\"https://other.example/@bob\" class=\"u-url mention\">@<span>bob</span></a></span> yes, 7am again tomorrow</p>",
        "2024-03-02T09:01:30.000Z",
        move |s| {
            s["in_reply_to_id"] = json!(reply_to);
            s["visibility"] = json!("unlisted");
            s["mentions"] = json!([{ "id": "5", "username": "bob", "acct": "bob@other.example", "url": "https://other.example/@bob" }]);
        },
    );
    let boost = server.post_with("", "2024-03-03T18:00:00.000Z", |s| {
        s["reblog"] = json!({
            "id": "99887766",
            "created_at": "2024-03-03T17:00:00.000Z",
            "content": "<p>Lighthouse tours reopen on Saturday.</p>",
            "url": "https://other.example/@harbourmaster/99887766",
            "spoiler_text": "",
            "visibility": "public",
            "account": { "id": "8", "username": "harbourmaster", "acct": "harbourmaster@other.example", "display_name": "Harbour Master" },
            "media_attachments": [], "mentions": [], "tags": []
        });
    });
    let mut ids = vec![first, reply, boost];
    for i in 0..filler {
        let minute = i % 60;
        let hour = 10 + i / 60;
        ids.push(server.post(
            &format!("<p>note {i}</p>"),
            &format!("2024-03-04T{hour:02}:{minute:02}:00.000Z"),
        ));
    }
    ids
}

#[test]
fn connect_then_sync_incrementally_without_tokens_on_disk() {
    let server = FakeMastodon::start();
    let ids = seed(&server, 40);
    let tmp = tempfile::tempdir().unwrap();
    let mut vault = new_vault(tmp.path());

    let connection = connect(&mut vault, &server);
    let expected_id = format!("mastodon:alice@{}", server.authority());
    assert_eq!(connection.id, expected_id);
    assert_eq!(connection.account, format!("alice@{}", server.authority()));
    assert_eq!(connection.account_id, ACCOUNT_ID);
    assert_eq!(connection.cursor, None);
    let listed = list_connections(&vault).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, expected_id);

    // First sync: 43 statuses over two pages of 40 and 3, then an empty page.
    let summary = sync(&mut vault, &connection.id);
    assert_eq!(
        (summary.imported, summary.duplicates, summary.skipped),
        (43, 0, 0),
        "{summary:?}"
    );
    assert_eq!(summary.attachments, 1);
    assert_eq!(statuses_requests(&server).len(), 3);
    let stored = load_connection(&vault, &connection.id).unwrap().unwrap();
    assert_eq!(stored.cursor.as_deref(), ids.last().map(String::as_str));
    assert!(stored.last_sync_at.is_some());

    let records = posts(&vault);
    assert_eq!(records.len(), 43);
    assert!(records.iter().all(|r| r.data.kind == Kind::Post));

    let first = &records[0].data;
    assert_eq!(
        first.text,
        "Morning swim at the harbour & coffee after.\nWater was cold!"
    );
    assert_eq!(first.occurred_at.to_rfc3339(), "2024-03-02T08:15:00+00:00");
    assert!(!first.offset_assumed);
    assert_eq!(first.external_id.as_deref(), Some(ids[0].as_str()));
    let author = first.author.as_ref().unwrap();
    assert_eq!(author.name, "Alice Example");
    assert_eq!(
        author.handle.as_deref(),
        Some(format!("@alice@{}", server.authority()).as_str())
    );
    assert!(author.is_owner);
    assert_eq!(first.metadata["spoiler_text"], "cold water");
    assert_eq!(first.metadata["visibility"], "public");
    assert_eq!(first.metadata["tags"], "swimming");
    assert_eq!(first.metadata["media.0.description"], "The harbour at dawn");
    assert_eq!(
        first.metadata["url"],
        format!("{}/@alice/{}", server.url(), ids[0])
    );
    assert_eq!(first.attachments.len(), 1);
    assert_eq!(first.attachments[0].name, "harbour.jpg");
    assert_eq!(first.attachments[0].mime.as_deref(), Some("image/jpeg"));
    let blob = first.attachments[0].blob.as_ref().expect("media stored");
    let mut bytes = Vec::new();
    vault.read_blob(blob, &mut bytes).unwrap();
    assert_eq!(bytes, b"\xFF\xD8\xFF\xE0 fake jpeg bytes");

    let reply = &records[1].data;
    assert_eq!(reply.text, "@bob yes, 7am again tomorrow");
    assert_eq!(reply.occurred_at.to_rfc3339(), "2024-03-02T09:01:30+00:00");
    assert_eq!(reply.reply_to.as_deref(), Some(ids[0].as_str()));
    assert_eq!(reply.metadata["visibility"], "unlisted");
    assert!(
        reply
            .participants
            .iter()
            .any(|p| p.handle.as_deref() == Some("@bob@other.example") && !p.is_owner)
    );

    let boost = &records[2].data;
    assert_eq!(boost.text, "Lighthouse tours reopen on Saturday.");
    assert_eq!(boost.occurred_at.to_rfc3339(), "2024-03-03T18:00:00+00:00");
    assert_eq!(boost.external_id.as_deref(), Some(ids[2].as_str()));
    assert_eq!(boost.metadata["reblog"], "true");
    assert_eq!(boost.metadata["reblog_of"], "99887766");
    let original = boost.author.as_ref().unwrap();
    assert_eq!(original.name, "Harbour Master");
    assert!(!original.is_owner, "a boost is not the owner's writing");

    assert_eq!(records[3].data.text, "note 0");
    assert_eq!(
        records[3].data.occurred_at.to_rfc3339(),
        "2024-03-04T10:00:00+00:00"
    );
    assert_eq!(records[42].data.text, "note 39");

    // Two new statuses: the next sync asks only after the cursor and stores exactly those.
    let before = statuses_requests(&server).len();
    let new_a = server.post("<p>Afternoon: kayak</p>", "2024-03-05T14:00:00.000Z");
    let new_b = server.post("<p>Evening: rain</p>", "2024-03-05T20:30:00.000Z");
    let summary = sync(&mut vault, &connection.id);
    assert_eq!(
        (summary.imported, summary.duplicates),
        (2, 0),
        "{summary:?}"
    );
    let requests = statuses_requests(&server);
    assert!(
        requests[before].contains(&format!("min_id={}", ids.last().unwrap())),
        "{requests:?}"
    );
    let records = posts(&vault);
    assert_eq!(records.len(), 45);
    assert_eq!(records[43].data.text, "Afternoon: kayak");
    assert_eq!(
        records[44].data.external_id.as_deref(),
        Some(new_b.as_str())
    );
    assert_eq!(
        load_connection(&vault, &connection.id)
            .unwrap()
            .unwrap()
            .cursor
            .as_deref(),
        Some(new_b.as_str())
    );
    assert_ne!(new_a, new_b);

    // Nothing new: one request, nothing stored.
    let before = statuses_requests(&server).len();
    let summary = sync(&mut vault, &connection.id);
    assert_eq!((summary.imported, summary.duplicates), (0, 0));
    assert_eq!(statuses_requests(&server).len(), before + 1);
    assert_eq!(posts(&vault).len(), 45);

    // No secret the instance handed out (client secret, code, token) is in the vault's files,
    // nor the account or the texts.
    drop(vault);
    let bytes = all_bytes(&tmp.path().join("vault"));
    let secrets = server.secrets();
    assert!(secrets.len() >= 4, "{secrets:?}");
    for secret in &secrets {
        assert!(
            !contains(&bytes, secret.as_bytes()),
            "a secret is in the vault's files in clear"
        );
    }
    for needle in [
        "Morning swim",
        "Alice Example",
        "alice@127.0.0.1",
        "harbour",
    ] {
        assert!(!contains(&bytes, needle.as_bytes()), "{needle:?} in clear");
    }
}

#[test]
fn a_forged_state_is_refused() {
    let server = FakeMastodon::start();
    let tmp = tempfile::tempdir().unwrap();
    let mut vault = new_vault(tmp.path());
    let (result, page) = connect_with(&mut vault, &server, |location| {
        let (base, query) = location.split_once('?').unwrap();
        let forged: Vec<String> = query
            .split('&')
            .map(|p| {
                if p.starts_with("state=") {
                    "state=forged-by-someone-else".to_owned()
                } else {
                    p.to_owned()
                }
            })
            .collect();
        format!("{base}?{}", forged.join("&"))
    });
    assert_eq!(page.status, 400);
    assert!(page.body.contains("not connected"), "{}", page.body);
    let error = result.expect_err("a forged state must be refused");
    assert!(matches!(error, LiveError::Authorization(_)), "{error:?}");
    assert!(error.to_string().contains("state"), "{error}");
    // The code was never exchanged, and nothing was stored.
    assert!(
        !server
            .requests()
            .iter()
            .any(|r| r.starts_with("POST /oauth/token"))
    );
    assert!(list_connections(&vault).unwrap().is_empty());
}

#[test]
fn a_missing_state_is_refused() {
    let server = FakeMastodon::start();
    let tmp = tempfile::tempdir().unwrap();
    let mut vault = new_vault(tmp.path());
    let (result, page) = connect_with(&mut vault, &server, |location| {
        let (base, query) = location.split_once('?').unwrap();
        let kept: Vec<&str> = query
            .split('&')
            .filter(|p| !p.starts_with("state="))
            .collect();
        format!("{base}?{}", kept.join("&"))
    });
    assert_eq!(page.status, 400);
    assert!(matches!(result, Err(LiveError::Authorization(_))));
}

#[test]
fn a_wrong_verifier_and_a_reused_code_are_refused() {
    let server = FakeMastodon::start();
    let http = HttpClient::new();
    let instance = mastodon::instance_url(&server.url()).unwrap();
    let app =
        mastodon::register_app(&http, &instance, "http://127.0.0.1:9/callback", "Hearth").unwrap();

    // The instance checks the verifier against the S256 challenge: a wrong one is refused.
    let authorization = app.authorize().unwrap();
    let (code, state) = fake_mastodon::authorization_code(authorization.url.as_str());
    assert_eq!(state, authorization.state());
    let wrong = PkceCodeVerifier::new("a-verifier-that-is-not-the-one-behind-the-challenge".into());
    let error = app
        .exchange_code(&http, &live::Secret::new(code), wrong)
        .expect_err("a wrong verifier must be refused");
    assert!(error.to_string().contains("invalid_grant"), "{error}");

    // The right verifier works once; the same code again is refused.
    let authorization = app.authorize().unwrap();
    let (code, _) = fake_mastodon::authorization_code(authorization.url.as_str());
    let code = live::Secret::new(code);
    let verifier = authorization.into_verifier();
    let again = PkceCodeVerifier::new(verifier.secret().clone());
    let tokens = app.exchange_code(&http, &code, verifier).expect("exchange");
    assert!(!tokens.access_token.expose().is_empty());
    let account = mastodon::verify_credentials(&http, &instance, &tokens.access_token).unwrap();
    assert_eq!(account.id, ACCOUNT_ID);
    let error = app
        .exchange_code(&http, &code, again)
        .expect_err("a used code must be refused");
    assert!(error.to_string().contains("invalid_grant"), "{error}");
    // Errors never carry the token.
    assert!(!error.to_string().contains(tokens.access_token.expose()));
}

#[test]
fn a_revoked_token_needs_reconnecting_which_keeps_the_cursor() {
    let server = FakeMastodon::start();
    seed(&server, 2);
    let tmp = tempfile::tempdir().unwrap();
    let mut vault = new_vault(tmp.path());
    let connection = connect(&mut vault, &server);
    assert_eq!(sync(&mut vault, &connection.id).imported, 5);

    server.revoke_all();
    server.post("<p>after revocation</p>", "2024-04-01T10:00:00.000Z");
    let error = sync_with(&mut vault, &connection.id, &SyncOptions::default())
        .expect_err("a revoked token must fail");
    assert!(error.is_reconnect_needed(), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("reconnect needed"), "{message}");
    assert!(message.contains("revoked"), "{message}");
    assert!(
        message.contains(&format!(
            "hearth connect mastodon --instance {}",
            server.url()
        )),
        "{message}"
    );
    let stored = load_connection(&vault, &connection.id).unwrap().unwrap();
    assert!(stored.needs_reconnect.is_some());

    // Flagged: the next sync fails at once, without asking the instance.
    let before = server.requests().len();
    assert!(
        sync_with(&mut vault, &connection.id, &SyncOptions::default())
            .unwrap_err()
            .is_reconnect_needed()
    );
    assert_eq!(server.requests().len(), before);

    // Connecting again clears the flag and keeps the cursor: only the new status comes.
    let again = connect(&mut vault, &server);
    assert_eq!(again.id, connection.id);
    assert!(again.needs_reconnect.is_none());
    assert_eq!(again.cursor, stored.cursor);
    let summary = sync(&mut vault, &connection.id);
    assert_eq!((summary.imported, summary.duplicates), (1, 0));
    assert_eq!(list_connections(&vault).unwrap().len(), 1);
}

#[test]
fn expiring_tokens_are_refreshed_and_a_refused_refresh_needs_reconnecting() {
    let server = FakeMastodon::start();
    // Tokens that expire within the refresh margin: every sync refreshes first.
    server.issue_refresh_tokens(30);
    server.post("<p>one</p>", "2024-05-01T10:00:00.000Z");
    let tmp = tempfile::tempdir().unwrap();
    let mut vault = new_vault(tmp.path());
    let connection = connect(&mut vault, &server);
    let first_refresh = connection
        .token
        .refresh_token
        .clone()
        .expect("a refresh token");
    assert!(connection.token.expires_at.is_some());

    assert_eq!(sync(&mut vault, &connection.id).imported, 1);
    let refreshed = load_connection(&vault, &connection.id).unwrap().unwrap();
    let rotated = refreshed.token.refresh_token.clone().unwrap();
    assert_ne!(rotated, first_refresh, "the rotated refresh token is kept");
    assert_ne!(refreshed.token.access_token, connection.token.access_token);
    assert_eq!(
        server
            .requests()
            .iter()
            .filter(|r| r.starts_with("POST /oauth/token"))
            .count(),
        2
    );

    // The instance forgets the grant: invalid_grant means reconnect needed.
    server.revoke_all();
    let error = sync_with(&mut vault, &connection.id, &SyncOptions::default()).unwrap_err();
    assert!(error.is_reconnect_needed(), "{error:?}");
    assert!(error.to_string().contains("invalid_grant"), "{error}");
    assert!(
        load_connection(&vault, &connection.id)
            .unwrap()
            .unwrap()
            .needs_reconnect
            .is_some()
    );
}

#[test]
fn rate_limits_are_waited_out_or_reported() {
    let server = FakeMastodon::start();
    seed(&server, 1);
    let tmp = tempfile::tempdir().unwrap();
    let mut vault = new_vault(tmp.path());
    let connection = connect(&mut vault, &server);

    // Two 429s with Retry-After: 1, then the page: the sync waits and succeeds.
    server.throttle(2, 1);
    let started = Instant::now();
    let summary = sync(&mut vault, &connection.id);
    assert_eq!(summary.imported, 4);
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert_eq!(statuses_requests(&server).len(), 2 + 2);

    // A wait longer than allowed stops the sync; nothing is lost and the cursor stays.
    server.post("<p>later</p>", "2024-06-01T10:00:00.000Z");
    server.throttle(1, 3600);
    let cursor = load_connection(&vault, &connection.id)
        .unwrap()
        .unwrap()
        .cursor;
    let options = SyncOptions {
        max_wait: Duration::from_secs(5),
        ..SyncOptions::default()
    };
    let error = sync_with(&mut vault, &connection.id, &options).unwrap_err();
    assert!(
        matches!(
            error,
            LiveError::RateLimited {
                wait_secs: 3600,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        load_connection(&vault, &connection.id)
            .unwrap()
            .unwrap()
            .cursor,
        cursor
    );
    // And the next sync gets it.
    assert_eq!(sync(&mut vault, &connection.id).imported, 1);
    assert_eq!(posts(&vault).len(), 5);
}

#[test]
fn unknown_connections_and_plain_http_instances_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut vault = new_vault(tmp.path());
    assert!(matches!(
        sync_with(
            &mut vault,
            "mastodon:nobody@nowhere",
            &SyncOptions::default()
        ),
        Err(LiveError::UnknownConnection(_))
    ));
    let error = mastodon::instance_url("http://mastodon.example").unwrap_err();
    assert!(error.to_string().contains("https"), "{error}");
}
