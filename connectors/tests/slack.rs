//! Slack: the sample workspace export as a folder and as the zip, mrkdwn, threads, edits,
//! reactions, files, system messages, idempotence, and arbitrary bytes.

mod support;

use hearth_connectors::import;
use proptest::prelude::*;
use support::*;

fn check_sample(vault: &hearth_vault::Vault) {
    let records = records(vault);
    assert_eq!(records.len(), 19);
    let in_channel = |name: &str| {
        records
            .iter()
            .filter(|r| r.data.conversation.as_ref().unwrap().name.as_deref() == Some(name))
            .count()
    };
    assert_eq!((in_channel("general"), in_channel("climbing")), (13, 6));
    let by = |name: &str| {
        records
            .iter()
            .filter(|r| r.data.author.as_ref().unwrap().name == name)
            .count()
    };
    assert_eq!(
        (
            by("Maya Lindqvist"),
            by("Priya Raman"),
            by("Rui Monteiro"),
            by("Tomás Reis"),
            by("Sofia Marques")
        ),
        (8, 5, 2, 3, 1)
    );
    assert!(records.iter().all(|r| {
        let a = r.data.author.as_ref().unwrap();
        a.is_owner == (a.name == "Maya Lindqvist")
    }));
    assert_eq!(
        records[0].data.author.as_ref().unwrap().handle.as_deref(),
        Some("priya")
    );

    // Mentions resolved to the names Slack shows; emoji shortcodes kept.
    assert_eq!(
        records[0].data.text,
        "Morning! Reminder: sprint review at 16:00, @Maya is demoing the new checkout flow :tada:"
    );
    // ts is UTC; Lisbon is UTC+1 in May (the vault keeps milliseconds).
    assert_eq!(
        records[0].data.occurred_at.to_rfc3339(),
        "2025-05-02T09:47:12+01:00"
    );
    assert_eq!(
        records[0].data.external_id.as_deref(),
        Some("C01GNRL4ZQX:1746175632.000300")
    );
    assert_eq!(
        records[0].data.conversation.as_ref().unwrap().id,
        "C01GNRL4ZQX"
    );
    // Links with labels, and escaped slashes and quotes.
    let proto = find(&records, "Checkout v3, mobile-first");
    assert_eq!(
        proto[0].data.text,
        "Checkout v3, mobile-first. Feedback in thread please :thread:\nPrototype (https://www.figma.com/proto/Qx8kLm2/Checkout-v3?node-id=12-3401) (password: ondina)"
    );
    assert_eq!(
        find(&records, "Drinks at")[0].data.text,
        "Great review everyone :clap: Checkout v3 goes to A/B test on 12 May. Drinks at Quiosque do Largo (https://maps.app.goo.gl/Xq2wLm8)?"
    );
    assert_eq!(find(&records, "not on your 32\" monitor").len(), 1);

    // Threads: 3 replies in general, 2 in climbing, pointing at their root.
    let root_id = "C01GNRL4ZQX:1746176703.000200";
    let replies: Vec<_> = records
        .iter()
        .filter(|r| r.data.reply_to.as_deref() == Some(root_id))
        .collect();
    assert_eq!(replies.len(), 3);
    assert_eq!(proto[0].data.external_id.as_deref(), Some(root_id));
    assert_eq!(proto[0].data.reply_to, None);
    assert_eq!(proto[0].data.metadata["reply_count"], "3");
    assert_eq!(
        records
            .iter()
            .filter(|r| r.data.reply_to.as_deref() == Some("C04CLMB8RTA:1746188045.000300"))
            .count(),
        2
    );
    assert_eq!(
        records.iter().filter(|r| r.data.reply_to.is_some()).count(),
        5
    );

    // The edited reply, with both mentions resolved.
    let edited: Vec<_> = records
        .iter()
        .filter(|r| r.data.metadata.contains_key("edited"))
        .collect();
    assert_eq!(edited.len(), 1);
    assert_eq!(
        edited[0].data.text,
        "@Rui yes, lazy-load is fine, I'll add a skeleton state for the seat map. @Tomás thank you!"
    );
    assert_eq!(
        edited[0].data.metadata["edited"],
        "2025-05-02T10:33:02+01:00"
    );
    assert_eq!(edited[0].data.metadata["edited_by"], "Maya Lindqvist");

    // Reactions with who reacted.
    let drinks = find(&records, "Drinks at");
    assert_eq!(
        drinks[0].data.metadata["reactions"],
        ":beers: 3 (Maya Lindqvist, Rui Monteiro, Tomás Reis); :heart: 1 (Maya Lindqvist)"
    );
    assert_eq!(
        records
            .iter()
            .filter(|r| r.data.metadata.contains_key("reactions"))
            .count(),
        3
    );

    // Files: by name only (url_private needs a token).
    let files: Vec<_> = records.iter().flat_map(|r| &r.data.attachments).collect();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].name, "checkout-v3-mobile.png");
    assert_eq!(files[0].mime.as_deref(), Some("image/png"));
    assert!(files.iter().all(|f| f.blob.is_none()));
    assert_eq!(
        find(&records, "Intro is 15")[0].data.text,
        "Absolutely! Intro is 15€ including shoe rental. Bring water"
    );
    // Channel members are the participants.
    assert_eq!(records[0].data.participants.len(), 5);
    assert!(records.iter().all(|r| !r.data.text.contains("has joined")));
}

