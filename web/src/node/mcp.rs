//! The MCP server at `/mcp`: the Model Context Protocol over streamable HTTP (the official Rust
//! SDK, `rmcp`), so agent apps can use the vault as a tool under the same grants as the HTTP
//! API.
//!
//! Tools:
//! - `search_memories` (right `memories.search`): `query`, `k` and the optional filters of
//!   `POST /v1/memories/search`; answers `{"data": [...]}` with the same objects;
//! - `ask_persona` (right `persona.chat`): a question answered by the persona model grounded in
//!   the memories the grant allows; answers `{"answer", "memory_ids"}`.
//!
//! # Authorization
//!
//! Every HTTP request to `/mcp` carries the grant as `Authorization: Bearer <grant>` (and
//! `Hearth-Proof` for a bound grant, over that request's method, path and exact body). A
//! layer reads the body (bounded by the node's limit, else 413) and the grant headers into a
//! [`Call`]; a request without a grant of this node, or with a revoked one, is answered 401
//! with `WWW-Authenticate` before the protocol sees it (and audited). Each tool call then runs
//! the same domain function as the HTTP route, which verifies the grant for its right and
//! filters ([`super::grants::authorize`]): a refusal (403 outside the grant, 401, 429) comes
//! back as a tool error whose structured content is the OpenAI-style error object with its
//! `status`, and is audited with the endpoint `MCP <tool>`, as every use is.
//!
//! The server is stateless (no MCP sessions; each POST is answered with JSON), so no stream
//! outlives its request and a shutdown never waits on an idle client.
//!
//! # Invariants
//!
//! - No tool reads anything before the grant verified for exactly what the tool reads.
//! - Tool errors name what was wrong; never a token or memory content.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, Implementation, JsonObject,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, ServerHandler};
use serde::Deserialize;
use serde_json::{Value, json};

use super::chat;
use super::error::ApiError;
use super::grants::{Call, authenticate};
use super::memory::{self, SearchRequest};
use super::openai::ChatRequest;
use super::state::{NodeState, PERSONA};

/// Where the MCP server listens.
pub(crate) const PATH: &str = "/mcp";

/// The `/mcp` route: the grant layer in front of rmcp's streamable HTTP service.
pub(crate) fn routes(state: &Arc<NodeState>) -> Router<Arc<NodeState>> {
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_max_request_body_bytes(state.config.max_body_bytes);
    let config = if state.config.mcp_any_host {
        // Listening on every interface: the node cannot know its names; grants guard it.
        config.disable_allowed_hosts()
    } else {
        config.with_allowed_hosts(state.config.mcp_hosts.clone())
    };
    let for_service = state.clone();
    let service = StreamableHttpService::new(
        move || {
            Ok(HearthMcp {
                state: for_service.clone(),
            })
        },
        Arc::new(NeverSessionManager::default()),
        config,
    );
    Router::new()
        .route_service(PATH, service)
        .layer(middleware::from_fn_with_state(state.clone(), grant_layer))
}

/// The call of an MCP HTTP request, for the tools (a request extension).
#[derive(Clone)]
struct McpCall(Arc<Call>);

/// Reads the body (bounded) and the grant headers; refuses a request without a usable grant
/// (401); hands the rest to rmcp with the [`McpCall`] attached.
async fn grant_layer(
    State(state): State<Arc<NodeState>>,
    request: Request,
    next: Next,
) -> Response {
    let limit = state.config.max_body_bytes;
    let (mut parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(body) => body,
        Err(_) => return ApiError::too_large(limit).into_response(),
    };
    let call = Arc::new(Call::new(&parts, body.clone()));
    let checked = {
        let state = state.clone();
        let call = call.clone();
        tokio::task::spawn_blocking(move || authenticate(&state, &call)).await
    };
    match checked {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return error.into_response(),
        Err(e) => return ApiError::internal(&e).into_response(),
    }
    parts.extensions.insert(McpCall(call));
    next.run(Request::from_parts(parts, Body::from(body))).await
}

/// The MCP server handler: one per request (stateless), sharing the node's state.
#[derive(Clone)]
struct HearthMcp {
    state: Arc<NodeState>,
}

/// `ask_persona`'s arguments.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AskRequest {
    question: String,
    #[serde(default)]
    max_tokens: Option<u64>,
}

impl HearthMcp {
    /// `search_memories` (blocking).
    fn search(state: &NodeState, call: &Call, args: Value) -> Result<Value, ApiError> {
        let body: SearchRequest = serde_json::from_value(args)
            .map_err(|e| ApiError::invalid("invalid_arguments", e.to_string()))?;
        memory::search_with(state, call, body)
    }

    /// `ask_persona`: the persona's chat completion with one user message.
    async fn ask(state: Arc<NodeState>, call: Call, args: Value) -> Result<Value, ApiError> {
        let ask: AskRequest = serde_json::from_value(args)
            .map_err(|e| ApiError::invalid("invalid_arguments", e.to_string()))?;
        let request: ChatRequest = serde_json::from_value(json!({
            "model": PERSONA,
            "messages": [{"role": "user", "content": ask.question}],
            "max_tokens": ask.max_tokens,
        }))
        .map_err(|e| ApiError::invalid("invalid_arguments", e.to_string()))?;
        let started =
            tokio::task::spawn_blocking(move || chat::start_with(&state, &call, &request))
                .await
                .map_err(|e| ApiError::internal(&e))??;
        let answer = chat::answer(started).await?;
        Ok(json!({"answer": answer.text, "memory_ids": answer.memory_ids}))
    }
}

