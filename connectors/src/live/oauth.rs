//! OAuth 2 for live sources, over the `oauth2` crate: authorization code with PKCE (S256) and a
//! CSRF `state`, the loopback listener that receives the code, token exchange and refresh, and
//! the blocking HTTP client everything goes through.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use oauth2::basic::{BasicClient, BasicErrorResponse, BasicErrorResponseType, BasicTokenResponse};
use oauth2::http::{self, HeaderMap};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeChallenge, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    TokenResponse, TokenUrl,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

pub use oauth2::PkceCodeVerifier;
pub use oauth2::url::{self, Url};

use super::{LiveError, Secret};

/// Largest API or token response read (bigger answers are an error).
pub const MAX_API_BODY: u64 = 8 << 20;
/// How long a request may wait for a connection and for the server's answer.
const TIMEOUT: Duration = Duration::from_secs(60);
/// Largest HTTP request head the callback listener reads.
const MAX_CALLBACK_HEAD: usize = 16 * 1024;

/// The blocking HTTP client of live sources: rustls with the web PKI roots, no redirects
/// followed (a `3xx` is returned as it is), bounded bodies and timeouts, and its own
/// `User-Agent`.
#[derive(Debug, Clone)]
pub struct HttpClient {
    agent: ureq::Agent,
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new()
    }
}

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body.
    pub body: Vec<u8>,
}

/// A request that could not be made, or whose answer could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(String);

impl HttpClient {
    /// A client with the default timeouts.
    pub fn new() -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(20)))
            .timeout_recv_response(Some(TIMEOUT))
            .timeout_recv_body(Some(Duration::from_secs(600)))
            .user_agent(concat!(
                "Hearth/",
                env!("CARGO_PKG_VERSION"),
                " (self-hosted personal data vault)"
            ))
            .build();
        Self {
            agent: ureq::Agent::new_with_config(config),
        }
    }

    /// Sends a request and reads the answer (at most `limit` bytes of body).
    pub fn send(
        &self,
        request: http::Request<Vec<u8>>,
        limit: u64,
    ) -> Result<Reply, TransportError> {
        let mut response = self
            .agent
            .run(request)
            .map_err(|e| TransportError(e.to_string()))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .body_mut()
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(|e| TransportError(format!("reading the answer: {e}")))?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// GETs `url`, with a bearer token when given.
    pub fn get(&self, url: &str, bearer: Option<&Secret>, limit: u64) -> Result<Reply, LiveError> {
        let mut builder = http::Request::get(url).header(http::header::ACCEPT, "application/json");
        if let Some(token) = bearer {
            builder = builder.header(
                http::header::AUTHORIZATION,
                format!("Bearer {}", token.expose()),
            );
        }
        let request = builder.body(Vec::new()).map_err(|e| LiveError::Http {
            url: url.to_owned(),
            reason: format!("bad request: {e}"),
        })?;
        self.send(request, limit).map_err(|e| LiveError::Http {
            url: url.to_owned(),
            reason: e.0,
        })
    }

    /// POSTs a form to `url`.
    pub fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<Reply, LiveError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = http::Request::post(url)
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json")
            .body(body.into_bytes())
            .map_err(|e| LiveError::Http {
                url: url.to_owned(),
                reason: format!("bad request: {e}"),
            })?;
        self.send(request, MAX_API_BODY)
            .map_err(|e| LiveError::Http {
                url: url.to_owned(),
                reason: e.0,
            })
    }
}

impl oauth2::SyncHttpClient for HttpClient {
    type Error = TransportError;

    fn call(&self, request: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, TransportError> {
        let reply = self.send(request, MAX_API_BODY)?;
        let mut response = http::Response::builder().status(reply.status);
        if let Some(headers) = response.headers_mut() {
            *headers = reply.headers;
        }
        response
            .body(reply.body)
            .map_err(|e| TransportError(e.to_string()))
    }
}

impl Reply {
    /// A header's value, when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON. The error never quotes the body (it could hold a token).
    pub fn json<T: DeserializeOwned>(&self, url: &str) -> Result<T, LiveError> {
        serde_json::from_slice(&self.body).map_err(|e| LiveError::Protocol {
            url: url.to_owned(),
            reason: format!(
                "not the JSON expected (line {}, column {}: {:?})",
                e.line(),
                e.column(),
                e.classify()
            ),
        })
    }

    /// The `error` (and `error_description`) of a JSON error body, shortened.
    pub fn error_message(&self) -> Option<String> {
        let value: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        let error = value.get("error")?.as_str()?;
        let mut message = match value.get("error_description").and_then(|d| d.as_str()) {
            Some(description) => format!("{error}: {description}"),
            None => error.to_owned(),
        };
        if message.chars().count() > 200 {
            message = message.chars().take(200).collect::<String>() + "…";
        }
        Some(message)
    }

