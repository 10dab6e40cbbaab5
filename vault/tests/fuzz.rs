//! Property tests feeding arbitrary and mutated bytes to the vault's parsers of untrusted input:
//! backup files (restore), sealed values, key files and vault headers. None may panic; a mutated
//! backup must never restore into a vault that differs from the original.

use hearth_vault::crypto::{Keys, MasterKey, Purpose, Sealed};
use hearth_vault::{InitOptions, RecordData, RecordFilter, SecretString, Unlock, Vault};
use proptest::prelude::*;

fn pass() -> SecretString {
    SecretString::from("pw".to_owned())
}

struct Fixture {
    _tmp: tempfile::TempDir,
    root: std::path::PathBuf,
    backup: Vec<u8>,
    records: Vec<hearth_vault::Record>,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let mut vault = Vault::init(
        &root.join("v"),
        &pass(),
        &InitOptions {
            scrypt_log_n: 10,
            identity_recipient: None,
        },
    )
    .unwrap();
    let at = chrono::DateTime::parse_from_rfc3339("2025-03-14T21:07:00+01:00").unwrap();
    let records: Vec<_> = (0..20)
        .map(|i| RecordData::note("note", format!("note {i}"), at))
        .collect();
    vault.insert_batch(&records, "t").unwrap();
    let path = root.join("b");
    vault.backup(&path).unwrap();
    let backup = std::fs::read(&path).unwrap();
    let records = vault.list(&RecordFilter::default()).unwrap();
    Fixture {
        _tmp: tmp,
        root,
        backup,
        records,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn mutated_backups_never_panic_nor_restore_altered_data(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let f = fixture();
        let mut bytes = f.backup.clone();
        for (index, value) in &edits {
            let i = index.index(bytes.len());
            bytes[i] = bytes[i].wrapping_add(value | 1);
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        let path = f.root.join("mutated");
        std::fs::write(&path, &bytes).unwrap();
        let target = f.root.join("restored");
        if let Ok(vault) = Vault::restore(&path, &target, &Unlock::Passphrase(pass())) {
            // Only a mutation of the clear header's insignificant bytes may still restore,
            // and then the content must be exactly the original.
            prop_assert_eq!(vault.list(&RecordFilter::default()).unwrap(), f.records);
        } else {
            prop_assert!(!target.join("hearth-vault.json").exists());
        }
    }

    #[test]
    fn arbitrary_sealed_bytes_never_open(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let keys = Keys::derive(&MasterKey::generate().unwrap());
        prop_assert!(keys.open(Purpose::Records, b"x", &Sealed::from_stored(bytes)).is_err());
    }

    #[test]
    fn arbitrary_vault_files_are_refused_cleanly(
        header in proptest::collection::vec(any::<u8>(), 0..300),
        key in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("hearth-vault.json"), &header).unwrap();
        std::fs::write(tmp.path().join("key.passphrase.age"), &key).unwrap();
        prop_assert!(Vault::open(tmp.path(), &Unlock::Passphrase(pass()), false).is_err());
        prop_assert!(hearth_vault::keyfile::unwrap_with_passphrase(&key, &pass(), 10).is_err());
    }
}
