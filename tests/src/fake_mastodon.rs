//! A fake Mastodon instance on `127.0.0.1`, speaking the subset of the API that Hearth's live
//! connector uses, strictly: app registration, the authorization endpoint (which answers the
//! "browser" with a `302` to the registered redirect URI), the token endpoint (client
//! credentials, single-use codes, PKCE S256 checked against the challenge, refresh with
//! rotation), revocation, `verify_credentials` (bearer checked) and the account's statuses with
//! `min_id`/`max_id`/`since_id` paging and a `Link` header. Plus a plain browser
//! ([`follow_authorization`]) that follows the authorization URL as a person's browser would.
//!
//! Built on `std::net` and threads only; one request per connection (`Connection: close`).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The fake account's id.
pub const ACCOUNT_ID: &str = "109000000000000042";
/// The fake account's user name.
pub const USERNAME: &str = "alice";
/// The fake account's display name.
pub const DISPLAY_NAME: &str = "Alice Example";
/// The first status id handed out (ids grow by one).
const FIRST_STATUS_ID: u64 = 110_000_000_000_000_001;

struct App {
    client_id: String,
    client_secret: String,
    redirect_uri: String,
}

struct Grant {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    used: bool,
}

struct Token {
    client_id: String,
    revoked: bool,
    expires_at: Option<Instant>,
}

#[derive(Default)]
struct State {
    apps: Vec<App>,
    codes: HashMap<String, Grant>,
    tokens: HashMap<String, Token>,
    refresh_tokens: HashMap<String, String>,
    statuses: Vec<(u64, Value)>,
    media: HashMap<String, Vec<u8>>,
    next_status: u64,
    counter: u64,
    throttle: u32,
    retry_after: u64,
    refresh_lifetime: Option<u64>,
    requests: Vec<String>,
    secrets: Vec<String>,
}

struct Shared {
    state: Mutex<State>,
    stop: AtomicBool,
}

