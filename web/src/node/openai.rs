//! The OpenAI wire format: the request bodies the node accepts and the objects it answers,
//! as its own types (no domain type derives `Serialize` for the outside world).
//!
//! Accepted as OpenAI does: `max_tokens` or `max_completion_tokens`; `stop` as a string or a
//! list (at most 4); message `content` as a string or a list of text parts; `n` only 1;
//! embeddings `input` as a string or a list of strings, `encoding_format` `float` or `base64`
//! (little-endian f32, which the Python client asks for by default). Unknown fields are
//! ignored, as OpenAI's API does, except in Hearth's own endpoints.

use base64::Engine;
use hearth_training::{GenerateOptions, Message, SamplingConfig};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::state::Config;

/// `POST /v1/chat/completions`.
#[derive(Debug, Deserialize)]
pub(crate) struct ChatRequest {
    pub(crate) model: String,
    pub(crate) messages: Vec<ChatMessage>,
    #[serde(default)]
    pub(crate) stream: bool,
    #[serde(default)]
    pub(crate) stream_options: Option<StreamOptions>,
    #[serde(default)]
    max_tokens: Option<u64>,
    #[serde(default)]
    max_completion_tokens: Option<u64>,
    #[serde(default)]
    temperature: Option<f32>,
    #[serde(default)]
    top_p: Option<f32>,
    #[serde(default)]
    seed: Option<i64>,
    #[serde(default)]
    stop: Option<Stop>,
    #[serde(default)]
    n: Option<u32>,
}

/// `stream_options`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct StreamOptions {
    #[serde(default)]
    pub(crate) include_usage: bool,
}

/// `stop`: one string or several.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Stop {
    One(String),
    Many(Vec<String>),
}

/// One message.
#[derive(Debug, Deserialize)]
pub(crate) struct ChatMessage {
    role: String,
    #[serde(default)]
    content: Option<Content>,
}

/// A message's content: text, or a list of parts (text parts only).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Debug, Deserialize)]
struct Part {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

impl ChatRequest {
    /// The conversation for the chat template.
    pub(crate) fn messages(&self) -> Result<Vec<Message>, ApiError> {
        if self.messages.is_empty() {
            return Err(ApiError::invalid_param(
                "messages",
                "messages must not be empty",
            ));
        }
        let mut out = Vec::with_capacity(self.messages.len());
        for m in &self.messages {
            let role = match m.role.as_str() {
                "system" | "developer" => "system",
                "user" => "user",
                "assistant" => "assistant",
                other => {
                    return Err(ApiError::invalid_param(
                        "messages",
                        format!(
                            "the role {other:?} is not supported (system, developer, user, assistant)"
                        ),
                    ));
                }
            };
            let text = match &m.content {
                None => String::new(),
                Some(Content::Text(t)) => t.clone(),
                Some(Content::Parts(parts)) => {
                    let mut text = String::new();
                    for p in parts {
                        match (p.kind.as_str(), &p.text) {
                            ("text", Some(t)) => text.push_str(t),
                            _ => {
                                return Err(ApiError::invalid_param(
                                    "messages",
                                    "only text content parts are supported",
                                ));
                            }
                        }
                    }
                    text
                }
            };
            out.push(Message::new(role, text));
        }
        Ok(out)
    }

    /// The text of the last user message (the persona's retrieval query).
    pub(crate) fn last_user_text(&self) -> Option<String> {
        self.messages()
            .ok()?
            .into_iter()
            .rev()
            .find(|m| m.role == "user")
            .map(|m| m.content)
    }

