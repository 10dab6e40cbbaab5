//! Mastodon, over its public API: the owner's own statuses (posts, replies and boosts).
//!
//! Connecting registers Hearth as an app on the instance (`POST /api/v1/apps`, scope `read`,
//! redirect URI the loopback callback), runs the authorization code flow with PKCE S256, and
//! asks `GET /api/v1/accounts/verify_credentials` who the account is.
//!
//! Syncing reads `GET /api/v1/accounts/:id/statuses?min_id=CURSOR`: with `min_id` the instance
//! answers the statuses just after the cursor (oldest page first), and the `Link` header's
//! `rel="prev"` URL continues towards the newest; the first sync starts from `min_id=0`, which
//! walks the whole history forward. After each page its newest id becomes the cursor, so the
//! next sync asks only for newer statuses.
//!
//! Each status becomes a [`Kind::Post`] record: text from the HTML `content`, `external_id` the
//! status id, `reply_to` its `in_reply_to_id`, the time of `created_at`, the owner as author
//! (`is_owner`), mentioned accounts as participants, and `visibility`, `url`, `spoiler_text`,
//! `language`, `edited_at`, tags and media descriptions in the metadata. A boost is stored with
//! the boosted post's text and its original author (not the owner, whose words it is not), and
//! `reblog = true`, `reblog_of` and `reblogged_by` in the metadata. Media attachments are fetched
//! (without credentials) into sealed blobs.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hearth_vault::{Attachment, AuditEvent, Conversation, Kind, Person, RecordData, Vault};
use serde::{Deserialize, Deserializer};

use super::oauth::{
    CallbackListener, ClientAuth, HttpClient, MAX_API_BODY, OAuthApp, Reply, Url, url,
};
use super::{
    Connection, LiveError, LiveItem, LiveSource, RemoteMedia, Secret, SyncSession, cmp_ids,
    load_connection, same_origin, save_connection,
};
use crate::text::html_to_text;

/// The provider name.
pub const NAME: &str = "mastodon";
/// Statuses asked for per page (Mastodon's maximum).
const PAGE: &str = "40";
/// The scopes asked for.
const SCOPES: &str = "read";

/// Mastodon as a live source.
#[derive(Clone, Copy, Debug)]
pub struct Mastodon;

/// How to connect.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// The instance (`https://mastodon.social`, or just `mastodon.social`).
    pub instance: String,
    /// How long to wait for the owner to approve.
    pub timeout: Duration,
    /// The app name the instance shows the owner.
    pub client_name: String,
    /// Who connects, for the audit log.
    pub actor: String,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            instance: String::new(),
            timeout: Duration::from_secs(300),
            client_name: "Hearth".into(),
            actor: "cli".into(),
        }
    }
}

/// An account as `verify_credentials` describes it.
#[derive(Clone, Debug, Deserialize)]
pub struct Account {
    /// The instance's id for it.
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    /// The local user name.
    #[serde(default)]
    pub username: String,
    /// `user` for local accounts, `user@domain` for remote ones.
    pub acct: String,
    /// The display name.
    #[serde(default, deserialize_with = "null_string")]
    pub display_name: String,
}

/// The instance's base URL (`https://host[:port]`) from what the owner typed. `https` is
/// required, except on the loopback interface; paths, queries and credentials are refused.
pub fn instance_url(input: &str) -> Result<Url, LiveError> {
    let text = input.trim().trim_end_matches('/');
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("https://{text}")
    };
    let bad = |why: &str| LiveError::InvalidInstance(format!("instance {input:?}: {why}"));
    let url = Url::parse(&with_scheme).map_err(|e| bad(&e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("credentials do not belong in the URL"));
    }
    if url.query().is_some() || url.fragment().is_some() || !matches!(url.path(), "" | "/") {
        return Err(bad(
            "give the instance's address only, such as https://mastodon.social",
        ));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(bad("no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(bad(
                "plain http would expose your tokens; use https:// (http is allowed only on this machine's loopback interface)",
            ));
        }
        other => return Err(bad(&format!("unsupported scheme {other:?}"))),
    }
    Url::parse(&url.origin().ascii_serialization()).map_err(|e| bad(&e.to_string()))
}

