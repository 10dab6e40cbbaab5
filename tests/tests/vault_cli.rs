//! The foundation's promises, checked through the real `hearth` binary on real vault files.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use hearth_e2e::{TestVault, canary, contains, describe};
use serde_json::Value;

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a JSON list")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect()
}

#[test]
fn canary_is_searchable_but_nowhere_on_disk() {
    let vault = TestVault::init();
    let secret = canary("plain");
    let added = vault.json(&[
        "add",
        "--text",
        &format!("my secret is {secret}"),
        "--source",
        "journal",
    ]);
    let id = added["id"].as_str().unwrap().to_owned();
    // A burst of other records so the WAL holds pages of several transactions.
    let lines: String = (0..200).map(|i| format!("filler line {i}\n")).collect();
    let out = vault.run_with_input(&["add", "--stdin"], &lines);
    assert!(out.status.success(), "{}", describe(&out));

    let found = vault.json(&["records", "search", &secret.to_lowercase()]);
    assert_eq!(ids(&found), std::slice::from_ref(&id));
    assert_eq!(found[0]["source"], "journal");
    assert_eq!(found[0]["text"], format!("my secret is {secret}"));

    let bytes = vault.all_bytes();
    assert!(bytes.len() > 10_000, "vault files unexpectedly small");
    for needle in [secret.as_str(), "my secret is", "filler line 17"] {
        assert!(
            !contains(&bytes, needle.as_bytes()),
            "{needle:?} found in the vault's files"
        );
    }
    // Also while a writer holds the vault open with uncheckpointed WAL frames: a reader lists
    // the records, and the files still hold no plaintext.
    let mut child = vault
        .command(&["add", "--stdin", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "open-writer {secret}").unwrap();
    stdin.flush().unwrap();
    let mut ack = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ack)
        .unwrap();
    assert!(ack.contains("\"line\":1"), "{ack}");
    let wal = std::fs::read(vault.dir.join("vault.db-wal")).unwrap_or_default();
    assert!(
        !wal.is_empty(),
        "expected an active WAL while the writer is open"
    );
    assert!(!contains(&vault.all_bytes(), secret.as_bytes()));
    let found = vault.json(&["records", "search", &secret]);
    assert_eq!(found.as_array().unwrap().len(), 2);
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn wrong_passphrase_is_refused_with_exit_2_and_touches_nothing() {
    let mut vault = TestVault::init();
    vault.ok(&["add", "--text", "hello"]);
    let before = vault.all_bytes();
    vault.set_passphrase("not the passphrase");
    for args in [
        &["status"][..],
        &["add", "--text", "x"],
        &["records", "list"],
        &["check"],
    ] {
        let out = vault.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("wrong passphrase"),
            "{}",
            describe(&out)
        );
    }
    assert!(
        vault.all_bytes() == before,
        "a failed unlock changed the vault's files"
    );
    // Bad usage is exit 2 too; a missing vault is a plain failure.
    let out = vault.run(&["add"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let out = vault.run(&["records", "list", "--since", "yesterday"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let mut missing = vault.command(&["status"]);
    missing.env("HEARTH_VAULT", vault.scratch().join("nope"));
    let out = missing.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no vault at"));
}

#[test]
fn flipped_byte_in_a_sealed_record_is_reported_by_check_with_its_id() {
    let vault = TestVault::init();
    vault.ok(&["add", "--text", "first"]);
    let victim = vault.json(&["add", "--text", "second"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    vault.ok(&["add", "--text", "third"]);
    let ok = vault.json(&["check"]);
    assert_eq!(ok["ok"], true);
    assert_eq!(ok["records"], 3);

    let conn = rusqlite::Connection::open(vault.db_path()).unwrap();
    let mut body: Vec<u8> = conn
        .query_row("SELECT body FROM records WHERE id = ?1", [&victim], |r| {
            r.get(0)
        })
        .unwrap();
    let middle = body.len() / 2;
    body[middle] ^= 0x40;
    conn.execute(
        "UPDATE records SET body = ?2 WHERE id = ?1",
        rusqlite::params![victim, body],
    )
    .unwrap();
    drop(conn);

    let out = vault.run(&["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let problems: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("PROBLEM"))
        .collect();
    assert_eq!(problems.len(), 1, "{stdout}");
    assert!(
        problems[0].contains(&victim) && problems[0].contains("failed authentication"),
        "{stdout}"
    );
    let out = vault.run(&["records", "show", &victim]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&victim));
}

#[test]
fn passwd_keeps_records_under_the_new_passphrase_only() {
    let mut vault = TestVault::init();
    vault.ok(&["add", "--text", "kept across passwd"]);
    let before = vault.json(&["records", "list"]);
    let db_before = std::fs::read(vault.db_path()).unwrap();
    let out = vault
        .command(&["passwd"])
        .env("HEARTH_NEW_PASSPHRASE", "a new passphrase")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let out = vault.run(&["records", "list"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "old passphrase still works: {}",
        describe(&out)
    );
    vault.set_passphrase("a new passphrase");
    assert_eq!(vault.json(&["records", "list"]), before);
    // The records were not re-encrypted: only the key file changed (the audit entry aside).
    let conn = rusqlite::Connection::open(vault.db_path()).unwrap();
    let body: Vec<u8> = conn
        .query_row("SELECT body FROM records", [], |r| r.get(0))
        .unwrap();
    assert!(
        contains(&db_before, &body[..48]),
        "record ciphertext changed"
    );
    let audit = vault.json(&["audit", "list"]);
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "vault.passwd")
    );
}

#[test]
fn backup_then_restore_gives_the_same_records_and_a_verified_audit_log() {
    let vault = TestVault::init();
    let lines: String = (0..300)
        .map(|i| format!("backup line {i} 🌊 ação\n"))
        .collect();
    let out = vault.run_with_input(
        &["add", "--stdin", "--source", "journal", "--kind", "journal"],
        &lines,
    );
    assert!(out.status.success(), "{}", describe(&out));
    vault.ok(&[
        "add",
        "--text",
        "dated",
        "--at",
        "2025-03-14T21:07:00+01:00",
    ]);
    let file = vault.scratch().join("vault.backup");
    let info = vault.json(&["backup", "--out", file.to_str().unwrap()]);
    assert!(info["bytes"].as_u64().unwrap() > 0);
    let backup_bytes = std::fs::read(&file).unwrap();
    assert!(!contains(&backup_bytes, b"backup line"));
    assert!(
        !contains(&backup_bytes, b"journal"),
        "even source names are sealed in a backup"
    );

    let target = vault.scratch().join("restored");
    let out = vault
        .command(&["restore", "--from", file.to_str().unwrap()])
        .env("HEARTH_VAULT", &target)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let original = vault.json(&["records", "list"]);
    let restored = {
        let out = vault
            .command(&["--json", "records", "list"])
            .env("HEARTH_VAULT", &target)
            .output()
            .unwrap();
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    assert_eq!(original.as_array().unwrap().len(), 301);
    assert_eq!(original, restored);
    let dated = restored
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["text"] == "dated")
        .unwrap();
    assert_eq!(dated["occurred_at"], "2025-03-14T21:07:00+01:00");
    let verify = vault
        .command(&["--json", "audit", "verify"])
        .env("HEARTH_VAULT", &target)
        .output()
        .unwrap();
    let verify: Value = serde_json::from_slice(&verify.stdout).unwrap();
    assert_eq!(verify["ok"], true, "{verify}");
    let audit = vault
        .command(&["--json", "audit", "list"])
        .env("HEARTH_VAULT", &target)
        .output()
        .unwrap();
    let audit: Value = serde_json::from_slice(&audit.stdout).unwrap();
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.ends_with(&["vault.backup", "vault.restore"]),
        "{actions:?}"
    );
    // Restoring onto a directory in use is refused.
    let out = vault
        .command(&["restore", "--from", file.to_str().unwrap()])
        .env("HEARTH_VAULT", &target)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn edited_audit_entry_fails_verify() {
    let vault = TestVault::init();
    vault.ok(&["add", "--text", "one"]);
    vault.ok(&["add", "--text", "two"]);
    assert_eq!(vault.json(&["audit", "verify"])["ok"], true);
    let conn = rusqlite::Connection::open(vault.db_path()).unwrap();
    let mut entry: Vec<u8> = conn
        .query_row("SELECT entry FROM audit WHERE seq = 2", [], |r| r.get(0))
        .unwrap();
    let last = entry.len() - 1;
    entry[last] ^= 1;
    conn.execute("UPDATE audit SET entry = ?1 WHERE seq = 2", [entry])
        .unwrap();
    drop(conn);
    let out = vault.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("entry 2"),
        "{}",
        describe(&out)
    );
    assert_eq!(vault.run(&["check"]).status.code(), Some(1));
}

#[test]
fn sigkill_during_a_large_stdin_add_loses_no_acknowledged_record() {
    const LINES: usize = 100_000;
    let vault = TestVault::init();
    let mut child = vault
        .command(&["add", "--stdin", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let mut buffered = std::io::BufWriter::new(&mut stdin);
        for i in 0..LINES {
            if writeln!(buffered, "kill test line {i}").is_err() {
                return;
            }
        }
        let _ = buffered.flush();
    });
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut acked = Vec::new();
    let mut line = String::new();
    while acked.len() < 10_000 {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        acked.push(line.trim().to_owned());
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Acknowledgements already written before the kill count too.
    for rest in reader.lines() {
        match rest {
            Ok(l) if !l.trim().is_empty() => acked.push(l),
            _ => break,
        }
    }
    let _ = writer.join();
    assert!(
        acked.len() >= 10_000,
        "too few acks before the kill: {}",
        acked.len()
    );
    assert!(
        acked.len() < LINES,
        "the import finished before it could be killed"
    );

    let check = vault.json(&["check"]);
    assert_eq!(check["ok"], true, "{check}");
    let stored: HashSet<String> = ids(&vault.json(&["records", "list"])).into_iter().collect();
    let mut acked_lines = HashSet::new();
    for ack in &acked {
        let ack: Value = serde_json::from_str(ack).unwrap();
        let id = ack["id"].as_str().unwrap();
        assert!(stored.contains(id), "acknowledged record {id} is missing");
        acked_lines.insert(ack["line"].as_u64().unwrap());
    }
    assert_eq!(acked_lines.len(), acked.len());
    assert!(stored.len() >= acked.len());
    // The vault still takes writes.
    vault.ok(&["add", "--text", "after the crash"]);
}

#[test]
fn deleted_record_is_gone_from_listings_search_and_the_files() {
    let vault = TestVault::init();
    let secret = canary("deleted");
    let keep = vault.json(&["add", "--text", "keep me"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let victim = vault.json(&["add", "--text", &format!("forget {secret}")])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let conn = rusqlite::Connection::open(vault.db_path()).unwrap();
    let body: Vec<u8> = conn
        .query_row("SELECT body FROM records WHERE id = ?1", [&victim], |r| {
            r.get(0)
        })
        .unwrap();
    drop(conn);
    // Look for two slices of the ciphertext: header part and the sealed text.
    let pieces = [body[..32].to_vec(), body[body.len() - 32..].to_vec()];
    assert!(pieces.iter().all(|p| contains(&vault.all_bytes(), p)));

    let out = vault.json(&["records", "delete", &victim]);
    assert_eq!(out["deleted"], 1);
    assert_eq!(ids(&vault.json(&["records", "list"])), [keep]);
    assert!(
        vault
            .json(&["records", "search", &secret])
            .as_array()
            .unwrap()
            .is_empty()
    );
    let out = vault.run(&["records", "show", &victim]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
    let bytes = vault.all_bytes();
    for piece in &pieces {
        assert!(
            !contains(&bytes, piece),
            "ciphertext of the deleted record is still on disk"
        );
    }
    let audit = vault.json(&["audit", "list"]);
    let last = audit.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "records.delete");
    assert_eq!(last["subjects"][0], victim.as_str());
    // Deleting by source.
    vault.ok(&["add", "--text", "a", "--source", "scratch"]);
    vault.ok(&["add", "--text", "b", "--source", "scratch"]);
    assert_eq!(
        vault.json(&["records", "delete", "--source", "scratch"])["deleted"],
        2
    );
    assert_eq!(vault.json(&["status"])["records"], 1);
    assert_eq!(vault.json(&["check"])["ok"], true);
}

#[test]
fn a_second_writer_is_refused_while_one_holds_the_vault() {
    let vault = TestVault::init();
    let mut child = vault
        .command(&["add", "--stdin", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "holding the lock").unwrap();
    stdin.flush().unwrap();
    let mut ack = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ack)
        .unwrap();
    let out = vault.run(&["add", "--text", "second writer"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("open for writing by another process"));
    assert_eq!(vault.json(&["status"])["in_use"], true);
    drop(stdin);
    assert!(child.wait().unwrap().success());
    vault.ok(&["add", "--text", "now it works"]);
    assert_eq!(vault.json(&["status"])["in_use"], false);
}

#[test]
fn times_filters_and_json_offsets() {
    let vault = TestVault::init();
    for (text, at) in [
        ("winter", "2025-01-10T09:00:00+00:00"),
        ("spring", "2025-03-30T23:30:00-03:00"),
        ("summer", "2025-07-01"),
    ] {
        vault.ok(&["add", "--text", text, "--at", at]);
    }
    let texts = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["records", "list"];
        all.extend_from_slice(args);
        vault
            .json(&all)
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["text"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(texts(&[]), ["winter", "spring", "summer"]);
    // 2025-03-30T23:30-03:00 is 2025-03-31T02:30Z: inside [03-31, 07-01), and --until is exclusive.
    assert_eq!(
        texts(&["--since", "2025-03-31", "--until", "2025-07-01"]),
        ["spring"]
    );
    assert_eq!(texts(&["--since", "2025-07-01"]), ["summer"]);
    let list = vault.json(&["records", "list"]);
    assert_eq!(list[1]["occurred_at"], "2025-03-30T23:30:00-03:00");
    assert_eq!(list[2]["occurred_at"], "2025-07-01T00:00:00+00:00");
}
