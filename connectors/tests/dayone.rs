//! Day One: the sample persona's `Journal.json` as a folder and as the zip (with its photo),
//! zones (own, from the location, from --tz), Markdown escapes, moments, idempotence, damaged
//! entries, and arbitrary bytes.

mod support;

use hearth_connectors::import;
use proptest::prelude::*;
use support::*;

fn by_uuid<'a>(records: &'a [hearth_vault::Record], uuid: &str) -> &'a hearth_vault::Record {
    records
        .iter()
        .find(|r| r.data.external_id.as_deref() == Some(uuid))
        .unwrap_or_else(|| panic!("no entry {uuid}"))
}

fn check_sample(vault: &hearth_vault::Vault) {
    let records = records(vault);
    assert_eq!(records.len(), 14);
    assert!(
        records
            .iter()
            .all(|r| r.data.kind == hearth_vault::Kind::Journal)
    );
    assert!(records.iter().all(|r| {
        let a = r.data.author.as_ref().unwrap();
        a.is_owner && a.name == "Maya Lindqvist"
    }));
    assert!(
        records
            .iter()
            .all(|r| r.data.conversation.as_ref().unwrap().id == "Journal")
    );
    // The entry without timeZone: the instant is exact, the offset comes from its location.
    let goals = by_uuid(&records, "95ABD4AFB63AF5ED6F8C93463369580A");
    assert_eq!(
        goals.data.occurred_at.to_rfc3339(),
        "2025-01-01T11:20:05+00:00"
    );
    assert!(goals.data.offset_assumed);
    assert_eq!(goals.data.metadata["zone_source"], "location");
    // Day One's escapes are gone.
    assert_eq!(
        goals.data.text,
        "# 2025\n\nThree goals, written down so I can't pretend later:\n\n- Half marathon under 1:55 (Lisbon, 23 March)\n- Climb a 7a\n- Stop redesigning my portfolio every three weeks\n\nTwelve passas at midnight with Tiago's family. Four wishes went to the half marathon."
    );
    assert!(records.iter().all(|r| !r.data.text.contains('\\')));
    assert!(
        records
            .iter()
            .all(|r| !r.data.text.contains("dayone-moment"))
    );
    // The race: escape removed, the moment link turned into the photo attachment.
    let race = by_uuid(&records, "D6B2730909C46F0A32D8D6385421DB13");
    assert!(
        race.data
            .text
            .starts_with("# 1:54:08\n\nSub 1:55! Chip time 1:54:08")
    );
    assert!(
        race.data
            .text
            .ends_with("Tiago's glitter sign is going on the fridge.")
    );
    assert_eq!(
        race.data.occurred_at.to_rfc3339(),
        "2025-03-23T21:07:00+00:00"
    );
    assert!(!race.data.offset_assumed);
    assert_eq!(race.data.attachments.len(), 1);
    assert_eq!(
        race.data.attachments[0].name,
        "e8c4ecc94f95e5b20493b56e24bcb09f.jpeg"
    );
    assert_eq!(race.data.attachments[0].mime.as_deref(), Some("image/jpeg"));
    assert_eq!(race.data.metadata["tags"], "running, milestone");
    assert_eq!(race.data.metadata["place"], "Mosteiro dos Jerónimos");
    assert_eq!(race.data.metadata["weather"], "Partly Cloudy");
    assert_eq!(race.data.metadata["temperature_c"], "17.4");
    // Gothenburg: the entry's own zone, summer and winter.
    let wedding = by_uuid(&records, "45D286896ABC57889DCC696E289E1F34");
    assert_eq!(
        wedding.data.occurred_at.to_rfc3339(),
        "2025-08-16T23:58:12+02:00"
    );
    assert!(
        wedding
            .data
            .text
            .contains("\n- Heels on the jetty: regretted it")
    );
    assert_eq!(wedding.data.metadata["timezone"], "Europe/Stockholm");
    let christmas = by_uuid(&records, "8E5A35559E5B3C293CDF1660F1C5AA89");
    assert_eq!(
        christmas.data.occurred_at.to_rfc3339(),
        "2025-12-24T22:10:30+01:00"
    );
    // Lisbon summer.
    let keys = by_uuid(&records, "216EDF4CE4AE5BA81B80D8E7E635F2B7");
    assert_eq!(
        keys.data.occurred_at.to_rfc3339(),
        "2025-05-28T19:15:40+01:00"
    );
    let count = |key: &str| {
        records
            .iter()
            .filter(|r| r.data.metadata.contains_key(key))
            .count()
    };
    assert_eq!((count("starred"), count("weather")), (3, 3));
    assert_eq!(
        records
            .iter()
            .filter(|r| !r.data.attachments.is_empty())
            .count(),
        1
    );
    assert_eq!(records.iter().filter(|r| r.data.offset_assumed).count(), 1);
}

