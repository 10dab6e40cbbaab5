//! `POST /v1/chat/completions` and `POST /v1/embeddings`: the request checked and verified
//! against the grant (blocking, in [`start`] and [`embeddings`]), the generation queued on the
//! model workers, and the answer written as one object or as server-sent events in OpenAI's
//! chunk format.
//!
//! Model ids: the chat model's id (`model.chat`), the encoder's id (`model.embed`) and
//! `persona` (`persona.chat`): the node retrieves the memories the grant allows for the last
//! user message, packs them into the prompt with the chat model's token counter, and answers;
//! the ids of the memories used come back in a top-level `memory_ids` field (in the last chunk
//! when streaming), the memories themselves never.
//!
//! # Invariants
//!
//! - Nothing is queued before the grant verified; the generation's audit entry and token
//!   accounting run when it ends, however it ends (the client may have left).
//! - A streamed response starts only once the generation started, so errors found before
//!   (prompt too long, over quota) are plain HTTP errors.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use hearth_permissions::{RequestFilters, Right};
use hearth_training::FinishReason;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::error::ApiError;
use super::grants::{Call, UseRecord, audit_use, authorize, endpoint_of};
use super::memory::{parse_body, retrieve};
use super::openai::{ChatRequest, EmbeddingsRequest, Usage, encode_vector, response_id};
use super::state::{NodeState, PERSONA};
use super::workers::{GenEvent, GenJob, GenPrompt};

/// A generation that was queued, and how to answer with it.
pub(crate) struct Started {
    events: mpsc::UnboundedReceiver<GenEvent>,
    id: String,
    model: String,
    created: i64,
    stream: bool,
    include_usage: bool,
    persona: bool,
}

/// Checks the request, verifies the grant, retrieves for `persona`, and queues the generation
/// (blocking).
pub(crate) fn start(state: &Arc<NodeState>, call: &Call) -> Result<Started, ApiError> {
    let request: ChatRequest = parse_body(state, call, Right::ModelChat)?;
    start_with(state, call, &request)
}

/// [`start`] for a request already parsed (blocking).
pub(crate) fn start_with(
    state: &Arc<NodeState>,
    call: &Call,
    request: &ChatRequest,
) -> Result<Started, ApiError> {
    let persona = request.model == PERSONA;
    let right = if persona {
        Right::PersonaChat
    } else if request.model == state.models.text {
        Right::ModelChat
    } else {
        if !call.has_token() {
            return Err(
                authorize(state, call, Right::ModelChat, RequestFilters::default())
                    .err()
                    .unwrap_or_else(|| ApiError::internal(&"a call without a grant verified")),
            );
        }
        return Err(ApiError::not_found(
            "model_not_found",
            format!(
                "no model {:?} on this node (GET /v1/models lists those your grant may use)",
                request.model
            ),
        ));
    };
    let messages = request.messages()?;
    let options = request.options(&state.config)?;
    let scope = authorize(state, call, right, RequestFilters::default())?;
    let prompt = if persona {
        let query = request
            .last_user_text()
            .filter(|q| !q.trim().is_empty())
            .ok_or_else(|| {
                ApiError::invalid_param("messages", "the persona needs a user message to answer")
            })?;
        let k = scope.max_results().map_or(state.config.persona_k, |m| {
            state.config.persona_k.min(m as usize)
        });
        let hits = retrieve(state, &scope, &query, k)?;
        GenPrompt::Persona {
            messages,
            hits,
            context_tokens: state.config.persona_context_tokens,
        }
    } else {
        GenPrompt::Chat(messages)
    };
    let (events, receiver) = mpsc::unbounded_channel();
    let done_state = state.clone();
    let done_scope = scope.clone();
    let endpoint = endpoint_of(call);
    let job = GenJob {
        prompt,
        options,
        token_budget: scope.model_tokens_left(),
        events,
        on_done: Box::new(move |summary| {
            let tokens = (summary.prompt_tokens + summary.completion_tokens) as u64;
            done_state.spend_tokens(done_scope.grant_id(), tokens);
            let record = UseRecord {
                ids: summary.memory_ids,
                count: None,
                tokens: Some(tokens),
                outcome: summary.outcome,
            };
            if let Err(e) = audit_use(&done_state, &endpoint, &done_scope, &record) {
                eprintln!("hearth serve: cannot write the audit entry of a generation: {e}");
            }
        }),
    };
    state.workers.generate(scope.app(), job)?;
    Ok(Started {
        events: receiver,
        id: response_id("chatcmpl"),
        model: request.model.clone(),
        created: chrono::Utc::now().timestamp(),
        stream: request.stream,
        include_usage: request
            .stream_options
            .as_ref()
            .is_some_and(|o| o.include_usage),
        persona,
    })
}

