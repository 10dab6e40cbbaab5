//! Library-level tests of the vault against real SQLite files in temporary directories.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, TimeZone};
use hearth_vault::{
    Attachment, AuditEvent, Conversation, InitOptions, InsertOutcome, Kind, Person, RecordData,
    RecordFilter, SecretString, Unlock, Vault, VaultError,
};

fn pass(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

fn options() -> InitOptions {
    InitOptions {
        scrypt_log_n: 10,
        identity_recipient: None,
    }
}

fn at(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap()
}

fn message(text: &str, time: &str, external: Option<&str>) -> RecordData {
    RecordData {
        source: "whatsapp".into(),
        kind: Kind::Message,
        occurred_at: at(time),
        offset_assumed: true,
        external_id: external.map(str::to_owned),
        author: Some(Person {
            name: "Inês".into(),
            handle: Some("+351 900".into()),
            is_owner: false,
        }),
        participants: vec![
            Person::named("Inês"),
            Person {
                name: "Maya".into(),
                handle: None,
                is_owner: true,
            },
        ],
        conversation: Some(Conversation {
            id: "chat-ines".into(),
            name: Some("Inês".into()),
        }),
        text: text.into(),
        reply_to: None,
        attachments: Vec::new(),
        metadata: BTreeMap::from([("edited".to_owned(), "true".to_owned())]),
    }
}

fn all_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            out.extend(std::fs::read(path).unwrap());
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn records_roundtrip_with_every_field_and_offset() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    let mut vault = Vault::init(&dir, &pass("pw"), &options()).unwrap();
    let data = message("Olá, tudo bem? 🌊", "2025-03-14T21:07:00+00:00", Some("m1"));
    let id = match vault.insert(&data, "test").unwrap() {
        InsertOutcome::Inserted(id) => id,
        other => panic!("expected insert, got {other:?}"),
    };
    let back = vault.get(&id).unwrap();
    assert_eq!(back.data, data);
    // A record in another zone keeps its offset.
    let lisbon_summer = message("summer", "2025-07-01T10:00:00+01:00", Some("m2"));
    let id2 = vault.insert(&lisbon_summer, "test").unwrap().id().clone();
    let back = vault.get(&id2).unwrap();
    assert_eq!(back.data.occurred_at.offset().local_minus_utc(), 3600);
    assert_eq!(
        back.data.occurred_at.to_rfc3339(),
        "2025-07-01T10:00:00+01:00"
    );
}

#[test]
fn duplicates_are_detected_by_external_id_or_content() {
    let tmp = tempfile::tempdir().unwrap();
    let mut vault = Vault::init(&tmp.path().join("v"), &pass("pw"), &options()).unwrap();
    let a = message("hello", "2025-03-14T21:07:00Z", Some("m1"));
    let first = vault.insert_batch(&[a.clone(), a.clone()], "test").unwrap();
    assert!(matches!(first[0], InsertOutcome::Inserted(_)));
    assert_eq!(first[1], InsertOutcome::Duplicate(first[0].id().clone()));
    // Same external id, edited text: still the same item.
    let mut edited = a.clone();
    edited.text = "hello (edited)".into();
    assert!(matches!(
        vault.insert(&edited, "test").unwrap(),
        InsertOutcome::Duplicate(_)
    ));
    // Without an external id, the content decides.
    let b = message("no id", "2025-03-14T21:08:00Z", None);
    assert!(matches!(
        vault.insert(&b, "test").unwrap(),
        InsertOutcome::Inserted(_)
    ));
    assert!(matches!(
        vault.insert(&b, "test").unwrap(),
        InsertOutcome::Duplicate(_)
    ));
    let mut later = b.clone();
    later.occurred_at = at("2025-03-14T21:09:00Z");
    assert!(matches!(
        vault.insert(&later, "test").unwrap(),
        InsertOutcome::Inserted(_)
    ));
    assert_eq!(vault.list(&RecordFilter::default()).unwrap().len(), 3);
    assert!(vault.contains(&b).unwrap().is_some());
}