#[test]
fn sample_journal_folder() {
    let (_tmp, mut vault) = vault();
    // --tz is far from Lisbon: only a zone-less entry without a location would use it.
    let opts = options("America/New_York", &["Maya Lindqvist"]);
    let summary = run(&mut vault, &examples().join("dayone"), &opts);
    assert_eq!(
        (
            summary.format,
            summary.imported,
            summary.duplicates,
            summary.skipped,
            summary.attachments
        ),
        ("dayone", 14, 0, 0, 0),
        "{summary:?}"
    );
    check_sample(&vault);
    let again = run(&mut vault, &examples().join("dayone"), &opts);
    assert_eq!((again.imported, again.duplicates), (0, 14));
}

#[test]
fn sample_journal_zip_with_its_photo() {
    let (tmp, mut vault) = vault();
    let dir = tmp.path().join("export");
    std::fs::create_dir_all(dir.join("photos")).unwrap();
    std::fs::copy(
        examples().join("dayone/Journal.json"),
        dir.join("Journal.json"),
    )
    .unwrap();
    std::fs::write(
        dir.join("photos/e8c4ecc94f95e5b20493b56e24bcb09f.jpeg"),
        b"\xFF\xD8DAYONE-CANARY",
    )
    .unwrap();
    let archive = tmp.path().join("Export-Journal.zip");
    zip_dir(&dir, &archive);
    let opts = options("Europe/Lisbon", &["Maya Lindqvist"]);
    let summary = run(&mut vault, &archive, &opts);
    assert_eq!(
        (summary.format, summary.imported, summary.attachments),
        ("dayone", 14, 1),
        "{summary:?}"
    );
    check_sample(&vault);
    let records = records(&vault);
    let race = by_uuid(&records, "D6B2730909C46F0A32D8D6385421DB13");
    let mut bytes = Vec::new();
    vault
        .read_blob(race.data.attachments[0].blob.as_ref().unwrap(), &mut bytes)
        .unwrap();
    assert_eq!(bytes, b"\xFF\xD8DAYONE-CANARY");
    let again = run(&mut vault, &archive, &opts);
    assert_eq!(
        (again.imported, again.duplicates, again.attachments),
        (0, 14, 0)
    );
    // The plain sample (same uuids) adds nothing either.
    let folder = run(&mut vault, &examples().join("dayone"), &opts);
    assert_eq!((folder.imported, folder.duplicates), (0, 14));
}