/// `host[:port]` of an instance URL.
fn authority(instance: &Url) -> String {
    let origin = instance.origin().ascii_serialization();
    origin
        .split_once("://")
        .map(|(_, rest)| rest.to_owned())
        .unwrap_or(origin)
}

/// `base` + `path`, for the instance's endpoints.
fn endpoint(base: &Url, path: &str) -> String {
    format!("{}{path}", base.as_str().trim_end_matches('/'))
}

/// The answer to `POST /api/v1/apps` (no `Debug`: it holds the client secret).
#[derive(Deserialize)]
struct AppReply {
    #[serde(deserialize_with = "id_string")]
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
}

/// Registers Hearth as an app on the instance, for `redirect_uri`.
pub fn register_app(
    http: &HttpClient,
    instance: &Url,
    redirect_uri: &str,
    client_name: &str,
) -> Result<OAuthApp, LiveError> {
    let url = endpoint(instance, "/api/v1/apps");
    let reply = http.post_form(
        &url,
        &[
            ("client_name", client_name),
            ("redirect_uris", redirect_uri),
            ("scopes", SCOPES),
        ],
    )?;
    let app: AppReply = expect_ok(&url, reply)?.json(&url)?;
    Ok(OAuthApp {
        client_id: app.client_id,
        client_secret: app.client_secret.map(Secret::new),
        auth_url: endpoint(instance, "/oauth/authorize"),
        token_url: endpoint(instance, "/oauth/token"),
        revoke_url: Some(endpoint(instance, "/oauth/revoke")),
        redirect_uri: redirect_uri.to_owned(),
        scopes: vec![SCOPES.to_owned()],
        client_auth: ClientAuth::RequestBody,
    })
}

/// The account the token belongs to.
pub fn verify_credentials(
    http: &HttpClient,
    instance: &Url,
    token: &Secret,
) -> Result<Account, LiveError> {
    let url = endpoint(instance, "/api/v1/accounts/verify_credentials");
    let reply = http.get(&url, Some(token), MAX_API_BODY)?;
    if reply.status == 401 {
        return Err(LiveError::Authorization(format!(
            "the instance refused the new token ({})",
            reply
                .error_message()
                .unwrap_or_else(|| "401 Unauthorized".into())
        )));
    }
    expect_ok(&url, reply)?.json(&url)
}

fn expect_ok(url: &str, reply: Reply) -> Result<Reply, LiveError> {
    if reply.status == 200 {
        Ok(reply)
    } else {
        Err(LiveError::Status {
            url: url.to_owned(),
            status: reply.status,
            detail: reply
                .error_message()
                .map(|m| format!(": {m}"))
                .unwrap_or_default(),
        })
    }
}

/// Connects a Mastodon account: registers the app, hands the authorization URL to `on_url`
/// (to print or open), waits for the callback, exchanges the code, identifies the account and
/// stores the connection (sealed). Connecting an account again replaces its tokens and keeps
/// its cursor.
pub fn connect(
    vault: &mut Vault,
    http: &HttpClient,
    options: &ConnectOptions,
    on_url: &mut dyn FnMut(&Url),
) -> Result<Connection, LiveError> {
    let instance = instance_url(&options.instance)?;
    let listener = CallbackListener::bind()?;
    let app = register_app(
        http,
        &instance,
        &listener.redirect_uri(),
        &options.client_name,
    )?;
    let authorization = app.authorize()?;
    on_url(&authorization.url);
    let code = listener.wait(authorization.state(), options.timeout)?;
    drop(listener);
    let token = app.exchange_code(http, &code, authorization.into_verifier())?;
    let account = verify_credentials(http, &instance, &token.access_token)?;
    let qualified = qualify(&account.acct, &authority(&instance));
    let id = format!("{NAME}:{qualified}");
    let previous = load_connection(vault, &id)?.filter(|p| p.account_id == account.id);
    let connection = Connection {
        id: id.clone(),
        provider: NAME.into(),
        instance: instance.as_str().trim_end_matches('/').to_owned(),
        account: qualified,
        account_id: account.id,
        app,
        token,
        cursor: previous.as_ref().and_then(|p| p.cursor.clone()),
        created_at: previous.as_ref().map_or_else(Utc::now, |p| p.created_at),
        last_sync_at: previous.as_ref().and_then(|p| p.last_sync_at),
        needs_reconnect: None,
    };
    save_connection(vault, &connection)?;
    vault.audit(
        &AuditEvent::new("connection.add", options.actor.clone())
            .subjects([&id])
            .detail("provider", NAME)
            .detail("again", previous.is_some()),
    )?;
    Ok(connection)
}

