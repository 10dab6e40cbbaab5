//! Getting the passphrase or identity without ever echoing or logging it.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Context;
use hearth_vault::{SecretString, Unlock};

use super::{Global, UsageError};

/// Where a passphrase comes from, in order: a file, an environment variable, a terminal prompt.
pub(crate) struct PassphraseSource<'a> {
    pub(crate) file: Option<&'a Path>,
    pub(crate) env: &'static str,
    pub(crate) prompt: &'static str,
    /// Ask twice on a terminal (new passphrases).
    pub(crate) confirm: bool,
}

pub(crate) fn passphrase(source: &PassphraseSource<'_>) -> anyhow::Result<SecretString> {
    if let Some(file) = source.file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("reading the passphrase file {}", file.display()))?;
        let line = text.lines().next().unwrap_or("").to_owned();
        return non_empty(line);
    }
    if let Ok(value) = std::env::var(source.env) {
        return non_empty(value);
    }
    if !std::io::stderr().is_terminal() && !std::io::stdin().is_terminal() {
        return Err(UsageError(format!(
            "no passphrase: set {}, pass --passphrase-file, or run on a terminal",
            source.env
        ))
        .into());
    }
    let first = rpassword::prompt_password(source.prompt).context("reading the passphrase")?;
    if source.confirm {
        let second = rpassword::prompt_password("Repeat it: ").context("reading the passphrase")?;
        if first != second {
            return Err(UsageError("the passphrases differ".into()).into());
        }
    }
    non_empty(first)
}

fn non_empty(value: String) -> anyhow::Result<SecretString> {
    if value.is_empty() {
        return Err(UsageError("the passphrase is empty".into()).into());
    }
    Ok(SecretString::from(value))
}

/// How to unlock the vault: `--identity FILE`, or the passphrase.
pub(crate) fn unlock(global: &Global) -> anyhow::Result<Unlock> {
    if let Some(path) = &global.identity {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the identity file {}", path.display()))?;
        return Ok(Unlock::Identity(SecretString::from(text)));
    }
    Ok(Unlock::Passphrase(passphrase(&PassphraseSource {
        file: global.passphrase_file.as_deref(),
        env: "HEARTH_PASSPHRASE",
        prompt: "Vault passphrase: ",
        confirm: false,
    })?))
}
