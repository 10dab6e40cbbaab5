//! `hearth import PATH` and `hearth import --list-formats`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use hearth_connectors::{
    ConnectorError, Context, DateOrder, ImportOptions, ImportSummary, formats, time,
};
use hearth_memory::BuildReport;
use hearth_vault::Vault;
use hearth_web::memories::AfterImport;
use hearth_web::node::control::{self, ControlRequest, ControlResponse, ImportOut, IssueOut};
use serde::Serialize;

use super::output::print_json;
use super::{Global, UsageError, secret};

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["path", "list_formats"]))]
pub(crate) struct ImportArgs {
    /// The export: a file, a folder, or the .zip as downloaded
    path: Option<PathBuf>,
    /// The export's format (detected when left out)
    #[arg(long)]
    format: Option<String>,
    /// Your name or handle in this export (repeatable); your messages are marked as yours
    #[arg(long, value_name = "NAME")]
    me: Vec<String>,
    /// Zone for times the export gives without one, e.g. Europe/Lisbon [default: this machine's]
    #[arg(long, value_name = "ZONE")]
    tz: Option<String>,
    /// Day/month order when the export cannot tell (dmy or mdy)
    #[arg(long, value_parser = |s: &str| s.parse::<DateOrder>())]
    date_order: Option<DateOrder>,
    /// List the formats Hearth reads
    #[arg(long)]
    list_formats: bool,
    /// Do not bring the memories up to date after the import (`hearth memories build` does)
    #[arg(long)]
    no_memories: bool,
}

#[derive(Serialize)]
struct IssueJson<'a> {
    location: &'a str,
    reason: &'a str,
}

#[derive(Serialize)]
struct SummaryJson<'a> {
    format: &'a str,
    imported: u64,
    duplicates: u64,
    skipped: u64,
    attachments: u64,
    errors: Vec<IssueJson<'a>>,
    /// The memory build that followed: its counts, `{"skipped": reason}`, or null with
    /// `--no-memories`.
    memories: serde_json::Value,
}