/// A running fake instance; stopped on drop.
pub struct FakeMastodon {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl FakeMastodon {
    /// Starts an instance on a free loopback port, with no statuses.
    pub fn start() -> FakeMastodon {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake instance");
        let addr = listener.local_addr().expect("its address");
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                next_status: FIRST_STATUS_ID,
                ..State::default()
            }),
            stop: AtomicBool::new(false),
        });
        let accept = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if shared.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let shared = Arc::clone(&shared);
                    std::thread::spawn(move || serve(stream, addr, &shared));
                }
            })
        };
        FakeMastodon {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `127.0.0.1:PORT` (the instance's domain in qualified account names).
    pub fn authority(&self) -> String {
        self.addr.to_string()
    }

    /// Adds a status by the account, returning its id. `created_at` is RFC 3339.
    pub fn post(&self, html: &str, created_at: &str) -> String {
        self.post_with(html, created_at, |_| {})
    }

    /// Adds a status and lets `edit` change its JSON (reply, boost, media, spoiler...).
    pub fn post_with(&self, html: &str, created_at: &str, edit: impl FnOnce(&mut Value)) -> String {
        let base = self.url();
        let mut state = self.state();
        let id = state.next_status;
        state.next_status += 1;
        let mut status = json!({
            "id": id.to_string(),
            "created_at": created_at,
            "in_reply_to_id": null,
            "in_reply_to_account_id": null,
            "sensitive": false,
            "spoiler_text": "",
            "visibility": "public",
            "language": "en",
            "uri": format!("{base}/users/{USERNAME}/statuses/{id}"),
            "url": format!("{base}/@{USERNAME}/{id}"),
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "edited_at": null,
            "content": html,
            "reblog": null,
            "account": account_json(&base),
            "media_attachments": [],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "card": null,
            "poll": null,
        });
        edit(&mut status);
        state.statuses.push((id, status));
        id.to_string()
    }

    /// Serves `bytes` at `/media/<name>`; returns the URL.
    pub fn add_media(&self, name: &str, bytes: &[u8]) -> String {
        self.state().media.insert(name.to_owned(), bytes.to_vec());
        format!("{}/media/{name}", self.url())
    }

    /// The next `count` statuses requests are answered `429` with `Retry-After: secs`.
    pub fn throttle(&self, count: u32, secs: u64) {
        let mut state = self.state();
        state.throttle = count;
        state.retry_after = secs;
    }

    /// From now on, tokens expire after `secs` and come with refresh tokens.
    pub fn issue_refresh_tokens(&self, secs: u64) {
        self.state().refresh_lifetime = Some(secs);
    }

    /// Revokes every access and refresh token issued so far (as "revoke access" in the
    /// instance's settings does).
    pub fn revoke_all(&self) {
        let mut state = self.state();
        for token in state.tokens.values_mut() {
            token.revoked = true;
        }
        state.refresh_tokens.clear();
    }

    /// Every secret handed out: client secrets, codes, access and refresh tokens.
    pub fn secrets(&self) -> Vec<String> {
        self.state().secrets.clone()
    }

    /// Access tokens that are currently valid.
    pub fn live_tokens(&self) -> usize {
        self.state()
            .tokens
            .values()
            .filter(|t| !t.revoked && t.expires_at.is_none_or(|at| at > Instant::now()))
            .count()
    }

    /// `METHOD path?query` of every request so far.
    pub fn requests(&self) -> Vec<String> {
        self.state().requests.clone()
    }
}

impl Drop for FakeMastodon {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn account_json(base: &str) -> Value {
    json!({
        "id": ACCOUNT_ID,
        "username": USERNAME,
        "acct": USERNAME,
        "display_name": DISPLAY_NAME,
        "locked": false,
        "bot": false,
        "created_at": "2022-11-01T00:00:00.000Z",
        "note": "<p>Testing Hearth</p>",
        "url": format!("{base}/@{USERNAME}"),
        "avatar": format!("{base}/avatars/original/missing.png"),
        "followers_count": 3,
        "following_count": 5,
        "statuses_count": 0,
    })
}

/// A request as the server read it.
struct Request {
    method: String,
    path: String,
    query: HashMap<String, String>,
    headers: HashMap<String, String>,
    form: HashMap<String, String>,
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn json(status: u16, value: Value) -> Response {
        Response {
            status,
            headers: vec![(
                "Content-Type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: value.to_string().into_bytes(),
        }
    }

    fn error(status: u16, error: &str, description: &str) -> Response {
        Response::json(
            status,
            json!({ "error": error, "error_description": description }),
        )
    }
}

fn parse_pairs(text: &str) -> HashMap<String, String> {
    form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect()
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(pos) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        let n = stream.read(&mut buf).ok()?;
        if n == 0 || data.len() > 64 * 1024 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    let (path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
    let form = if headers
        .get("content-type")
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"))
    {
        parse_pairs(&String::from_utf8_lossy(&body))
    } else if headers
        .get("content-type")
        .is_some_and(|t| t.starts_with("application/json"))
    {
        serde_json::from_slice::<HashMap<String, Value>>(&body)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.as_str().map(str::to_owned).unwrap_or(v.to_string())))
            .collect()
    } else {
        HashMap::new()
    };
    Some(Request {
        method,
        path: path.to_owned(),
        query: parse_pairs(query),
        headers,
        form,
    })
}

fn serve(mut stream: TcpStream, addr: SocketAddr, shared: &Shared) {
    let Some(request) = read_request(&mut stream) else {
        return;
    };
    let response = {
        let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
        let query: Vec<String> = {
            let mut q: Vec<String> = request
                .query
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            q.sort();
            q
        };
        state.requests.push(format!(
            "{} {}?{}",
            request.method,
            request.path,
            query.join("&")
        ));
        route(&request, &format!("http://{addr}"), &mut state)
    };
    let reason = match response.status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        _ => "Other",
    };
    let mut out = format!("HTTP/1.1 {} {reason}\r\n", response.status);
    for (k, v) in &response.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        response.body.len()
    ));
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.write_all(&response.body);
    let _ = stream.flush();
}

