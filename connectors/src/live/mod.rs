//! Live sources: accounts Hearth reads over the network with the owner's OAuth 2 consent, then
//! keeps in step with incremental syncs.
//!
//! # The flow
//!
//! 1. **Connect** (`hearth connect mastodon --instance URL`). Hearth binds a one-shot listener on
//!    the loopback interface (`http://127.0.0.1:<port>/callback`, [`oauth::CallbackListener`]),
//!    registers itself with the provider where the provider wants that (Mastodon: one app per
//!    instance, `POST /api/v1/apps`), and prints an authorization URL carrying a random CSRF
//!    `state` and a PKCE S256 challenge. The owner opens it, signs in and approves; the browser is
//!    redirected to the listener with a one-time `code`. The listener checks `state` in constant
//!    time (a mismatch aborts the flow), answers "You can close this tab", and Hearth exchanges
//!    the code and the PKCE verifier for tokens at the token endpoint. It then asks the provider
//!    who the account is and stores a [`Connection`].
//! 2. **Sync** (`hearth sync [ID]`). For each connection, Hearth fetches only what is newer than
//!    the stored cursor, page by page, stores the items as records (idempotently: each carries the
//!    provider's id as `external_id`, so a page fetched twice adds nothing) and advances the
//!    cursor after every page, so a sync that is killed resumes where it stopped. Access tokens
//!    that expire are refreshed first when the provider gave a refresh token (a rotated refresh
//!    token replaces the old one); a refused refresh (`invalid_grant`), a revoked or expired
//!    token without refresh marks the connection "reconnect needed" ([`LiveError::ReconnectNeeded`])
//!    until the owner connects again, which keeps the cursor. A `429 Too Many Requests` is
//!    honoured: Hearth waits as long as `Retry-After` says (up to [`SyncOptions::max_wait`]) and
//!    retries.
//!
//! # What is stored, and where
//!
//! A connection is one sealed value in the vault's state store, namespace
//! [`CONNECTIONS`], key the connection id (`mastodon:alice@example.social`): a JSON object with
//! the provider, instance, account, the OAuth client's credentials (client id and secret), the
//! access and refresh tokens with their expiry, the cursor (for Mastodon, the id of the newest
//! status stored) and the last sync time. The vault seals it with its secrets key and keeps the
//! key only as a keyed hash (see `Vault::put_state`), so no token, secret or account name is
//! readable in the vault's files. Tokens are never written anywhere else, never logged, never
//! printed: [`Secret`] redacts itself in `Debug`, zeroes its memory on drop, and error messages
//! never include a response body that could hold one.
//!
//! # Network hygiene
//!
//! [`oauth::HttpClient`] is a blocking rustls client that follows no redirects (so a token
//! request can never be bounced to another host), bounds response sizes and times out. Bearer
//! tokens are sent only to the connection's own instance (`Link` URLs on another origin are
//! ignored); media files are fetched without credentials. Plain `http://` instances are refused
//! except on the loopback interface.

pub mod mastodon;
pub mod oauth;

use std::cmp::Ordering;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hearth_vault::{Attachment, AuditEvent, InsertOutcome, RecordData, Vault, VaultError};
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::Issue;
use oauth::{HttpClient, OAuthApp, RefreshError, Reply, TokenSet};

/// The vault state namespace that holds connections.
pub const CONNECTIONS: &str = "connections";
/// Records per transaction (a page is usually smaller).
const BATCH: usize = 200;
/// Issues kept in a summary (all are counted).
const MAX_ISSUES: usize = 1000;
/// Tries of one request that the server keeps answering `429`/`503`.
const MAX_TRIES: u32 = 5;
/// Refresh an access token this long before it expires.
const REFRESH_MARGIN: i64 = 60;

