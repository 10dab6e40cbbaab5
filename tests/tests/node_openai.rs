//! The node (`hearth serve`) end to end: a real node on a free loopback port with the real
//! models and a vault holding the sample persona's WhatsApp and Telegram exports, driven by
//! the official `openai` Python client and by plain HTTP (ureq) for the hostile cases.

use std::io::Read;
use std::process::Command;
use std::time::Duration;

use ed25519_dalek::{Signer, SigningKey};
use hearth_e2e::{Node, TestVault, describe, py_script, python};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn uses(entries: &[Value]) -> Vec<&Value> {
    entries
        .iter()
        .filter(|e| e["action"] == "grant.use")
        .collect()
}

#[test]
fn the_openai_python_client_lists_chats_streams_and_embeds_under_grants() {
    let vault = TestVault::with_sample_chats();
    let (_, token) = vault.issue_grant(&[
        "--app",
        "notes",
        "--allow",
        "model.chat,model.embed,persona.chat",
    ]);
    let (_, narrow) = vault.issue_grant(&["--app", "embedder", "--allow", "model.embed"]);
    let mut node = Node::start(&vault, &["--build-memories"]);

    let out = Command::new(python())
        .arg(py_script("node_openai.py"))
        .env("HEARTH_URL", &node.url)
        .env("HEARTH_GRANT", &token)
        .env("HEARTH_NARROW_GRANT", &narrow)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}\nnode log:\n{}",
        describe(&out),
        node.log()
    );
    let r: Value = serde_json::from_slice(&out.stdout).expect("the script's JSON");
    assert_eq!(r["openai_version"], "3.51.0");

    assert_eq!(
        r["models"],
        json!(["smollm2-135m-instruct", "all-minilm-l6-v2", "persona"]),
        "{r}"
    );
    let chat = &r["chat"];
    assert_eq!(chat["object"], "chat.completion");
    assert!(
        !chat["content"].as_str().unwrap().trim().is_empty(),
        "{chat}"
    );
    assert_eq!(
        chat["usage"]["completion_tokens"], 8,
        "max_completion_tokens=8 ran out: {chat}"
    );
    assert_eq!(chat["finish_reason"], "length");
    assert!(chat["usage"]["prompt_tokens"].as_u64().unwrap() > 5);

    let stream = &r["stream"];
    assert!(stream["chunks"].as_u64().unwrap() >= 3, "{stream}");
    assert!(
        !stream["content"].as_str().unwrap().trim().is_empty(),
        "{stream}"
    );
    assert_eq!(stream["finish_reason"], "length");
    assert_eq!(
        stream["usage"]["completion_tokens"], 8,
        "usage in the last chunk: {stream}"
    );

    let stop = &r["stop"];
    assert_eq!(stop["finish_reason"], "stop", "{stop}");
    assert!(!stop["content"].as_str().unwrap().contains('5'), "{stop}");

    let e = &r["embeddings"];
    assert_eq!(
        (e["count"].as_u64(), e["dim"].as_u64()),
        (Some(3), Some(384)),
        "{e}"
    );
    assert!((e["norm"].as_f64().unwrap() - 1.0).abs() < 1e-4, "{e}");
    assert!(
        e["cat_kitten"].as_f64().unwrap() > e["cat_tax"].as_f64().unwrap() + 0.2,
        "similar texts embed closer: {e}"
    );
    assert_eq!(e["float_matches_base64"], true);
    assert!(e["usage"]["prompt_tokens"].as_u64().unwrap() >= 6, "{e}");

    let persona = &r["persona"];
    let ids = persona["memory_ids"].as_array().expect("memory_ids");
    assert!(!ids.is_empty(), "{persona}");

    assert_eq!(r["no_grant"]["status"], 401, "{r}");
    assert_eq!(r["no_grant"]["type"], "AuthenticationError");
    assert_eq!(r["narrow_models"], json!(["all-minilm-l6-v2"]));
    assert_eq!(r["outside_grant"]["status"], 403, "{r}");
    assert_eq!(r["outside_grant"]["code"], "check_failed");
    assert_eq!(r["n_2"]["status"], 400);
    assert_eq!(r["unknown_model"]["status"], 404);

    assert!(
        node.stop(),
        "the node exits 0 on SIGTERM; log:\n{}",
        node.log()
    );
    let entries = vault.audit_entries();
    let uses = uses(&entries);
    assert!(
        uses.iter().any(|e| e["actor"] == "unknown"
            && e["details"]["status"] == "401"
            && e["details"]["outcome"] == "refused"),
        "the 401 is audited: {uses:#?}"
    );
    assert!(
        uses.iter().any(|e| e["actor"] == "embedder"
            && e["details"]["status"] == "403"
            && e["details"]["right"] == "model.chat"),
        "the 403 is audited: {uses:#?}"
    );
    let persona_use = uses
        .iter()
        .find(|e| e["details"]["right"] == "persona.chat")
        .expect("the persona's use is audited");
    assert_eq!(persona_use["subjects"], persona["memory_ids"]);
    assert!(
        persona_use["details"]["tokens"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 8
    );
    assert!(
        entries.iter().any(|e| e["action"] == "node.stop"),
        "a clean stop is recorded"
    );
    let text = serde_json::to_string(&entries).unwrap();
    assert!(
        !text.contains(&token) && !text.contains(&narrow),
        "no token in the audit log"
    );
    vault.ok(&["audit", "verify"]);
}