fn route(request: &Request, base: &str, state: &mut State) -> Response {
    let path = request.path.as_str();
    match (request.method.as_str(), path) {
        ("POST", "/api/v1/apps") => register(request, state),
        ("GET", "/oauth/authorize") => authorize(request, state),
        ("POST", "/oauth/token") => token(request, state),
        ("POST", "/oauth/revoke") => revoke(request, state),
        ("GET", "/api/v1/accounts/verify_credentials") => match bearer(request, state) {
            Ok(()) => Response::json(200, account_json(base)),
            Err(r) => r,
        },
        ("GET", _) if path.starts_with("/media/") => {
            match state.media.get(&path["/media/".len()..]) {
                Some(bytes) => Response {
                    status: 200,
                    headers: vec![("Content-Type".into(), "application/octet-stream".into())],
                    body: bytes.clone(),
                },
                None => Response::error(404, "Record not found", ""),
            }
        }
        ("GET", _) if path.starts_with("/api/v1/accounts/") && path.ends_with("/statuses") => {
            statuses(request, base, state)
        }
        _ => Response::error(404, "Record not found", ""),
    }
}

fn new_secret(state: &mut State, prefix: &str) -> String {
    state.counter += 1;
    let mut hasher = Sha256::new();
    hasher.update(format!("{prefix}-{}-{:?}", state.counter, Instant::now()).as_bytes());
    let secret = format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hasher.finalize())
    );
    state.secrets.push(secret.clone());
    secret
}

fn register(request: &Request, state: &mut State) -> Response {
    let (Some(_name), Some(redirect_uri), Some(scopes)) = (
        request.form.get("client_name"),
        request.form.get("redirect_uris"),
        request.form.get("scopes"),
    ) else {
        return Response::error(422, "Validation failed: fields are missing", "");
    };
    if scopes != "read" {
        return Response::error(422, "Validation failed: unexpected scopes", "");
    }
    let client_id = new_secret(state, "cid-");
    let client_secret = new_secret(state, "csecret-");
    state.apps.push(App {
        client_id: client_id.clone(),
        client_secret: client_secret.clone(),
        redirect_uri: redirect_uri.clone(),
    });
    Response::json(
        200,
        json!({
            "id": state.apps.len().to_string(),
            "name": request.form.get("client_name"),
            "website": request.form.get("website"),
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "client_secret": client_secret,
            "vapid_key": "BCk-QqERU0q-CfYZjcuB6lnyyOYfJ2AifKqfeGIm7Z-HiTU5T9eTG5GxVA0_OH5mMlI4UkkDTpaZwozy0TzdZ2M=",
        }),
    )
}

fn authorize(request: &Request, state: &mut State) -> Response {
    let q = &request.query;
    let Some(app) = q
        .get("client_id")
        .and_then(|id| state.apps.iter().find(|a| &a.client_id == id))
    else {
        return Response::error(401, "invalid_client", "unknown client");
    };
    if q.get("redirect_uri") != Some(&app.redirect_uri) {
        return Response::error(
            400,
            "invalid_redirect_uri",
            "not the registered redirect URI",
        );
    }
    if q.get("response_type").map(String::as_str) != Some("code") {
        return Response::error(400, "unsupported_response_type", "");
    }
    if q.get("scope").map(String::as_str) != Some("read") {
        return Response::error(400, "invalid_scope", "");
    }
    if q.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return Response::error(400, "invalid_request", "PKCE S256 is required");
    }
    let Some(challenge) = q.get("code_challenge").filter(|c| c.len() >= 43) else {
        return Response::error(400, "invalid_request", "code_challenge is missing");
    };
    let grant = Grant {
        client_id: app.client_id.clone(),
        redirect_uri: app.redirect_uri.clone(),
        challenge: challenge.clone(),
        used: false,
    };
    let redirect_uri = app.redirect_uri.clone();
    let code = new_secret(state, "code-");
    state.codes.insert(code.clone(), grant);
    let mut location = format!("{redirect_uri}?code={code}");
    if let Some(s) = q.get("state") {
        let encoded: String = form_urlencoded::byte_serialize(s.as_bytes()).collect();
        location.push_str(&format!("&state={encoded}"));
    }
    Response {
        status: 302,
        headers: vec![("Location".into(), location)],
        body: Vec::new(),
    }
}

