//! `hearth serve`: parses the options, unlocks the vault as every command does, and hands over
//! to the node (`hearth_web::node::serve`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use hearth_training::DeviceChoice;
use hearth_web::node::{self, ServeOptions};

use super::{Global, UsageError, secret};

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Where to listen (port 0 picks a free one; the address is printed once ready)
    #[arg(long, default_value = "127.0.0.1:8420", value_name = "ADDR")]
    addr: SocketAddr,
    /// The chat model: a .gguf file or a Hugging Face directory [default: from the models folder]
    #[arg(long, value_name = "PATH")]
    model: Option<PathBuf>,
    /// The sentence encoder's directory [default: from the models folder]
    #[arg(long, value_name = "DIR")]
    embed_model: Option<PathBuf>,
    /// Backend: cpu, vulkan[:N] or cuda[:N] (GPUs need a build with the `vulkan` or `cuda` feature)
    #[arg(long, env = "HEARTH_DEVICE", value_name = "DEVICE")]
    device: Option<String>,
    /// Generations that run at once (each holds a copy of the chat model)
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    slots: u16,
    /// Generations that may wait, in all (more get 429)
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    queue: u16,
    /// Generations that may wait for one app
    #[arg(long, default_value_t = 4, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    queue_per_app: u16,
    /// Largest request body, in bytes
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    max_body: usize,
    /// Longest prompt, in tokens
    #[arg(long, default_value_t = 2048, value_name = "N")]
    max_prompt_tokens: usize,
    /// Completion tokens when a request sets no max_tokens
    #[arg(long, default_value_t = 256, value_name = "N")]
    default_max_tokens: usize,
    /// Bring the memories up to date with the vault before serving
    #[arg(long)]
    build_memories: bool,
    /// Let apps register themselves as OAuth clients (RFC 7591 POST /oauth/register)
    #[arg(long)]
    allow_dynamic_registration: bool,
    /// Let the dashboard (/dashboard) answer other machines, not only this one
    #[arg(long)]
    dashboard_remote: bool,
    /// Largest export the dashboard accepts as an upload, in bytes
    #[arg(long, default_value_t = 512 << 20, value_name = "BYTES")]
    max_upload: u64,
}

pub(crate) fn run(global: &Global, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let device = match &args.device {
        Some(d) => d
            .parse::<DeviceChoice>()
            .map_err(|e| UsageError(e.to_string()))?,
        None => DeviceChoice::Cpu,
    };
    let options = ServeOptions {
        addr: args.addr,
        text_model: args.model,
        embed_model: args.embed_model,
        device,
        slots: args.slots.into(),
        queue: args.queue.into(),
        queue_per_app: args.queue_per_app.into(),
        max_body_bytes: args.max_body,
        max_prompt_tokens: args.max_prompt_tokens,
        default_max_tokens: args.default_max_tokens,
        build_memories: args.build_memories,
        allow_dynamic_registration: args.allow_dynamic_registration,
        dashboard_remote: args.dashboard_remote,
        max_upload_bytes: args.max_upload,
        ..ServeOptions::default()
    };
    let dir = global.vault_dir()?;
    node::serve(&dir, &secret::unlock(global)?, &options)?;
    Ok(ExitCode::SUCCESS)
}
