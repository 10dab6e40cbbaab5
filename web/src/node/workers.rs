//! The model workers: the chat model and the sentence encoder are CPU-bound and not meant to be
//! shared between threads, so each runs on dedicated threads that load it once and take jobs
//! from a [`FairQueue`] (round-robin over apps, bounded). Generation has `slots` threads, each
//! with its own copy of the chat model (1 by default: on a CPU one generation already uses
//! every core); embedding has one thread.
//!
//! A generation streams [`GenEvent`]s over an unbounded channel (bounded in practice by the
//! job's token limit); when the receiver is gone (the client disconnected, or a non-streaming
//! handler was dropped) the streaming callback answers `Break` and the generation stops at the
//! next token. A job whose client left while it waited is skipped.
//!
//! # Invariants
//!
//! - Every job's `on_done` runs exactly once, whatever happened (the audit entry and the token
//!   accounting of a generation hang on it).
//! - The prompt is never longer than `max_prompt_tokens`, nor the whole generation longer than
//!   the grant's remaining model tokens.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

use hearth_memory::{Recalled, pack};
use hearth_training::{DeviceChoice, FinishReason, GenerateOptions, Message, TextModel};
use tokio::sync::{mpsc, oneshot};

use super::error::ApiError;
use super::queue::{FairQueue, Full};
use crate::WebError;
use crate::engine::{self, ModelTokenCounter};

/// What a generation is asked to answer.
pub(crate) enum GenPrompt {
    /// A plain conversation.
    Chat(Vec<Message>),
    /// A conversation grounded in retrieved memories, packed into `context_tokens`.
    Persona {
        messages: Vec<Message>,
        hits: Vec<Recalled>,
        context_tokens: usize,
    },
}

/// What happens during a generation, in order: `Started`, any number of `Text`, then
/// `Finished` or `Failed` (which may also come first).
#[derive(Debug)]
pub(crate) enum GenEvent {
    Started {
        memory_ids: Vec<String>,
    },
    Text(String),
    Finished {
        finish: FinishReason,
        prompt_tokens: usize,
        completion_tokens: usize,
    },
    Failed(ApiError),
}

/// What a generation cost and how it ended, for its `on_done`.
#[derive(Debug, Default)]
pub(crate) struct GenSummary {
    pub(crate) prompt_tokens: usize,
    pub(crate) completion_tokens: usize,
    pub(crate) memory_ids: Vec<String>,
    /// `ok`, `cancelled` or `error`.
    pub(crate) outcome: &'static str,
}

/// A generation job.
pub(crate) struct GenJob {
    pub(crate) prompt: GenPrompt,
    pub(crate) options: GenerateOptions,
    /// Model tokens the grant may still spend (prompt and completion).
    pub(crate) token_budget: Option<u64>,
    pub(crate) events: mpsc::UnboundedSender<GenEvent>,
    pub(crate) on_done: Box<dyn FnOnce(GenSummary) + Send>,
}

/// Vectors and how many tokens they took.
#[derive(Debug)]
pub(crate) struct Embedded {
    pub(crate) vectors: Vec<Vec<f32>>,
    pub(crate) tokens: usize,
}

/// An embedding job.
pub(crate) struct EmbedJob {
    pub(crate) texts: Vec<String>,
    pub(crate) reply: oneshot::Sender<Result<Embedded, ApiError>>,
}

/// Sizes of the workers and their queues.
#[derive(Clone, Debug)]
pub(crate) struct WorkerOptions {
    pub(crate) text_model: PathBuf,
    pub(crate) embed_model: PathBuf,
    pub(crate) device: DeviceChoice,
    pub(crate) slots: usize,
    pub(crate) queue: usize,
    pub(crate) queue_per_app: usize,
    pub(crate) max_prompt_tokens: usize,
}

