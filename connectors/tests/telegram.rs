//! Telegram: the sample persona's single-chat `result.json` (folder and zip), the "export all"
//! shape with the owner in `personal_information`, exports without `date_unixtime`, damaged
//! files, detection against the other samples, and arbitrary bytes.

mod support;

use std::path::Path;

use hearth_connectors::{Input, formats, import};
use hearth_vault::Record;
use proptest::prelude::*;
use serde_json::{Value, json};
use support::*;

const MAYA: &str = "Maya Lindqvist";
const NOOR: &str = "Noor Haddad";

fn sample() -> Value {
    let text = std::fs::read_to_string(examples().join("telegram/result.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn by_external<'a>(records: &'a [Record], id: &str) -> &'a Record {
    records
        .iter()
        .find(|r| r.data.external_id.as_deref() == Some(id))
        .unwrap_or_else(|| panic!("no record {id}"))
}

fn author(r: &Record) -> &hearth_vault::Person {
    r.data.author.as_ref().unwrap()
}

fn check_sample(records: &[Record]) {
    assert_eq!(records.len(), 48);
    let count = |name: &str| records.iter().filter(|r| author(r).name == name).count();
    assert_eq!((count(MAYA), count(NOOR)), (22, 26));
    assert!(
        records
            .iter()
            .all(|r| author(r).is_owner == (author(r).name == MAYA))
    );
    assert!(records.iter().all(|r| r.data.source == "telegram"));
    // `date_unixtime` instants shown in the --tz offset: the offset is not the export's, so it is marked.
    assert!(records.iter().all(|r| r.data.offset_assumed));
    let conversation = records[0].data.conversation.as_ref().unwrap();
    assert_eq!(conversation.id, "4829301755");
    assert_eq!(conversation.name.as_deref(), Some(NOOR));

    let first = &records[0];
    assert_eq!(first.data.external_id.as_deref(), Some("4829301755:20411"));
    assert_eq!(
        first.data.text,
        "Godt nytår from Copenhagen! Did you eat the 12 raisins at midnight?"
    );
    assert_eq!(
        first.data.occurred_at.to_rfc3339(),
        "2025-01-06T20:14:05+00:00"
    );
    assert_eq!(author(first).handle.as_deref(), Some("user4829301755"));

    // A mixed text array, its bold entity flattened; a reaction.
    let chip = by_external(records, "4829301755:20588");
    assert_eq!(chip.data.text, "Official chip time: 1:54:08 🏃‍♀️ sub 1:55!!");
    assert_eq!(
        chip.data.metadata.get("reactions").map(String::as_str),
        Some("❤ Noor Haddad")
    );
    assert_eq!(
        records
            .iter()
            .filter(|r| r.data.metadata.contains_key("reactions"))
            .count(),
        1
    );
    // Replies point at the replied message's source id.
    let replies: Vec<&Record> = records
        .iter()
        .filter(|r| r.data.reply_to.is_some())
        .collect();
    assert_eq!(replies.len(), 2);
    let told = by_external(records, "4829301755:20589");
    assert_eq!(told.data.reply_to.as_deref(), Some("4829301755:20588"));
    assert_eq!(told.data.text, "Told you. Told. You. 🎉");
    // Summer time (UTC+1), an edit.
    let offer = by_external(records, "4829301755:20790");
    assert_eq!(
        offer.data.occurred_at.to_rfc3339(),
        "2025-05-20T18:20:45+01:00"
    );
    assert_eq!(
        offer.data.metadata.get("edited").map(String::as_str),
        Some("2025-05-20T18:22:03+01:00")
    );
    assert_eq!(
        records
            .iter()
            .filter(|r| r.data.metadata.contains_key("edited"))
            .count(),
        1
    );
    // A forward, with its link entity.
    let forwards: Vec<&Record> = records
        .iter()
        .filter(|r| r.data.metadata.contains_key("forwarded_from"))
        .collect();
    assert_eq!(forwards.len(), 1);
    assert_eq!(
        forwards[0].data.metadata["forwarded_from"],
        "Design Jobs Europe"
    );
    assert!(
        forwards[0]
            .data
            .text
            .starts_with("Senior Product Designer – Verdelha Health (Lisbon, hybrid).")
    );
    assert!(
        forwards[0].data.metadata["links"]
            .contains("https://jobs.verdelha.health/senior-product-designer")
    );
    // Four empty-text media messages: two photos, a sticker and a voice message not included.
    let media: Vec<&Record> = records
        .iter()
        .filter(|r| !r.data.attachments.is_empty())
        .collect();
    assert_eq!(media.len(), 4);
    assert!(media.iter().all(|r| r.data.text.is_empty()));
    let names: Vec<&str> = media
        .iter()
        .flat_map(|r| r.data.attachments.iter().map(|a| a.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            "sticker.webp",
            "photo_1@01-06-2025_11-05-09.jpg",
            "photo_2@17-08-2025_10-02-45.jpg",
            "audio_3@17-08-2025_10-16-40.ogg"
        ]
    );
    assert_eq!(
        records
            .iter()
            .filter(|r| r.data.metadata.contains_key("media_not_included"))
            .count(),
        2
    );
    let sticker = by_external(records, "4829301755:20590");
    assert_eq!(sticker.data.metadata["sticker_emoji"], "🥳");
    assert_eq!(sticker.data.metadata["media_type"], "sticker");
    let voice = by_external(records, "4829301755:21005");
    assert_eq!(voice.data.attachments[0].mime.as_deref(), Some("audio/ogg"));
}

/// Every message's `date` (Lisbon wall clock) is its `date_unixtime` shown in Lisbon.
fn check_times_match_dates(records: &[Record]) {
    let sample = sample();
    let mut checked = 0;
    for m in sample["messages"].as_array().unwrap() {
        if m["type"] != "message" {
            continue;
        }
        let id = format!("4829301755:{}", m["id"]);
        let r = by_external(records, &id);
        assert_eq!(
            r.data.occurred_at.format("%Y-%m-%dT%H:%M:%S").to_string(),
            m["date"].as_str().unwrap(),
            "{id}"
        );
        checked += 1;
    }
    assert_eq!(checked, 48);
}

#[test]
fn single_chat_folder_counts_authors_times_and_metadata() {
    let (_tmp, mut vault) = vault();
    let summary = run(
        &mut vault,
        &examples().join("telegram"),
        &options("Europe/Lisbon", &[MAYA]),
    );
    assert_eq!(
        (
            summary.format,
            summary.imported,
            summary.duplicates,
            summary.skipped
        ),
        ("telegram", 48, 0, 2),
        "{summary:?}"
    );
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    assert_eq!(summary.attachments, 0, "the sample has no media files");
    let records = records(&vault);
    check_sample(&records);
    check_times_match_dates(&records);

    // Importing again adds nothing.
    let again = run(
        &mut vault,
        &examples().join("telegram"),
        &options("Europe/Lisbon", &[MAYA]),
    );
    assert_eq!(
        (again.imported, again.duplicates, again.skipped),
        (0, 48, 2)
    );
}

#[test]
fn zip_of_the_export_with_a_photo_stores_it() {
    let (tmp, mut vault) = vault();
    let dir = tmp.path().join("ChatExport_2026-05-04");
    std::fs::create_dir_all(dir.join("photos")).unwrap();
    std::fs::copy(
        examples().join("telegram/result.json"),
        dir.join("result.json"),
    )
    .unwrap();
    std::fs::write(
        dir.join("photos/photo_1@01-06-2025_11-05-09.jpg"),
        b"\xFF\xD8TELEGRAM-PHOTO",
    )
    .unwrap();
    let archive = tmp.path().join("telegram.zip");
    zip_dir(&dir, &archive);
    let opts = options("Europe/Lisbon", &[MAYA]);
    let summary = run(&mut vault, &archive, &opts);
    assert_eq!(
        (
            summary.format,
            summary.imported,
            summary.skipped,
            summary.attachments
        ),
        ("telegram", 48, 2, 1),
        "{summary:?}"
    );
    let records = records(&vault);
    check_sample(&records);
    let photo = by_external(&records, "4829301755:20850");
    assert_eq!(author(photo).name, MAYA);
    let blob = photo.data.attachments[0].blob.clone().expect("stored");
    let mut bytes = Vec::new();
    vault.read_blob(&blob, &mut bytes).unwrap();
    assert_eq!(bytes, b"\xFF\xD8TELEGRAM-PHOTO");
    assert_eq!(
        photo.data.attachments[0].mime.as_deref(),
        Some("image/jpeg")
    );

    // The zip again, and then the unzipped folder: nothing new.
    let again = run(&mut vault, &archive, &opts);
    assert_eq!(
        (again.imported, again.duplicates, again.attachments),
        (0, 48, 0)
    );
    let folder = run(&mut vault, &examples().join("telegram"), &opts);
    assert_eq!((folder.imported, folder.duplicates), (0, 48));
}

#[test]
fn full_export_names_the_owner_and_old_dates_are_assumed_local() {
    let (tmp, mut vault) = vault();
    let chat = sample();
    // An older chat: `date` only, no `date_unixtime`; one message with an unreadable date.
    let old_chat = json!({
        "name": "Jakob",
        "type": "personal_chat",
        "id": 701004093,
        "messages": [
            {"id": 1, "type": "message", "date": "2021-07-10T09:30:00", "from": "Jakob",
             "from_id": "user701004093", "text": "summer"},
            {"id": 2, "type": "message", "date": "yesterday", "from": "Jakob",
             "from_id": "user701004093", "text": "broken"},
            {"id": 3, "type": "message", "date": "2021-01-10T09:30:00", "from": MAYA,
             "from_id": "user5120938847", "text": ["see ", {"type": "mention", "text": "@jakob"}]},
            {"id": 4, "type": "service", "date": "2021-01-10T09:31:00", "actor": MAYA,
             "action": "pin_message", "text": ""}
        ]
    });
    let export = json!({
        "about": "Here is the data you requested.",
        "personal_information": {
            "user_id": 5120938847u64,
            "first_name": "Maya",
            "last_name": "Lindqvist",
            "username": "mayalindq"
        },
        "chats": {"about": "This is the list of chats.", "list": [chat, old_chat]},
        "left_chats": {"about": "", "list": []}
    });
    let dir = tmp.path().join("DataExport_2026-05-04");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("result.json"),
        serde_json::to_vec_pretty(&export).unwrap(),
    )
    .unwrap();
    // No --me: the owner comes from personal_information.
    let summary = run(&mut vault, &dir, &options("Europe/Lisbon", &[]));
    assert_eq!(
        (summary.imported, summary.skipped),
        (48 + 2, 2 + 1 + 1),
        "{summary:?}"
    );
    assert_eq!(summary.errors.len(), 1);
    assert!(
        summary.errors[0]
            .location
            .ends_with("result.json:$.chats.list[1].messages[1]"),
        "{:?}",
        summary.errors
    );
    assert!(summary.errors[0].reason.contains("yesterday"));
    let records = records(&vault);
    let sample_records: Vec<Record> = records
        .iter()
        .filter(|r| r.data.conversation.as_ref().unwrap().id == "4829301755")
        .cloned()
        .collect();
    check_sample(&sample_records);
    let summer = by_external(&records, "701004093:1");
    assert!(summer.data.offset_assumed);
    assert_eq!(
        summer.data.occurred_at.to_rfc3339(),
        "2021-07-10T09:30:00+01:00"
    );
    assert_eq!(summer.data.metadata["time_raw"], "2021-07-10T09:30:00");
    let winter = by_external(&records, "701004093:3");
    assert_eq!(winter.data.text, "see @jakob");
    assert_eq!(
        winter.data.occurred_at.to_rfc3339(),
        "2021-01-10T09:30:00+00:00"
    );
    assert!(author(winter).is_owner);
    assert!(!author(summer).is_owner);
}

#[test]
fn a_damaged_file_keeps_what_came_before_the_damage() {
    let (tmp, mut vault) = vault();
    let text = std::fs::read_to_string(examples().join("telegram/result.json")).unwrap();
    // Cut inside the 21st message.
    let cut = text
        .match_indices("\"type\": \"message\"")
        .nth(20)
        .map(|(i, _)| i)
        .unwrap();
    let path = tmp.path().join("result.json");
    std::fs::write(&path, &text[..cut + 5]).unwrap();
    let summary = run(&mut vault, &path, &options("Europe/Lisbon", &[MAYA]));
    assert!(summary.imported >= 18, "{summary:?}");
    assert_eq!(summary.errors.len(), 1, "{:?}", summary.errors);
    assert!(summary.errors[0].location.contains("$.messages["));
    assert!(summary.errors[0].reason.contains("rest of the file"));
}

#[test]
fn detection_claims_only_telegram_exports() {
    let telegram = formats::by_name("telegram").unwrap();
    let input = Input::open(&examples().join("telegram")).unwrap();
    assert!(telegram.detect(&input) >= 90);
    assert_eq!(
        hearth_connectors::import::detect(&input).map(|f| f.name()),
        Some("telegram")
    );
    let single = Input::open(&examples().join("telegram/result.json")).unwrap();
    assert!(telegram.detect(&single) >= 90);
    for other in [
        "whatsapp",
        "whatsapp-ios",
        "twitter",
        "facebook",
        "instagram",
        "discord",
        "slack",
        "mail",
        "reddit",
        "journal",
        "dayone",
        "generic",
        "notes.txt",
    ] {
        let path = examples().join(other);
        if !path.exists() {
            continue;
        }
        let input = Input::open(&path).unwrap();
        assert_eq!(telegram.detect(&input), 0, "{other}");
    }
}

#[test]
fn other_files_are_refused_clearly() {
    let (tmp, mut vault) = vault();
    let mut forced = options("UTC", &[]);
    forced.format = Some("telegram".into());
    let err = import(&mut vault, &examples().join("slack"), &forced, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("not a telegram export"), "{err}");
    let path = tmp.path().join("result.json");
    std::fs::write(&path, "[1, 2, 3]").unwrap();
    let err = import(&mut vault, &path, &forced, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("not a telegram export"), "{err}");
    assert!(records(&vault).is_empty());
}

/// Writes `bytes` as `dir/result.json` and imports it as Telegram, ignoring the result.
fn forced_import(dir: &Path, bytes: &[u8]) {
    let path = dir.join("result.json");
    std::fs::write(&path, bytes).unwrap();
    let _ = import_as(&path, "telegram");
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let tmp = tempfile::tempdir().unwrap();
        forced_import(tmp.path(), &bytes);
    }

    #[test]
    fn mutated_exports_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let bytes = mutate_and_cut(
            std::fs::read(examples().join("telegram/result.json")).unwrap(),
            &edits,
            truncate.then_some(cut),
        );
        let tmp = tempfile::tempdir().unwrap();
        forced_import(tmp.path(), &bytes);
    }
}