/// `acct` with the instance's domain when it is a local account.
fn qualify(acct: &str, authority: &str) -> String {
    if acct.contains('@') {
        acct.to_owned()
    } else {
        format!("{acct}@{authority}")
    }
}

/// The statuses page after `min_id`.
fn statuses_url(instance: &Url, account_id: &str, min_id: &str) -> Result<String, LiveError> {
    let mut url = instance.clone();
    url.path_segments_mut()
        .map_err(|()| LiveError::InvalidInstance(format!("{instance} cannot hold a path")))?
        .clear()
        .extend(["api", "v1", "accounts", account_id, "statuses"]);
    url.query_pairs_mut()
        .append_pair("limit", PAGE)
        .append_pair("min_id", min_id);
    Ok(url.to_string())
}

/// The `(rel, url)` pairs of a `Link` header.
pub fn parse_link_header(header: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = header;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('>') else { break };
        let target = &after[..end];
        let params_all = &after[end + 1..];
        let params_end = params_all.find('<').unwrap_or(params_all.len());
        for param in params_all[..params_end].split([';', ',']) {
            let param = param.trim();
            if let Some(value) = param.strip_prefix("rel=") {
                for rel in value.trim_matches('"').split_whitespace() {
                    out.push((rel.to_ascii_lowercase(), target.to_owned()));
                }
            }
        }
        rest = &params_all[params_end..];
    }
    out
}

/// The `rel="prev"` link (towards newer statuses), when it is on the instance.
fn prev_link(reply: &Reply, instance: &str) -> Option<String> {
    let header = reply.header("link")?;
    parse_link_header(header)
        .into_iter()
        .find(|(rel, url)| rel == "prev" && same_origin(url, instance))
        .map(|(_, url)| url)
}

impl LiveSource for Mastodon {
    fn name(&self) -> &'static str {
        NAME
    }

    fn sync(&self, session: &mut SyncSession<'_>) -> Result<(), LiveError> {
        let connection = session.connection();
        let instance = instance_url(&connection.instance)?;
        let context = ItemContext {
            authority: authority(&instance),
            conversation: connection.id.clone(),
            account: connection.account.clone(),
        };
        let account_id = connection.account_id.clone();
        let mut cursor = connection.cursor.clone();
        let mut url = statuses_url(&instance, &account_id, cursor.as_deref().unwrap_or("0"))?;
        loop {
            let reply = session.get(&url)?;
            let page: Vec<serde_json::Value> = reply.json(&url)?;
            if page.is_empty() {
                break;
            }
            let mut newest = cursor.clone();
            let mut items = Vec::with_capacity(page.len());
            for (index, value) in page.into_iter().enumerate() {
                let status: Status = match serde_json::from_value(value) {
                    Ok(status) => status,
                    Err(e) => {
                        session.skip(format!("{url} [{index}]"), format!("not a status: {e}"));
                        continue;
                    }
                };
                if newest
                    .as_deref()
                    .is_none_or(|n| cmp_ids(&status.id, n).is_gt())
                {
                    newest = Some(status.id.clone());
                }
                match status_item(&status, &context) {
                    Ok(item) => items.push(item),
                    Err(reason) => session.skip(format!("status {}", status.id), reason),
                }
            }
            session.store(items)?;
            let advanced = match (&newest, &cursor) {
                (Some(n), Some(c)) => cmp_ids(n, c).is_gt(),
                (Some(_), None) => true,
                (None, _) => false,
            };
            let Some(newest) = newest.filter(|_| advanced) else {
                // Nothing newer in this page: stop rather than ask for it again.
                break;
            };
            session.set_cursor(newest.clone())?;
            url = match prev_link(&reply, instance.as_str()) {
                Some(link) => link,
                None => statuses_url(&instance, &account_id, &newest)?,
            };
            cursor = Some(newest);
        }
        Ok(())
    }
}

/// What turning a status into a record needs to know.
struct ItemContext {
    /// `host[:port]` of the instance.
    authority: String,
    /// The conversation id (the connection's id: the owner's timeline on this instance).
    conversation: String,
    /// The owner, qualified.
    account: String,
}

