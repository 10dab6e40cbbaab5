//! The owner's dashboard, under `/dashboard` on the node's port: overview, import, memories
//! (timeline, search, forget) and grants (issue, narrow, revoke, each app's audit trail).
//!
//! - `session`: the passphrase login, the session cookie, CSRF tokens, the loopback rule.
//! - `data`: the domain functions each page and form calls (blocking).
//! - `import`: the upload streamed into a sealed blob, then the import job.
//! - `html`: the pages, server-rendered, every value escaped, no asset from elsewhere.
//!
//! # Invariants
//!
//! - Only loopback peers (and a loopback `Host`) reach any dashboard route, unless the node
//!   runs with `--dashboard-remote`; others get 403 before routing.
//! - Every route but the login page needs a live session; every POST needs its CSRF token.
//! - Answers are `Cache-Control: no-store` with a strict Content-Security-Policy.

mod data;
mod html;
mod import;
mod session;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{
    ConnectInfo, DefaultBodyLimit, FromRequest, FromRequestParts, Multipart, Path, Query, Request,
    State,
};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hearth_vault::{Unlock, Vault};
use secrecy::SecretString;

use self::data::{Bucket, GrantForm, Search};
use self::session::{COOKIE, CSRF_HEADER, LOGIN_COOKIE, Sessions, same_secret};
use super::state::NodeState;
use crate::WebError;

/// The dashboard's state: the node's, the sessions and the import jobs.
pub(crate) struct Dashboard {
    node: Arc<NodeState>,
    sessions: Sessions,
    jobs: import::Jobs,
}

type Shared = Arc<Dashboard>;

/// The dashboard's routes, to merge into the node's router.
pub(crate) fn router(node: Arc<NodeState>) -> Router {
    let max_upload = usize::try_from(node.config.max_upload_bytes).unwrap_or(usize::MAX);
    let state = Arc::new(Dashboard {
        node,
        sessions: Sessions::default(),
        jobs: import::Jobs::default(),
    });
    Router::new()
        .route("/dashboard", get(overview))
        .route("/dashboard/", get(overview))
        .route("/dashboard/login", get(login_page).post(login))
        .route("/dashboard/logout", post(logout))
        .route(
            "/dashboard/import",
            get(import_page)
                .post(upload)
                .layer(DefaultBodyLimit::max(max_upload.saturating_add(64 << 10))),
        )
        .route("/dashboard/import/jobs/{id}", get(job))
        .route("/dashboard/memories", get(memories))
        .route("/dashboard/memories/forget", post(forget))
        .route("/dashboard/grants", get(grants))
        .route("/dashboard/grants/issue", post(issue))
        .route(
            "/dashboard/grants/{id}/narrow",
            get(narrow_page).post(narrow),
        )
        .route("/dashboard/grants/{id}/revoke", post(revoke))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// A refusal or failure, as an HTML page.
#[derive(Debug)]
pub(crate) struct Refusal {
    status: StatusCode,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl From<WebError> for Refusal {
    fn from(e: WebError) -> Self {
        match e {
            WebError::Invalid { .. } | WebError::Grant(_) => {
                Self::new(StatusCode::BAD_REQUEST, e.to_string())
            }
            WebError::Memory(hearth_memory::MemoryError::NotFound(_)) => {
                Self::new(StatusCode::NOT_FOUND, e.to_string())
            }
            other => {
                eprintln!("hearth serve: dashboard error: {other}");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the node failed to do this; its log says why",
                )
            }
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.status, Html(html::error(&self.message, None))).into_response()
    }
}

/// Loopback only (unless `--dashboard-remote`), and the headers every answer carries.
async fn guard(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let remote_ok = state.node.config.dashboard_remote;
    let peer_loopback = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|c| c.0.ip().is_loopback());
    let local = peer_loopback && session::is_loopback_host(request.headers());
    if !(remote_ok || local) {
        return Refusal::new(
            StatusCode::FORBIDDEN,
            "the dashboard answers only on this machine (start the node with --dashboard-remote to allow others)",
        )
        .into_response();
    }
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The owner, signed in: the session's cookie and CSRF token. Pages without it redirect to
/// the login page; other requests get 401.
pub(crate) struct Owner {
    cookie: String,
    csrf: String,
}

/// No session.
pub(crate) struct NoSession {
    page: bool,
}

impl IntoResponse for NoSession {
    fn into_response(self) -> Response {
        if self.page {
            Redirect::to("/dashboard/login").into_response()
        } else {
            Refusal::new(StatusCode::UNAUTHORIZED, "log in to the dashboard first").into_response()
        }
    }
}

impl FromRequestParts<Shared> for Owner {
    type Rejection = NoSession;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, NoSession> {
        let page = parts.method == axum::http::Method::GET
            && !parts.uri.path().starts_with("/dashboard/import/jobs");
        let cookie = session::cookie(&parts.headers, COOKIE).ok_or(NoSession { page })?;
        let csrf = state.sessions.touch(&cookie).ok_or(NoSession { page })?;
        Ok(Owner { cookie, csrf })
    }
}

/// A form POSTed by the owner, its CSRF token checked: the fields, repeated ones kept.
pub(crate) struct Posted {
    owner: Owner,
    fields: Vec<(String, String)>,
}

impl Posted {
    fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

impl FromRequest<Shared> for Posted {
    type Rejection = Response;

    async fn from_request(request: Request, state: &Shared) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let owner = Owner::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let request = Request::from_parts(parts, body);
        let axum::Form(fields) = axum::Form::<Vec<(String, String)>>::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let sent = fields
            .iter()
            .find(|(k, _)| k == "csrf")
            .map_or("", |(_, v)| v.as_str());
        if !same_secret(sent, &owner.csrf) {
            return Err(
                Refusal::new(StatusCode::FORBIDDEN, "missing or wrong CSRF token").into_response(),
            );
        }
        Ok(Posted { owner, fields })
    }
}

/// Runs `f` on a blocking thread with the node's state.
async fn blocking<T: Send + 'static>(
    state: &Shared,
    f: impl FnOnce(&Arc<NodeState>) -> Result<T, WebError> + Send + 'static,
) -> Result<T, Refusal> {
    let node = state.node.clone();
    tokio::task::spawn_blocking(move || f(&node))
        .await
        .map_err(|e| Refusal::from(WebError::Node(e.to_string())))?
        .map_err(Refusal::from)
}

