//! Shared helpers for connector tests: a real vault in a temporary folder, imports of the
//! sample persona's exports in `examples/`, and lookups over what was stored.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

use hearth_connectors::{ConnectorError, Context, ImportOptions, ImportSummary, import};
use hearth_vault::{InitOptions, Record, RecordFilter, SecretString, Vault};
use proptest::prelude::*;

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

/// Copies the folder `from` (recursively) to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("file name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy file");
        }
    }
}

/// Imports `path` with `--format format` (in Europe/Lisbon) into a fresh vault, for property
/// tests that only care that the parser does not panic: the result is returned, not checked.
pub fn import_as(path: &Path, format: &str) -> Result<ImportSummary, ConnectorError> {
    let (_tmp, mut vault) = vault();
    let mut opts = options("Europe/Lisbon", &[]);
    opts.format = Some(format.into());
    import(&mut vault, path, &opts, &mut |_| {})
}

// Property-test scaffolding shared by every parser's "never panics" tests.

/// Cases per property: 64, or `PROPTEST_CASES` when set (for the longer run before a release;
/// a config with explicit `cases` would otherwise override the variable).
pub fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64)
}

/// The config every connector property test runs with (see [`cases`]).
pub fn proptest_config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        ..ProptestConfig::default()
    }
}

/// Overwrites bytes of `bytes`: each edit `(at, byte)` writes `byte` at `at` modulo the length.
pub fn mutate(bytes: &mut [u8], edits: &[(usize, u8)]) {
    if bytes.is_empty() {
        return;
    }
    let n = bytes.len();
    for (at, b) in edits {
        bytes[at % n] = *b;
    }
}

/// `bytes` with each edit's byte written at its index, then cut short at `cut` if given (a
/// download that stopped half-way).
pub fn mutate_and_cut(
    mut bytes: Vec<u8>,
    edits: &[(prop::sample::Index, u8)],
    cut: Option<prop::sample::Index>,
) -> Vec<u8> {
    if bytes.is_empty() {
        return bytes;
    }
    for (at, byte) in edits {
        let i = at.index(bytes.len());
        bytes[i] = *byte;
    }
    if let Some(cut) = cut {
        bytes.truncate(cut.index(bytes.len()));
    }
    bytes
}

/// `prefix` (when `with_prefix`) followed by `bytes`: arbitrary bytes behind a plausible start,
/// so that parsers get past their first check.
pub fn prefixed(with_prefix: bool, prefix: &[u8], bytes: &[u8]) -> Vec<u8> {
    let mut out = if with_prefix {
        prefix.to_vec()
    } else {
        Vec::new()
    };
    out.extend_from_slice(bytes);
    out
}

/// `base` with each edit `(at, byte, op)` applied at `at` modulo the length: by `op % 4`,
/// overwrite with `byte`, insert `byte`, remove a byte, or cut the rest off.
pub fn edit(base: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut data = base.to_vec();
    for &(at, byte, op) in edits {
        if data.is_empty() {
            break;
        }
        let i = at % data.len();
        match op % 4 {
            0 => data[i] = byte,
            1 => data.insert(i, byte),
            2 => {
                data.remove(i);
            }
            _ => data.truncate(i),
        }
    }
    data
}
