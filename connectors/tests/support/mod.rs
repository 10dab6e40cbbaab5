//! Shared helpers for connector tests: a real vault in a temporary folder, imports of the
//! sample persona's exports in `examples/`, and lookups over what was stored.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

use hearth_connectors::{Context, ImportOptions, ImportSummary, import};
use hearth_vault::{InitOptions, Record, RecordFilter, SecretString, Vault};

/// The repository's `examples/` folder.
pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// A fresh vault in a temporary folder (kept alive by the returned guard).
pub fn vault() -> (tempfile::TempDir, Vault) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let options = InitOptions {
        scrypt_log_n: 10,
        identity_recipient: None,
    };
    let vault = Vault::init(
        &tmp.path().join("vault"),
        &SecretString::from("pw".to_owned()),
        &options,
    )
    .expect("init vault");
    (tmp, vault)
}

/// Import options pinned to a zone, as tests must be.
pub fn options(tz: &str, me: &[&str]) -> ImportOptions {
    let mut context = Context::new(tz.parse().expect("zone"));
    context.me = me.iter().map(|m| m.to_string()).collect();
    ImportOptions {
        format: None,
        context,
        actor: "test".into(),
    }
}

/// Imports `path` into `vault`, panicking on a failed import.
pub fn run(vault: &mut Vault, path: &Path, options: &ImportOptions) -> ImportSummary {
    import(vault, path, options, &mut |_| {})
        .unwrap_or_else(|e| panic!("import of {} failed: {e}", path.display()))
}

/// Every record in the vault, in time order.
pub fn records(vault: &Vault) -> Vec<Record> {
    vault.list(&RecordFilter::default()).expect("list records")
}

/// The records whose text contains `needle`.
pub fn find<'a>(records: &'a [Record], needle: &str) -> Vec<&'a Record> {
    records
        .iter()
        .filter(|r| r.data.text.contains(needle))
        .collect()
}

/// Writes `dir` (recursively) into a zip file at `out`, as a platform's download would be.
pub fn zip_dir(dir: &Path, out: &Path) {
    use std::io::Write;
    let file = std::fs::File::create(out).expect("create zip");
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path
                    .strip_prefix(dir)
                    .expect("prefix")
                    .to_string_lossy()
                    .replace('\\', "/");
                zip.start_file(name, options).expect("start file");
                zip.write_all(&std::fs::read(&path).expect("read"))
                    .expect("write");
            }
        }
    }
    zip.finish().expect("finish zip");
}