pub(crate) fn run(global: &Global, args: ImportArgs) -> anyhow::Result<ExitCode> {
    if args.list_formats {
        if global.json {
            let list: Vec<_> = formats::all()
                .iter()
                .map(|f| serde_json::json!({ "name": f.name(), "description": f.description() }))
                .collect();
            print_json(&list)?;
        } else {
            for format in formats::all() {
                println!("{:<10} {}", format.name(), format.description());
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let path = args
        .path
        .clone()
        .ok_or_else(|| UsageError("name the export to import".into()))?;
    let tz = match &args.tz {
        Some(name) => time::parse_zone(name).map_err(|e| UsageError(e.to_string()))?,
        None => time::machine_zone(),
    };
    let context = Context {
        tz,
        date_order: args.date_order,
        me: args.me.clone(),
    };
    let done = match through_node(global, &path, &args, &context)? {
        Some(done) => done,
        None => import_here(global, &path, args, context)?,
    };
    let Done { summary, memories } = done;
    if global.json {
        print_json(&SummaryJson {
            format: &summary.format,
            imported: summary.imported,
            duplicates: summary.duplicates,
            skipped: summary.skipped,
            attachments: summary.attachments,
            errors: summary
                .errors
                .iter()
                .map(|i| IssueJson {
                    location: &i.location,
                    reason: &i.reason,
                })
                .collect(),
            memories: match &memories {
                None => serde_json::Value::Null,
                Some(AfterImport::Built(report)) => super::memories::build_json(report),
                Some(AfterImport::Skipped(why)) => serde_json::json!({ "skipped": why }),
            },
        })?;
    } else {
        println!(
            "{}: imported {}, duplicates {}, skipped {}, attachments {}",
            summary.format,
            summary.imported,
            summary.duplicates,
            summary.skipped,
            summary.attachments
        );
        for issue in summary.errors.iter().take(20) {
            println!("  skipped {}: {}", issue.location, issue.reason);
        }
        if summary.errors.len() > 20 {
            println!("  ... and {} more (see --json)", summary.errors.len() - 20);
        }
        match &memories {
            None => {}
            Some(AfterImport::Built(report)) => println!("{}", super::memories::build_line(report)),
            Some(AfterImport::Skipped(why)) => eprintln!("note: {why}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The progress spinner on a terminal (none with `--json`), cleared on drop.
struct Spinner(Option<indicatif::ProgressBar>);

impl Spinner {
    fn new(global: &Global) -> Self {
        Self((!global.json && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        }))
    }

    fn show(&self, format: &str, imported: u64, duplicates: u64, skipped: u64) {
        if let Some(bar) = &self.0 {
            bar.set_message(format!(
                "{format}: {imported} imported, {duplicates} duplicates, {skipped} skipped"
            ));
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// What an import did, here or in the node.
struct Done {
    summary: ImportOut,
    memories: Option<AfterImport>,
}

/// The import through the running node, if one runs. The node reads the export by its
/// absolute path; its messages name the path as it was typed.
fn through_node(
    global: &Global,
    path: &Path,
    args: &ImportArgs,
    context: &Context,
) -> anyhow::Result<Option<Done>> {
    let absolute =
        std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))?;
    let request = ControlRequest::Import {
        path: absolute.clone(),
        format: args.format.clone(),
        me: context.me.clone(),
        tz: context.tz.name().to_owned(),
        date_order: context.date_order.map(|o| {
            match o {
                DateOrder::Dmy => "dmy",
                DateOrder::Mdy => "mdy",
            }
            .to_owned()
        }),
        no_memories: args.no_memories,
    };
    let bar = Spinner::new(global);
    let mut progress = |line: &ControlResponse| {
        if let Some(s) = &line.import {
            bar.show(&s.format, s.imported, s.duplicates, s.skipped);
        }
    };
    let dir = global.vault_dir()?;
    let answer = control::send_with_progress(&dir, &request, &mut progress);
    drop(bar);
    let Some(mut answer) = answer? else {
        return Ok(None);
    };
    let (absolute, typed) = (absolute.display().to_string(), path.display().to_string());
    let as_typed = |text: &mut String| {
        if absolute != typed {
            *text = text.replace(&absolute, &typed);
        }
    };
    if let Some(error) = &mut answer.error {
        as_typed(error);
    }
    let answer = super::carried_out(answer)?;
    let mut summary = answer
        .import
        .ok_or_else(|| anyhow::anyhow!("the running node's answer has no summary"))?;
    for issue in &mut summary.errors {
        as_typed(&mut issue.location);
    }
    Ok(Some(Done {
        summary,
        memories: answer
            .memories
            .as_ref()
            .map(|m| AfterImport::Built(BuildReport::from(m))),
    }))
}

/// The import into the vault, unlocked here, and the memory build after it.
fn import_here(
    global: &Global,
    path: &Path,
    args: ImportArgs,
    context: Context,
) -> anyhow::Result<Done> {
    let dir = global.vault_dir()?;
    let mut vault = Vault::open(&dir, &secret::unlock(global)?, true)?;
    let options = ImportOptions {
        format: args.format,
        context,
        actor: "cli".into(),
    };
    // After the passphrase prompt, if any.
    let bar = Spinner::new(global);
    let mut progress = |s: &ImportSummary| bar.show(s.format, s.imported, s.duplicates, s.skipped);
    let result = hearth_connectors::import(&mut vault, path, &options, &mut progress);
    drop(bar);
    let summary = match result {
        Ok(summary) => summary,
        Err(e @ (ConnectorError::AmbiguousDateOrder { .. } | ConnectorError::UnknownFormat(_))) => {
            return Err(UsageError(e.to_string()).into());
        }
        Err(e) => return Err(e.into()),
    };
    // The memories follow every import (incremental), unless asked not to.
    let memories = if args.no_memories {
        None
    } else {
        Some(hearth_web::memories::build_after_import(
            &mut vault,
            &super::memories::device(None)?,
        )?)
    };
    Ok(Done {
        summary: ImportOut {
            format: summary.format.to_owned(),
            imported: summary.imported,
            duplicates: summary.duplicates,
            skipped: summary.skipped,
            attachments: summary.attachments,
            errors: summary
                .errors
                .into_iter()
                .map(|i| IssueOut {
                    location: i.location,
                    reason: i.reason,
                })
                .collect(),
        },
        memories,
    })
}
