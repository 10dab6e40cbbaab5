//! `hearth memories ...`, `remember`, `recall`, `context` and `forget`: the memory stream.
//!
//! Thin handlers over [`hearth_web::memories`] (shared with the HTTP node) and
//! [`hearth_memory`]. The embedding model is all-MiniLM-L6-v2 (`--embed-model`, else
//! `$HEARTH_MODELS_DIR/all-minilm-l6-v2`, else the repository's `models/`); `context` counts
//! tokens with the text model's tokenizer (`--model`). `recall` and `context` are the owner's
//! retrievals: they refresh the last-accessed time of what they return.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, FixedOffset, Local, Utc};
use clap::{Args, Subcommand};
use hearth_memory::{Caller, Memory, MemoryFilter, MemoryId, Origin, Query, ScoreParams, reflect};
use hearth_training::{Device, DeviceChoice};
use hearth_vault::Vault;
use hearth_web::engine::{self, ModelTokenCounter};
use hearth_web::memories::{self, ImportanceMethod, MemoryJson, MemoryModels, RecalledJson};
use hearth_web::node::control::ControlRequest;
use serde::Serialize;

use super::output::print_json;
use super::{Global, UsageError, args, secret};

/// Where the models come from and what runs them.
#[derive(Debug, Args)]
pub(crate) struct MemoryModelArgs {
    /// The sentence-transformers embedding model's directory [default: all-minilm-l6-v2 under
    /// $HEARTH_MODELS_DIR or the repository's models/ folder]
    #[arg(long, value_name = "DIR")]
    embed_model: Option<PathBuf>,
    /// Backend: cpu, vulkan[:N] or cuda[:N] (GPUs need a build with the `vulkan` or `cuda` feature)
    #[arg(long, env = "HEARTH_DEVICE", value_name = "DEVICE")]
    device: Option<String>,
}

impl MemoryModelArgs {
    fn device(&self) -> anyhow::Result<Device> {
        device(self.device.as_deref())
    }

    fn load(
        &self,
        importance: ImportanceMethod,
        text_model: Option<&std::path::Path>,
    ) -> anyhow::Result<MemoryModels> {
        Ok(MemoryModels::load(
            self.embed_model.as_deref(),
            text_model,
            importance,
            &self.device()?,
        )?)
    }
}

/// The device named by `--device` / `HEARTH_DEVICE` (the CPU by default).
pub(crate) fn device(name: Option<&str>) -> anyhow::Result<Device> {
    let choice = match name {
        Some(d) => d
            .parse::<DeviceChoice>()
            .map_err(|e| UsageError(e.to_string()))?,
        None => DeviceChoice::Cpu,
    };
    Ok(choice.device()?)
}

/// What a retrieval may see: the same names as grants' restrictions.
#[derive(Debug, Args)]
pub(crate) struct MemoryFilterArgs {
    /// Only memories of this source (repeatable)
    #[arg(long = "source", value_name = "SOURCE")]
    sources: Vec<String>,
    /// Only memories at or after this time
    #[arg(long, value_parser = args::parse_instant, value_name = "TIME")]
    since: Option<DateTime<Utc>>,
    /// Only memories before this time
    #[arg(long, value_parser = args::parse_instant, value_name = "TIME")]
    until: Option<DateTime<Utc>>,
    /// Only memories with this participant, by name or handle (repeatable: any of them)
    #[arg(long = "participant", value_name = "NAME")]
    participants: Vec<String>,
    /// No memory with this participant (repeatable)
    #[arg(long = "exclude-participant", value_name = "NAME")]
    exclude_participants: Vec<String>,
    /// Only memories of this conversation, by id (repeatable)
    #[arg(long = "conversation", value_name = "ID")]
    conversations: Vec<String>,
    /// No memory of this conversation, by id (repeatable)
    #[arg(long = "exclude-conversation", value_name = "ID")]
    exclude_conversations: Vec<String>,
}

impl MemoryFilterArgs {
    fn filter(&self) -> MemoryFilter {
        MemoryFilter {
            sources: self.sources.clone(),
            since: self.since,
            until: self.until,
            participants: self.participants.clone(),
            exclude_participants: self.exclude_participants.clone(),
            conversations: self.conversations.clone(),
            exclude_conversations: self.exclude_conversations.clone(),
        }
    }
}

