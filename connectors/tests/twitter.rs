//! X (Twitter): the sample persona's archive (folder and zip), tweets, DMs and group DMs, the
//! owner from `account.js`, media from `tweets_media`, old bare tweet objects, damaged files,
//! detection against the other samples, and arbitrary bytes.

mod support;

use hearth_connectors::{Input, formats, import};
use hearth_vault::{Kind, Record};
use proptest::prelude::*;
use support::*;

const MAYA: &str = "Maya Lindqvist";
const INES_DM: &str = "1029294739813302279-1130543749395382273";
const GYM_DM: &str = "1029294739813302279-1228333070545846276";
const GROUP: &str = "1954271483786166274";

fn by_external<'a>(records: &'a [Record], id: &str) -> &'a Record {
    records
        .iter()
        .find(|r| r.data.external_id.as_deref() == Some(id))
        .unwrap_or_else(|| panic!("no record {id}"))
}

fn author(r: &Record) -> &hearth_vault::Person {
    r.data.author.as_ref().unwrap()
}

fn in_conversation<'a>(records: &'a [Record], id: &str) -> Vec<&'a Record> {
    records
        .iter()
        .filter(|r| r.data.conversation.as_ref().is_some_and(|c| c.id == id))
        .collect()
}

fn count_by(records: &[&Record], name: &str) -> usize {
    records.iter().filter(|r| author(r).name == name).count()
}

fn check_sample(records: &[Record]) {
    assert_eq!(records.len(), 48);
    assert!(records.iter().all(|r| r.data.source == "twitter"));
    // UTC instants shown in the --tz offset: the offset is not the export's, so it is marked.
    assert!(records.iter().all(|r| r.data.offset_assumed));

    // Tweets: the owner's posts.
    let tweets: Vec<&Record> = records
        .iter()
        .filter(|r| r.data.kind == Kind::Post)
        .collect();
    assert_eq!(tweets.len(), 32);
    assert!(tweets.iter().all(|r| {
        let a = author(r);
        a.name == MAYA && a.handle.as_deref() == Some("mayalindq") && a.is_owner
    }));
    let retweets: Vec<&&Record> = tweets
        .iter()
        .filter(|r| r.data.metadata.get("retweet").map(String::as_str) == Some("true"))
        .collect();
    assert_eq!(retweets.len(), 1);
    assert!(
        retweets[0]
            .data
            .text
            .starts_with("RT @noorhaddad_cph: Research tip")
    );
    assert_eq!(retweets[0].data.metadata["retweet_of"], "noorhaddad_cph");
    let replies: Vec<&&Record> = tweets
        .iter()
        .filter(|r| r.data.reply_to.is_some())
        .collect();
    assert_eq!(replies.len(), 4);
    // One reply is to her own tweet, which is in the archive.
    let thanks = by_external(records, "1903802166145974317");
    assert_eq!(thanks.data.reply_to.as_deref(), Some("1903801604109238316"));
    let race = by_external(records, "1903801604109238316");
    assert_eq!(
        race.data.occurred_at.to_rfc3339(),
        "2025-03-23T13:30:48+00:00"
    );
    assert!(race.data.text.starts_with("Lisbon half marathon: 1:54:08."));
    assert_eq!(race.data.attachments.len(), 1);
    assert_eq!(race.data.attachments[0].name, "GmQSNEh5WRv.jpg");
    assert_eq!(
        tweets
            .iter()
            .filter(|r| !r.data.attachments.is_empty())
            .count(),
        1
    );
    // HTML entities unescaped.
    let tejo = by_external(records, "1889280231601078314");
    assert_eq!(
        tejo.data.text,
        "16k along the Tejo this morning & I only complained for 15 of them. #running"
    );
    let gym = find(records, "please never take it down");
    assert_eq!(
        gym[0].data.text,
        "@blocoalcantara thank you for setting it <3 please never take it down"
    );
    assert_eq!(gym[0].data.metadata["in_reply_to"], "blocoalcantara");
    // The t.co link and its expansion.
    let linked: Vec<&&Record> = tweets
        .iter()
        .filter(|r| r.data.metadata.contains_key("links"))
        .collect();
    assert_eq!(linked.len(), 1);
    assert_eq!(
        linked[0].data.metadata["links"],
        "https://t.co/TiPUInnDX3 https://mayalindqvist.design/notes/focus-states"
    );
    // The Portuguese one, in summer time.
    let pt: Vec<&&Record> = tweets
        .iter()
        .filter(|r| r.data.metadata.get("lang").map(String::as_str) == Some("pt"))
        .collect();
    assert_eq!(pt.len(), 1);
    assert!(
        pt[0]
            .data
            .text
            .starts_with("Noite de Santo António: sardinhas")
    );
    assert_eq!(
        pt[0].data.occurred_at.to_rfc3339(),
        "2026-06-13T11:05:17+01:00"
    );

    // Direct messages, named from account.js and the tweets' mentions.
    let messages: Vec<&Record> = records
        .iter()
        .filter(|r| r.data.kind == Kind::Message)
        .collect();
    assert_eq!(messages.len(), 16);
    assert!(
        messages
            .iter()
            .all(|r| author(r).is_owner == (author(r).name == MAYA))
    );
    let ines = in_conversation(records, INES_DM);
    assert_eq!(ines.len(), 8);
    assert_eq!(
        (count_by(&ines, MAYA), count_by(&ines, "Inês Carvalho")),
        (4, 4)
    );
    let ines_person = ines
        .iter()
        .map(|r| author(r))
        .find(|a| !a.is_owner)
        .unwrap();
    assert_eq!(ines_person.handle.as_deref(), Some("inescarvalho_art"));
    assert_eq!(
        ines[0].data.conversation.as_ref().unwrap().name.as_deref(),
        Some("Inês Carvalho")
    );
    assert_eq!(ines[0].data.participants.len(), 2);
    let bloco = in_conversation(records, GYM_DM);
    assert_eq!(bloco.len(), 3);
    assert_eq!(
        (count_by(&bloco, MAYA), count_by(&bloco, "Bloco Alcântara")),
        (2, 1)
    );
    let group = in_conversation(records, GROUP);
    assert_eq!(group.len(), 5);
    assert_eq!(
        (
            count_by(&group, MAYA),
            count_by(&group, "Noor Haddad"),
            count_by(&group, "Inês Carvalho")
        ),
        (2, 2, 1)
    );
    assert_eq!(
        group[0].data.conversation.as_ref().unwrap().name.as_deref(),
        Some("speech help 🥂")
    );
    assert_eq!(group[0].data.participants.len(), 3);
    let cried = by_external(records, "1956853266641846297");
    assert_eq!(cried.data.text, "4 minutes 40. Everyone cried. Perfect.");
    assert_eq!(
        cried.data.occurred_at.to_rfc3339(),
        "2025-08-16T23:59:10.925+01:00"
    );
    let reacted: Vec<&&Record> = messages
        .iter()
        .filter(|r| r.data.metadata.contains_key("reactions"))
        .collect();
    assert_eq!(reacted.len(), 1);
    assert_eq!(
        reacted[0].data.metadata["reactions"],
        "funny Maya Lindqvist"
    );
    let dm_links: Vec<&&Record> = messages
        .iter()
        .filter(|r| r.data.metadata.contains_key("links"))
        .collect();
    assert_eq!(dm_links.len(), 1);
    assert!(
        dm_links[0].data.metadata["links"].contains("https://www.instagram.com/p/DF7xq2aNm4K/")
    );
    let speech = find(records, "Wedding speech draft");
    assert!(
        speech[0]
            .data
            .text
            .contains("\n1) a joke about her stealing my clothes\n")
    );
}