    /// How long the server asks to wait: `Retry-After` in seconds or as an HTTP date, else
    /// Mastodon's `X-RateLimit-Reset` time.
    pub fn retry_after(&self, now: DateTime<Utc>) -> Option<Duration> {
        let until = |at: DateTime<Utc>| (at - now).to_std().unwrap_or(Duration::ZERO);
        if let Some(value) = self.header("retry-after").map(str::trim) {
            if let Ok(secs) = value.parse::<u64>() {
                return Some(Duration::from_secs(secs));
            }
            if let Ok(at) = DateTime::parse_from_rfc2822(value) {
                return Some(until(at.with_timezone(&Utc)));
            }
        }
        self.header("x-ratelimit-reset")
            .and_then(|v| DateTime::parse_from_rfc3339(v.trim()).ok())
            .map(|at| until(at.with_timezone(&Utc)))
    }
}

/// How the client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the form body (Mastodon).
    RequestBody,
    /// HTTP Basic (Reddit).
    BasicAuth,
}

/// Hearth's OAuth client at one provider: its credentials and endpoints.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OAuthApp {
    /// The client id.
    pub client_id: String,
    /// The client secret, for confidential clients.
    pub client_secret: Option<Secret>,
    /// The authorization endpoint.
    pub auth_url: String,
    /// The token endpoint.
    pub token_url: String,
    /// The revocation endpoint, where the provider has one.
    #[serde(default)]
    pub revoke_url: Option<String>,
    /// The redirect URI registered for this client.
    pub redirect_uri: String,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// How the client authenticates at the token endpoint.
    pub client_auth: ClientAuth,
}

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// Tokens from a token endpoint.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenSet {
    /// The bearer token.
    pub access_token: Secret,
    /// The refresh token, when the provider gives one.
    #[serde(default)]
    pub refresh_token: Option<Secret>,
    /// When the access token expires, when the provider says.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// The scopes granted (as the provider reported them, or as asked).
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// An authorization in progress: the URL to open and what checks its answer.
#[derive(Debug)]
pub struct Authorization {
    /// The URL the owner opens.
    pub url: Url,
    state: CsrfToken,
    verifier: PkceCodeVerifier,
}

impl Authorization {
    /// The CSRF state the callback must carry back.
    pub fn state(&self) -> &str {
        self.state.secret()
    }

    /// The PKCE verifier, for the token exchange.
    pub fn into_verifier(self) -> PkceCodeVerifier {
        self.verifier
    }
}

/// Why a refresh failed.
#[derive(Debug)]
pub enum RefreshError {
    /// The provider refused the refresh token (`invalid_grant`): reconnect needed.
    InvalidGrant(String),
    /// Anything else (network, server error).
    Other(LiveError),
}