/// A plain HTTP client that reports statuses instead of failing on them.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(180)))
        .build()
        .into()
}

/// POSTs JSON with a bearer token; returns the status, the Retry-After header and the body.
fn post(node: &Node, path: &str, token: &str, body: &Value) -> (u16, Option<String>, Value) {
    let mut response = agent()
        .post(format!("{}{path}", node.url))
        .header("Authorization", format!("Bearer {token}"))
        .send_json(body)
        .expect("HTTP request");
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        retry,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

fn search(node: &Node, token: &str, body: Value) -> (u16, Value) {
    let (status, _, value) = post(node, "/v1/memories/search", token, &body);
    (status, value)
}

#[test]
fn hostile_requests_get_the_right_status_and_grants_narrow_what_is_read() {
    let vault = TestVault::with_sample_chats();
    let (_, all) = vault.issue_grant(&[
        "--app",
        "full",
        "--allow",
        "memories.search,model.chat,records.read",
    ]);
    let (revoked_id, revoked) = vault.issue_grant(&["--app", "gone", "--allow", "memories.search"]);
    vault.ok(&["grant", "revoke", &revoked_id]);
    let (_, embed_only) = vault.issue_grant(&["--app", "embedder", "--allow", "model.embed"]);
    let (_, quota) = vault.issue_grant(&[
        "--app",
        "greedy",
        "--allow",
        "model.embed",
        "--per-minute",
        "2",
    ]);
    let (_, whatsapp) = vault.issue_grant(&[
        "--app",
        "wa",
        "--allow",
        "memories.search",
        "--source",
        "whatsapp",
        "--since",
        "2025-01-01",
        "--redact",
        "author",
        "--max-results",
        "3",
    ]);
    let (_, no_ines) = vault.issue_grant(&[
        "--app",
        "private",
        "--allow",
        "memories.search",
        "--exclude-participant",
        "Inês",
    ]);
    let app_key = SigningKey::from_bytes(&[7u8; 32]);
    let app_public = format!("ed25519/{}", hex(app_key.verifying_key().as_bytes()));
    let (_, bound) = vault.issue_grant(&[
        "--app",
        "bound",
        "--allow",
        "model.embed",
        "--app-key",
        &app_public,
    ]);
    let mut node = Node::start(
        &vault,
        &[
            "--build-memories",
            "--max-body",
            "8192",
            "--queue",
            "1",
            "--queue-per-app",
            "1",
        ],
    );
    let query = json!({"query": "running a half marathon in Lisbon", "k": 20});

    // The unrestricted grant sees both sources.
    let (status, full) = search(&node, &all, query.clone());
    assert_eq!(status, 200, "{full}");
    let sources: Vec<&str> = full["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["source"].as_str().unwrap())
        .collect();
    assert!(
        sources.contains(&"whatsapp") && sources.contains(&"telegram"),
        "{sources:?}"
    );
    assert!(full["data"][0]["author"].is_string());

    // Revoked, altered, no token: 401 and nothing read.
    let (status, body) = search(&node, &revoked, query.clone());
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("revoked")),
        "{body}"
    );
    let mut altered = all.clone().into_bytes();
    let i = altered.len() / 2;
    altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
    let (status, body) = search(&node, std::str::from_utf8(&altered).unwrap(), query.clone());
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("bad_signature")),
        "{body}"
    );
    assert!(body["data"].is_null());

    // A right the grant lacks: 403.
    let (status, body) = search(&node, &embed_only, query.clone());
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (403, Some("permission_error")),
        "{body}"
    );

    // The restricted grant: only WhatsApp, only 2025 on, no author, at most 3.
    // (`k` states how many results the app wants: within the grant's 3, or left out.)
    let (status, narrowed) = search(
        &node,
        &whatsapp,
        json!({"query": "running a half marathon in Lisbon"}),
    );
    assert_eq!(status, 200, "{narrowed}");
    let data = narrowed["data"].as_array().unwrap();
    assert!(!data.is_empty() && data.len() <= 3, "{narrowed}");
    for m in data {
        assert_eq!(m["source"], "whatsapp", "{m}");
        assert!(m["occurred_at"].as_str().unwrap() >= "2025-01-01", "{m}");
        assert!(m.get("author").is_none(), "author redacted: {m}");
        assert!(m.get("participants").is_some());
    }
    // Filters may narrow it further, never widen it.
    for widen in [
        json!({"query": "run", "sources": ["telegram"]}),
        json!({"query": "run", "since": "2020-01-01"}),
        json!({"query": "run", "fields": ["author"]}),
        json!({"query": "run", "k": 10}),
    ] {
        let (status, body) = search(&node, &whatsapp, widen.clone());
        assert_eq!(status, 403, "{widen} → {body}");
    }
    let (status, body) = search(
        &node,
        &whatsapp,
        json!({"query": "run", "until": "2025-06-01", "k": 2}),
    );
    assert_eq!(status, 200, "{body}");
    for m in body["data"].as_array().unwrap() {
        assert!(m["occurred_at"].as_str().unwrap() < "2025-06-01", "{m}");
    }
    let (status, body) = search(&node, &whatsapp, json!({"query": "run", "source": ["x"]}));
    assert_eq!(
        status, 400,
        "a misspelt filter is refused, not ignored: {body}"
    );

    // Excluding a participant reaches inside the search.
    let (status, body) = search(&node, &no_ines, query.clone());
    assert_eq!(status, 200, "{body}");
    for m in body["data"].as_array().unwrap() {
        let people = m["participants"].to_string() + &m["author"].to_string();
        assert!(!people.contains("Inês"), "{m}");
    }

    // Records, paged within the grant.
    let mut page = agent()
        .get(format!("{}/v1/records?limit=5", node.url))
        .header("Authorization", format!("Bearer {all}"))
        .call()
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let page: Value = serde_json::from_str(&page.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(page["data"].as_array().unwrap().len(), 5, "{page}");
    assert_eq!(page["next_cursor"], 5);

    // Over quota: the third request in a minute gets 429 with Retry-After.
    let embed = json!({"model": "all-minilm-l6-v2", "input": "x"});
    for _ in 0..2 {
        let (status, _, body) = post(&node, "/v1/embeddings", &quota, &embed);
        assert_eq!(status, 200, "{body}");
    }
    let (status, retry, body) = post(&node, "/v1/embeddings", &quota, &embed);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("over_quota")),
        "{body}"
    );
    assert!(
        retry
            .and_then(|r| r.parse::<u64>().ok())
            .is_some_and(|r| (1..=60).contains(&r))
    );

    // A body over the node's limit: 413, before anything else.
    let big = json!({"model": "all-minilm-l6-v2", "input": "x".repeat(20_000)});
    let (status, _, body) = post(&node, "/v1/embeddings", &embed_only, &big);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("request_too_large")),
        "{body}"
    );

    // Over capacity: one generation runs, one waits, the rest get 429 with Retry-After.
    let chat = json!({"model": "smollm2-135m-instruct", "max_tokens": 24, "temperature": 0,
                      "messages": [{"role": "user", "content": "Tell me about Lisbon."}]});
    let burst: Vec<_> = (0..4)
        .map(|_| {
            let (url, token, chat) = (node.url.clone(), all.clone(), chat.clone());
            std::thread::spawn(move || {
                let response = agent()
                    .post(format!("{url}/v1/chat/completions"))
                    .header("Authorization", format!("Bearer {token}"))
                    .send_json(&chat)
                    .unwrap();
                (
                    response.status().as_u16(),
                    response.headers().contains_key("retry-after"),
                )
            })
        })
        .collect();
    let results: Vec<(u16, bool)> = burst.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(
        results.iter().filter(|r| r.0 == 200).count() >= 1,
        "{results:?}"
    );
    assert!(results.contains(&(429, true)), "{results:?}");
    assert!(
        results.iter().all(|r| r.0 == 200 || r.0 == 429),
        "{results:?}"
    );

    // A grant bound to an app key: every request signed by it, each signature used once.
    let body = br#"{"model":"all-minilm-l6-v2","input":"signed"}"#;
    let signed = |proof: Option<String>| {
        let mut request = agent()
            .post(format!("{}/v1/embeddings", node.url))
            .header("Authorization", format!("Bearer {bound}"))
            .header("Content-Type", "application/json");
        if let Some(p) = proof {
            request = request.header("Hearth-Proof", p);
        }
        let mut response = request.send(&body[..]).unwrap();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        (
            response.status().as_u16(),
            value["error"]["code"].as_str().map(str::to_owned),
        )
    };
    assert_eq!(signed(None), (401, Some("proof_missing".into())));
    let good = proof(
        &app_key,
        "/v1/embeddings",
        body,
        &bound,
        "nonce-0123456789abcdef",
    );
    assert_eq!(signed(Some(good.clone())).0, 200);
    assert_eq!(signed(Some(good)), (401, Some("proof_replayed".into())));
    let other_body = proof(
        &app_key,
        "/v1/embeddings",
        b"{}",
        &bound,
        "nonce-fedcba9876543210",
    );
    assert_eq!(
        signed(Some(other_body)),
        (401, Some("proof_invalid".into()))
    );
    let stranger = SigningKey::from_bytes(&[9u8; 32]);
    let forged = proof(
        &stranger,
        "/v1/embeddings",
        body,
        &bound,
        "nonce-aaaaaaaaaaaaaaaa",
    );
    assert_eq!(signed(Some(forged)), (401, Some("proof_invalid".into())));

    // A client that leaves mid-stream stops its generation.
    let long = json!({"model": "smollm2-135m-instruct", "max_tokens": 400, "stream": true,
                      "messages": [{"role": "user", "content": "Write a long story about a cat."}]});
    let response = agent()
        .post(format!("{}/v1/chat/completions", node.url))
        .header("Authorization", format!("Bearer {all}"))
        .send_json(&long)
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let mut reader = response.into_body().into_reader();
    let mut first = [0u8; 64];
    let n = reader.read(&mut first).unwrap();
    assert!(
        std::str::from_utf8(&first[..n])
            .unwrap()
            .starts_with("data: ")
    );
    drop(reader);
    std::thread::sleep(Duration::from_secs(3));

    assert!(node.stop(), "clean stop; log:\n{}", node.log());
    let entries = vault.audit_entries();
    let uses = uses(&entries);
    let code_of = |actor: &str, code: &str| {
        uses.iter()
            .any(|e| e["actor"] == actor && e["details"]["code"] == code)
    };
    assert!(code_of("gone", "revoked"), "{uses:#?}");
    assert!(code_of("embedder", "check_failed"));
    assert!(code_of("greedy", "over_quota"));
    assert!(code_of("wa", "check_failed"));
    let narrowed_use = uses
        .iter()
        .find(|e| e["actor"] == "wa" && e["details"]["outcome"] == "ok")
        .expect("the narrowed search is audited");
    let filters = narrowed_use["details"]["filters"].as_str().unwrap();
    assert!(
        filters.contains("sources=whatsapp") && filters.contains("redact=author"),
        "{filters}"
    );
    let cancelled = uses
        .iter()
        .find(|e| e["details"]["outcome"] == "cancelled")
        .expect("the abandoned generation is audited as cancelled");
    let tokens: u64 = cancelled["details"]["tokens"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(tokens < 400, "it stopped early: {cancelled}");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `Hearth-Proof` header for a POST of `body` to `path` with `token`, signed by `key`
/// (the message of docs/grants.md, "Proof of possession").
fn proof(key: &SigningKey, path: &str, body: &[u8], token: &str, nonce: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let message = format!(
        "hearth-pop-v1\nPOST\n{path}\n{}\n{}\n{now}\n{nonce}",
        hex(&Sha256::digest(body)),
        hex(&Sha256::digest(token.as_bytes())),
    );
    let signature = key.sign(message.as_bytes());
    format!("t={now}, n={nonce}, s={}", hex(&signature.to_bytes()))
}