#[test]
fn archive_folder_counts_authors_times_and_metadata() {
    let (_tmp, mut vault) = vault();
    // No --me: the owner comes from account.js.
    let opts = options("Europe/Lisbon", &[]);
    let summary = run(&mut vault, &examples().join("twitter"), &opts);
    assert_eq!(
        (
            summary.format,
            summary.imported,
            summary.duplicates,
            summary.skipped
        ),
        ("twitter", 48, 0, 2),
        "{summary:?}"
    );
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    check_sample(&records(&vault));
    let again = run(&mut vault, &examples().join("twitter"), &opts);
    assert_eq!(
        (again.imported, again.duplicates, again.skipped),
        (0, 48, 2)
    );
}

#[test]
fn zip_with_tweet_media_stores_the_photo() {
    let (tmp, mut vault) = vault();
    let dir = tmp.path().join("twitter-2026-06-14");
    copy_dir(&examples().join("twitter"), &dir);
    std::fs::create_dir_all(dir.join("data/tweets_media")).unwrap();
    std::fs::write(
        dir.join("data/tweets_media/1903801604109238316-GmQSNEh5WRv.jpg"),
        b"\xFF\xD8FINISH-LINE",
    )
    .unwrap();
    let archive = tmp.path().join("twitter-2026-06-14.zip");
    zip_dir(&dir, &archive);
    let opts = options("Europe/Lisbon", &[]);
    let summary = run(&mut vault, &archive, &opts);
    assert_eq!(
        (
            summary.format,
            summary.imported,
            summary.skipped,
            summary.attachments
        ),
        ("twitter", 48, 2, 1),
        "{summary:?}"
    );
    let records = records(&vault);
    check_sample(&records);
    let race = by_external(&records, "1903801604109238316");
    let blob = race.data.attachments[0].blob.clone().expect("stored");
    let mut bytes = Vec::new();
    vault.read_blob(&blob, &mut bytes).unwrap();
    assert_eq!(bytes, b"\xFF\xD8FINISH-LINE");
    assert_eq!(race.data.attachments[0].mime.as_deref(), Some("image/jpeg"));
    let again = run(&mut vault, &archive, &opts);
    assert_eq!(
        (again.imported, again.duplicates, again.attachments),
        (0, 48, 0)
    );
}