impl OAuthApp {
    fn client(&self) -> Result<Client, LiveError> {
        let bad = |what: &str, e: oauth2::url::ParseError| {
            LiveError::InvalidInstance(format!("bad {what} URL: {e}"))
        };
        let mut client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_auth_uri(AuthUrl::new(self.auth_url.clone()).map_err(|e| bad("authorization", e))?)
            .set_token_uri(TokenUrl::new(self.token_url.clone()).map_err(|e| bad("token", e))?)
            .set_redirect_uri(
                RedirectUrl::new(self.redirect_uri.clone()).map_err(|e| bad("redirect", e))?,
            )
            .set_auth_type(match self.client_auth {
                ClientAuth::RequestBody => AuthType::RequestBody,
                ClientAuth::BasicAuth => AuthType::BasicAuth,
            });
        if let Some(secret) = &self.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.expose().to_owned()));
        }
        Ok(client)
    }

    /// Starts an authorization: a fresh random state and PKCE S256 pair, and the URL.
    pub fn authorize(&self) -> Result<Authorization, LiveError> {
        let client = self.client()?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(self.scopes.iter().cloned().map(Scope::new))
            .set_pkce_challenge(challenge)
            .url();
        Ok(Authorization {
            url,
            state,
            verifier,
        })
    }

    /// Exchanges the code from the callback, with the PKCE verifier, for tokens.
    pub fn exchange_code(
        &self,
        http: &HttpClient,
        code: &Secret,
        verifier: PkceCodeVerifier,
    ) -> Result<TokenSet, LiveError> {
        let response = self
            .client()?
            .exchange_code(AuthorizationCode::new(code.expose().to_owned()))
            .set_pkce_verifier(verifier)
            .request(http)
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => LiveError::Authorization(format!(
                    "the token endpoint refused the code: {}",
                    describe(&r)
                )),
                other => self.token_error(other),
            })?;
        Ok(self.token_set(&response, None))
    }

    /// Gets a new access token with the refresh token. A rotated refresh token, when the
    /// provider returns one, replaces the old one.
    pub fn refresh(&self, http: &HttpClient, refresh: &Secret) -> Result<TokenSet, RefreshError> {
        let client = self.client().map_err(RefreshError::Other)?;
        let token = RefreshToken::new(refresh.expose().to_owned());
        let response = client
            .exchange_refresh_token(&token)
            .request(http)
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r)
                    if *r.error() == BasicErrorResponseType::InvalidGrant =>
                {
                    RefreshError::InvalidGrant(describe(&r))
                }
                RequestTokenError::ServerResponse(r) => {
                    RefreshError::Other(LiveError::Authorization(format!(
                        "the token endpoint refused the refresh: {}",
                        describe(&r)
                    )))
                }
                other => RefreshError::Other(self.token_error(other)),
            })?;
        Ok(self.token_set(&response, Some(refresh)))
    }

    /// Revokes a token at the provider (RFC 7009), where it has a revocation endpoint.
    pub fn revoke(&self, http: &HttpClient, token: &Secret) -> Result<(), LiveError> {
        let Some(url) = &self.revoke_url else {
            return Ok(());
        };
        let mut form = vec![("token", token.expose()), ("client_id", &self.client_id)];
        if let Some(secret) = &self.client_secret {
            form.push(("client_secret", secret.expose()));
        }
        let reply = http.post_form(url, &form)?;
        if reply.status == 200 {
            Ok(())
        } else {
            Err(LiveError::Status {
                url: url.clone(),
                status: reply.status,
                detail: reply
                    .error_message()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default(),
            })
        }
    }

    fn token_set(&self, response: &BasicTokenResponse, previous: Option<&Secret>) -> TokenSet {
        TokenSet {
            access_token: Secret::new(response.access_token().secret().clone()),
            refresh_token: response
                .refresh_token()
                .map(|t| Secret::new(t.secret().clone()))
                .or_else(|| previous.cloned()),
            expires_at: response
                .expires_in()
                .and_then(|d| chrono::Duration::from_std(d).ok())
                .map(|d| Utc::now() + d),
            scopes: response
                .scopes()
                .map(|s| s.iter().map(|s| s.to_string()).collect())
                .unwrap_or_else(|| self.scopes.clone()),
        }
    }

    /// A token endpoint failure other than an OAuth error answer, described without the body.
    fn token_error(
        &self,
        error: RequestTokenError<TransportError, BasicErrorResponse>,
    ) -> LiveError {
        let url = self.token_url.clone();
        match error {
            RequestTokenError::Request(e) => LiveError::Http { url, reason: e.0 },
            // The body could be a successful answer holding a token: name the field only.
            RequestTokenError::Parse(e, _) => LiveError::Protocol {
                url,
                reason: format!("the token answer could not be read (at {})", e.path()),
            },
            RequestTokenError::Other(reason) => LiveError::Protocol { url, reason },
            RequestTokenError::ServerResponse(r) => LiveError::Authorization(describe(&r)),
        }
    }
}

fn describe(response: &BasicErrorResponse) -> String {
    let code = response.error().as_ref().to_owned();
    match response.error_description() {
        Some(description) => format!("{code}: {description}"),
        None => code,
    }
}

/// Compares two secrets in constant time (for equal lengths).
pub fn secrets_match(expected: &str, got: &str) -> bool {
    expected.as_bytes().ct_eq(got.as_bytes()).into()
}

/// The loopback listener that receives the authorization's redirect.
///
/// Bound to `127.0.0.1` on a port the system picks; it answers one callback (and `404` to
/// anything else a browser asks for meanwhile, such as a favicon).
#[derive(Debug)]
pub struct CallbackListener {
    listener: TcpListener,
    port: u16,
}

const DONE_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Hearth</title></head>\
<body style=\"font-family: sans-serif; margin: 3em\"><h1>Hearth is connected</h1>\
<p>You can close this tab and go back to the terminal.</p></body></html>";

fn failed_page(reason: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Hearth</title></head>\
<body style=\"font-family: sans-serif; margin: 3em\"><h1>Hearth was not connected</h1>\
<p>{}</p><p>You can close this tab; the terminal says what to do next.</p></body></html>",
        html_escape(reason)
    )
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl CallbackListener {
    /// Binds `127.0.0.1:0`.
    pub fn bind() -> Result<Self, LiveError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        Ok(Self { listener, port })
    }

    /// `http://127.0.0.1:<port>/callback`.
    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}/callback", self.port)
    }

    /// Waits for the callback and returns its code. The `state` it carries must equal `state`
    /// (compared in constant time); a mismatch, an error from the provider, or no code ends the
    /// wait with an error (the browser is told too).
    pub fn wait(&self, state: &str, timeout: Duration) -> Result<Secret, LiveError> {
        let deadline = Instant::now() + timeout;
        self.listener.set_nonblocking(true)?;
        loop {
            let stream = match self.listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return Err(LiveError::Timeout(timeout.as_secs()));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            if let Some(result) = handle_callback(stream, state) {
                return result;
            }
        }
    }
}