/// A string that must never be shown: an access or refresh token, a client secret, a code.
///
/// `Debug` prints `[redacted]`; the memory is zeroed on drop. Serialized (into the sealed
/// connection value only) as the plain string.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret string.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, to send where it belongs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Everything that can stop a connect or a sync.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The stored authorization no longer works: the owner must connect again.
    #[error("{connection}: reconnect needed ({reason}); run `{hint}` again")]
    ReconnectNeeded {
        /// The connection's id.
        connection: String,
        /// What the provider said.
        reason: String,
        /// The command that reconnects it.
        hint: String,
    },
    /// No connection has this id.
    #[error("no connection {0:?} (see `hearth connections list`)")]
    UnknownConnection(String),
    /// The connection names a provider this build does not know.
    #[error("unknown live source {0:?}")]
    UnknownSource(String),
    /// The instance URL is not usable.
    #[error("{0}")]
    InvalidInstance(String),
    /// The authorization was refused, tampered with, or could not be completed.
    #[error("authorization failed: {0}")]
    Authorization(String),
    /// Nobody completed the authorization in time.
    #[error("no authorization arrived within {0} seconds; run the command again")]
    Timeout(u64),
    /// The request could not be made or its answer not received.
    #[error("{url}: {reason}")]
    Http {
        /// The URL (never one carrying a secret).
        url: String,
        /// What failed.
        reason: String,
    },
    /// The server answered with an unexpected status.
    #[error("{url}: the server answered {status}{detail}")]
    Status {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The server's error message, if it gave one (`: ...`).
        detail: String,
    },
    /// The server's answer could not be understood.
    #[error("{url}: unexpected answer: {reason}")]
    Protocol {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The server keeps asking to slow down for longer than allowed.
    #[error("{url}: rate limited; the server asks to wait {wait_secs} s; try again later")]
    RateLimited {
        /// The URL.
        url: String,
        /// How long it asked to wait.
        wait_secs: u64,
    },
    /// The callback listener failed.
    #[error("the local callback listener: {0}")]
    Io(#[from] std::io::Error),
    /// The vault failed; what was stored before stays stored.
    #[error(transparent)]
    Vault(#[from] VaultError),
}

impl LiveError {
    /// Whether the owner must connect again.
    pub fn is_reconnect_needed(&self) -> bool {
        matches!(self, LiveError::ReconnectNeeded { .. })
    }
}

/// One connected account, as stored (sealed) in the vault.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Connection {
    /// Its id: `<provider>:<account>` (`mastodon:alice@example.social`).
    pub id: String,
    /// The live source's name (`mastodon`).
    pub provider: String,
    /// The instance's base URL (`https://example.social`).
    pub instance: String,
    /// The account, qualified (`alice@example.social`).
    pub account: String,
    /// The provider's id for the account.
    pub account_id: String,
    /// The OAuth client Hearth is at this provider.
    pub app: OAuthApp,
    /// The current tokens.
    pub token: TokenSet,
    /// Where the next sync starts (for Mastodon: the newest status id stored).
    #[serde(default)]
    pub cursor: Option<String>,
    /// When it was first connected.
    pub created_at: DateTime<Utc>,
    /// When it last synced completely.
    #[serde(default)]
    pub last_sync_at: Option<DateTime<Utc>>,
    /// Why it must be connected again, when it must.
    #[serde(default)]
    pub needs_reconnect: Option<String>,
}

impl Connection {
    /// The command that connects this account again.
    pub fn reconnect_hint(&self) -> String {
        format!(
            "hearth connect {} --instance {}",
            self.provider, self.instance
        )
    }

    fn reconnect_error(&self, reason: &str) -> LiveError {
        LiveError::ReconnectNeeded {
            connection: self.id.clone(),
            reason: reason.to_owned(),
            hint: self.reconnect_hint(),
        }
    }
}

/// Stores (or replaces) a connection, sealed.
pub fn save_connection(vault: &mut Vault, connection: &Connection) -> Result<(), LiveError> {
    let json = zeroize::Zeroizing::new(serde_json::to_vec(connection).map_err(|e| {
        LiveError::Vault(VaultError::InvalidInput(format!(
            "connection {}: {e}",
            connection.id
        )))
    })?);
    vault.put_state(CONNECTIONS, &connection.id, &json)?;
    Ok(())
}

fn parse_connection(id: &str, bytes: Vec<u8>) -> Result<Connection, LiveError> {
    let bytes = zeroize::Zeroizing::new(bytes);
    // The error names the field only: serde's message could quote a token.
    serde_json::from_slice(&bytes).map_err(|e| {
        LiveError::Vault(VaultError::Corrupt(format!(
            "stored connection {id} is unreadable (line {}, column {})",
            e.line(),
            e.column()
        )))
    })
}

/// The connection `id`, if there is one.
pub fn load_connection(vault: &Vault, id: &str) -> Result<Option<Connection>, LiveError> {
    vault
        .get_state(CONNECTIONS, id)?
        .map(|bytes| parse_connection(id, bytes))
        .transpose()
}

/// Every connection, by id.
pub fn list_connections(vault: &Vault) -> Result<Vec<Connection>, LiveError> {
    vault
        .list_state(CONNECTIONS)?
        .into_iter()
        .map(|(id, bytes)| parse_connection(&id, bytes))
        .collect()
}

/// Forgets a connection (its tokens and cursor; its records stay). Returns whether it existed.
pub fn remove_connection(vault: &mut Vault, id: &str, actor: &str) -> Result<bool, LiveError> {
    let removed = vault.delete_state(CONNECTIONS, id)?;
    if removed {
        vault.audit(&AuditEvent::new("connection.remove", actor).subjects([id]))?;
    }
    Ok(removed)
}

/// One live source.
pub trait LiveSource: Sync {
    /// The provider name stored in connections (`mastodon`).
    fn name(&self) -> &'static str;
    /// Fetches everything newer than the connection's cursor into `session`, advancing the
    /// cursor (with [`SyncSession::set_cursor`]) after each stored page.
    fn sync(&self, session: &mut SyncSession<'_>) -> Result<(), LiveError>;
}

/// Every live source, by name.
pub fn sources() -> &'static [&'static dyn LiveSource] {
    &[&mastodon::Mastodon]
}

/// The live source called `name`.
pub fn source(name: &str) -> Option<&'static dyn LiveSource> {
    sources().iter().copied().find(|s| s.name() == name)
}