/// How a retrieval ranks.
#[derive(Debug, Args)]
pub(crate) struct RankArgs {
    /// How many memories to return
    #[arg(long, default_value_t = 10, value_name = "N")]
    k: usize,
    /// Weights of recency, importance and relevance
    #[arg(long, default_value = "1,1,2", value_name = "R,I,V")]
    weights: String,
    /// Recency decay per hour since last access
    #[arg(long, default_value_t = 0.995, value_name = "D")]
    decay: f64,
}

impl RankArgs {
    fn query(&self, text: &str, filter: MemoryFilter) -> anyhow::Result<Query> {
        if !(self.decay > 0.0 && self.decay <= 1.0) {
            return Err(
                UsageError(format!("--decay {}: give a number in (0, 1]", self.decay)).into(),
            );
        }
        if text.trim().is_empty() {
            return Err(UsageError("the query is empty".into()).into());
        }
        let weights =
            memories::parse_weights(&self.weights).map_err(|e| UsageError(format!("--{e}")))?;
        let mut query = Query::new(text);
        query.k = self.k;
        query.candidates = query.candidates.max(self.k);
        query.filter = filter;
        query.params = ScoreParams {
            weights,
            decay: self.decay,
            ..ScoreParams::default()
        };
        Ok(query)
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum MemoriesCommand {
    /// Turn new records into memories and forget those of deleted records (incremental)
    Build {
        /// How importance is rated: features (fast) or model (the chat model, slow)
        #[arg(long, default_value = "features", value_parser = |s: &str| s.parse::<ImportanceMethod>())]
        importance: ImportanceMethod,
        /// The text model, for --importance model
        #[arg(long, value_name = "PATH")]
        model: Option<PathBuf>,
        #[command(flatten)]
        models: MemoryModelArgs,
    },
    /// List memories (newest first)
    List {
        /// At most this many
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Only reflections
        #[arg(long)]
        reflections: bool,
    },
    /// Set (and pin) a memory's importance, 1 to 10; later builds never change it
    Importance {
        /// The memory's id
        id: MemoryId,
        /// 1 (mundane) to 10 (poignant)
        #[arg(value_parser = clap::value_parser!(u8).range(1..=10))]
        importance: u8,
    },
    /// Ask the text model for insights on recent memories, stored as memories citing them
    Reflect {
        /// Reflect even if the recent importance is below the threshold (150)
        #[arg(long)]
        force: bool,
        /// The text model
        #[arg(long, value_name = "PATH")]
        model: Option<PathBuf>,
        #[command(flatten)]
        models: MemoryModelArgs,
    },
}

/// `hearth remember`.
#[derive(Debug, Args)]
pub(crate) struct RememberArgs {
    /// What to remember
    text: String,
    /// When it happened (RFC 3339 or YYYY-MM-DD) [default: now]
    #[arg(long, value_parser = args::parse_time)]
    at: Option<DateTime<FixedOffset>>,
    #[command(flatten)]
    models: MemoryModelArgs,
}

/// `hearth recall`.
#[derive(Debug, Args)]
pub(crate) struct RecallArgs {
    /// What to recall
    query: String,
    #[command(flatten)]
    rank: RankArgs,
    #[command(flatten)]
    filter: MemoryFilterArgs,
    #[command(flatten)]
    models: MemoryModelArgs,
}

/// `hearth context`.
#[derive(Debug, Args)]
pub(crate) struct ContextArgs {
    /// What the context is for
    query: String,
    /// Most tokens of the packed text, counted with the text model's tokenizer
    #[arg(long, value_name = "TOKENS")]
    budget: usize,
    /// The text model whose tokenizer counts [default: the .gguf under models/smollm2]
    #[arg(long, value_name = "PATH")]
    model: Option<PathBuf>,
    #[command(flatten)]
    rank: RankArgs,
    #[command(flatten)]
    filter: MemoryFilterArgs,
    #[command(flatten)]
    models: MemoryModelArgs,
}

/// `hearth forget`.
#[derive(Debug, Args)]
pub(crate) struct ForgetArgs {
    /// The memory's id (reflections citing it are forgotten too)
    id: MemoryId,
}

fn open_vault(global: &Global) -> anyhow::Result<Vault> {
    let dir = global.vault_dir()?;
    Ok(Vault::open(&dir, &secret::unlock(global)?, true)?)
}

#[derive(Serialize)]
struct BuildJson {
    records_seen: u64,
    records_added: u64,
    memories_added: u64,
    memories_forgotten: u64,
    memories_total: u64,
}

impl From<&hearth_memory::BuildReport> for BuildJson {
    fn from(r: &hearth_memory::BuildReport) -> Self {
        Self {
            records_seen: r.records_seen,
            records_added: r.records_added,
            memories_added: r.memories_added,
            memories_forgotten: r.memories_forgotten,
            memories_total: r.memories_total,
        }
    }
}

/// The line printed for a build.
pub(crate) fn build_line(r: &hearth_memory::BuildReport) -> String {
    format!(
        "memories: {} added from {} new records, {} forgotten, {} in all",
        r.memories_added, r.records_added, r.memories_forgotten, r.memories_total
    )
}

/// The JSON of a build, for `import --json` too.
pub(crate) fn build_json(r: &hearth_memory::BuildReport) -> serde_json::Value {
    serde_json::to_value(BuildJson::from(r)).unwrap_or_default()
}

fn one_line(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        let mut cut: String = flat.chars().take(max).collect();
        cut.push('…');
        cut
    } else {
        flat
    }
}

/// `hearth memories ...`.
pub(crate) fn run(global: &Global, command: MemoriesCommand) -> anyhow::Result<ExitCode> {
    match command {
        MemoriesCommand::Build {
            importance,
            model,
            models,
        } => {
            let mut vault = open_vault(global)?;
            let models = models.load(importance, model.as_deref())?;
            let mut stream = memories::open(&vault)?;
            let report = models.with(|m| stream.build(&mut vault, m))?;
            if global.json {
                print_json(&BuildJson::from(&report))?;
            } else {
                println!("{}", build_line(&report));
            }
        }
        MemoriesCommand::List { limit, reflections } => {
            let vault = open_vault(global)?;
            let stream = memories::open(&vault)?;
            let mut list: Vec<&Memory> = stream
                .iter()
                .filter(|m| !reflections || m.origin == Origin::Reflection)
                .collect();
            list.sort_by(|a, b| b.occurred_at.cmp(&a.occurred_at).then(b.id.cmp(&a.id)));
            list.truncate(limit);
            if global.json {
                let out: Vec<MemoryJson> = list.into_iter().map(MemoryJson::from).collect();
                print_json(&out)?;
            } else {
                for m in list {
                    println!(
                        "{}  {}  {:<10} imp {:>2}{}  {}",
                        m.id,
                        m.occurred_at.format("%Y-%m-%d %H:%M"),
                        m.source,
                        m.importance,
                        if m.importance_pinned { "*" } else { " " },
                        one_line(&m.text, 80)
                    );
                }
            }
        }
        MemoriesCommand::Importance { id, importance } => {
            let mut vault = open_vault(global)?;
            let mut stream = memories::open(&vault)?;
            stream.set_importance(&mut vault, &id, importance)?;
            if global.json {
                print_json(
                    &serde_json::json!({ "id": id.to_string(), "importance": importance, "pinned": true }),
                )?;
            } else {
                println!("{id}: importance {importance} (pinned)");
            }
        }
        MemoriesCommand::Reflect {
            force,
            model,
            models,
        } => {
            let mut vault = open_vault(global)?;
            let device = models.device()?;
            let loaded = models.load(ImportanceMethod::Features, None)?;
            let text = engine::load_text_model(model.as_deref(), &device)?;
            let generator = engine::ModelGenerator(&text);
            let mut stream = memories::open(&vault)?;
            stream.apply_deletions(&mut vault)?;
            let ids =
                loaded.with(|m| reflect::reflect(&mut stream, &mut vault, m, &generator, force))?;
            let made: Vec<&Memory> = ids.iter().filter_map(|id| stream.get(id)).collect();
            if global.json {
                let out: Vec<MemoryJson> = made.into_iter().map(MemoryJson::from).collect();
                print_json(&out)?;
            } else if made.is_empty() {
                println!(
                    "no reflection (recent importance {} of 150; --force to reflect anyway)",
                    stream.importance_since_reflection()
                );
            } else {
                for m in made {
                    let cited: Vec<String> = m.evidence.iter().map(ToString::to_string).collect();
                    println!(
                        "{}  {}  (cites {})",
                        m.id,
                        one_line(&m.text, 100),
                        cited.join(", ")
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `hearth remember TEXT`.
pub(crate) fn remember(global: &Global, args: RememberArgs) -> anyhow::Result<ExitCode> {
    if args.text.trim().is_empty() {
        return Err(UsageError("the text to remember is empty".into()).into());
    }
    let at = args.at.unwrap_or_else(|| Local::now().fixed_offset());
    // A node running on the vault holds its writer lock: it remembers, with its own models.
    let request = ControlRequest::Remember {
        text: args.text.clone(),
        at: at.to_rfc3339(),
    };
    if let Some(answer) = super::through_node(global, &request, &mut |_| {})? {
        let memory = answer
            .memory
            .ok_or_else(|| anyhow::anyhow!("the running node's answer has no memory"))?;
        if global.json {
            print_json(&memory)?;
        } else {
            println!("{}", memory.id);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut vault = open_vault(global)?;
    let models = args.models.load(ImportanceMethod::Features, None)?;
    let mut stream = memories::open(&vault)?;
    let id = models.with(|m| stream.remember(&mut vault, m, &args.text, at))?;
    if global.json {
        let memory = stream.get(&id).map(MemoryJson::from);
        print_json(&memory)?;
    } else {
        println!("{id}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `hearth recall QUERY`.
pub(crate) fn recall(global: &Global, args: RecallArgs) -> anyhow::Result<ExitCode> {
    let query = args.rank.query(&args.query, args.filter.filter())?;
    let mut vault = open_vault(global)?;
    let models = args.models.load(ImportanceMethod::Features, None)?;
    let mut stream = memories::open(&vault)?;
    stream.apply_deletions(&mut vault)?;
    let hits = stream.recall(&mut vault, &models.embedder, &query, &Caller::Owner)?;
    if global.json {
        let out: Vec<RecalledJson> = hits.iter().map(RecalledJson::from).collect();
        print_json(&out)?;
    } else {
        for h in &hits {
            let m = &h.memory;
            println!(
                "{:.3}  {}  {}  {:<10} {:<16} {}",
                h.score,
                m.id,
                m.occurred_at.format("%Y-%m-%d %H:%M"),
                m.source,
                m.author.as_deref().unwrap_or("-"),
                one_line(&m.text, 80)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `hearth context QUERY --budget TOKENS`.
pub(crate) fn context(global: &Global, args: ContextArgs) -> anyhow::Result<ExitCode> {
    let query = args.rank.query(&args.query, args.filter.filter())?;
    let mut vault = open_vault(global)?;
    let device = args.models.device()?;
    let models = args.models.load(ImportanceMethod::Features, None)?;
    let text_model = engine::load_text_model(args.model.as_deref(), &device)?;
    let counter = ModelTokenCounter(&text_model);
    let mut stream = memories::open(&vault)?;
    stream.apply_deletions(&mut vault)?;
    let packed = stream.context(
        &mut vault,
        &models.embedder,
        &counter,
        &query,
        args.budget,
        &Caller::Owner,
    )?;
    if global.json {
        let lines: Vec<serde_json::Value> = packed
            .lines
            .iter()
            .map(|l| {
                serde_json::json!({
                    "ids": l.ids.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "text": l.text,
                    "score": l.score,
                })
            })
            .collect();
        print_json(&serde_json::json!({
            "text": packed.text,
            "tokens": packed.tokens,
            "budget": args.budget,
            "lines": lines,
            "left_out": packed.left_out,
        }))?;
    } else {
        print!("{}", packed.text);
        eprintln!(
            "[{} tokens of {}; {} lines, {} memories left out]",
            packed.tokens,
            args.budget,
            packed.lines.len(),
            packed.left_out
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `hearth forget ID`.
pub(crate) fn forget(global: &Global, args: ForgetArgs) -> anyhow::Result<ExitCode> {
    // A node running on the vault holds its writer lock: it forgets, from its own stream too.
    let request = ControlRequest::Forget {
        id: args.id.to_string(),
    };
    let ids: Vec<String> = match super::through_node(global, &request, &mut |_| {})? {
        Some(answer) => answer.forgotten,
        None => {
            let mut vault = open_vault(global)?;
            let mut stream = memories::open(&vault)?;
            stream.apply_deletions(&mut vault)?;
            let ids = stream.forget(&mut vault, &args.id, "cli")?;
            ids.iter().map(ToString::to_string).collect()
        }
    };
    if global.json {
        print_json(&serde_json::json!({ "forgotten": ids }))?;
    } else {
        println!("forgot {} memories", ids.len());
        for id in ids {
            println!("  {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// After `records delete`: forget the deleted records' memories at once (no models needed).
pub(crate) fn forget_deleted(vault: &mut Vault) -> anyhow::Result<usize> {
    let mut stream = memories::open(vault)?;
    Ok(stream.apply_deletions(vault)?)
}