#[test]
fn filters_select_by_source_and_half_open_time_range() {
    let tmp = tempfile::tempdir().unwrap();
    let mut vault = Vault::init(&tmp.path().join("v"), &pass("pw"), &options()).unwrap();
    let mut records = Vec::new();
    for day in 1..=5 {
        let mut r = message(
            &format!("day {day}"),
            &format!("2025-03-0{day}T00:00:00Z"),
            None,
        );
        if day % 2 == 0 {
            r.source = "telegram".into();
        }
        records.push(r);
    }
    vault.insert_batch(&records, "test").unwrap();
    let utc = |s: &str| {
        chrono::Utc
            .from_utc_datetime(&chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap())
    };
    let texts = |f: RecordFilter| -> Vec<String> {
        vault
            .list(&f)
            .unwrap()
            .into_iter()
            .map(|r| r.data.text)
            .collect()
    };
    assert_eq!(
        texts(RecordFilter {
            since: Some(utc("2025-03-02 00:00")),
            until: Some(utc("2025-03-04 00:00")),
            ..Default::default()
        }),
        ["day 2", "day 3"]
    );
    assert_eq!(
        texts(RecordFilter {
            sources: vec!["telegram".into()],
            ..Default::default()
        }),
        ["day 2", "day 4"]
    );
    assert_eq!(
        texts(RecordFilter {
            limit: Some(2),
            offset: 1,
            ..Default::default()
        }),
        ["day 2", "day 3"]
    );
}

#[test]
fn blobs_stream_and_are_erased_with_their_record() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    let mut vault = Vault::init(&dir, &pass("pw"), &options()).unwrap();
    // Just over two chunks, with a recognisable pattern.
    let mut payload = Vec::new();
    while payload.len() < 2 * (1 << 20) + 1234 {
        payload.extend_from_slice(b"ATTACHMENT-CANARY-");
    }
    let blob = vault.put_blob(&mut &payload[..]).unwrap();
    assert_eq!(blob.size, payload.len() as u64);
    let mut record = message("photo", "2025-03-14T21:07:00Z", Some("m-photo"));
    record.attachments = vec![Attachment {
        name: "IMG-1.jpg".into(),
        mime: Some("image/jpeg".into()),
        blob: Some(blob.id.clone()),
        size: blob.size,
    }];
    let id = vault.insert(&record, "test").unwrap().id().clone();
    let mut back = Vec::new();
    vault.read_blob(&blob.id, &mut back).unwrap();
    assert_eq!(back, payload);
    vault.checkpoint().unwrap();
    assert!(!contains(&all_bytes(&dir), b"ATTACHMENT-CANARY-"));
    let sealed_sample = {
        // Grab some sealed chunk bytes to look for after deletion.
        let conn = rusqlite::Connection::open(dir.join("vault.db")).unwrap();
        let data: Vec<u8> = conn
            .query_row("SELECT data FROM blob_chunks WHERE seq = 1", [], |r| {
                r.get(0)
            })
            .unwrap();
        data[100..164].to_vec()
    };
    assert!(contains(&all_bytes(&dir), &sealed_sample));
    assert_eq!(vault.delete(std::slice::from_ref(&id), "test").unwrap(), 1);
    assert!(matches!(
        vault.read_blob(&blob.id, &mut Vec::new()),
        Err(VaultError::NotFound(_))
    ));
    assert!(
        !contains(&all_bytes(&dir), &sealed_sample),
        "blob ciphertext survived deletion"
    );
    let deletions = vault.deletions_since(0).unwrap();
    assert_eq!(deletions.len(), 1);
    assert_eq!(deletions[0].record_id, id);
    assert!(vault.check().unwrap().is_ok());
}

#[test]
fn second_writer_is_refused_but_readers_are_not() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    let _writer = Vault::init(&dir, &pass("pw"), &options()).unwrap();
    let unlock = Unlock::Passphrase(pass("pw"));
    assert!(matches!(
        Vault::open(&dir, &unlock, true),
        Err(VaultError::Locked(_))
    ));
    let reader = Vault::open(&dir, &unlock, false).unwrap();
    assert!(reader.status().unwrap().write_locked_elsewhere);
}

#[test]
fn wrong_passphrase_and_identity_unlock() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    let (secret, public) = hearth_vault::keyfile::generate_identity();
    let opts = InitOptions {
        scrypt_log_n: 10,
        identity_recipient: Some(public),
    };
    drop(Vault::init(&dir, &pass("pw"), &opts).unwrap());
    let err = Vault::open(&dir, &Unlock::Passphrase(pass("nope")), true).unwrap_err();
    assert!(err.is_unlock_failure(), "{err}");
    assert_eq!(err.to_string(), "wrong passphrase");
    let vault = Vault::open(&dir, &Unlock::Identity(secret), false).unwrap();
    assert!(vault.status().unwrap().has_identity);
}