/// How to sync.
#[derive(Clone, Debug)]
pub struct SyncOptions {
    /// Who is syncing, for the audit log.
    pub actor: String,
    /// The longest `Retry-After` honoured by waiting; a longer one stops the sync (its progress
    /// is kept).
    pub max_wait: Duration,
    /// Whether to download media files as sealed blobs (otherwise their names are kept).
    pub media: bool,
    /// The largest media file downloaded (bigger ones are recorded by name and reported).
    pub max_media_bytes: u64,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            actor: "cli".into(),
            max_wait: Duration::from_secs(300),
            media: true,
            max_media_bytes: 64 << 20,
        }
    }
}

/// What a sync of one connection did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncSummary {
    /// The connection's id.
    pub connection: String,
    /// Records stored.
    pub imported: u64,
    /// Records already in the vault.
    pub duplicates: u64,
    /// Items not stored (listed in `errors`).
    pub skipped: u64,
    /// Media files stored as sealed blobs.
    pub attachments: u64,
    /// What was skipped, and why (at most the first 1000).
    pub errors: Vec<Issue>,
}

/// A file to attach to a record, still on the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteMedia {
    /// File name.
    pub name: String,
    /// MIME type, where known.
    pub mime: Option<String>,
    /// Where to fetch it (without credentials).
    pub url: String,
}

/// One item a live source produced.
#[derive(Clone, Debug)]
pub struct LiveItem {
    /// The record (its attachments are filled from `media`).
    pub record: RecordData,
    /// Its files.
    pub media: Vec<RemoteMedia>,
}

/// What a [`LiveSource`] works with during one sync: the connection, an HTTP client that signs
/// requests and refreshes tokens, and the vault.
pub struct SyncSession<'a> {
    vault: &'a mut Vault,
    connection: Connection,
    http: &'a HttpClient,
    options: &'a SyncOptions,
    summary: SyncSummary,
    notify: &'a mut dyn FnMut(&str),
    /// Whether this session already refreshed the token (then only an actual expiry, not the
    /// margin, refreshes it again: some providers hand out tokens shorter-lived than the margin).
    refreshed: bool,
}

