//! Facebook: the sample persona's "Download Your Information" JSON (folder and zip), Messenger
//! mojibake repaired, posts, the owner inferred from the posts, older exports without the
//! `your_facebook_activity/` prefix (with a BOM), threads moved to `archived_threads`, damaged
//! files, detection against the other samples, and arbitrary bytes.

mod support;

use hearth_connectors::{Input, formats, import};
use hearth_vault::{Kind, Record};
use proptest::prelude::*;
use support::*;

const MAYA: &str = "Maya Lindqvist";
const ELIN: &str = "Elin Lindqvist";
const THREAD: &str = "your_facebook_activity/messages/inbox/elinlindqvist_10158234567891234";

fn author(r: &Record) -> &hearth_vault::Person {
    r.data.author.as_ref().unwrap()
}

fn one<'a>(records: &'a [Record], needle: &str) -> &'a Record {
    let found = find(records, needle);
    assert_eq!(found.len(), 1, "{needle}");
    found[0]
}

fn check_messages(records: &[Record]) {
    let messages: Vec<&Record> = records
        .iter()
        .filter(|r| r.data.kind == Kind::Message)
        .collect();
    assert_eq!(messages.len(), 34);
    let by = |name: &str| messages.iter().filter(|r| author(r).name == name).count();
    assert_eq!((by(MAYA), by(ELIN)), (16, 18));
    assert!(
        messages
            .iter()
            .all(|r| author(r).is_owner == (author(r).name == MAYA))
    );
    assert!(messages.iter().all(|r| r.data.source == "facebook"));
    let conversation = messages[0].data.conversation.as_ref().unwrap();
    assert_eq!(conversation.id, "elinlindqvist_10158234567891234");
    assert_eq!(conversation.name.as_deref(), Some(ELIN));
    assert_eq!(messages[0].data.participants.len(), 2);
    assert_eq!(
        messages.iter().filter(|r| !r.data.text.is_empty()).count(),
        32
    );
    // Two photo-only messages, three photos.
    let photo_only: Vec<&&Record> = messages.iter().filter(|r| r.data.text.is_empty()).collect();
    assert_eq!(photo_only.len(), 2);
    assert_eq!(
        photo_only
            .iter()
            .map(|r| r.data.attachments.len())
            .sum::<usize>(),
        3
    );
    assert!(
        photo_only
            .iter()
            .flat_map(|r| &r.data.attachments)
            .all(|a| a.mime.as_deref() == Some("image/jpeg") && a.name.ends_with(".jpg"))
    );

    // Mojibake repaired everywhere: content, reactions, names.
    assert!(records.iter().all(|r| !r.data.text.contains('Ã')
        && !r.data.text.contains(|c| ('\u{80}'..='\u{9f}').contains(&c))));
    let newest = one(records, "Tack lillasyster");
    assert_eq!(
        newest.data.text,
        "Tack lillasyster ❤\u{fe0f} Pimenta gratulerar också"
    );
    assert_eq!(
        newest.data.occurred_at.to_rfc3339(),
        "2026-06-02T07:41:15+01:00"
    );
    // `timestamp_ms` is UTC, shown in the --tz offset: exact instant, offset not the export's.
    assert!(newest.data.offset_assumed);
    assert_eq!(
        one(records, "Azulejos").data.text,
        "Åh vad fint!! Azulejos i hallen, klassiskt Lissabon"
    );
    let engaged = one(records, "NEJ!!! Grattis!!!");
    assert_eq!(
        engaged.data.text,
        "NEJ!!! Grattis!!! 😭❤\u{fe0f} När i augusti?"
    );
    assert_eq!(
        engaged.data.occurred_at.to_rfc3339(),
        "2025-02-02T09:20:41+00:00"
    );
    assert_eq!(engaged.data.metadata["reactions"], "❤ Elin Lindqvist");
    assert_eq!(
        one(records, "Bästa bröllopet").data.metadata["reactions"],
        "❤ Elin Lindqvist"
    );
    assert_eq!(
        one(records, "klippte luggen").data.metadata["reactions"],
        "😆 Maya Lindqvist"
    );
    assert_eq!(
        messages
            .iter()
            .filter(|r| r.data.metadata.contains_key("reactions"))
            .count(),
        6
    );
    let share = one(records, "Saltholmen 13:40");
    assert_eq!(
        share.data.metadata["share_link"],
        "https://www.elinochjonas.se/praktiskt"
    );
    let call = one(records, "The video call ended.");
    assert_eq!(call.data.metadata["call_duration"], "1843");
}

