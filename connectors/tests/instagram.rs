//! Instagram: the sample persona's "Download Your Information" JSON (folder and zip), mojibake
//! repaired, shares, reactions and media, the owner from `--me` or from the profile file,
//! posts, detection against Facebook and the other samples, and arbitrary bytes.

mod support;

use hearth_connectors::{Input, formats, import};
use hearth_vault::{Kind, Record};
use proptest::prelude::*;
use support::*;

const MAYA: &str = "Maya Lindqvist";
const DUARTE: &str = "Duarte Sousa";
const THREAD: &str = "your_instagram_activity/messages/inbox/duartesousa_17845123456789012";

fn author(r: &Record) -> &hearth_vault::Person {
    r.data.author.as_ref().unwrap()
}

fn one<'a>(records: &'a [Record], needle: &str) -> &'a Record {
    let found = find(records, needle);
    assert_eq!(found.len(), 1, "{needle}");
    found[0]
}

fn check_messages(records: &[Record]) {
    assert_eq!(records.len(), 16);
    assert!(
        records
            .iter()
            .all(|r| r.data.source == "instagram" && r.data.kind == Kind::Message)
    );
    let by = |name: &str| records.iter().filter(|r| author(r).name == name).count();
    assert_eq!((by(MAYA), by(DUARTE)), (7, 9));
    assert!(
        records
            .iter()
            .all(|r| author(r).is_owner == (author(r).name == MAYA))
    );
    let conversation = records[0].data.conversation.as_ref().unwrap();
    assert_eq!(conversation.id, "duartesousa_17845123456789012");
    assert_eq!(conversation.name.as_deref(), Some(DUARTE));

    // The oldest message: a shared reel, newest-first order notwithstanding.
    let first = &records[0];
    assert_eq!(first.data.text, "Duarte sent an attachment.");
    assert_eq!(
        first.data.occurred_at.to_rfc3339(),
        "2025-04-05T21:12:40+01:00"
    );
    // `timestamp_ms` is UTC, shown in the --tz offset: exact instant, offset not the export's.
    assert!(records.iter().all(|r| r.data.offset_assumed));
    assert_eq!(
        first.data.metadata["share_link"],
        "https://www.instagram.com/reel/DIBq7mXsT2w/"
    );
    assert_eq!(
        first.data.metadata["share_text"],
        "Sintra boulders 🌲 dia perfeito"
    );
    assert_eq!(first.data.metadata["share_owner"], "duarte.sends");
    assert_eq!(
        records
            .iter()
            .filter(|r| r.data.metadata.contains_key("share_link"))
            .count(),
        1
    );

    // Mojibake repaired.
    assert!(records.iter().all(|r| !r.data.text.contains('Ã')));
    let epico = one(records, "ÉPICO");
    assert_eq!(epico.data.text, "ÉPICO 🔥🔥🔥 o heel hook!!");
    assert_eq!(epico.data.metadata["reactions"], "❤\u{fe0f} Maya Lindqvist");
    assert_eq!(
        one(records, "Só cortei a queda").data.metadata["reactions"],
        "😂 Maya Lindqvist"
    );
    assert_eq!(
        records
            .iter()
            .filter(|r| r.data.metadata.contains_key("reactions"))
            .count(),
        2
    );
    assert_eq!(
        one(records, "Sem ti").data.text,
        "Obrigada pelo beta do heel hook!! Sem ti não tinha saído"
    );
    assert_eq!(one(records, "Liked a message").data.text, "Liked a message");

    // One photo-only and one video-only message.
    let media: Vec<&Record> = records
        .iter()
        .filter(|r| !r.data.attachments.is_empty())
        .collect();
    assert_eq!(media.len(), 2);
    assert!(media.iter().all(|r| r.data.text.is_empty()));
    assert_eq!(media[0].data.attachments[0].name, "18042231877520113.mp4");
    assert_eq!(
        media[0].data.attachments[0].mime.as_deref(),
        Some("video/mp4")
    );
    assert_eq!(author(media[0]).name, MAYA);
    assert_eq!(media[1].data.attachments[0].name, "18311093458204417.jpg");
    assert_eq!(author(media[1]).name, DUARTE);
}

#[test]
fn export_folder_counts_authors_times_and_repairs_text() {
    let (_tmp, mut vault) = vault();
    let opts = options("Europe/Lisbon", &[MAYA]);
    let summary = run(&mut vault, &examples().join("instagram"), &opts);
    assert_eq!(
        (
            summary.format,
            summary.imported,
            summary.duplicates,
            summary.skipped
        ),
        ("instagram", 16, 0, 0),
        "{summary:?}"
    );
    check_messages(&records(&vault));
    let again = run(&mut vault, &examples().join("instagram"), &opts);
    assert_eq!((again.imported, again.duplicates), (0, 16));
}