/// The client that authenticates (body parameters or HTTP Basic), if its secret is right.
fn client<'a>(request: &Request, state: &'a State) -> Option<&'a App> {
    let (id, secret) = match request
        .headers
        .get("authorization")
        .and_then(|h| h.strip_prefix("Basic "))
    {
        Some(basic) => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(basic)
                .ok()?;
            let text = String::from_utf8(decoded).ok()?;
            let (id, secret) = text.split_once(':')?;
            let decode = |s: &str| {
                form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
            };
            (decode(id)?, decode(secret)?)
        }
        None => (
            request.form.get("client_id")?.clone(),
            request.form.get("client_secret")?.clone(),
        ),
    };
    state
        .apps
        .iter()
        .find(|a| a.client_id == id && a.client_secret == secret)
}

fn issue_token(state: &mut State, client_id: &str) -> Value {
    let access = new_secret(state, "at-");
    let lifetime = state.refresh_lifetime;
    state.tokens.insert(
        access.clone(),
        Token {
            client_id: client_id.to_owned(),
            revoked: false,
            expires_at: lifetime.map(|s| Instant::now() + Duration::from_secs(s)),
        },
    );
    let mut answer = json!({
        "access_token": access,
        "token_type": "Bearer",
        "scope": "read",
        "created_at": 1_714_000_000,
    });
    if let Some(secs) = lifetime {
        let refresh = new_secret(state, "rt-");
        state
            .refresh_tokens
            .insert(refresh.clone(), client_id.to_owned());
        answer["refresh_token"] = json!(refresh);
        answer["expires_in"] = json!(secs);
    }
    answer
}

fn token(request: &Request, state: &mut State) -> Response {
    let Some(app) = client(request, state) else {
        return Response::error(401, "invalid_client", "Client authentication failed");
    };
    let client_id = app.client_id.clone();
    match request.form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let (Some(code), Some(verifier)) =
                (request.form.get("code"), request.form.get("code_verifier"))
            else {
                return Response::error(
                    400,
                    "invalid_request",
                    "code and code_verifier are required",
                );
            };
            let Some(grant) = state.codes.get_mut(code) else {
                return Response::error(400, "invalid_grant", "unknown code");
            };
            if grant.used {
                return Response::error(400, "invalid_grant", "the code was already used");
            }
            grant.used = true;
            if grant.client_id != client_id
                || request.form.get("redirect_uri") != Some(&grant.redirect_uri)
            {
                return Response::error(400, "invalid_grant", "client or redirect URI mismatch");
            }
            let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(Sha256::digest(verifier.as_bytes()));
            if computed != grant.challenge {
                return Response::error(400, "invalid_grant", "PKCE verification failed");
            }
            Response::json(200, issue_token(state, &client_id))
        }
        Some("refresh_token") => {
            let Some(refresh) = request.form.get("refresh_token") else {
                return Response::error(400, "invalid_request", "refresh_token is required");
            };
            match state.refresh_tokens.get(refresh) {
                Some(owner) if *owner == client_id => {
                    // Rotation: the old refresh token is spent.
                    state.refresh_tokens.remove(refresh);
                    Response::json(200, issue_token(state, &client_id))
                }
                _ => Response::error(
                    400,
                    "invalid_grant",
                    "The provided authorization grant is invalid, expired, revoked",
                ),
            }
        }
        _ => Response::error(400, "unsupported_grant_type", ""),
    }
}

fn revoke(request: &Request, state: &mut State) -> Response {
    let Some(app) = client(request, state) else {
        return Response::error(401, "invalid_client", "Client authentication failed");
    };
    let client_id = app.client_id.clone();
    if let Some(token) = request
        .form
        .get("token")
        .and_then(|t| state.tokens.get_mut(t))
        .filter(|t| t.client_id == client_id)
    {
        token.revoked = true;
    }
    Response::json(200, json!({}))
}