fn check_posts(records: &[Record]) {
    let posts: Vec<&Record> = records
        .iter()
        .filter(|r| r.data.kind == Kind::Post)
        .collect();
    assert_eq!(posts.len(), 6);
    assert!(posts.iter().all(|r| {
        let a = author(r);
        a.name == MAYA && a.is_owner
    }));
    let places: Vec<&str> = posts
        .iter()
        .filter_map(|r| r.data.metadata.get("place").map(String::as_str))
        .collect();
    assert_eq!(places, ["Matosinhos, Portugal", "Styrsö, Göteborg, Sweden"]);
    assert_eq!(
        posts
            .iter()
            .filter(|r| !r.data.attachments.is_empty())
            .count(),
        4
    );
    assert_eq!(
        posts
            .iter()
            .map(|r| r.data.attachments.len())
            .sum::<usize>(),
        5
    );
    assert_eq!(
        posts
            .iter()
            .filter(|r| r.data.metadata.contains_key("tags"))
            .count(),
        2
    );
    let wedding = one(records, "Min lillasyster gifte sig");
    assert_eq!(
        wedding.data.text,
        "Min lillasyster gifte sig igår ❤\u{fe0f} Elin & Jonas, 16.08.2025. Best day, best island, best sister."
    );
    assert_eq!(
        wedding.data.metadata["tags"],
        "Elin Lindqvist, Jonas Berg, Tiago Ferreira"
    );
    assert_eq!(
        wedding.data.metadata["title"],
        "Maya Lindqvist was at Styrsö."
    );
    assert_eq!(wedding.data.metadata["location"], "57.6157,11.7838");
    assert_eq!(wedding.data.metadata["media_descriptions"], "Elin & Jonas");
    assert_eq!(
        wedding.data.occurred_at.to_rfc3339(),
        "2025-08-17T13:05:00+01:00"
    );
    let race = one(records, "Lisbon Half Marathon");
    assert_eq!(
        race.data.occurred_at.to_rfc3339(),
        "2025-03-23T18:02:10+00:00"
    );
    assert!(
        race.data
            .text
            .contains("Obrigada Inês for the pacing and the pastéis de nata")
    );
    assert_eq!(
        race.data.metadata["media_descriptions"],
        "Finish line, Belém"
    );
}

#[test]
fn export_folder_counts_authors_times_and_repairs_text() {
    let (_tmp, mut vault) = vault();
    // No --me: the owner is the participant whose name starts the posts' titles.
    let opts = options("Europe/Lisbon", &[]);
    let summary = run(&mut vault, &examples().join("facebook"), &opts);
    assert_eq!(
        (
            summary.format,
            summary.imported,
            summary.duplicates,
            summary.skipped
        ),
        ("facebook", 40, 0, 0),
        "{summary:?}"
    );
    let records = records(&vault);
    check_messages(&records);
    check_posts(&records);
    let again = run(&mut vault, &examples().join("facebook"), &opts);
    assert_eq!((again.imported, again.duplicates), (0, 40));
}

#[test]
fn zip_with_media_stores_photos_and_names_the_rest() {
    let (tmp, mut vault) = vault();
    let dir = tmp.path().join("facebook-mayalindqvist-2026-06-14");
    copy_dir(&examples().join("facebook"), &dir);
    let photo = dir
        .join(THREAD)
        .join("photos/529011873312874_1198273645502913.jpg");
    std::fs::create_dir_all(photo.parent().unwrap()).unwrap();
    std::fs::write(&photo, b"\xFF\xD8NEW-FLAT").unwrap();
    let archive = tmp.path().join("facebook.zip");
    zip_dir(&dir, &archive);
    let opts = options("Europe/Lisbon", &[MAYA]);
    let summary = run(&mut vault, &archive, &opts);
    assert_eq!(
        (summary.format, summary.imported, summary.attachments),
        ("facebook", 40, 1),
        "{summary:?}"
    );
    let records = records(&vault);
    check_messages(&records);
    check_posts(&records);
    let stored: Vec<_> = records
        .iter()
        .flat_map(|r| &r.data.attachments)
        .filter_map(|a| a.blob.clone())
        .collect();
    assert_eq!(stored.len(), 1);
    let mut bytes = Vec::new();
    vault.read_blob(&stored[0], &mut bytes).unwrap();
    assert_eq!(bytes, b"\xFF\xD8NEW-FLAT");
    let again = run(&mut vault, &archive, &opts);
    assert_eq!(
        (again.imported, again.duplicates, again.attachments),
        (0, 40, 0)
    );
}