#[test]
fn audit_chain_detects_edit_removal_reorder_and_truncation() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    {
        let mut vault = Vault::init(&dir, &pass("pw"), &options()).unwrap();
        for i in 0..4 {
            vault
                .audit(&AuditEvent::new("test.event", "test").detail("i", i))
                .unwrap();
        }
        let report = vault.audit_verify().unwrap();
        assert!(report.is_ok(), "{report:?}");
        assert_eq!(report.entries, 5);
        let listed = vault.audit_list(Some(2)).unwrap();
        assert_eq!(listed.iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 5]);
        assert_eq!(listed[1].event.details["i"], "3");
    }
    let db = dir.join("vault.db");
    let verify = || {
        let vault = Vault::open(&dir, &Unlock::Passphrase(pass("pw")), false).unwrap();
        vault.audit_verify().unwrap()
    };
    let snapshot = std::fs::read(&db).unwrap();
    let restore = || std::fs::write(&db, &snapshot).unwrap();
    let tamper = |sql: &str| {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(sql).unwrap();
    };
    // Edit: change one entry's time.
    tamper("UPDATE audit SET at = at + 1 WHERE seq = 3");
    assert!(verify().problem.unwrap().contains("entry 3"));
    restore();
    // Removal from the middle.
    tamper("DELETE FROM audit WHERE seq = 2");
    assert!(verify().problem.unwrap().contains("entry 2 is missing"));
    restore();
    // Reordering: swap two entries' contents.
    tamper(
        "UPDATE audit SET entry = (SELECT entry FROM audit WHERE seq = 4), mac = (SELECT mac FROM audit WHERE seq = 4), at = (SELECT at FROM audit WHERE seq = 4) WHERE seq = 3;",
    );
    assert!(verify().problem.is_some());
    restore();
    // Truncation of the tail.
    tamper("DELETE FROM audit WHERE seq = 5");
    assert!(verify().problem.unwrap().contains("cut off"));
    restore();
    assert!(verify().is_ok());
}

#[test]
fn tampered_record_is_reported_with_its_id() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    let id = {
        let mut vault = Vault::init(&dir, &pass("pw"), &options()).unwrap();
        vault
            .insert(&message("a", "2025-03-14T21:07:00Z", None), "t")
            .unwrap();
        vault
            .insert(&message("b", "2025-03-14T21:08:00Z", None), "t")
            .unwrap()
            .id()
            .clone()
    };
    let conn = rusqlite::Connection::open(dir.join("vault.db")).unwrap();
    let mut body: Vec<u8> = conn
        .query_row(
            "SELECT body FROM records WHERE id = ?1",
            [id.as_str()],
            |r| r.get(0),
        )
        .unwrap();
    body[40] ^= 0x01;
    conn.execute(
        "UPDATE records SET body = ?2 WHERE id = ?1",
        rusqlite::params![id.as_str(), body],
    )
    .unwrap();
    drop(conn);
    let vault = Vault::open(&dir, &Unlock::Passphrase(pass("pw")), false).unwrap();
    let err = vault.get(&id).unwrap_err();
    assert!(
        matches!(err, VaultError::Tampered(ref what) if what.contains(id.as_str())),
        "{err}"
    );
    let report = vault.check().unwrap();
    assert_eq!(report.records_checked, 2);
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(report.problems[0].contains(id.as_str()));
}

#[test]
fn backup_restore_roundtrip_and_tampered_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    let mut vault = Vault::init(&dir, &pass("pw"), &options()).unwrap();
    let records: Vec<_> = (0..50)
        .map(|i| {
            message(
                &format!("msg {i}"),
                "2025-03-14T21:07:00Z",
                Some(&format!("m{i}")),
            )
        })
        .collect();
    vault.insert_batch(&records, "t").unwrap();
    let out = tmp.path().join("backup.hearth");
    let info = vault.backup(&out).unwrap();
    assert!(info.bytes > 0);
    let bytes = std::fs::read(&out).unwrap();
    assert!(!contains(&bytes, b"msg 1"));
    let restored =
        Vault::restore(&out, &tmp.path().join("r"), &Unlock::Passphrase(pass("pw"))).unwrap();
    let a = vault.list(&RecordFilter::default()).unwrap();
    let b = restored.list(&RecordFilter::default()).unwrap();
    assert_eq!(a, b);
    assert!(restored.audit_verify().unwrap().is_ok());
    // Wrong passphrase, flipped byte, truncation: each refused, nothing left behind.
    let target = tmp.path().join("r2");
    let err = Vault::restore(&out, &target, &Unlock::Passphrase(pass("nope"))).unwrap_err();
    assert!(err.is_unlock_failure());
    assert!(!target.exists());
    let mut flipped = bytes.clone();
    let last = flipped.len() - 20;
    flipped[last] ^= 1;
    std::fs::write(tmp.path().join("flipped"), &flipped).unwrap();
    let err = Vault::restore(
        &tmp.path().join("flipped"),
        &target,
        &Unlock::Passphrase(pass("pw")),
    )
    .unwrap_err();
    assert!(err.to_string().contains("failed authentication"), "{err}");
    std::fs::write(tmp.path().join("short"), &bytes[..bytes.len() - 100]).unwrap();
    let err = Vault::restore(
        &tmp.path().join("short"),
        &target,
        &Unlock::Passphrase(pass("pw")),
    )
    .unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
    assert!(!target.exists());
}