/// The running workers.
pub(crate) struct Workers {
    generate: Arc<FairQueue<GenJob>>,
    embed: Arc<FairQueue<EmbedJob>>,
    threads: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

/// Seconds a client is told to wait when the generation queue is full.
const GENERATE_RETRY_SECS: u64 = 5;
/// Seconds a client is told to wait when the embedding queue is full.
const EMBED_RETRY_SECS: u64 = 1;

impl Workers {
    /// Starts the threads; returns once every model loaded (or the first failure).
    pub(crate) fn start(options: &WorkerOptions) -> Result<Workers, WebError> {
        let generate = Arc::new(FairQueue::<GenJob>::new(
            options.queue,
            options.queue_per_app,
        ));
        let embed = Arc::new(FairQueue::<EmbedJob>::new(
            options.queue * 4,
            options.queue_per_app * 4,
        ));
        let (loaded_tx, loaded_rx) = std::sync::mpsc::channel::<Result<(), WebError>>();
        let mut threads = Vec::new();
        let spawn = |name: String, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name)
                .spawn(f)
                .map_err(|e| WebError::Node(format!("cannot start a model worker: {e}")))
        };
        for slot in 0..options.slots.max(1) {
            let queue = generate.clone();
            let loaded = loaded_tx.clone();
            let options = options.clone();
            threads.push(spawn(
                format!("hearth-generate-{slot}"),
                Box::new(move || {
                    let model = options
                        .device
                        .device()
                        .map_err(WebError::from)
                        .and_then(|d| engine::load_text_model(Some(&options.text_model), &d));
                    let model = match model {
                        Ok(m) => {
                            let _ = loaded.send(Ok(()));
                            m
                        }
                        Err(e) => {
                            let _ = loaded.send(Err(e));
                            return;
                        }
                    };
                    drop(loaded);
                    while let Some(job) = queue.pop() {
                        run_generation(&model, job, options.max_prompt_tokens);
                    }
                }),
            )?);
        }
        {
            let queue = embed.clone();
            let loaded = loaded_tx.clone();
            let options = options.clone();
            threads.push(spawn(
                "hearth-embed".into(),
                Box::new(move || {
                    let encoder = options
                        .device
                        .device()
                        .map_err(WebError::from)
                        .and_then(|d| engine::load_encoder(Some(&options.embed_model), &d));
                    let encoder = match encoder {
                        Ok(e) => {
                            let _ = loaded.send(Ok(()));
                            e
                        }
                        Err(e) => {
                            let _ = loaded.send(Err(e));
                            return;
                        }
                    };
                    drop(loaded);
                    while let Some(job) = queue.pop() {
                        if job.reply.is_closed() {
                            continue;
                        }
                        let refs: Vec<&str> = job.texts.iter().map(String::as_str).collect();
                        let tokens = refs
                            .iter()
                            .map(|t| {
                                encoder
                                    .tokenizer()
                                    .encode(t, true)
                                    .map_or(0, |ids| ids.len().min(encoder.max_seq_len()))
                            })
                            .sum();
                        let result = encoder
                            .embed(&refs, crate::node::EMBED_BATCH)
                            .map(|vectors| Embedded { vectors, tokens })
                            .map_err(|e| ApiError::internal(&e));
                        let _ = job.reply.send(result);
                    }
                }),
            )?);
        }
        drop(loaded_tx);
        let workers = Workers {
            generate,
            embed,
            threads: std::sync::Mutex::new(threads),
        };
        for _ in 0..options.slots.max(1) + 1 {
            match loaded_rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    workers.stop();
                    return Err(e);
                }
                Err(_) => {
                    workers.stop();
                    return Err(WebError::Node(
                        "a model worker stopped while loading".into(),
                    ));
                }
            }
        }
        Ok(workers)
    }

    /// Queues a generation for `app`, or 429.
    pub(crate) fn generate(&self, app: &str, job: GenJob) -> Result<(), ApiError> {
        self.generate
            .push(app, job)
            .map_err(|full| refusal(full, "text generation", GENERATE_RETRY_SECS))
    }

    /// Embeds `texts` for `app` (blocking until done), or 429.
    pub(crate) fn embed_blocking(
        &self,
        app: &str,
        texts: Vec<String>,
    ) -> Result<Embedded, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.embed
            .push(app, EmbedJob { texts, reply })
            .map_err(|full| refusal(full, "embeddings", EMBED_RETRY_SECS))?;
        answer
            .blocking_recv()
            .map_err(|_| ApiError::shutting_down())?
    }

    /// Generations waiting.
    pub(crate) fn waiting(&self) -> usize {
        self.generate.len()
    }

    /// Closes the queues and waits for the workers to finish what they hold.
    pub(crate) fn stop(&self) {
        self.generate.close();
        self.embed.close();
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
        for thread in threads {
            let _ = thread.join();
        }
    }
}