#[test]
fn damaged_entries_and_zone_fallbacks() {
    let (tmp, mut vault) = vault();
    let path = tmp.path().join("Travel.json");
    std::fs::write(
        &path,
        r#"{"metadata": {"version": "1.0"}, "entries": [
  {"uuid": "A", "creationDate": "2025-07-01T10:00:00Z", "text": "no zone, no place"},
  {"uuid": "B", "creationDate": "yesterday", "text": "bad date"},
  {"creationDate": "2025-07-01T10:00:00Z", "text": "no uuid"},
  7,
  {"uuid": "C", "creationDate": "2025-07-01T10:00:00Z", "timeZone": "Mars/Olympus", "text": "unknown zone \\(really\\)"},
  {"uuid": "D", "creationDate": "2025-07-01T10:00:00Z", "timeZone": "Asia/Tokyo"},
  {"uuid": "E", "creationDate": "2025-07-01T10:00:00Z", "timeZone": "Asia/Tokyo", "text": "![](dayone-moment:/video/V1)", "videos": [{"identifier": "V1", "md5": "abc", "type": "mov"}]}
]}"#,
    )
    .unwrap();
    let summary = run(&mut vault, &path, &options("Europe/Lisbon", &[]));
    assert_eq!(summary.format, "dayone");
    // A, C and E imported; B, the uuid-less one and 7 reported; D (empty) not imported.
    assert_eq!((summary.imported, summary.skipped), (3, 4), "{summary:?}");
    assert_eq!(summary.errors.len(), 3);
    assert!(
        summary.errors[0]
            .location
            .ends_with("Travel.json:entries[1]")
    );
    assert!(summary.errors[2].location.ends_with("entries[3]"));
    let records = records(&vault);
    let a = by_uuid(&records, "A");
    assert_eq!(a.data.occurred_at.to_rfc3339(), "2025-07-01T11:00:00+01:00");
    assert!(a.data.offset_assumed);
    assert_eq!(a.data.metadata["zone_source"], "tz");
    assert_eq!(a.data.author.as_ref().unwrap().name, "me");
    assert_eq!(a.data.conversation.as_ref().unwrap().id, "Travel");
    let c = by_uuid(&records, "C");
    assert_eq!(c.data.text, "unknown zone (really)");
    assert_eq!(c.data.metadata["timezone_unknown"], "Mars/Olympus");
    let e = by_uuid(&records, "E");
    assert_eq!(e.data.occurred_at.to_rfc3339(), "2025-07-01T19:00:00+09:00");
    assert_eq!(e.data.text, "");
    assert_eq!(e.data.attachments[0].name, "abc.mov");
    assert_eq!(
        e.data.attachments[0].mime.as_deref(),
        Some("video/quicktime")
    );
}

#[test]
fn other_json_is_not_claimed() {
    let (tmp, mut vault) = vault();
    let mut forced = options("UTC", &[]);
    forced.format = Some("dayone".into());
    let err = import(&mut vault, &examples().join("slack"), &forced, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("not a dayone export"), "{err}");
    let other = tmp.path().join("Journal.json");
    std::fs::write(&other, r#"{"title": "not day one", "items": []}"#).unwrap();
    assert!(import(&mut vault, &other, &options("UTC", &[]), &mut |_| {}).is_err());
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000), prefix in any::<bool>()) {
        let (tmp, mut vault) = vault();
        let path = tmp.path().join("Journal.json");
        let mut content = if prefix { br#"{"entries": [{"uuid": "x", "creationDate": ""#.to_vec() } else { Vec::new() };
        content.extend(bytes);
        std::fs::write(&path, &content).unwrap();
        let mut opts = options("Europe/Lisbon", &[]);
        opts.format = Some("dayone".into());
        let _ = import(&mut vault, &path, &opts, &mut |_| {});
    }

    #[test]
    fn mutated_sample_never_panics(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..20), text in "[-\\\\!()\\[\\]a-z:/ ]{0,60}") {
        let (tmp, mut vault) = vault();
        let dir = tmp.path().join("export");
        std::fs::create_dir_all(&dir).unwrap();
        let mut bytes = std::fs::read(examples().join("dayone/Journal.json")).unwrap();
        mutate(&mut bytes, &edits);
        std::fs::write(dir.join("Journal.json"), bytes).unwrap();
        let json = serde_json::json!({"entries": [{"uuid": "u", "creationDate": "2025-01-01T00:00:00Z", "text": text, "photos": [{"identifier": "x", "md5": "y"}]}]});
        std::fs::write(dir.join("Other.json"), json.to_string()).unwrap();
        let mut opts = options("Europe/Lisbon", &[]);
        opts.format = Some("dayone".into());
        let _ = import(&mut vault, &dir, &opts, &mut |_| {});
    }
}
