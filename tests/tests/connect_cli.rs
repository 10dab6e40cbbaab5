//! `hearth connect mastodon`, `hearth sync` and `hearth connections` as real processes against a
//! fake Mastodon instance on loopback: the test reads the authorization URL the binary prints,
//! follows it like the owner's browser, and checks what the syncs stored and printed.

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::time::Duration;

use hearth_e2e::fake_mastodon::{self, FakeMastodon};
use hearth_e2e::{TestVault, contains, describe};
use serde_json::Value;

/// Runs `hearth --json connect mastodon --instance URL --no-browser`, plays the browser on the
/// URL it prints, and returns its JSON output.
fn connect(vault: &TestVault, server: &FakeMastodon) -> Value {
    let instance = server.url();
    let mut child = vault
        .command(&[
            "--json",
            "connect",
            "mastodon",
            "--instance",
            &instance,
            "--no-browser",
            "--timeout",
            "60",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hearth connect");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut seen = String::new();
    let url = loop {
        let mut line = String::new();
        let n = stderr.read_line(&mut line).expect("read stderr");
        assert!(n > 0, "hearth connect printed no URL: {seen}");
        seen.push_str(&line);
        if let Some(url) = line
            .trim()
            .strip_prefix(&format!("{instance}/oauth/authorize?"))
        {
            break format!("{instance}/oauth/authorize?{url}");
        }
    };
    assert!(seen.contains("Open this URL"), "{seen}");
    let page = fake_mastodon::follow_authorization(&url);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("You can close this tab"));
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).expect("stderr");
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .expect("stdout");
    let status = child.wait().expect("wait");
    assert!(status.success(), "connect failed: {seen}{rest}\n{stdout}");
    serde_json::from_str(&stdout).expect("connect's JSON")
}

#[test]
fn connect_then_sync_through_the_binary() {
    let server = FakeMastodon::start();
    server.post(
        "<p>First post from the CLI test &lt;3</p>",
        "2024-02-10T12:00:00.000Z",
    );
    server.post("<p>Second one</p>", "2024-02-11T08:30:00.000Z");
    server.post(
        "<p>Third, with a<br>line break</p>",
        "2024-02-12T21:45:10.000Z",
    );
    let vault = TestVault::init();

    let connected = connect(&vault, &server);
    let id = format!("mastodon:alice@{}", server.authority());
    assert_eq!(connected["connection"], id.as_str());
    assert_eq!(
        connected["account"],
        format!("alice@{}", server.authority()).as_str()
    );

    let list = vault.json(&["connections", "list"]);
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["instance"], server.url().as_str());
    assert_eq!(list[0]["status"], "ok");
    let listed = list.to_string();
    for secret in server.secrets() {
        assert!(!listed.contains(&secret), "a secret in `connections list`");
    }

    let summary = vault.json(&["sync"]);
    assert_eq!(summary.as_array().map(Vec::len), Some(1), "{summary}");
    assert_eq!(summary[0]["connection"], id.as_str());
    assert_eq!(summary[0]["imported"], 3);
    assert_eq!(summary[0]["duplicates"], 0);
    assert_eq!(summary[0]["skipped"], 0);
    assert_eq!(summary[0]["errors"], serde_json::json!([]));

    let records = vault.json(&["records", "list", "--source", "mastodon"]);
    let mut texts: Vec<(String, String)> = records
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            (
                r["occurred_at"].as_str().unwrap_or_default().to_owned(),
                r["text"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    texts.sort();
    assert_eq!(
        texts,
        vec![
            (
                "2024-02-10T12:00:00+00:00".to_owned(),
                "First post from the CLI test <3".to_owned()
            ),
            (
                "2024-02-11T08:30:00+00:00".to_owned(),
                "Second one".to_owned()
            ),
            (
                "2024-02-12T21:45:10+00:00".to_owned(),
                "Third, with a\nline break".to_owned()
            ),
        ]
    );
    assert!(
        records
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["kind"] == "post" && r["author"]["is_owner"] == true)
    );

    // Two new statuses, then a sync of that one connection by id: exactly those two.
    server.post("<p>Fourth</p>", "2024-02-13T07:00:00.000Z");
    server.post("<p>Fifth</p>", "2024-02-13T07:05:00.000Z");
    let summary = vault.json(&["sync", &id]);
    assert_eq!(summary[0]["imported"], 2, "{summary}");
    let summary = vault.json(&["sync"]);
    assert_eq!(summary[0]["imported"], 0, "{summary}");

    // No secret the instance handed out is in the vault's files.
    let bytes = vault.all_bytes();
    for secret in server.secrets() {
        assert!(!contains(&bytes, secret.as_bytes()), "a secret in clear");
    }

    // A revoked token: the sync fails with exit 1 and says "reconnect needed".
    server.revoke_all();
    let out = vault.run(&["--json", "sync"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let summary: Value = serde_json::from_slice(&out.stdout).expect("JSON even on failure");
    assert_eq!(summary[0]["reconnect_needed"], true);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("reconnect needed"), "{stderr}");
    let list = vault.json(&["connections", "list"]);
    assert_eq!(list[0]["status"], "reconnect needed");

    // Removing forgets it; the records stay.
    let removed = vault.json(&["connections", "remove", &id]);
    assert_eq!(removed["removed"], id.as_str());
    assert_eq!(vault.json(&["connections", "list"]), serde_json::json!([]));
    assert_eq!(
        vault
            .json(&["records", "list", "--source", "mastodon"])
            .as_array()
            .map(Vec::len),
        Some(5)
    );
}

#[test]
fn bad_instances_and_unknown_connections_are_usage_errors() {
    let vault = TestVault::init();
    let out = vault.run(&[
        "connect",
        "mastodon",
        "--instance",
        "http://mastodon.example",
        "--no-browser",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("https"));

    let out = vault.run(&["sync", "mastodon:nobody@nowhere.example"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));

    assert_eq!(vault.json(&["sync"]), serde_json::json!([]));
}

#[test]
fn connect_gives_up_after_its_timeout() {
    let server = FakeMastodon::start();
    let vault = TestVault::init();
    let started = std::time::Instant::now();
    let out = vault
        .command(&[
            "connect",
            "mastodon",
            "--instance",
            &server.url(),
            "--no-browser",
            "--timeout",
            "1",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(started.elapsed() < Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no authorization arrived"), "{stderr}");
    assert_eq!(vault.json(&["connections", "list"]), serde_json::json!([]));
}