fn bearer(request: &Request, state: &State) -> Result<(), Response> {
    let token = request
        .headers
        .get("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .and_then(|t| state.tokens.get(t));
    match token {
        None => Err(Response::error(401, "The access token is invalid", "")),
        Some(t) if t.revoked => Err(Response::error(401, "The access token was revoked", "")),
        Some(t) if t.expires_at.is_some_and(|at| at <= Instant::now()) => {
            Err(Response::error(401, "The access token expired", ""))
        }
        Some(_) => Ok(()),
    }
}

fn statuses(request: &Request, base: &str, state: &mut State) -> Response {
    if let Err(r) = bearer(request, state) {
        return r;
    }
    if state.throttle > 0 {
        state.throttle -= 1;
        let mut r = Response::error(429, "Too many requests", "");
        r.headers
            .push(("Retry-After".into(), state.retry_after.to_string()));
        return r;
    }
    let id = &request.path["/api/v1/accounts/".len()..request.path.len() - "/statuses".len()];
    if id != ACCOUNT_ID {
        return Response::error(404, "Record not found", "");
    }
    let number = |key: &str| request.query.get(key).and_then(|v| v.parse::<u64>().ok());
    let limit = number("limit").unwrap_or(20).clamp(1, 40) as usize;
    let mut all: Vec<&(u64, Value)> = state.statuses.iter().collect();
    all.sort_by_key(|(id, _)| *id);
    let page: Vec<&(u64, Value)> = if let Some(min) = number("min_id") {
        let mut page: Vec<_> = all
            .into_iter()
            .filter(|(id, _)| *id > min)
            .take(limit)
            .collect();
        page.reverse();
        page
    } else {
        let max = number("max_id").unwrap_or(u64::MAX);
        let since = number("since_id").unwrap_or(0);
        all.into_iter()
            .rev()
            .filter(|(id, _)| *id < max && *id > since)
            .take(limit)
            .collect()
    };
    let mut response = Response::json(
        200,
        Value::Array(page.iter().map(|(_, v)| v.clone()).collect()),
    );
    if let (Some((newest, _)), Some((oldest, _))) = (page.first(), page.last()) {
        let url = format!("{base}/api/v1/accounts/{ACCOUNT_ID}/statuses");
        response.headers.push((
            "Link".into(),
            format!("<{url}?max_id={oldest}>; rel=\"next\", <{url}?min_id={newest}>; rel=\"prev\""),
        ));
    }
    response
}

/// What the browser saw at the end of the authorization.
#[derive(Debug)]
pub struct BrowserResult {
    /// The final page's status.
    pub status: u16,
    /// The final page's body.
    pub body: String,
}

/// A raw response from [`http_get`].
#[derive(Debug)]
pub struct RawResponse {
    /// The status.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: HashMap<String, String>,
    /// The body.
    pub body: String,
}

/// GETs an `http://` URL with a plain socket, following nothing.
pub fn http_get(url: &str) -> RawResponse {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream = TcpStream::connect(host).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: fake-browser\r\nAccept: text/html\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut data = Vec::new();
    stream.read_to_end(&mut data).expect("read");
    let text = String::from_utf8_lossy(&data).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text.as_str(), ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    RawResponse {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// Plays the owner's browser: opens the authorization URL (the instance approves at once and
/// answers `302`), lets `tamper` change the redirect's URL, and follows it to the callback.
pub fn follow_authorization_with(
    url: &str,
    tamper: impl FnOnce(String) -> String,
) -> BrowserResult {
    let approval = http_get(url);
    assert_eq!(
        approval.status, 302,
        "the authorization endpoint refused: {}",
        approval.body
    );
    let location = approval
        .headers
        .get("location")
        .expect("a Location header")
        .clone();
    let callback = http_get(&tamper(location));
    BrowserResult {
        status: callback.status,
        body: callback.body,
    }
}

/// Plays the owner's browser on the authorization URL, changing nothing.
pub fn follow_authorization(url: &str) -> BrowserResult {
    follow_authorization_with(url, |l| l)
}

/// The redirect the instance answers to the authorization URL, without following it:
/// `(code, state)`.
pub fn authorization_code(url: &str) -> (String, String) {
    let approval = http_get(url);
    assert_eq!(approval.status, 302, "{}", approval.body);
    let location = approval.headers.get("location").expect("Location");
    let query = location.split_once('?').map(|(_, q)| q).unwrap_or("");
    let pairs = parse_pairs(query);
    (
        pairs.get("code").cloned().unwrap_or_default(),
        pairs.get("state").cloned().unwrap_or_default(),
    )
}