#[test]
fn timestamps_keep_negative_offsets() {
    let tmp = tempfile::tempdir().unwrap();
    let mut vault = Vault::init(&tmp.path().join("v"), &pass("pw"), &options()).unwrap();
    let ny = FixedOffset::west_opt(5 * 3600)
        .unwrap()
        .with_ymd_and_hms(2025, 1, 2, 3, 4, 5)
        .unwrap();
    let mut r = message("ny", "2025-01-01T00:00:00Z", None);
    r.occurred_at = ny;
    let id = vault.insert(&r, "t").unwrap().id().clone();
    assert_eq!(
        vault.get(&id).unwrap().data.occurred_at.to_rfc3339(),
        "2025-01-02T03:04:05-05:00"
    );
}

#[test]
fn sealed_state_roundtrips_and_leaves_no_plaintext() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    let mut vault = Vault::init(&dir, &pass("pw"), &options()).unwrap();
    vault
        .put_state("oauth", "https://social.example", b"TOKEN-CANARY-123")
        .unwrap();
    vault
        .put_state("oauth", "https://other.example", b"t2")
        .unwrap();
    vault
        .put_state("cursor", "https://social.example", b"42")
        .unwrap();
    assert_eq!(
        vault
            .get_state("oauth", "https://social.example")
            .unwrap()
            .unwrap(),
        b"TOKEN-CANARY-123"
    );
    vault
        .put_state("oauth", "https://social.example", b"TOKEN-CANARY-456")
        .unwrap();
    let listed = vault.list_state("oauth").unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        listed[1],
        (
            "https://social.example".to_owned(),
            b"TOKEN-CANARY-456".to_vec()
        )
    );
    assert!(
        vault
            .delete_state("oauth", "https://other.example")
            .unwrap()
    );
    assert_eq!(
        vault.get_state("oauth", "https://other.example").unwrap(),
        None
    );
    vault.checkpoint().unwrap();
    let bytes = all_bytes(&dir);
    assert!(!contains(&bytes, b"TOKEN-CANARY"));
    assert!(!contains(&bytes, b"social.example"));
}

#[test]
fn visit_inserted_after_follows_insertion_order_from_a_cursor() {
    let tmp = tempfile::tempdir().unwrap();
    let mut vault = Vault::init(&tmp.path().join("v"), &pass("pw"), &options()).unwrap();
    // Inserted out of time order: the cursor follows insertion, not occurrence.
    let first: Vec<RecordData> = ["2025-03-05T00:00:00Z", "2025-03-01T00:00:00Z"]
        .iter()
        .enumerate()
        .map(|(i, t)| message(&format!("first {i}"), t, None))
        .collect();
    let first_ids: Vec<_> = vault
        .insert_batch(&first, "test")
        .unwrap()
        .into_iter()
        .map(|o| o.id().clone())
        .collect();
    let texts = |vault: &Vault, after: Option<&hearth_vault::RecordId>| {
        let mut out = Vec::new();
        vault
            .visit_inserted_after(after, |r| {
                out.push(r.unwrap().data.text);
                true
            })
            .unwrap();
        out
    };
    assert_eq!(texts(&vault, None), vec!["first 0", "first 1"]);
    assert_eq!(texts(&vault, Some(&first_ids[0])), vec!["first 1"]);
    assert!(texts(&vault, Some(&first_ids[1])).is_empty());
    let later = message("later, but earliest in time", "2024-01-01T00:00:00Z", None);
    vault.insert(&later, "test").unwrap();
    assert_eq!(
        texts(&vault, Some(&first_ids[1])),
        vec!["later, but earliest in time"]
    );
    // Deleted records are not visited; `false` stops the visit.
    vault.delete(&first_ids[1..], "test").unwrap();
    assert_eq!(
        texts(&vault, Some(&first_ids[0])),
        vec!["later, but earliest in time"]
    );
    let mut seen = 0;
    vault
        .visit_inserted_after(None, |_| {
            seen += 1;
            false
        })
        .unwrap();
    assert_eq!(seen, 1);
}