#[test]
fn sample_export_folder() {
    let (_tmp, mut vault) = vault();
    let summary = run(
        &mut vault,
        &examples().join("slack"),
        &options("Europe/Lisbon", &["Maya Lindqvist"]),
    );
    // 21 items in the day files: 19 messages and 2 channel_join notices.
    assert_eq!(
        (
            summary.format,
            summary.imported,
            summary.duplicates,
            summary.skipped
        ),
        ("slack", 19, 0, 2),
        "{summary:?}"
    );
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    check_sample(&vault);
}

#[test]
fn sample_export_zip_in_a_folder_and_reimport() {
    let (tmp, mut vault) = vault();
    // Exports are sometimes re-zipped with a top folder.
    let wrapper = tmp.path().join("wrap");
    copy_dir(
        &examples().join("slack"),
        &wrapper.join("Ondina Slack export"),
    );
    let archive = tmp.path().join("Ondina Slack export May 2 2025.zip");
    zip_dir(&wrapper, &archive);
    // The owner given by user id.
    let opts = options("Europe/Lisbon", &["U03M7LQ2V8K"]);
    let summary = run(&mut vault, &archive, &opts);
    assert_eq!(
        (summary.format, summary.imported, summary.skipped),
        ("slack", 19, 2)
    );
    check_sample(&vault);
    let again = run(&mut vault, &archive, &opts);
    assert_eq!((again.imported, again.duplicates), (0, 19));
    let folder = run(&mut vault, &examples().join("slack"), &opts);
    assert_eq!((folder.imported, folder.duplicates), (0, 19));
}

