//! Discord: the sample persona's data package (JSON and older CSV channels), as a folder and as
//! the zip, translated folder names, idempotence, damaged rows, and arbitrary bytes.

mod support;

use hearth_connectors::import;
use proptest::prelude::*;
use support::*;

fn by_conversation(records: &[hearth_vault::Record], id: &str) -> usize {
    records
        .iter()
        .filter(|r| r.data.conversation.as_ref().unwrap().id == id)
        .count()
}

fn check_sample(vault: &hearth_vault::Vault) {
    let records = records(vault);
    assert_eq!(records.len(), 24);
    assert_eq!(by_conversation(&records, "1422296875008000007"), 10);
    assert_eq!(by_conversation(&records, "1064151967334400008"), 7);
    assert_eq!(by_conversation(&records, "981859722854400010"), 7);
    // Only the owner's messages are in a package.
    assert!(records.iter().all(|r| {
        let a = r.data.author.as_ref().unwrap();
        a.is_owner && a.name == "Maya Lindqvist"
    }));
    assert!(records.iter().all(|r| r.data.source == "discord"));

    // The id is a JSON number above 2^53, kept exact.
    let first = records
        .iter()
        .find(|r| r.data.external_id.as_deref() == Some("1378810973380411432"))
        .expect("exact snowflake id");
    assert_eq!(
        first.data.text,
        "the new yellow circuit in the cave is so good. the 4th one with the pinch is sneaky hard for a 5+"
    );
    // UTC in the export, shown in Lisbon summer time.
    assert_eq!(
        first.data.occurred_at.to_rfc3339(),
        "2025-06-01T20:02:33.123+01:00"
    );
    assert_eq!(
        first.data.conversation.as_ref().unwrap().name.as_deref(),
        Some("route-setting in Bloco Alcântara")
    );
    assert_eq!(first.data.metadata["channel_type"], "GUILD_TEXT");
    assert_eq!(first.data.metadata["guild"], "Bloco Alcântara");

    // Winter: UTC+0.
    let dm = find(&records, "heel hook higher");
    assert_eq!(dm.len(), 1);
    assert_eq!(
        dm[0].data.occurred_at.to_rfc3339(),
        "2026-02-07T21:58:11.020+00:00"
    );
    assert_eq!(
        dm[0].data.conversation.as_ref().unwrap().name.as_deref(),
        Some("Direct Message with jakob.m")
    );
    assert_eq!(dm[0].data.metadata["channel_type"], "DM");

    // The older CSV channel: integer type, quoted multi-line body and doubled quotes.
    let multi = find(&records, "Changes I made:");
    assert_eq!(multi.len(), 1);
    assert_eq!(
        multi[0].data.text,
        "Thanks everyone for the feedback!\nChanges I made:\n- cut the booking-flow case study from 14 screens to 6\n- added outcomes first (\"checkout drop-off -18%\")\n- moved the design system work to the top\nv6 link in a minute"
    );
    assert_eq!(multi[0].data.metadata["channel_type"], "GUILD_TEXT");
    assert_eq!(find(&records, "\"bring one case study").len(), 1);

    // Attachments: 4 messages, 5 URLs, names only (CDN links expire), 2 with no text.
    let with_files: Vec<_> = records
        .iter()
        .filter(|r| !r.data.attachments.is_empty())
        .collect();
    assert_eq!(with_files.len(), 4);
    assert_eq!(
        with_files
            .iter()
            .map(|r| r.data.attachments.len())
            .sum::<usize>(),
        5
    );
    assert!(
        with_files
            .iter()
            .flat_map(|r| &r.data.attachments)
            .all(|a| a.blob.is_none())
    );
    assert_eq!(records.iter().filter(|r| r.data.text.is_empty()).count(), 2);
    let two = find(&records, "Jakob's farewell session");
    let names: Vec<_> = two[0]
        .data
        .attachments
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(names, ["IMG_3310.jpg", "IMG_3311.jpg"]);
    assert_eq!(
        two[0].data.attachments[0].mime.as_deref(),
        Some("image/jpeg")
    );
    assert!(two[0].data.metadata["attachment_urls"].contains("?ex=68d9b36c"));
    let pdf = records
        .iter()
        .find(|r| r.data.external_id.as_deref() == Some("1328832271729295421"))
        .unwrap();
    assert_eq!(pdf.data.attachments[0].name, "portfolio_v5_structure.pdf");
    assert!(records.iter().all(|r| r.data.offset_assumed));
}

