//! The routes and their handlers. Each handler is thin: it takes the [`Call`] (the bounded
//! body and the grant headers), runs one domain function on a blocking thread (grant
//! verification, the audit log and the vault are synchronous), and turns its error into an
//! OpenAI-style answer.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hearth_permissions::Right;
use serde_json::{Value, json};

use super::chat;
use super::error::ApiError;
use super::grants::{Call, PROOF_HEADER, UseRecord, audit_use, endpoint_of, usable_rights};
use super::memory::{self, RecordsQuery};
use super::state::{NodeState, PERSONA};

/// The node's routes.
pub(crate) fn router(state: Arc<NodeState>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/.well-known/hearth-grants", get(grant_metadata))
        .route("/v1/models", get(list_models))
        .route("/v1/models/{id}", get(get_model))
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/embeddings", post(embeddings))
        .route("/v1/memories/search", post(search_memories))
        .route("/v1/records", get(list_records))
        .merge(super::mcp::routes(&state))
        .merge(super::oauth::router())
        .fallback(not_found)
        .with_state(state.clone())
        .merge(super::dashboard::router(state))
}

/// Runs `f` on a blocking thread.
async fn blocking<T: Send + 'static>(
    state: &Arc<NodeState>,
    f: impl FnOnce(&Arc<NodeState>) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let state = state.clone();
    tokio::task::spawn_blocking(move || f(&state))
        .await
        .map_err(|e| ApiError::internal(&e))?
}

async fn health(State(state): State<Arc<NodeState>>) -> Json<Value> {
    Json(json!({"status": "ok", "generations_waiting": state.workers.waiting()}))
}

/// The node's root public key and how to prove possession: what apps need to verify and
/// attenuate their grants. Public, no grant needed.
async fn grant_metadata(State(state): State<Arc<NodeState>>) -> Result<Json<Value>, ApiError> {
    let root = state.verifier.root();
    Ok(Json(json!({
        "root_public_key": root.to_prefixed_hex(),
        "root_public_key_pem": root.to_pem().map_err(|e| ApiError::internal(&e))?,
        "token_format": "biscuit",
        "proof_of_possession": {
            "header": PROOF_HEADER,
            "format": "t=<unix seconds>, n=<nonce>, s=<hex Ed25519 signature>",
            "message": "hearth-pop-v1",
            "window_secs": 60,
        },
    })))
}

/// The models a grant may use, as OpenAI lists them.
fn models_of(state: &NodeState, rights: &[Right]) -> Vec<Value> {
    let model = |id: &str| json!({"id": id, "object": "model", "created": state.models.created, "owned_by": "hearth"});
    let mut out = Vec::new();
    if rights.contains(&Right::ModelChat) {
        out.push(model(&state.models.text));
    }
    if rights.contains(&Right::ModelEmbed) {
        out.push(model(&state.models.embed));
    }
    if rights.contains(&Right::PersonaChat) {
        out.push(model(PERSONA));
    }
    out
}

fn models(state: &NodeState, call: &Call) -> Result<Vec<Value>, ApiError> {
    let (scope, rights) = usable_rights(state, call)?;
    let data = models_of(state, &rights);
    audit_use(
        state,
        &endpoint_of(call),
        &scope,
        &UseRecord {
            count: Some(data.len()),
            outcome: "ok",
            ..UseRecord::default()
        },
    )?;
    Ok(data)
}

async fn list_models(
    State(state): State<Arc<NodeState>>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    let data = blocking(&state, move |s| models(s, &call)).await?;
    Ok(Json(json!({"object": "list", "data": data})))
}

async fn get_model(
    State(state): State<Arc<NodeState>>,
    Path(id): Path<String>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    let data = blocking(&state, move |s| models(s, &call)).await?;
    data.into_iter()
        .find(|m| m["id"] == id.as_str())
        .map(Json)
        .ok_or_else(|| {
            ApiError::not_found("model_not_found", format!("no model {id:?} for this grant"))
        })
}

async fn chat_completions(
    State(state): State<Arc<NodeState>>,
    call: Call,
) -> Result<Response, ApiError> {
    let started = blocking(&state, move |s| chat::start(s, &call)).await?;
    chat::respond(started).await
}

async fn embeddings(
    State(state): State<Arc<NodeState>>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    blocking(&state, move |s| chat::embeddings(s, &call))
        .await
        .map(Json)
}

async fn search_memories(
    State(state): State<Arc<NodeState>>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    blocking(&state, move |s| memory::search(s, &call))
        .await
        .map(Json)
}

async fn list_records(
    State(state): State<Arc<NodeState>>,
    query: Result<Query<RecordsQuery>, axum::extract::rejection::QueryRejection>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid("invalid_query", e.body_text()))?;
    blocking(&state, move |s| memory::records(s, &call, query))
        .await
        .map(Json)
}

async fn not_found() -> Response {
    ApiError::not_found("not_found", "no such endpoint on this node").into_response()
}
