//! `hearth import PATH` and `hearth import --list-formats`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use hearth_connectors::{
    ConnectorError, Context, DateOrder, ImportOptions, ImportSummary, formats, time,
};
use hearth_vault::Vault;
use hearth_web::memories::AfterImport;
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
        .ok_or_else(|| UsageError("name the export to import".into()))?;
    let tz = match &args.tz {
        Some(name) => time::parse_zone(name).map_err(|e| UsageError(e.to_string()))?,
        None => time::machine_zone(),
    };
    let dir = global.vault_dir()?;
    let mut vault = Vault::open(&dir, &secret::unlock(global)?, true)?;
    let options = ImportOptions {
        format: args.format,
        context: Context {
            tz,
            date_order: args.date_order,
            me: args.me,
        },
        actor: "cli".into(),
    };
    let bar = (!global.json && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    });
    let mut progress = |s: &ImportSummary| {
        if let Some(bar) = &bar {
            bar.set_message(format!(
                "{}: {} imported, {} duplicates, {} skipped",
                s.format, s.imported, s.duplicates, s.skipped
            ));
        }
    };
    let result = hearth_connectors::import(&mut vault, &path, &options, &mut progress);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
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
    if global.json {
        print_json(&SummaryJson {
            format: summary.format,
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