#[derive(Deserialize)]
struct Status {
    #[serde(deserialize_with = "id_string")]
    id: String,
    created_at: String,
    #[serde(default, deserialize_with = "opt_id_string")]
    in_reply_to_id: Option<String>,
    #[serde(default)]
    sensitive: Option<bool>,
    #[serde(default, deserialize_with = "null_string")]
    spoiler_text: String,
    #[serde(default)]
    visibility: Option<String>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    uri: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default, deserialize_with = "null_string")]
    content: String,
    #[serde(default)]
    reblog: Option<Box<Status>>,
    account: Account,
    #[serde(default)]
    media_attachments: Vec<Media>,
    #[serde(default)]
    mentions: Vec<Mention>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    edited_at: Option<String>,
}

#[derive(Deserialize)]
struct Media {
    #[serde(deserialize_with = "id_string")]
    id: String,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    remote_url: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
struct Mention {
    #[serde(default)]
    username: String,
    acct: String,
}

#[derive(Deserialize)]
struct Tag {
    name: String,
}

fn id_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        _ => Err(serde::de::Error::custom(
            "an id must be a string or a number",
        )),
    }
}

fn opt_id_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(s) => Ok(Some(s)),
        serde_json::Value::Number(n) => Ok(Some(n.to_string())),
        _ => Err(serde::de::Error::custom(
            "an id must be a string or a number",
        )),
    }
}

fn null_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

fn person(account: &Account, authority: &str, is_owner: bool) -> Person {
    let name = if account.display_name.trim().is_empty() {
        account.username.clone()
    } else {
        account.display_name.clone()
    };
    Person {
        name,
        handle: Some(format!("@{}", qualify(&account.acct, authority))),
        is_owner,
    }
}

/// A status as a record and its media.
fn status_item(status: &Status, context: &ItemContext) -> Result<LiveItem, String> {
    let occurred_at = DateTime::parse_from_rfc3339(&status.created_at)
        .map_err(|e| format!("created_at {:?} is not a time: {e}", status.created_at))?;
    let shown = status.reblog.as_deref().unwrap_or(status);
    let owner = person(&status.account, &context.authority, true);
    let author = if status.reblog.is_some() {
        person(&shown.account, &context.authority, false)
    } else {
        owner.clone()
    };
    let mut participants = vec![author.clone()];
    if status.reblog.is_some() {
        participants.push(owner.clone());
    }
    for mention in &shown.mentions {
        let handle = format!("@{}", qualify(&mention.acct, &context.authority));
        if !participants
            .iter()
            .any(|p| p.handle.as_deref() == Some(handle.as_str()))
        {
            participants.push(Person {
                name: if mention.username.is_empty() {
                    mention.acct.clone()
                } else {
                    mention.username.clone()
                },
                handle: Some(handle),
                is_owner: false,
            });
        }
    }
    let mut metadata = BTreeMap::new();
    if let Some(visibility) = status.visibility.as_ref().filter(|v| !v.is_empty()) {
        metadata.insert("visibility".into(), visibility.clone());
    }
    if let Some(url) = shown.url.as_ref().or(shown.uri.as_ref()) {
        metadata.insert("url".into(), url.clone());
    }
    if !shown.spoiler_text.is_empty() {
        metadata.insert("spoiler_text".into(), shown.spoiler_text.clone());
    }
    if shown.sensitive == Some(true) {
        metadata.insert("sensitive".into(), "true".into());
    }
    if let Some(language) = &shown.language {
        metadata.insert("language".into(), language.clone());
    }
    if let Some(edited_at) = &shown.edited_at {
        metadata.insert("edited_at".into(), edited_at.clone());
    }
    if !shown.tags.is_empty() {
        let tags: Vec<&str> = shown.tags.iter().map(|t| t.name.as_str()).collect();
        metadata.insert("tags".into(), tags.join(" "));
    }
    if status.reblog.is_some() {
        metadata.insert("reblog".into(), "true".into());
        metadata.insert("reblog_of".into(), shown.id.clone());
        metadata.insert("reblogged_by".into(), format!("@{}", context.account));
    }
    let mut record = RecordData {
        source: NAME.into(),
        kind: Kind::Post,
        occurred_at,
        offset_assumed: false,
        external_id: Some(status.id.clone()),
        author: Some(author),
        participants,
        conversation: Some(Conversation {
            id: context.conversation.clone(),
            name: Some(format!("@{}", context.account)),
        }),
        text: html_to_text(&shown.content),
        reply_to: shown.in_reply_to_id.clone(),
        attachments: Vec::new(),
        metadata,
    };
    let mut media = Vec::new();
    for (index, attachment) in shown.media_attachments.iter().enumerate() {
        if let Some(description) = attachment.description.as_ref().filter(|d| !d.is_empty()) {
            record
                .metadata
                .insert(format!("media.{index}.description"), description.clone());
        }
        let url = attachment.url.as_ref().or(attachment.remote_url.as_ref());
        let name = url.and_then(|u| file_name(u)).unwrap_or_else(|| {
            format!(
                "{}.{}",
                attachment.id,
                attachment.kind.as_deref().unwrap_or("bin")
            )
        });
        let mime = mime_of(&name);
        match url {
            Some(url) => media.push(RemoteMedia {
                name,
                mime,
                url: url.clone(),
            }),
            None => record.attachments.push(Attachment {
                name,
                mime,
                blob: None,
                size: 0,
            }),
        }
    }
    Ok(LiveItem { record, media })
}