impl ServerHandler for HearthMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("hearth", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Hearth, the owner's personal-data vault. search_memories finds the owner's \
                 memories your grant allows; ask_persona answers a question as the owner's \
                 persona, grounded in them.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tools().into_iter().find(|t| t.name == name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let call = context
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<McpCall>())
            .map(|c| c.0.labelled(format!("MCP {}", request.name)))
            .ok_or_else(|| ErrorData::internal_error("the request carries no grant", None))?;
        let args = Value::Object(request.arguments.unwrap_or_default());
        let state = self.state.clone();
        let result = match request.name.as_ref() {
            "search_memories" => {
                tokio::task::spawn_blocking(move || Self::search(&state, &call, args))
                    .await
                    .map_err(|e| ApiError::internal(&e))
                    .and_then(|r| r)
            }
            "ask_persona" => Self::ask(state, call, args).await,
            other => {
                return Err(ErrorData::invalid_params(
                    format!("no tool {other:?} on this node"),
                    None,
                ));
            }
        };
        Ok(match result {
            Ok(value) => CallToolResult::structured(value),
            Err(error) => CallToolResult::structured_error(error_json(&error)),
        }
        .into())
    }
}

/// An error as a tool's structured error: the OpenAI-style object plus the HTTP status the
/// same request gets on the HTTP API.
fn error_json(error: &ApiError) -> Value {
    json!({
        "error": {
            "status": error.status.as_u16(),
            "message": error.message,
            "type": error.kind,
            "param": error.param,
            "code": error.code,
        }
    })
}

/// The filters both memory tools share, as JSON Schema properties.
fn filter_properties() -> JsonObject {
    let list =
        |what: &str| json!({"type": "array", "items": {"type": "string"}, "description": what});
    let time = |what: &str| json!({"type": "string", "description": what});
    let Value::Object(o) = json!({
        "sources": list("only these sources (within the grant's)"),
        "since": time("only memories at or after this time (RFC 3339 or YYYY-MM-DD)"),
        "until": time("only memories before this time (RFC 3339 or YYYY-MM-DD)"),
        "participants": list("only memories involving one of these participants"),
        "exclude_participants": list("never memories involving these participants"),
        "conversations": list("only these conversations"),
        "exclude_conversations": list("never these conversations"),
        "fields": list("hide these fields: author, participants, conversation, attachments"),
    }) else {
        unreachable!("a JSON object literal")
    };
    o
}

fn schema(value: Value) -> Arc<JsonObject> {
    match value {
        Value::Object(o) => Arc::new(o),
        _ => Arc::new(JsonObject::new()),
    }
}

/// The tools, with the JSON Schema of their arguments.
fn tools() -> Vec<Tool> {
    let mut search = filter_properties();
    search.insert(
        "query".into(),
        json!({"type": "string", "description": "what to look for, in words"}),
    );
    search.insert(
        "k".into(),
        json!({"type": "integer", "minimum": 1, "description": "how many memories (default 10; the grant may cap it)"}),
    );
    let read_only = ToolAnnotations::new()
        .read_only(true)
        .destructive(false)
        .open_world(false);
    vec![
        Tool::new(
            "search_memories",
            "Search the owner's memories that your grant allows (right memories.search). \
             Filters can only narrow the grant. Returns {data: [memory, ...]}.",
            schema(json!({
                "type": "object",
                "properties": search,
                "required": ["query"],
                "additionalProperties": false,
            })),
        )
        .annotate(read_only.clone()),
        Tool::new(
            "ask_persona",
            "Ask the owner's persona a question (right persona.chat): the answer is grounded in \
             the memories your grant allows. Returns {answer, memory_ids}.",
            schema(json!({
                "type": "object",
                "properties": {
                    "question": {"type": "string", "description": "the question"},
                    "max_tokens": {"type": "integer", "minimum": 1, "description": "longest answer, in tokens"},
                },
                "required": ["question"],
                "additionalProperties": false,
            })),
        )
        .annotate(read_only),
    ]
}

/// Whether a tool needs `right` (for documentation and tests).
#[cfg(test)]
fn right_of(tool: &str) -> Option<hearth_permissions::Right> {
    use hearth_permissions::Right;
    match tool {
        "search_memories" => Some(Right::MemoriesSearch),
        "ask_persona" => Some(Right::PersonaChat),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_have_object_schemas_and_rights() {
        let tools = tools();
        assert_eq!(tools.len(), 2);
        for tool in &tools {
            assert_eq!(tool.input_schema["type"], "object", "{}", tool.name);
            assert!(right_of(&tool.name).is_some(), "{}", tool.name);
        }
        let search = &tools[0].input_schema["properties"];
        for key in ["query", "k", "sources", "since", "exclude_participants"] {
            assert!(search.get(key).is_some(), "search_memories lacks {key}");
        }
    }

    #[test]
    fn search_arguments_parse_as_the_http_body_does() {
        assert!(serde_json::from_value::<SearchRequest>(json!({"query": "x", "k": 2})).is_ok());
        assert!(
            serde_json::from_value::<SearchRequest>(json!({"query": "x", "bogus": 1})).is_err()
        );
        assert!(serde_json::from_value::<AskRequest>(json!({"question": "hi"})).is_ok());
        assert!(serde_json::from_value::<AskRequest>(json!({})).is_err());
    }
}