#[test]
fn sample_package_folder_counts_texts_and_times() {
    let (_tmp, mut vault) = vault();
    let summary = run(
        &mut vault,
        &examples().join("discord"),
        &options("Europe/Lisbon", &["Maya Lindqvist"]),
    );
    assert_eq!(
        (
            summary.format,
            summary.imported,
            summary.duplicates,
            summary.skipped
        ),
        ("discord", 24, 0, 0),
        "{summary:?}"
    );
    check_sample(&vault);
}

#[test]
fn sample_package_as_zip_and_reimport_is_idempotent() {
    let (tmp, mut vault) = vault();
    let archive = tmp.path().join("package.zip");
    zip_dir(&examples().join("discord"), &archive);
    let opts = options("Europe/Lisbon", &["Maya Lindqvist"]);
    let summary = run(&mut vault, &archive, &opts);
    assert_eq!(
        (summary.format, summary.imported),
        ("discord", 24),
        "{summary:?}"
    );
    check_sample(&vault);
    let again = run(&mut vault, &archive, &opts);
    assert_eq!((again.imported, again.duplicates), (0, 24));
    // The folder holds the same messages.
    let folder = run(&mut vault, &examples().join("discord"), &opts);
    assert_eq!((folder.imported, folder.duplicates), (0, 24));
}

#[test]
fn translated_capitalised_package_with_user_json_and_bad_rows() {
    let (tmp, mut vault) = vault();
    let root = tmp.path().join("package");
    let chan = root.join("Nachrichten/c42");
    std::fs::create_dir_all(&chan).unwrap();
    std::fs::create_dir_all(root.join("Konto")).unwrap();
    std::fs::create_dir_all(root.join("Account")).unwrap();
    std::fs::write(
        root.join("Account/user.json"),
        r#"{"id": "640644137615360001", "username": "maya.l", "global_name": "Maya", "relationships": [{"id": "1"}], "payments": []}"#,
    )
    .unwrap();
    std::fs::write(
        chan.join("channel.json"),
        r#"{"id": "42", "type": 3, "recipients": ["1", "2", "3"]}"#,
    )
    .unwrap();
    std::fs::write(
        chan.join("messages.json"),
        r#"[
  {"ID": 18446744073709551615, "Timestamp": "2025-01-10 09:00:00.000000+00:00", "Contents": "biggest id", "Attachments": ""},
  {"ID": 2, "Timestamp": "not a time", "Contents": "bad", "Attachments": ""},
  "not an object",
  {"ID": "3", "Timestamp": "2025-01-10 09:05:00", "Contents": "string id, old timestamp", "Attachments": ""},
  {"ID": 7.73264E+18, "Timestamp": "2025-01-10 09:06:00+00:00", "Contents": "spreadsheet id", "Attachments": ""},
  {"ID": 5, "Timestamp": "2025-01-10 09:07:00+00:00", "Contents": "", "Attachments": ""}
]"#,
    )
    .unwrap();
    let summary = run(&mut vault, &root, &options("UTC", &[]));
    assert_eq!(summary.format, "discord");
    assert_eq!((summary.imported, summary.skipped), (3, 3), "{summary:?}");
    assert_eq!(summary.errors.len(), 2, "{:?}", summary.errors);
    assert!(
        summary.errors[0]
            .location
            .ends_with("Nachrichten/c42/messages.json:[1]")
    );
    assert!(summary.errors[1].location.ends_with("messages.json:[2]"));
    let records = records(&vault);
    let big = find(&records, "biggest id");
    assert_eq!(
        big[0].data.external_id.as_deref(),
        Some("18446744073709551615")
    );
    let author = big[0].data.author.as_ref().unwrap();
    assert_eq!(
        (
            author.name.as_str(),
            author.handle.as_deref(),
            author.is_owner
        ),
        ("Maya", Some("maya.l"), true)
    );
    assert_eq!(big[0].data.metadata["channel_type"], "GROUP_DM");
    assert_eq!(
        big[0].data.conversation.as_ref().unwrap().name.as_deref(),
        Some("Direct Message 42")
    );
    let lost = find(&records, "spreadsheet id");
    assert!(
        lost[0]
            .data
            .external_id
            .as_deref()
            .unwrap()
            .starts_with("h:")
    );
    assert_eq!(lost[0].data.metadata["id_lost"], "7.73264e+18");
    assert_eq!(
        find(&records, "old timestamp")[0]
            .data
            .occurred_at
            .to_rfc3339(),
        "2025-01-10T09:05:00+00:00"
    );
}