fn finish_reason(finish: FinishReason) -> &'static str {
    match finish {
        FinishReason::Length => "length",
        FinishReason::Stop | FinishReason::Cancelled => "stop",
    }
}

/// A generation's whole answer: its text, the memory ids it was grounded in (`persona`), why
/// it stopped, and its token counts.
pub(crate) struct Answer {
    pub(crate) text: String,
    pub(crate) memory_ids: Vec<String>,
    finish: FinishReason,
    prompt_tokens: usize,
    completion_tokens: usize,
}

/// Waits for the generation to start (or fail early), so errors are plain errors.
async fn first(started: &mut Started) -> Result<Vec<String>, ApiError> {
    match started.events.recv().await {
        Some(GenEvent::Started { memory_ids, .. }) => Ok(memory_ids),
        Some(GenEvent::Failed(e)) => Err(e),
        Some(_) => Ok(Vec::new()),
        None => Err(ApiError::shutting_down()),
    }
}

/// Collects the rest of a started generation.
async fn collect(started: &mut Started, memory_ids: Vec<String>) -> Result<Answer, ApiError> {
    let mut text = String::new();
    while let Some(event) = started.events.recv().await {
        match event {
            GenEvent::Text(t) => text.push_str(&t),
            GenEvent::Started { .. } => {}
            GenEvent::Failed(e) => return Err(e),
            GenEvent::Finished {
                finish,
                prompt_tokens,
                completion_tokens,
            } => {
                return Ok(Answer {
                    text: text.trim_start().to_owned(),
                    memory_ids,
                    finish,
                    prompt_tokens,
                    completion_tokens,
                });
            }
        }
    }
    Err(ApiError::shutting_down())
}

/// The whole answer of a generation (not streamed).
pub(crate) async fn answer(mut started: Started) -> Result<Answer, ApiError> {
    let memory_ids = first(&mut started).await?;
    collect(&mut started, memory_ids).await
}

/// Answers with the generation: one object, or an event stream.
pub(crate) async fn respond(mut started: Started) -> Result<Response, ApiError> {
    let memory_ids = first(&mut started).await?;
    if started.stream {
        return Ok(stream(started, memory_ids).into_response());
    }
    let answer = collect(&mut started, memory_ids).await?;
    let mut body = json!({
        "id": started.id,
        "object": "chat.completion",
        "created": started.created,
        "model": started.model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": answer.text},
            "logprobs": null,
            "finish_reason": finish_reason(answer.finish),
        }],
        "usage": Usage::new(answer.prompt_tokens, answer.completion_tokens),
    });
    if started.persona {
        body["memory_ids"] = json!(answer.memory_ids);
    }
    Ok(Json(body).into_response())
}

struct StreamState {
    started: Started,
    memory_ids: Vec<String>,
    pending: VecDeque<Event>,
    done: bool,
    leading: bool,
}

impl StreamState {
    fn chunk(&self, delta: Value, finish: Option<&str>) -> Value {
        json!({
            "id": self.started.id,
            "object": "chat.completion.chunk",
            "created": self.started.created,
            "model": self.started.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        })
    }