#[test]
fn old_bare_tweets_without_account_use_me_and_bad_items_are_reported() {
    let (tmp, mut vault) = vault();
    let dir = tmp.path().join("old");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(
        dir.join("data/tweet.js"),
        r#"window.YTD.tweet.part0 = [ {
  "id_str" : "1100000000000000000", "id" : "1100000000000000000",
  "created_at" : "Mon Feb 25 10:00:00 +0000 2019",
  "full_text" : "old &amp; bare", "entities" : { "urls" : [ { "url" : "https://t.co/x" } ] }
}, {
  "id_str" : "1100000000000000001", "created_at" : "not a date", "full_text" : "broken"
}, 42 ]"#,
    )
    .unwrap();
    let summary = run(&mut vault, &dir, &options("UTC", &["maya"]));
    assert_eq!((summary.imported, summary.skipped), (1, 2), "{summary:?}");
    assert!(
        summary.errors[0].location.ends_with("tweet.js:$[1]"),
        "{:?}",
        summary.errors
    );
    assert!(
        summary.errors[1].location.ends_with("tweet.js:$[2]"),
        "{:?}",
        summary.errors
    );
    let records = records(&vault);
    assert_eq!(records[0].data.text, "old & bare");
    assert_eq!(author(&records[0]).name, "maya");
    assert!(author(&records[0]).is_owner);
    assert_eq!(records[0].data.metadata["links"], "https://t.co/x");
}

#[test]
fn a_damaged_file_keeps_what_came_before_the_damage() {
    let (tmp, mut vault) = vault();
    let dir = tmp.path().join("cut");
    copy_dir(&examples().join("twitter"), &dir);
    let tweets = std::fs::read_to_string(dir.join("data/tweets.js")).unwrap();
    let cut = tweets
        .match_indices("\"tweet\" :")
        .nth(10)
        .map(|(i, _)| i)
        .unwrap();
    std::fs::write(dir.join("data/tweets.js"), &tweets[..cut + 3]).unwrap();
    let summary = run(&mut vault, &dir, &options("UTC", &[]));
    // Ten tweets, then all the DMs.
    assert_eq!(summary.imported, 10 + 16, "{summary:?}");
    assert_eq!(summary.errors.len(), 1, "{:?}", summary.errors);
    assert!(summary.errors[0].location.ends_with("tweets.js:$[10]"));
}

#[test]
fn detection_claims_only_twitter_archives() {
    let twitter = formats::by_name("twitter").unwrap();
    let input = Input::open(&examples().join("twitter")).unwrap();
    assert!(twitter.detect(&input) >= 90);
    assert_eq!(
        hearth_connectors::import::detect(&input).map(|f| f.name()),
        Some("twitter")
    );
    let single = Input::open(&examples().join("twitter/data/tweets.js")).unwrap();
    assert!(twitter.detect(&single) >= 90);
    for other in [
        "whatsapp",
        "whatsapp-ios",
        "telegram",
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
        assert_eq!(twitter.detect(&Input::open(&path).unwrap()), 0, "{other}");
    }
}

#[test]
fn other_files_are_refused_clearly() {
    let (tmp, mut vault) = vault();
    let mut forced = options("UTC", &[]);
    forced.format = Some("twitter".into());
    let err = import(
        &mut vault,
        &examples().join("telegram"),
        &forced,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("not a twitter export"), "{err}");
    let path = tmp.path().join("tweets.js");
    std::fs::write(&path, "window.YTD.tweets.part0 = {\"no\": 1}").unwrap();
    let err = import(&mut vault, &path, &forced, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("not a twitter export"), "{err}");
    assert!(records(&vault).is_empty());
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000), prefix in any::<bool>()) {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("tweets.js");
        let mut content = if prefix { b"window.YTD.tweets.part0 = ".to_vec() } else { Vec::new() };
        content.extend(bytes);
        std::fs::write(&path, &content).unwrap();
        let _ = import_as(&path, "twitter");
    }

    #[test]
    fn mutated_archives_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        file in 0usize..4,
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("archive");
        copy_dir(&examples().join("twitter"), &dir);
        let name = ["tweets.js", "direct-messages.js", "direct-messages-group.js", "account.js"][file];
        let path = dir.join("data").join(name);
        let bytes = mutate_and_cut(std::fs::read(&path).unwrap(), &edits, cut);
        std::fs::write(&path, bytes).unwrap();
        let _ = import_as(&dir, "twitter");
    }
}