#[test]
fn damaged_messages_are_reported_and_the_rest_kept() {
    let (tmp, mut vault) = vault();
    let root = tmp.path().join("export");
    std::fs::create_dir_all(root.join("random")).unwrap();
    std::fs::create_dir_all(root.join("D123")).unwrap();
    std::fs::write(
        root.join("users.json"),
        r#"[{"id": "U1", "name": "ana", "profile": {"real_name": "Ana B", "display_name": ""}}]"#,
    )
    .unwrap();
    std::fs::write(
        root.join("channels.json"),
        r#"[{"id": "C9", "name": "random", "members": ["U1"]}]"#,
    )
    .unwrap();
    std::fs::write(
        root.join("dms.json"),
        r#"[{"id": "D123", "members": ["U1", "U2"]}]"#,
    )
    .unwrap();
    std::fs::write(
        root.join("random/2025-01-01.json"),
        r#"[
  {"type": "message", "user": "U1", "text": "ok <@U1>", "ts": "1735725600.000100"},
  {"type": "message", "user": "U1", "text": "no ts"},
  {"type": "message", "user": "U1", "text": "bad ts", "ts": "soon"},
  {"type": "message", "subtype": "channel_topic", "user": "U1", "text": "set the topic", "ts": "1735725601.000000"},
  {"type": "message", "subtype": "bot_message", "username": "deploybot", "bot_id": "B1", "text": "deployed", "ts": "1735725602.000000"},
  {"type": "message", "user": "U7", "text": "gone user", "ts": "1735725603.000000", "user_profile": {"real_name": "Old Timer", "name": "old"}},
  42
]"#,
    )
    .unwrap();
    std::fs::write(root.join("D123/2025-01-02.json"), "{ not json").unwrap();
    let summary = run(&mut vault, &root, &options("UTC", &["ana"]));
    assert_eq!(summary.format, "slack");
    assert_eq!((summary.imported, summary.skipped), (3, 5), "{summary:?}");
    let locations: Vec<_> = summary.errors.iter().map(|e| e.location.as_str()).collect();
    assert_eq!(locations.len(), 4, "{:?}", summary.errors);
    assert!(
        locations[0].ends_with("D123/2025-01-02.json"),
        "{locations:?}"
    );
    assert!(
        locations[1].ends_with("random/2025-01-01.json:[1]"),
        "{locations:?}"
    );
    assert!(locations[2].ends_with("random/2025-01-01.json:[2]"));
    assert!(locations[3].ends_with("random/2025-01-01.json:[6]"));
    let records = records(&vault);
    assert_eq!(records[0].data.text, "ok @Ana B");
    assert!(records[0].data.author.as_ref().unwrap().is_owner);
    assert_eq!(records[1].data.author.as_ref().unwrap().name, "deploybot");
    assert_eq!(records[2].data.author.as_ref().unwrap().name, "Old Timer");
    assert_eq!(
        records[0].data.occurred_at.to_rfc3339(),
        "2025-01-01T10:00:00+00:00"
    );
}

#[test]
fn other_exports_are_not_claimed() {
    let (_tmp, mut vault) = vault();
    let mut forced = options("UTC", &[]);
    forced.format = Some("slack".into());
    let err = import(
        &mut vault,
        &examples().join("discord"),
        &forced,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("not a slack export"), "{err}");
    let summary = run(
        &mut vault,
        &examples().join("discord"),
        &options("UTC", &[]),
    );
    assert_eq!(summary.format, "discord");
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn arbitrary_bytes_never_panic(users in proptest::collection::vec(any::<u8>(), 0..1000), day in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let (tmp, mut vault) = vault();
        let root = tmp.path().join("export");
        std::fs::create_dir_all(root.join("general")).unwrap();
        std::fs::write(root.join("users.json"), &users).unwrap();
        std::fs::write(root.join("channels.json"), &users).unwrap();
        std::fs::write(root.join("general/2025-05-02.json"), &day).unwrap();
        let mut opts = options("Europe/Lisbon", &[]);
        opts.format = Some("slack".into());
        let _ = import(&mut vault, &root, &opts, &mut |_| {});
    }

    #[test]
    fn mutated_sample_files_never_panic(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..20), text in "[<>@#!|a-zA-Z:/&;. ]{0,60}") {
        let (tmp, mut vault) = vault();
        let root = tmp.path().join("export");
        std::fs::create_dir_all(root.join("general")).unwrap();
        let src = examples().join("slack");
        std::fs::copy(src.join("users.json"), root.join("users.json")).unwrap();
        let mut channels = std::fs::read(src.join("channels.json")).unwrap();
        mutate(&mut channels, &edits);
        std::fs::write(root.join("channels.json"), channels).unwrap();
        let mut day = std::fs::read(src.join("general/2025-05-02.json")).unwrap();
        mutate(&mut day, &edits);
        std::fs::write(root.join("general/2025-05-02.json"), day).unwrap();
        let json = serde_json::json!([{"type": "message", "user": "U03M7LQ2V8K", "text": text, "ts": "1746175632.000300"}]);
        std::fs::write(root.join("general/2025-05-03.json"), json.to_string()).unwrap();
        let mut opts = options("Europe/Lisbon", &[]);
        opts.format = Some("slack".into());
        let _ = import(&mut vault, &root, &opts, &mut |_| {});
    }
}