#[test]
fn other_exports_are_not_claimed_and_forcing_explains() {
    let (tmp, mut vault) = vault();
    let mut forced = options("UTC", &[]);
    forced.format = Some("discord".into());
    let err = import(&mut vault, &examples().join("slack"), &forced, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("not a discord export"), "{err}");
    // DiscordChatExporter's JSON is a different format.
    let dce = tmp.path().join("dce.json");
    std::fs::write(
        &dce,
        r#"{"guild": {"id": "1"}, "channel": {"id": "2"}, "messages": [{"id": "3", "timestamp": "2025-01-01T00:00:00+00:00", "content": "x", "author": {"name": "a"}}]}"#,
    )
    .unwrap();
    assert!(import(&mut vault, &dce, &options("UTC", &[]), &mut |_| {}).is_err());
    let summary = run(
        &mut vault,
        &examples().join("whatsapp"),
        &options("UTC", &[]),
    );
    assert_eq!(summary.format, "whatsapp");
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn arbitrary_bytes_never_panic(json in proptest::collection::vec(any::<u8>(), 0..2000), csv in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let (tmp, mut vault) = vault();
        let root = tmp.path().join("p/messages");
        std::fs::create_dir_all(root.join("c1")).unwrap();
        std::fs::create_dir_all(root.join("c2")).unwrap();
        std::fs::write(root.join("index.json"), &csv).unwrap();
        std::fs::write(root.join("c1/channel.json"), &json).unwrap();
        std::fs::write(root.join("c1/messages.json"), &json).unwrap();
        std::fs::write(root.join("c2/channel.json"), br#"{"id":"2","type":0}"#).unwrap();
        std::fs::write(root.join("c2/messages.csv"), &csv).unwrap();
        let mut opts = options("Europe/Lisbon", &[]);
        opts.format = Some("discord".into());
        let _ = import(&mut vault, &tmp.path().join("p"), &opts, &mut |_| {});
    }

    #[test]
    fn mutated_sample_files_never_panic(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..20)) {
        let (tmp, mut vault) = vault();
        let root = tmp.path().join("p");
        let src = examples().join("discord/messages");
        for (rel, name) in [
            ("c1422296875008000007", "messages.json"),
            ("c1422296875008000007", "channel.json"),
            ("c981859722854400010", "messages.csv"),
            ("c981859722854400010", "channel.json"),
        ] {
            let mut bytes = std::fs::read(src.join(rel).join(name)).unwrap();
            mutate(&mut bytes, &edits);
            std::fs::create_dir_all(root.join("messages").join(rel)).unwrap();
            std::fs::write(root.join("messages").join(rel).join(name), bytes).unwrap();
        }
        let mut opts = options("Europe/Lisbon", &[]);
        opts.format = Some("discord".into());
        let _ = import(&mut vault, &root, &opts, &mut |_| {});
    }
}