fn refusal(full: Full, what: &str, secs: u64) -> ApiError {
    match full {
        Full::Closed => ApiError::shutting_down(),
        Full::Node | Full::App => ApiError::over_capacity(what, secs),
    }
}

/// The system message that grounds a persona answer.
const PERSONA_SYSTEM: &str = "You answer questions for the owner of these notes and messages, \
using only the memories below. Each line is one memory, with its date, source and author. If \
the memories do not say, answer that you do not know.\n\nMemories:\n";

fn run_generation(model: &TextModel, job: GenJob, max_prompt_tokens: usize) {
    let GenJob {
        prompt,
        mut options,
        token_budget,
        events,
        on_done,
    } = job;
    let mut summary = GenSummary {
        outcome: "cancelled",
        ..GenSummary::default()
    };
    if events.is_closed() {
        on_done(summary);
        return;
    }
    // The audit entry is written before the client hears the end.
    let fail =
        |error: ApiError, mut summary: GenSummary, on_done: Box<dyn FnOnce(GenSummary) + Send>| {
            summary.outcome = "error";
            on_done(summary);
            let _ = events.send(GenEvent::Failed(error));
        };
    let messages = match prompt {
        GenPrompt::Chat(messages) => messages,
        GenPrompt::Persona {
            messages,
            hits,
            context_tokens,
        } => {
            let packed = pack(
                &hits,
                &ModelTokenCounter(model),
                context_tokens,
                hearth_memory::context::DEDUP_COSINE,
            );
            summary.memory_ids = packed
                .lines
                .iter()
                .flat_map(|l| l.ids.iter().map(|i| i.to_string()))
                .collect();
            let mut grounded = vec![Message::new(
                "system",
                format!("{PERSONA_SYSTEM}{}", packed.text),
            )];
            grounded.extend(messages.into_iter().filter(|m| m.role != "system"));
            grounded
        }
    };
    let prompt = match model.encode_chat(&messages) {
        Ok(p) => p,
        Err(e) => {
            return fail(
                ApiError::invalid("invalid_prompt", e.to_string()),
                summary,
                on_done,
            );
        }
    };
    summary.prompt_tokens = prompt.len();
    let limit = max_prompt_tokens.min(model.model().config().context_length.saturating_sub(1));
    if prompt.len() > limit {
        return fail(
            ApiError::invalid(
                "context_length_exceeded",
                format!(
                    "the prompt is {} tokens; this node takes at most {limit}",
                    prompt.len()
                ),
            ),
            summary,
            on_done,
        );
    }
    if let Some(budget) = token_budget {
        let left = budget.saturating_sub(prompt.len() as u64);
        if left == 0 {
            return fail(
                ApiError::from(hearth_permissions::GrantError::OverQuota {
                    limit: hearth_permissions::QuotaLimit::TokensPerDay(budget),
                    retry_after_secs: 3600,
                }),
                summary,
                on_done,
            );
        }
        options.max_tokens = options
            .max_tokens
            .min(usize::try_from(left).unwrap_or(usize::MAX));
    }
    let _ = events.send(GenEvent::Started {
        memory_ids: summary.memory_ids.clone(),
    });
    let result = model.generate(&prompt, &options, &mut |event| {
        if events.is_closed() {
            return ControlFlow::Break(());
        }
        if !event.text.is_empty() {
            let _ = events.send(GenEvent::Text(event.text.to_owned()));
        }
        ControlFlow::Continue(())
    });
    match result {
        Ok(generation) => {
            summary.completion_tokens = generation.tokens.len();
            summary.outcome = match generation.finish_reason {
                FinishReason::Cancelled => "cancelled",
                _ => "ok",
            };
            on_done(summary);
            let _ = events.send(GenEvent::Finished {
                finish: generation.finish_reason,
                prompt_tokens: generation.prompt_tokens,
                completion_tokens: generation.tokens.len(),
            });
        }
        Err(e) => fail(ApiError::internal(&e), summary, on_done),
    }
}