    /// Generation options, checked, with the node's defaults and caps.
    pub(crate) fn options(&self, config: &Config) -> Result<GenerateOptions, ApiError> {
        if self.n.is_some_and(|n| n != 1) {
            return Err(ApiError::invalid_param(
                "n",
                "this node generates one choice (n = 1) only",
            ));
        }
        let max_tokens = match (self.max_completion_tokens, self.max_tokens) {
            (Some(n), _) | (None, Some(n)) => {
                if n == 0 {
                    return Err(ApiError::invalid_param(
                        "max_tokens",
                        "max_tokens must be at least 1",
                    ));
                }
                usize::try_from(n)
                    .unwrap_or(usize::MAX)
                    .min(config.max_completion_tokens)
            }
            (None, None) => config.default_max_tokens,
        };
        let defaults = SamplingConfig::default();
        let temperature = self.temperature.unwrap_or(defaults.temperature);
        if !(0.0..=2.0).contains(&temperature) {
            return Err(ApiError::invalid_param(
                "temperature",
                "temperature must be between 0 and 2",
            ));
        }
        let top_p = self.top_p.unwrap_or(defaults.top_p);
        if !(top_p > 0.0 && top_p <= 1.0) {
            return Err(ApiError::invalid_param("top_p", "top_p must be in (0, 1]"));
        }
        let stop = match &self.stop {
            None => Vec::new(),
            Some(Stop::One(s)) => vec![s.clone()],
            Some(Stop::Many(list)) => list.clone(),
        };
        if stop.len() > 4 {
            return Err(ApiError::invalid_param("stop", "at most 4 stop sequences"));
        }
        Ok(GenerateOptions {
            max_tokens,
            sampling: SamplingConfig {
                temperature,
                top_p,
                seed: self.seed.map(|s| s as u64),
                ..defaults
            },
            stop: stop.into_iter().filter(|s| !s.is_empty()).collect(),
            stop_at_eos: true,
        })
    }
}

/// `POST /v1/embeddings`.
#[derive(Debug, Deserialize)]
pub(crate) struct EmbeddingsRequest {
    pub(crate) model: String,
    input: Input,
    #[serde(default)]
    encoding_format: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Input {
    One(String),
    Many(Vec<String>),
    Tokens(serde::de::IgnoredAny),
}

/// How vectors are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    Float,
    Base64,
}

impl EmbeddingsRequest {
    /// The texts to embed and how to write the vectors.
    pub(crate) fn inputs(&self, config: &Config) -> Result<(Vec<String>, Encoding), ApiError> {
        let texts = match &self.input {
            Input::One(t) => vec![t.clone()],
            Input::Many(list) => list.clone(),
            Input::Tokens(_) => {
                return Err(ApiError::invalid_param(
                    "input",
                    "input must be a string or a list of strings (token arrays are not supported)",
                ));
            }
        };
        if texts.is_empty() {
            return Err(ApiError::invalid_param("input", "input must not be empty"));
        }
        if texts.len() > config.max_embed_inputs {
            return Err(ApiError::invalid_param(
                "input",
                format!("at most {} inputs per request", config.max_embed_inputs),
            ));
        }
        let encoding = match self.encoding_format.as_deref() {
            None | Some("float") => Encoding::Float,
            Some("base64") => Encoding::Base64,
            Some(_) => {
                return Err(ApiError::invalid_param(
                    "encoding_format",
                    "encoding_format is float or base64",
                ));
            }
        };
        Ok((texts, encoding))
    }
}

/// One vector as JSON: a list of floats, or base64 of little-endian f32.
pub(crate) fn encode_vector(v: &[f32], encoding: Encoding) -> serde_json::Value {
    match encoding {
        Encoding::Float => serde_json::json!(v),
        Encoding::Base64 => {
            let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
    }
}

/// `usage`.
#[derive(Clone, Copy, Debug, Serialize)]
pub(crate) struct Usage {
    pub(crate) prompt_tokens: usize,
    pub(crate) completion_tokens: usize,
    pub(crate) total_tokens: usize,
}

impl Usage {
    pub(crate) fn new(prompt_tokens: usize, completion_tokens: usize) -> Self {
        Self {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
        }
    }
}

/// A fresh response id with `prefix` (`chatcmpl`, ...).
pub(crate) fn response_id(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        hearth_vault::Id::generate().as_str().to_ascii_lowercase()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config {
            max_body_bytes: 1 << 20,
            default_max_tokens: 256,
            max_completion_tokens: 1024,
            max_embed_inputs: 64,
            max_k: 50,
            persona_k: 8,
            persona_context_tokens: 1024,
            max_page: 100,
            mcp_hosts: Vec::new(),
            mcp_any_host: false,
            dashboard_remote: false,
            max_upload_bytes: 1 << 20,
        }
    }

    #[test]
    fn chat_requests_take_openai_forms() {
        let r: ChatRequest = serde_json::from_str(
            r#"{"model":"m","messages":[{"role":"developer","content":"be brief"},
                {"role":"user","content":[{"type":"text","text":"hi "},{"type":"text","text":"there"}]}],
                "max_completion_tokens":5000,"max_tokens":3,"stop":"\n","seed":7,"temperature":0}"#,
        )
        .unwrap();
        let m = r.messages().unwrap();
        assert_eq!(
            (m[0].role.as_str(), m[1].content.as_str()),
            ("system", "hi there")
        );
        let o = r.options(&config()).unwrap();
        assert_eq!(o.max_tokens, 1024, "max_completion_tokens wins, capped");
        assert_eq!(o.stop, ["\n"]);
        assert_eq!(o.sampling.seed, Some(7));
        assert_eq!(r.last_user_text().as_deref(), Some("hi there"));
        for bad in [
            r#"{"model":"m","messages":[],"n":1}"#,
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"n":2}"#,
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":3}"#,
            r#"{"model":"m","messages":[{"role":"tool","content":"x"}]}"#,
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"stop":["a","b","c","d","e"]}"#,
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}]}"#,
        ] {
            let r: ChatRequest = serde_json::from_str(bad).unwrap();
            let e = r.messages().and_then(|_| r.options(&config())).unwrap_err();
            assert_eq!(e.status.as_u16(), 400, "{bad}");
        }
    }

    #[test]
    fn embeddings_take_strings_and_write_base64_little_endian() {
        let r: EmbeddingsRequest =
            serde_json::from_str(r#"{"model":"e","input":["a","b"],"encoding_format":"base64"}"#)
                .unwrap();
        let (texts, enc) = r.inputs(&config()).unwrap();
        assert_eq!((texts.len(), enc), (2, Encoding::Base64));
        let v = encode_vector(&[1.0, -2.5], Encoding::Base64);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        assert_eq!(
            bytes,
            [1.0f32.to_le_bytes(), (-2.5f32).to_le_bytes()].concat()
        );
        let r: EmbeddingsRequest =
            serde_json::from_str(r#"{"model":"e","input":[[1,2]]}"#).unwrap();
        assert!(r.inputs(&config()).is_err());
    }
}