/// The last path segment of a URL.
fn file_name(url: &str) -> Option<String> {
    let url = Url::parse(url).ok()?;
    let last = url.path_segments()?.next_back()?;
    let decoded = percent_decode(last);
    (!decoded.is_empty() && !decoded.contains(['/', '\\'])).then_some(decoded)
}

/// Decodes `%XX` escapes (invalid UTF-8 becomes U+FFFD).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A MIME type from a file name's extension (the ones Mastodon serves).
fn mime_of(name: &str) -> Option<String> {
    let extension = name.rsplit_once('.')?.1.to_ascii_lowercase();
    let mime = match extension.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "heic" => "image/heic",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mov" => "video/quicktime",
        "mp3" => "audio/mpeg",
        "ogg" | "oga" => "audio/ogg",
        "opus" => "audio/opus",
        "wav" => "audio/wav",
        "flac" => "audio/flac",
        "m4a" => "audio/mp4",
        _ => return None,
    };
    Some(mime.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_urls() {
        assert_eq!(
            instance_url("mastodon.social").unwrap().as_str(),
            "https://mastodon.social/"
        );
        assert_eq!(
            instance_url("https://Example.Social/").unwrap().as_str(),
            "https://example.social/"
        );
        assert_eq!(
            instance_url("http://127.0.0.1:8080").unwrap().as_str(),
            "http://127.0.0.1:8080/"
        );
        assert!(instance_url("http://example.social").is_err());
        assert!(instance_url("https://example.social/@alice").is_err());
        assert!(instance_url("https://u:p@example.social").is_err());
        assert!(instance_url("ftp://example.social").is_err());
    }

    #[test]
    fn link_headers() {
        let links = parse_link_header(
            "<https://a.example/api/v1/accounts/1/statuses?max_id=5>; rel=\"next\", \
             <https://a.example/api/v1/accounts/1/statuses?min_id=9>; rel=\"prev\"",
        );
        assert_eq!(
            links,
            vec![
                (
                    "next".to_owned(),
                    "https://a.example/api/v1/accounts/1/statuses?max_id=5".to_owned()
                ),
                (
                    "prev".to_owned(),
                    "https://a.example/api/v1/accounts/1/statuses?min_id=9".to_owned()
                ),
            ]
        );
        assert!(parse_link_header("garbage <unterminated").is_empty());
    }

    #[test]
    fn statuses_page_url() {
        let base = instance_url("https://a.example").unwrap();
        assert_eq!(
            statuses_url(&base, "42", "0").unwrap(),
            "https://a.example/api/v1/accounts/42/statuses?limit=40&min_id=0"
        );
    }

    #[test]
    fn file_names_and_types() {
        assert_eq!(
            file_name("https://files.example/media/a/b/original/cat%20pic.jpg").as_deref(),
            Some("cat pic.jpg")
        );
        assert_eq!(mime_of("cat.JPG").as_deref(), Some("image/jpeg"));
        assert_eq!(mime_of("noext"), None);
    }
}