/// Reads one request; `None` when it was not the callback (answered 404, keep waiting).
fn handle_callback(mut stream: TcpStream, state: &str) -> Option<Result<Secret, LiveError>> {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let Some(target) = read_request_target(&mut stream) else {
        respond(
            &mut stream,
            "400 Bad Request",
            &failed_page("That was not a request Hearth understands."),
        );
        return None;
    };
    let (path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
    if path != "/callback" {
        respond(&mut stream, "404 Not Found", "not found");
        return None;
    }
    let mut code = None;
    let mut got_state = None;
    let mut error = None;
    let mut error_description = None;
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "code" => code = Some(Secret::new(value.into_owned())),
            "state" => got_state = Some(Secret::new(value.into_owned())),
            "error" => error = Some(value.into_owned()),
            "error_description" => error_description = Some(value.into_owned()),
            _ => {}
        }
    }
    let state_ok = got_state
        .as_ref()
        .is_some_and(|got| secrets_match(state, got.expose()));
    let result = if !state_ok {
        Err(LiveError::Authorization(
            "the callback's state does not match the one sent (a forged or stale redirect); refused"
                .into(),
        ))
    } else if let Some(error) = error {
        let description = error_description
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        Err(LiveError::Authorization(format!(
            "the provider answered {error}{description}"
        )))
    } else {
        code.filter(|c| !c.expose().is_empty())
            .ok_or_else(|| LiveError::Authorization("the callback carried no code".into()))
    };
    match &result {
        Ok(_) => respond(&mut stream, "200 OK", DONE_PAGE),
        Err(e) => respond(&mut stream, "400 Bad Request", &failed_page(&e.to_string())),
    }
    Some(result)
}

/// The request target of a `GET`, from a head of bounded size.
fn read_request_target(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
        if head.len() > MAX_CALLBACK_HEAD {
            return None;
        }
    }
    let text = std::str::from_utf8(&head).ok()?;
    let line = text.lines().next()?;
    let mut parts = line.split(' ');
    let method = parts.next()?;
    let target = parts.next()?;
    (method == "GET" && target.starts_with('/')).then(|| target.to_owned())
}

fn respond(stream: &mut TcpStream, status: &str, body: &str) {
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(headers: &[(&'static str, &str)]) -> Reply {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, v.parse().unwrap());
        }
        Reply {
            status: 429,
            headers: map,
            body: Vec::new(),
        }
    }

    #[test]
    fn retry_after_forms() {
        let now = DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            reply(&[("retry-after", "7")]).retry_after(now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            reply(&[("retry-after", "Wed, 01 May 2024 10:00:30 GMT")]).retry_after(now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            reply(&[("x-ratelimit-reset", "2024-05-01T10:01:00.000Z")]).retry_after(now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(reply(&[]).retry_after(now), None);
    }

    #[test]
    fn state_comparison() {
        assert!(secrets_match("abc", "abc"));
        assert!(!secrets_match("abc", "abd"));
        assert!(!secrets_match("abc", "abcd"));
        assert!(!secrets_match("abc", ""));
    }

    #[test]
    fn authorization_url_has_pkce_s256_and_state() {
        let app = OAuthApp {
            client_id: "cid".into(),
            client_secret: Some(Secret::new("csecret")),
            auth_url: "https://example.social/oauth/authorize".into(),
            token_url: "https://example.social/oauth/token".into(),
            revoke_url: None,
            redirect_uri: "http://127.0.0.1:4000/callback".into(),
            scopes: vec!["read".into()],
            client_auth: ClientAuth::RequestBody,
        };
        let auth = app.authorize().unwrap();
        let pairs: std::collections::HashMap<String, String> =
            auth.url.query_pairs().into_owned().collect();
        assert_eq!(pairs["response_type"], "code");
        assert_eq!(pairs["client_id"], "cid");
        assert_eq!(pairs["code_challenge_method"], "S256");
        assert_eq!(pairs["scope"], "read");
        assert_eq!(pairs["redirect_uri"], "http://127.0.0.1:4000/callback");
        assert_eq!(pairs["state"], auth.state());
        assert!(!auth.url.as_str().contains("csecret"));
    }
}