#[test]
fn zip_with_profile_media_and_posts() {
    let (tmp, mut vault) = vault();
    let dir = tmp.path().join("instagram-mayalindq-2026-06-14");
    copy_dir(&examples().join("instagram"), &dir);
    // The video is in this export; the photo is not.
    let video = dir.join(THREAD).join("videos/18042231877520113.mp4");
    std::fs::create_dir_all(video.parent().unwrap()).unwrap();
    std::fs::write(&video, b"MP4-HEEL-HOOK").unwrap();
    // The profile names the owner, so no --me is needed.
    let profile = dir.join("personal_information/personal_information/personal_information.json");
    std::fs::create_dir_all(profile.parent().unwrap()).unwrap();
    std::fs::write(
        &profile,
        r#"{"profile_user": [{"media_map_data": {}, "string_map_data": {
            "Email": {"href": "", "value": "maya.lindqvist@gmail.com", "timestamp": 0},
            "Username": {"href": "", "value": "maya.climbs", "timestamp": 0},
            "Name": {"href": "", "value": "Maya Lindqvist", "timestamp": 0}}}]}"#,
    )
    .unwrap();
    let posts = dir.join("your_instagram_activity/media/posts_1.json");
    std::fs::create_dir_all(posts.parent().unwrap()).unwrap();
    std::fs::write(
        &posts,
        r#"[{"media": [{"uri": "media/posts/202602/18070000000000001.jpg",
            "creation_timestamp": 1770549000, "title": "Lila taket \u00e2\u009c\u0094\u00ef\u00b8\u008f 7a"}]}]"#,
    )
    .unwrap();
    let archive = tmp.path().join("instagram.zip");
    zip_dir(&dir, &archive);
    let opts = options("Europe/Lisbon", &[]);
    let summary = run(&mut vault, &archive, &opts);
    assert_eq!(
        (summary.format, summary.imported, summary.attachments),
        ("instagram", 17, 1),
        "{summary:?}"
    );
    let records = records(&vault);
    let post = records.iter().find(|r| r.data.kind == Kind::Post).unwrap();
    assert_eq!(post.data.text, "Lila taket ✔\u{fe0f} 7a");
    assert_eq!(author(post).handle.as_deref(), Some("maya.climbs"));
    assert!(author(post).is_owner);
    assert_eq!(post.data.attachments[0].name, "18070000000000001.jpg");
    let messages: Vec<Record> = records
        .iter()
        .filter(|r| r.data.kind == Kind::Message)
        .cloned()
        .collect();
    check_messages(&messages);
    let video = messages
        .iter()
        .flat_map(|r| &r.data.attachments)
        .find(|a| a.name == "18042231877520113.mp4")
        .unwrap();
    let mut bytes = Vec::new();
    vault
        .read_blob(video.blob.as_ref().expect("stored"), &mut bytes)
        .unwrap();
    assert_eq!(bytes, b"MP4-HEEL-HOOK");
    let again = run(&mut vault, &archive, &opts);
    assert_eq!(
        (again.imported, again.duplicates, again.attachments),
        (0, 17, 0)
    );
}

#[test]
fn detection_tells_instagram_from_facebook_and_others() {
    let facebook = formats::by_name("facebook").unwrap();
    let instagram = formats::by_name("instagram").unwrap();
    let input = Input::open(&examples().join("instagram")).unwrap();
    assert!(instagram.detect(&input) >= 90);
    assert_eq!(facebook.detect(&input), 0);
    assert_eq!(
        hearth_connectors::import::detect(&input).map(|f| f.name()),
        Some("instagram")
    );
    // A lone thread file, by its content (media uris, reaction timestamps).
    let path = examples()
        .join("instagram")
        .join(THREAD)
        .join("message_1.json");
    let single = Input::open(&path).unwrap();
    assert!(instagram.detect(&single) > facebook.detect(&single));
    let (_tmp, mut vault) = vault();
    let summary = run(&mut vault, &path, &options("Europe/Lisbon", &[MAYA]));
    assert_eq!((summary.format, summary.imported), ("instagram", 16));
    for other in [
        "whatsapp",
        "whatsapp-ios",
        "telegram",
        "twitter",
        "facebook",
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
        assert_eq!(instagram.detect(&Input::open(&path).unwrap()), 0, "{other}");
    }
}

#[test]
fn other_inputs_are_refused_clearly() {
    let (_tmp, mut vault) = vault();
    let mut forced = options("UTC", &[]);
    forced.format = Some("instagram".into());
    let err = import(
        &mut vault,
        &examples().join("discord"),
        &forced,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("not a instagram export"), "{err}");
    assert!(records(&vault).is_empty());
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("message_1.json");
        std::fs::write(&path, &bytes).unwrap();
        let _ = import_as(&path, "instagram");
    }

    #[test]
    fn mutated_threads_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("export");
        copy_dir(&examples().join("instagram"), &dir);
        let path = dir.join(THREAD).join("message_1.json");
        let bytes = mutate_and_cut(std::fs::read(&path).unwrap(), &edits, cut);
        std::fs::write(&path, bytes).unwrap();
        let _ = import_as(&dir, "instagram");
    }
}