    fn push(&mut self, value: Value) {
        self.pending
            .push_back(Event::default().data(value.to_string()));
    }

    fn on(&mut self, event: Option<GenEvent>) {
        match event {
            Some(GenEvent::Text(mut t)) => {
                if self.leading {
                    t = t.trim_start().to_owned();
                    self.leading = t.is_empty();
                }
                if !t.is_empty() {
                    let chunk = self.chunk(json!({"content": t}), None);
                    self.push(chunk);
                }
            }
            Some(GenEvent::Started { .. }) => {}
            Some(GenEvent::Finished {
                finish,
                prompt_tokens,
                completion_tokens,
            }) => {
                let mut last = self.chunk(json!({}), Some(finish_reason(finish)));
                let mut usage = None;
                if self.started.include_usage {
                    last["usage"] = Value::Null;
                    let mut u = json!({
                        "id": self.started.id,
                        "object": "chat.completion.chunk",
                        "created": self.started.created,
                        "model": self.started.model,
                        "choices": [],
                        "usage": Usage::new(prompt_tokens, completion_tokens),
                    });
                    if self.started.persona {
                        u["memory_ids"] = json!(self.memory_ids);
                    }
                    usage = Some(u);
                } else if self.started.persona {
                    last["memory_ids"] = json!(self.memory_ids);
                }
                self.push(last);
                if let Some(u) = usage {
                    self.push(u);
                }
                self.pending.push_back(Event::default().data("[DONE]"));
                self.done = true;
            }
            Some(GenEvent::Failed(e)) => {
                self.push(json!({"error": {"message": e.message, "type": e.kind, "param": e.param, "code": e.code}}));
                self.done = true;
            }
            None => self.done = true,
        }
    }
}

fn stream(
    started: Started,
    memory_ids: Vec<String>,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let mut state = StreamState {
        started,
        memory_ids,
        pending: VecDeque::new(),
        done: false,
        leading: true,
    };
    let first = state.chunk(json!({"role": "assistant", "content": ""}), None);
    state.push(first);
    let events = futures_util::stream::unfold(state, |mut s| async move {
        loop {
            if let Some(event) = s.pending.pop_front() {
                return Some((Ok(event), s));
            }
            if s.done {
                return None;
            }
            let next = s.started.events.recv().await;
            s.on(next);
        }
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}

/// `POST /v1/embeddings` (blocking).
pub(crate) fn embeddings(state: &NodeState, call: &Call) -> Result<Value, ApiError> {
    let request: EmbeddingsRequest = parse_body(state, call, Right::ModelEmbed)?;
    if request.model != state.models.embed {
        if !call.has_token() {
            return Err(
                authorize(state, call, Right::ModelEmbed, RequestFilters::default())
                    .err()
                    .unwrap_or_else(|| ApiError::internal(&"a call without a grant verified")),
            );
        }
        return Err(ApiError::not_found(
            "model_not_found",
            format!("no embedding model {:?} on this node", request.model),
        ));
    }
    let (texts, encoding) = request.inputs(&state.config)?;
    let scope = authorize(state, call, Right::ModelEmbed, RequestFilters::default())?;
    let count = texts.len();
    let embedded = state.workers.embed_blocking(scope.app(), texts);
    let tokens = embedded.as_ref().map_or(0, |e| e.tokens);
    state.spend_tokens(scope.grant_id(), tokens as u64);
    audit_use(
        state,
        &endpoint_of(call),
        &scope,
        &UseRecord {
            count: Some(count),
            tokens: Some(tokens as u64),
            outcome: if embedded.is_ok() { "ok" } else { "error" },
            ..UseRecord::default()
        },
    )?;
    let embedded = embedded?;
    let data: Vec<Value> = embedded
        .vectors
        .iter()
        .enumerate()
        .map(|(index, v)| json!({"object": "embedding", "index": index, "embedding": encode_vector(v, encoding)}))
        .collect();
    Ok(json!({
        "object": "list",
        "data": data,
        "model": state.models.embed,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }))
}