fn with_cookies(body: Response, cookies: &[String]) -> Response {
    let mut response = body;
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

async fn login_page() -> Response {
    let token = session::random_token();
    with_cookies(
        Html(html::login(&token, None)).into_response(),
        &[session::login_cookie(&token)],
    )
}

async fn login(State(state): State<Shared>, request: Request) -> Result<Response, Response> {
    let (parts, body) = request.into_parts();
    let expected = session::cookie(&parts.headers, LOGIN_COOKIE).unwrap_or_default();
    let request = Request::from_parts(parts, body);
    let axum::Form(fields) = axum::Form::<HashMap<String, String>>::from_request(request, &state)
        .await
        .map_err(IntoResponse::into_response)?;
    let sent = fields.get("csrf").map_or("", String::as_str);
    if expected.is_empty() || !same_secret(sent, &expected) {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "missing or wrong CSRF token: reload the login page",
        )
        .into_response());
    }
    let passphrase = SecretString::from(fields.get("passphrase").cloned().unwrap_or_default());
    let ok = {
        let _one_at_a_time = state.sessions.login.lock().await;
        let dir = {
            let node = state.node.clone();
            tokio::task::spawn_blocking(move || node.vault().dir().to_path_buf())
                .await
                .map_err(|e| Refusal::from(WebError::Node(e.to_string())).into_response())?
        };
        let checked = tokio::task::spawn_blocking(move || {
            Vault::open(&dir, &Unlock::Passphrase(passphrase), false).map(drop)
        })
        .await
        .map_err(|e| Refusal::from(WebError::Node(e.to_string())).into_response())?;
        match checked {
            Ok(()) => true,
            Err(e) if e.is_unlock_failure() => {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                false
            }
            Err(e) => return Err(Refusal::from(WebError::from(e)).into_response()),
        }
    };
    let node = state.node.clone();
    let event = hearth_vault::AuditEvent::new(
        if ok {
            "dashboard.login"
        } else {
            "dashboard.login.refused"
        },
        data::ACTOR,
    );
    blocking(&state, move |_| node.audit(&event))
        .await
        .map_err(IntoResponse::into_response)?;
    if !ok {
        let token = session::random_token();
        return Ok(with_cookies(
            (
                StatusCode::UNAUTHORIZED,
                Html(html::login(
                    &token,
                    Some("That is not the vault's passphrase."),
                )),
            )
                .into_response(),
            &[session::login_cookie(&token)],
        ));
    }
    let cookie = state.sessions.start();
    Ok(with_cookies(
        Redirect::to("/dashboard").into_response(),
        &[
            session::session_cookie(&cookie),
            session::clear_cookie(LOGIN_COOKIE),
        ],
    ))
}

