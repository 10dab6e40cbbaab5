//! The owner's writes while the node runs: `hearth add`, `import`, `remember` and `forget` go
//! through the node's control socket (`node.sock`), with no passphrase. The node stores,
//! audits and builds the memories through its own stream and embedding worker, so what was
//! written is searchable at once by an app holding a grant; the CLI prints what it prints
//! without a node, errors and exit codes included.

use std::path::Path;
use std::process::Output;

use hearth_e2e::{Node, TestVault, canary, describe};
use serde_json::{Value, json};

const EXPORT: &str = "WhatsApp Chat with Inês.txt";

fn export_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/whatsapp")
        .join(EXPORT)
}

/// Runs `hearth ARGS` with no passphrase anywhere (only the node can write).
fn without_passphrase(vault: &TestVault, args: &[&str], input: Option<&str>) -> Output {
    let mut cmd = vault.command(args);
    cmd.env_remove("HEARTH_PASSPHRASE")
        .current_dir(vault.scratch());
    match input {
        None => cmd.output().expect("run hearth"),
        Some(text) => {
            use std::io::Write;
            let mut child = cmd
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn hearth");
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(text.as_bytes())
                .expect("write stdin");
            child.wait_with_output().expect("wait hearth")
        }
    }
}

fn ok_json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", describe(out));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// The texts `POST /v1/memories/search` finds for `query`.
fn search(node: &Node, token: &str, query: &str) -> Vec<String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .post(format!("{}/v1/memories/search", node.url))
        .header("Authorization", format!("Bearer {token}"))
        .send_json(json!({"query": query, "k": 5}))
        .expect("request");
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    assert_eq!(status, 200, "{body}");
    let value: Value = serde_json::from_str(&body).expect("JSON");
    value["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The exit code and the error text of a failed run.
fn failure(out: &Output) -> (Option<i32>, String) {
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    )
}

#[test]
fn the_clis_writes_go_through_the_running_node() {
    let vault = TestVault::init();
    let token = vault.json(&[
        "grant",
        "issue",
        "--app",
        "reader",
        "--allow",
        "memories.search",
    ])["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let mut node = Node::start(&vault, &[]);
    let export = export_path();
    let export = export.to_str().expect("utf-8 path");

    // add --text: stored by the node, no passphrase, searchable at once.
    let tag = canary("add");
    let text = format!("The lighthouse keeper painted the boathouse door teal {tag}");
    let added = ok_json(&without_passphrase(
        &vault,
        &["--json", "add", "--text", &text],
        None,
    ));
    let added_id = added["id"].as_str().expect("id").to_owned();
    assert_eq!(added_id.len(), 26, "{added}");
    assert!(added["occurred_at"].is_string(), "{added}");
    let found = search(&node, &token, &text);
    assert!(found.iter().any(|t| t.contains(&tag)), "{found:?}");

    // add --stdin: one acknowledgement a line, numbered, blank lines skipped.
    let stdin_tag = canary("stdin");
    let input = format!("first line {stdin_tag}\n\nsecond line {stdin_tag}\n");
    let out = without_passphrase(&vault, &["--json", "add", "--stdin"], Some(&input));
    assert!(out.status.success(), "{}", describe(&out));
    let acks: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(acks.len(), 2, "{acks:?}");
    assert_eq!(acks[0]["line"], 1);
    assert_eq!(acks[1]["line"], 3);
    assert_ne!(acks[0]["id"], acks[1]["id"]);

    // import: the node reads the export, imports it, builds the memories.
    let first = ok_json(&without_passphrase(
        &vault,
        &[
            "--json",
            "import",
            export,
            "--me",
            "Maya Lindqvist",
            "--tz",
            "Europe/Lisbon",
        ],
        None,
    ));
    assert_eq!(first["format"], "whatsapp", "{first}");
    let imported = first["imported"].as_u64().expect("imported");
    assert!(imported > 50, "{first}");
    assert_eq!(first["duplicates"], 0, "{first}");
    assert!(
        first["memories"]["memories_added"].as_u64().unwrap_or(0) > 0,
        "{first}"
    );
    let found = search(&node, &token, "Bib collected! 11482");
    assert!(found.iter().any(|t| t.contains("11482")), "{found:?}");

    // Again: duplicates, nothing new.
    let again = ok_json(&without_passphrase(
        &vault,
        &[
            "--json",
            "import",
            export,
            "--me",
            "Maya Lindqvist",
            "--tz",
            "Europe/Lisbon",
        ],
        None,
    ));
    assert_eq!(again["imported"], 0, "{again}");
    assert_eq!(again["duplicates"].as_u64(), Some(imported), "{again}");

    // remember and forget: the node's stream.
    let remembered = ok_json(&without_passphrase(
        &vault,
        &[
            "--json",
            "remember",
            "I keep the spare key under the blue flowerpot",
        ],
        None,
    ));
    let memory_id = remembered["id"].as_str().expect("memory id").to_owned();
    assert_eq!(remembered["origin"], "owner", "{remembered}");
    let forgot = ok_json(&without_passphrase(
        &vault,
        &["--json", "forget", &memory_id],
        None,
    ));
    assert_eq!(forgot["forgotten"], json!([memory_id]), "{forgot}");

    // Mistakes read as without a node: an unknown format is a usage error (2), a missing
    // export a failure (1) naming the path as typed.
    let bad_format = without_passphrase(&vault, &["import", export, "--format", "nosuch"], None);
    let missing = without_passphrase(&vault, &["import", "no/such/export.txt"], None);
    let (bad_format_node, missing_node) = (failure(&bad_format), failure(&missing));
    assert_eq!(bad_format_node.0, Some(2), "{}", describe(&bad_format));
    assert_eq!(missing_node.0, Some(1), "{}", describe(&missing));
    assert!(
        missing_node.1.contains("no/such/export.txt") && !missing_node.1.contains("//"),
        "{}",
        describe(&missing)
    );

    assert!(node.stop(), "the node stops cleanly: {}", node.log());

    // The same mistakes without the node: the same messages and exit codes.
    let bad_format = vault
        .command(&["import", export, "--format", "nosuch"])
        .current_dir(vault.scratch())
        .output()
        .expect("run hearth");
    let missing = vault
        .command(&["import", "no/such/export.txt"])
        .current_dir(vault.scratch())
        .output()
        .expect("run hearth");
    assert_eq!(failure(&bad_format), bad_format_node);
    assert_eq!(failure(&missing), missing_node);

    // Stored and audited, by the CLI's name.
    let audit = vault.json(&["audit", "list"]);
    let entries = audit.as_array().expect("audit entries");
    let by = |action: &str| -> Vec<&Value> {
        entries
            .iter()
            .filter(|e| e["action"] == action && e["actor"] == "cli")
            .collect()
    };
    let adds = by("records.add");
    assert!(
        adds.iter().any(|e| e["subjects"]
            .as_array()
            .is_some_and(|s| s.contains(&json!(added_id)))),
        "{adds:?}"
    );
    let imports = by("import");
    assert_eq!(imports.len(), 2, "{imports:?}");
    assert_eq!(imports[0]["details"]["imported"], imported.to_string());
    assert_eq!(imports[1]["details"]["duplicates"], imported.to_string());
    assert_eq!(by("memory.forget").len(), 1);
    let record = vault.json(&["records", "show", &added_id]);
    assert_eq!(record["text"], text.as_str());
}
