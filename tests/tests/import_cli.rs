//! `hearth import` through the real binary: the JSON summary, idempotence, a crash half-way
//! followed by a run that finishes the job, and the clear question for ambiguous dates.

use std::io::Write;
use std::process::Stdio;

use hearth_e2e::{TestVault, describe};
use serde_json::Value;

fn examples() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

#[test]
fn json_summary_and_idempotent_reimport() {
    let vault = TestVault::init();
    let chat = examples().join("whatsapp/WhatsApp Chat with Inês.txt");
    let chat = chat.to_str().unwrap();
    let first = vault.json(&[
        "import",
        chat,
        "--tz",
        "Europe/Lisbon",
        "--me",
        "Maya Lindqvist",
    ]);
    assert_eq!(first["format"], "whatsapp");
    assert_eq!(first["imported"], 81);
    assert_eq!(first["duplicates"], 0);
    assert_eq!(first["skipped"], 2);
    assert_eq!(first["errors"], Value::Array(vec![]));
    let again = vault.json(&["import", chat, "--tz", "Europe/Lisbon"]);
    assert_eq!(
        (again["imported"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(81))
    );
    let list = vault.json(&["records", "list", "--source", "whatsapp", "--limit", "1"]);
    assert_eq!(list[0]["occurred_at"], "2025-03-14T21:07:00+00:00");
    assert_eq!(list[0]["offset_assumed"], true);
    let formats = vault.json(&["import", "--list-formats"]);
    assert!(
        formats
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "whatsapp")
    );
    let audit = vault.json(&["audit", "list"]);
    let imports = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "import")
        .count();
    assert_eq!(imports, 2);
}

#[test]
fn ambiguous_dates_ask_a_question_with_exit_2() {
    let vault = TestVault::init();
    let path = vault.scratch().join("WhatsApp Chat with Ana.txt");
    std::fs::write(&path, "03/04/25, 10:00 - Ana: hi\n").unwrap();
    let out = vault.run(&["import", path.to_str().unwrap(), "--tz", "UTC"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--date-order"),
        "{}",
        describe(&out)
    );
    let ok = vault.json(&[
        "import",
        path.to_str().unwrap(),
        "--tz",
        "UTC",
        "--date-order",
        "dmy",
    ]);
    assert_eq!(ok["imported"], 1);
    let out = vault.run(&["import", path.to_str().unwrap(), "--tz", "Mars/Base"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let out = vault.run(&[
        "import",
        vault.scratch().join("missing.txt").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
}

#[test]
fn an_import_killed_half_way_is_finished_by_the_next_run() {
    const MESSAGES: usize = 60_000;
    let vault = TestVault::init();
    let path = vault.scratch().join("WhatsApp Chat with Big.txt");
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        for i in 0..MESSAGES {
            let (day, minute) = (i / 1440 % 28 + 1, i % 1440);
            writeln!(
                file,
                "{day:02}/01/2025, {:02}:{:02} - Ana: message number {i}",
                minute / 60,
                minute % 60
            )
            .unwrap();
        }
    }
    let path = path.to_str().unwrap();
    let mut child = vault
        .command(&["import", path, "--tz", "UTC", "--json", "--no-memories"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once some batches are in (the vault's status shows them), before it is done.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        std::thread::sleep(std::time::Duration::from_millis(50));
        let status = vault.json(&["status"]);
        let stored = status["records"].as_u64().unwrap();
        if stored >= 2000 || std::time::Instant::now() > deadline {
            child.kill().unwrap();
            break;
        }
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
    }
    child.wait().unwrap();
    let partial = vault.json(&["status"])["records"].as_u64().unwrap();
    assert!(
        partial > 0 && partial < MESSAGES as u64,
        "partial = {partial}"
    );
    assert_eq!(vault.json(&["check"])["ok"], true);
    let rest = vault.json(&["import", path, "--tz", "UTC", "--no-memories"]);
    assert_eq!(
        rest["imported"].as_u64().unwrap() + rest["duplicates"].as_u64().unwrap(),
        MESSAGES as u64
    );
    assert_eq!(rest["duplicates"].as_u64().unwrap(), partial);
    assert_eq!(vault.json(&["status"])["records"], MESSAGES);
}