async fn logout(State(state): State<Shared>, posted: Posted) -> Response {
    state.sessions.end(&posted.owner.cookie);
    with_cookies(
        Redirect::to("/dashboard/login").into_response(),
        &[session::clear_cookie(COOKIE)],
    )
}

async fn overview(State(state): State<Shared>, owner: Owner) -> Result<Html<String>, Refusal> {
    let o = blocking(&state, |s| data::overview(s)).await?;
    Ok(Html(html::overview(&o, &owner.csrf)))
}

async fn import_page(State(state): State<Shared>, owner: Owner) -> Html<String> {
    Html(html::import(
        &owner.csrf,
        state.node.config.max_upload_bytes,
    ))
}

/// The upload: `multipart/form-data` with one `file` part, the CSRF token in its header, the
/// options (`tz`, `me`, `format`) in the query. Answers `{"job": ID}` once the file is sealed.
async fn upload(
    State(state): State<Shared>,
    owner: Owner,
    Query(options): Query<HashMap<String, String>>,
    headers: axum::http::HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, Refusal> {
    let sent = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !same_secret(sent, &owner.csrf) {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "missing or wrong CSRF token",
        ));
    }
    let limit = state.node.config.max_upload_bytes;
    let too_large = || {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the file is over the node's upload limit of {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit.saturating_add(64 << 10)) {
        return Err(too_large());
    }
    let bad = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            Refusal::new(StatusCode::BAD_REQUEST, e.body_text())
        }
    };
    let mut field = loop {
        match multipart.next_field().await.map_err(bad)? {
            Some(f) if f.name() == Some("file") => break f,
            Some(_) => continue,
            None => {
                return Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "no file part named `file`",
                ));
            }
        }
    };
    let file_name = field.file_name().unwrap_or("upload").to_owned();
    let (tx, rx) = std::sync::mpsc::sync_channel::<import::ChunkResult>(8);
    let node = state.node.clone();
    let writer = tokio::task::spawn_blocking(move || {
        import::store_upload(&node, &mut import::ChannelReader::new(rx))
    });
    let mut total: u64 = 0;
    let mut refused = None;
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                total += chunk.len() as u64;
                if total > limit {
                    refused = Some(too_large());
                    break;
                }
                let tx = tx.clone();
                // The channel is bounded: wait on a blocking thread, not the runtime.
                let sent = tokio::task::spawn_blocking(move || tx.send(Ok(chunk)))
                    .await
                    .map(|r| r.is_ok())
                    .unwrap_or(false);
                if !sent {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                refused = Some(bad(e));
                break;
            }
        }
    }
    if refused.is_some() {
        let _ = tx.send(Err(std::io::Error::other("upload refused")));
    }
    drop(tx);
    let stored = writer
        .await
        .map_err(|e| Refusal::from(WebError::Node(e.to_string())))?;
    if let Some(r) = refused {
        return Err(r);
    }
    let blob = stored?;
    let request = import::ImportRequest {
        file_name,
        tz: options.get("tz").cloned(),
        me: options.get("me").map(|m| data::list(m)).unwrap_or_default(),
        format: options.get("format").cloned(),
    };
    let id = import::start(state.node.clone(), &state.jobs, blob, request);
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(serde_json::json!({ "job": id })),
    )
        .into_response())
}

async fn job(
    State(state): State<Shared>,
    _owner: Owner,
    Path(id): Path<String>,
) -> Result<axum::Json<import::Job>, Refusal> {
    state
        .jobs
        .get(&id)
        .map(axum::Json)
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, "no such import job"))
}

fn search_of(q: &HashMap<String, String>) -> Result<Search, WebError> {
    let get = |k: &str| q.get(k).map_or("", String::as_str);
    Ok(Search {
        query: get("q").trim().to_owned(),
        k: get("k").parse().unwrap_or(10),
        sources: data::list(get("sources")),
        since: data::parse_instant("since", get("since"))?,
        until: data::parse_instant("until", get("until"))?,
        participants: data::list(get("participants")),
        exclude_participants: data::list(get("exclude_participants")),
        conversations: data::list(get("conversations")),
    })
}