#[test]
fn older_layout_with_bom_and_archived_threads_add_nothing_twice() {
    let (tmp, mut vault) = vault();
    let original = std::fs::read(
        examples()
            .join("facebook")
            .join(THREAD)
            .join("message_1.json"),
    )
    .unwrap();
    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend(&original);
    // An older export: no your_facebook_activity/ prefix, a BOM, no posts: --me names the owner.
    let old = tmp.path().join("old");
    let inbox = old.join("messages/inbox/elinlindqvist_10158234567891234");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::write(inbox.join("message_1.json"), &with_bom).unwrap();
    let summary = run(&mut vault, &old, &options("Europe/Lisbon", &[MAYA]));
    assert_eq!(
        (summary.format, summary.imported),
        ("facebook", 34),
        "{summary:?}"
    );
    check_messages(&records(&vault));
    // A later export where the thread moved to archived_threads: the same messages.
    let later = tmp.path().join("later");
    let archived = later
        .join("your_facebook_activity/messages/archived_threads/elinlindqvist_10158234567891234");
    std::fs::create_dir_all(&archived).unwrap();
    std::fs::write(archived.join("message_1.json"), &original).unwrap();
    let summary = run(&mut vault, &later, &options("Europe/Lisbon", &[MAYA]));
    assert_eq!(
        (summary.imported, summary.duplicates),
        (0, 34),
        "{summary:?}"
    );
}

#[test]
fn a_damaged_thread_keeps_what_came_before_the_damage() {
    let (tmp, mut vault) = vault();
    let dir = tmp.path().join("cut");
    copy_dir(&examples().join("facebook"), &dir);
    let path = dir.join(THREAD).join("message_1.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let cut = text
        .match_indices("\"sender_name\"")
        .nth(10)
        .map(|(i, _)| i)
        .unwrap();
    // A bad message (no timestamp) before the cut.
    let damaged = text[..cut + 4].replacen("\"timestamp_ms\": 1780380004000", "\"when\": 1", 1);
    std::fs::write(&path, damaged).unwrap();
    let summary = run(&mut vault, &dir, &options("Europe/Lisbon", &[]));
    assert_eq!(summary.imported, 6 + 9, "{summary:?}");
    assert_eq!(summary.errors.len(), 2, "{:?}", summary.errors);
    assert!(
        summary.errors[0]
            .location
            .ends_with("message_1.json:$.messages[1]")
    );
    assert!(summary.errors[0].reason.contains("timestamp_ms"));
    assert!(
        summary.errors[1]
            .location
            .ends_with("message_1.json:$.messages[10]")
    );
}

#[test]
fn detection_tells_facebook_from_instagram_and_others() {
    let facebook = formats::by_name("facebook").unwrap();
    let instagram = formats::by_name("instagram").unwrap();
    let input = Input::open(&examples().join("facebook")).unwrap();
    assert!(facebook.detect(&input) >= 90);
    assert_eq!(instagram.detect(&input), 0);
    assert_eq!(
        hearth_connectors::import::detect(&input).map(|f| f.name()),
        Some("facebook")
    );
    // A lone thread file, by its content.
    let single = Input::open(
        &examples()
            .join("facebook")
            .join(THREAD)
            .join("message_1.json"),
    )
    .unwrap();
    assert!(facebook.detect(&single) > instagram.detect(&single));
    for other in [
        "whatsapp",
        "whatsapp-ios",
        "telegram",
        "twitter",
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
        assert_eq!(facebook.detect(&Input::open(&path).unwrap()), 0, "{other}");
    }
}

#[test]
fn other_inputs_are_refused_clearly() {
    let (tmp, mut vault) = vault();
    let mut forced = options("UTC", &[]);
    forced.format = Some("facebook".into());
    let err = import(
        &mut vault,
        &examples().join("telegram"),
        &forced,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("not a facebook export"), "{err}");
    let path = tmp.path().join("message_1.json");
    std::fs::write(&path, "{\"participants\": 3, \"messages\": 4}").unwrap();
    let err = import(&mut vault, &path, &forced, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("not a facebook export"), "{err}");
    assert!(records(&vault).is_empty());
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("message_1.json");
        std::fs::write(&path, &bytes).unwrap();
        let _ = import_as(&path, "facebook");
    }

    #[test]
    fn mutated_exports_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        posts in any::<bool>(),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("export");
        copy_dir(&examples().join("facebook"), &dir);
        let path = if posts {
            dir.join("your_facebook_activity/posts/your_posts__check_ins__photos_and_videos_1.json")
        } else {
            dir.join(THREAD).join("message_1.json")
        };
        let bytes = mutate_and_cut(std::fs::read(&path).unwrap(), &edits, cut);
        std::fs::write(&path, bytes).unwrap();
        let _ = import_as(&dir, "facebook");
    }
}