impl fmt::Debug for SyncSession<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncSession")
            .field("connection", &self.connection.id)
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

impl SyncSession<'_> {
    /// The connection being synced (with its current cursor).
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// The HTTP client.
    pub fn http(&self) -> &HttpClient {
        self.http
    }

    /// Notes an item that was not stored, with where it is and why.
    pub fn skip(&mut self, location: String, reason: String) {
        self.summary.skipped += 1;
        if self.summary.errors.len() < MAX_ISSUES {
            self.summary.errors.push(Issue { location, reason });
        }
    }

    /// Stores the new cursor (after the items it covers were stored).
    pub fn set_cursor(&mut self, cursor: String) -> Result<(), LiveError> {
        self.connection.cursor = Some(cursor);
        save_connection(self.vault, &self.connection)
    }

    /// GETs `url` (which must be on the connection's instance) with the connection's bearer
    /// token, refreshing it when it expired or was refused and a refresh token exists, and
    /// waiting out rate limits. Returns the `200` reply; a `401` that a refresh cannot cure marks
    /// the connection "reconnect needed".
    pub fn get(&mut self, url: &str) -> Result<Reply, LiveError> {
        if !same_origin(url, &self.connection.instance) {
            return Err(LiveError::Protocol {
                url: url.to_owned(),
                reason: "not on the connection's instance; no token is sent there".into(),
            });
        }
        self.ensure_fresh()?;
        let mut refreshed = false;
        loop {
            let token = self.connection.token.access_token.clone();
            let reply = polite_get(self.http, url, Some(&token), self.options, self.notify)?;
            match reply.status {
                200 => return Ok(reply),
                401 if !refreshed && self.connection.token.refresh_token.is_some() => {
                    self.refresh()?;
                    refreshed = true;
                }
                401 => {
                    let reason = reply
                        .error_message()
                        .unwrap_or_else(|| "the access token was refused".into());
                    return Err(self.mark_reconnect(&reason));
                }
                status => {
                    return Err(LiveError::Status {
                        url: url.to_owned(),
                        status,
                        detail: reply
                            .error_message()
                            .map(|m| format!(": {m}"))
                            .unwrap_or_default(),
                    });
                }
            }
        }
    }

    fn ensure_fresh(&mut self) -> Result<(), LiveError> {
        let Some(expires_at) = self.connection.token.expires_at else {
            return Ok(());
        };
        let margin = if self.refreshed { 0 } else { REFRESH_MARGIN };
        if expires_at > Utc::now() + chrono::Duration::seconds(margin) {
            return Ok(());
        }
        if self.connection.token.refresh_token.is_some() {
            self.refresh()
        } else {
            Err(self.mark_reconnect("the access token expired and there is no refresh token"))
        }
    }

    fn refresh(&mut self) -> Result<(), LiveError> {
        let Some(refresh_token) = self.connection.token.refresh_token.clone() else {
            return Err(self.mark_reconnect("no refresh token"));
        };
        match self.connection.app.refresh(self.http, &refresh_token) {
            Ok(tokens) => {
                self.connection.token = tokens;
                self.refreshed = true;
                save_connection(self.vault, &self.connection)
            }
            Err(RefreshError::InvalidGrant(reason)) => Err(self.mark_reconnect(&reason)),
            Err(RefreshError::Other(e)) => Err(e),
        }
    }

    /// Flags the connection (so `connections list` shows it) and returns the error to report.
    fn mark_reconnect(&mut self, reason: &str) -> LiveError {
        self.connection.needs_reconnect = Some(reason.to_owned());
        if let Err(e) = save_connection(self.vault, &self.connection) {
            return e;
        }
        self.connection.reconnect_error(reason)
    }

    /// Stores items: downloads the media of those not yet in the vault, inserts the records in
    /// batches, and counts what was new.
    pub fn store(&mut self, items: Vec<LiveItem>) -> Result<(), LiveError> {
        let mut items = items.into_iter().peekable();
        while items.peek().is_some() {
            let chunk: Vec<LiveItem> = items.by_ref().take(BATCH).collect();
            self.store_batch(chunk)?;
        }
        Ok(())
    }

    fn store_batch(&mut self, items: Vec<LiveItem>) -> Result<(), LiveError> {
        let mut records = Vec::with_capacity(items.len());
        let mut stored_blobs = Vec::with_capacity(items.len());
        for item in items {
            let mut record = item.record;
            let mut blobs = Vec::new();
            let new = !item.media.is_empty() && self.vault.contains(&record)?.is_none();
            for media in item.media {
                let stored = if new && self.options.media {
                    self.download(&media)?
                } else {
                    None
                };
                if let Some(blob) = &stored {
                    blobs.push(blob.id.clone());
                    self.summary.attachments += 1;
                }
                record.attachments.push(Attachment {
                    name: media.name,
                    mime: media.mime,
                    size: stored.as_ref().map(|b| b.size).unwrap_or(0),
                    blob: stored.map(|b| b.id),
                });
            }
            records.push(record);
            stored_blobs.push(blobs);
        }
        let outcomes = self.vault.insert_batch(&records, &self.options.actor)?;
        for (outcome, blobs) in outcomes.iter().zip(stored_blobs) {
            match outcome {
                InsertOutcome::Inserted(_) => self.summary.imported += 1,
                InsertOutcome::Duplicate(_) => {
                    self.summary.duplicates += 1;
                    for blob in blobs {
                        self.vault.discard_blob(&blob)?;
                        self.summary.attachments -= 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// Fetches one media file into a sealed blob; a file that cannot be fetched is reported and
    /// kept by name. Only a failing vault is an error.
    fn download(
        &mut self,
        media: &RemoteMedia,
    ) -> Result<Option<hearth_vault::BlobRef>, LiveError> {
        let scheme_ok = oauth::Url::parse(&media.url).is_ok_and(|u| {
            u.scheme() == "https" || (u.scheme() == "http" && self.connection.instance_is_http())
        });
        if !scheme_ok {
            self.skip(
                media.url.clone(),
                "media URL is not https; kept its name only".into(),
            );
            return Ok(None);
        }
        let limit = self.options.max_media_bytes;
        let fetched = polite_get_limited(
            self.http,
            &media.url,
            None,
            self.options,
            self.notify,
            limit,
        );
        match fetched {
            Ok(reply) if reply.status == 200 => {
                Ok(Some(self.vault.put_blob(&mut reply.body.as_slice())?))
            }
            Ok(reply) => {
                self.skip(
                    media.url.clone(),
                    format!(
                        "media not fetched (HTTP {}); kept its name only",
                        reply.status
                    ),
                );
                Ok(None)
            }
            Err(e) => {
                self.skip(
                    media.url.clone(),
                    format!("media not fetched ({e}); kept its name only"),
                );
                Ok(None)
            }
        }
    }
}

impl Connection {
    fn instance_is_http(&self) -> bool {
        self.instance.starts_with("http://")
    }
}

/// Syncs one connection: everything newer than its cursor.
pub fn sync(
    vault: &mut Vault,
    id: &str,
    http: &HttpClient,
    options: &SyncOptions,
    notify: &mut dyn FnMut(&str),
) -> Result<SyncSummary, LiveError> {
    let connection =
        load_connection(vault, id)?.ok_or_else(|| LiveError::UnknownConnection(id.to_owned()))?;
    if let Some(reason) = &connection.needs_reconnect {
        return Err(connection.reconnect_error(reason));
    }
    let source = source(&connection.provider)
        .ok_or_else(|| LiveError::UnknownSource(connection.provider.clone()))?;
    let mut session = SyncSession {
        vault,
        summary: SyncSummary {
            connection: connection.id.clone(),
            ..SyncSummary::default()
        },
        connection,
        http,
        options,
        notify,
        refreshed: false,
    };
    let result = source.sync(&mut session);
    let SyncSession {
        vault,
        mut connection,
        summary,
        ..
    } = session;
    let event = AuditEvent::new("connection.sync", options.actor.clone())
        .subjects([&summary.connection])
        .detail("imported", summary.imported)
        .detail("duplicates", summary.duplicates)
        .detail("skipped", summary.skipped)
        .detail("ok", result.is_ok());
    vault.audit(&event)?;
    result?;
    connection.last_sync_at = Some(Utc::now());
    save_connection(vault, &connection)?;
    Ok(summary)
}

/// GET with the rate-limit policy, bodies up to 8 MiB.
fn polite_get(
    http: &HttpClient,
    url: &str,
    bearer: Option<&Secret>,
    options: &SyncOptions,
    notify: &mut dyn FnMut(&str),
) -> Result<Reply, LiveError> {
    polite_get_limited(http, url, bearer, options, notify, oauth::MAX_API_BODY)
}

/// GET that honours `429`/`503` with `Retry-After` (seconds or an HTTP date; without one, a
/// growing pause), up to [`MAX_TRIES`] times and never longer than `options.max_wait` at once.
fn polite_get_limited(
    http: &HttpClient,
    url: &str,
    bearer: Option<&Secret>,
    options: &SyncOptions,
    notify: &mut dyn FnMut(&str),
    limit: u64,
) -> Result<Reply, LiveError> {
    let mut tries = 0;
    loop {
        let reply = http.get(url, bearer, limit)?;
        tries += 1;
        if !matches!(reply.status, 429 | 503) || tries >= MAX_TRIES {
            if reply.status == 429 {
                return Err(LiveError::RateLimited {
                    url: url.to_owned(),
                    wait_secs: reply.retry_after(Utc::now()).unwrap_or_default().as_secs(),
                });
            }
            return Ok(reply);
        }
        let wait = reply
            .retry_after(Utc::now())
            .unwrap_or_else(|| Duration::from_secs(2u64.pow(tries)));
        if wait > options.max_wait {
            return Err(LiveError::RateLimited {
                url: url.to_owned(),
                wait_secs: wait.as_secs(),
            });
        }
        notify(&format!(
            "the server asks to slow down; waiting {} s",
            wait.as_secs().max(1)
        ));
        std::thread::sleep(wait);
    }
}

/// Whether `url` has the same scheme, host and port as `base`.
pub fn same_origin(url: &str, base: &str) -> bool {
    match (oauth::Url::parse(url), oauth::Url::parse(base)) {
        (Ok(a), Ok(b)) => {
            a.scheme() == b.scheme()
                && a.host_str() == b.host_str()
                && a.port_or_known_default() == b.port_or_known_default()
        }
        _ => false,
    }
}

/// Orders provider ids: numerically when both are decimal (Mastodon's snowflake ids), else as
/// strings (sortable ids such as ULIDs and flake ids).
pub fn cmp_ids(a: &str, b: &str) -> Ordering {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if digits(a) && digits(b) {
        let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
        a.len().cmp(&b.len()).then_with(|| a.cmp(b))
    } else {
        a.cmp(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_order_numerically() {
        assert_eq!(cmp_ids("9", "10"), Ordering::Less);
        assert_eq!(
            cmp_ids("109999999999999999", "110000000000000000"),
            Ordering::Less
        );
        assert_eq!(cmp_ids("0", "1"), Ordering::Less);
        assert_eq!(cmp_ids("abc", "abd"), Ordering::Less);
        assert_eq!(cmp_ids("42", "42"), Ordering::Equal);
    }

    #[test]
    fn secrets_do_not_debug() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret([redacted])");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn origins() {
        assert!(same_origin(
            "https://a.example/api/v1/x?min_id=1",
            "https://a.example"
        ));
        assert!(same_origin("https://a.example:443/x", "https://a.example"));
        assert!(!same_origin("https://b.example/x", "https://a.example"));
        assert!(!same_origin("http://a.example/x", "https://a.example"));
        assert!(!same_origin(
            "http://127.0.0.1:8081/x",
            "http://127.0.0.1:8080"
        ));
    }
}