async fn memories(
    State(state): State<Shared>,
    owner: Owner,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Html<String>, Refusal> {
    let bucket = if q.get("by").is_some_and(|b| b == "week") {
        Bucket::Week
    } else {
        Bucket::Month
    };
    let search = search_of(&q)?;
    let notice = q
        .get("forgot")
        .map(|n| (format!("forgot {n} memories"), true));
    let (buckets, sources, hits) = {
        let search = search.clone();
        blocking(&state, move |s| {
            let (buckets, sources) = data::timeline(s, bucket);
            let hits = if search.query.is_empty() {
                None
            } else {
                Some(data::search(s, &search)?)
            };
            Ok((buckets, sources, hits))
        })
        .await?
    };
    Ok(Html(html::memories(
        &html::MemoriesView {
            bucket,
            buckets: &buckets,
            sources: &sources,
            search: &search,
            hits: hits.as_deref(),
            notice,
        },
        &owner.csrf,
    )))
}

async fn forget(State(state): State<Shared>, posted: Posted) -> Result<Redirect, Refusal> {
    let id = posted.get("id").to_owned();
    let n = blocking(&state, move |s| data::forget(s, &id)).await?;
    let q = posted.get("q");
    Ok(Redirect::to(&format!(
        "/dashboard/memories?forgot={n}&q={}",
        html::url(q)
    )))
}

async fn grants(
    State(state): State<Shared>,
    owner: Owner,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Html<String>, Refusal> {
    let app = q.get("app").cloned();
    let page = blocking(&state, move |s| data::grants_page(s, app.as_deref())).await?;
    let notice = q.get("revoked").map(|id| format!("revoked grant {id}"));
    Ok(Html(html::grants(
        &page,
        &owner.csrf,
        notice.as_deref().map(|n| (n, true)),
    )))
}

fn grant_form(p: &Posted) -> Result<GrantForm, WebError> {
    let max_results = match p.get("max_results").trim() {
        "" => None,
        n => Some(n.parse().map_err(|_| WebError::Invalid {
            field: "max_results",
            reason: "not a positive number".into(),
        })?),
    };
    let expires_in = match p.get("expires") {
        "never" => None,
        "" => Some(30 * 86_400),
        n => Some(n.parse().map_err(|_| WebError::Invalid {
            field: "expires",
            reason: "not a number of seconds".into(),
        })?),
    };
    Ok(GrantForm {
        app: p.get("app").to_owned(),
        rights: p.all("rights"),
        sources: data::list(p.get("sources")),
        since: data::parse_instant("since", p.get("since"))?,
        until: data::parse_instant("until", p.get("until"))?,
        exclude_participants: data::list(p.get("exclude_participants")),
        redact: p.all("redact"),
        max_results,
        expires_in,
    })
}

async fn issue(State(state): State<Shared>, posted: Posted) -> Result<Html<String>, Refusal> {
    let form = grant_form(&posted)?;
    let issued = blocking(&state, move |s| data::issue(s, &form)).await?;
    Ok(Html(html::issued(&issued, &posted.owner.csrf, None)))
}

async fn narrow_page(
    State(state): State<Shared>,
    owner: Owner,
    Path(id): Path<String>,
) -> Result<Html<String>, Refusal> {
    let spec = {
        let id = id.clone();
        blocking(&state, move |s| data::stored_spec(s, &id)).await?
    };
    Ok(Html(html::narrow(&id, &spec, &owner.csrf)))
}

async fn narrow(
    State(state): State<Shared>,
    Path(id): Path<String>,
    posted: Posted,
) -> Result<Html<String>, Refusal> {
    let form = grant_form(&posted)?;
    let issued = {
        let id = id.clone();
        blocking(&state, move |s| data::narrow(s, &id, &form)).await?
    };
    Ok(Html(html::issued(&issued, &posted.owner.csrf, Some(&id))))
}

async fn revoke(
    State(state): State<Shared>,
    Path(id): Path<String>,
    _posted: Posted,
) -> Result<Redirect, Refusal> {
    let shown = id.clone();
    blocking(&state, move |s| data::revoke(s, &id)).await?;
    Ok(Redirect::to(&format!(
        "/dashboard/grants?revoked={}",
        html::url(&shown)
    )))
}
