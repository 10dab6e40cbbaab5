//! Reddit: the sample persona's GDPR export (posts, comments, messages), quoting, removed
//! comments, replies, the folder and the zip, idempotence, YouTube's look-alike comments.csv,
//! bad rows, and arbitrary bytes.

mod support;

use hearth_connectors::import;
use hearth_vault::{Kind, Record};
use proptest::prelude::*;
use support::*;

fn of_kind(records: &[Record], kind: Kind) -> Vec<&Record> {
    records.iter().filter(|r| r.data.kind == kind).collect()
}

fn by_id<'a>(records: &'a [Record], id: &str) -> &'a Record {
    records
        .iter()
        .find(|r| r.data.external_id.as_deref() == Some(id))
        .unwrap_or_else(|| panic!("no record {id}"))
}

#[test]
fn export_counts_kinds_texts_and_threads() {
    let (_tmp, mut vault) = vault();
    let summary = run(
        &mut vault,
        &examples().join("reddit"),
        &options("Europe/Lisbon", &[]),
    );
    assert_eq!(
        (
            summary.format,
            summary.imported,
            summary.duplicates,
            summary.skipped
        ),
        ("reddit", 22, 0, 0),
        "{summary:?}"
    );
    let records = records(&vault);
    assert!(records.iter().all(|r| r.data.source == "reddit"));
    // UTC instants shown in the --tz offset: the offset is not the export's, so it is marked.
    assert!(records.iter().all(|r| r.data.offset_assumed));
    let posts = of_kind(&records, Kind::Post);
    let comments = of_kind(&records, Kind::Comment);
    let messages = of_kind(&records, Kind::Message);
    assert_eq!((posts.len(), comments.len(), messages.len()), (6, 12, 4));

    // The owner's name comes from the messages (in every one's from or to).
    for r in posts.iter().chain(&comments) {
        let author = r.data.author.as_ref().unwrap();
        assert_eq!(
            (author.name.as_str(), author.is_owner),
            ("pimenta_and_pixels", true)
        );
    }

    // A multi-line self post with doubled quotes; UTC shown in Lisbon's offset (winter: +00:00).
    let race = by_id(&records, "t3_1jhz4qk");
    assert_eq!(
        race.data.occurred_at.to_rfc3339(),
        "2025-03-23T19:40:12+00:00"
    );
    assert_eq!(race.data.conversation.as_ref().unwrap().id, "r/running");
    assert!(race.data.text.starts_with(
        "Race report: Lisbon half, 1:54:08 (goal sub 1:55) - the bridge, the wind and the pastéis\n\n**Race:** Lisbon half marathon, 23 March 2025\n**Goal:** sub 1:55\n"
    ));
    assert!(
        race.data
            .text
            .contains("who is much faster than me and \"just jogging\". Peak long run was 19k.")
    );
    assert!(
        race.data
            .text
            .ends_with("3. Pastéis de nata are an acceptable recovery food, I checked.")
    );
    // Summer: +01:00.
    let move_post = by_id(&records, "t3_1kb2m7d");
    assert_eq!(
        move_post.data.occurred_at.to_rfc3339(),
        "2025-04-30T12:05:44+01:00"
    );
    // The link post: title and link.
    let link = by_id(&records, "t3_1kx9f3r");
    assert_eq!(
        link.data.text,
        "Leaving a travel startup for health-tech after 3.5 years: what I wish I'd known about giving notice\n\nhttps://mayalindqvist.design/notes/giving-notice"
    );
    assert_eq!(
        link.data.metadata.get("url").map(String::as_str),
        Some("https://mayalindqvist.design/notes/giving-notice")
    );
    let multi_line = posts
        .iter()
        .filter(|p| p.data.text.matches('\n').count() > 2)
        .count();
    assert_eq!(multi_line, 5);

    // Comments: 7 replies to comments, 5 top-level (replying to the post from `link`), and one
    // removed (kept, without text).
    let replies = comments
        .iter()
        .filter(|c| {
            c.data
                .reply_to
                .as_deref()
                .is_some_and(|r| r.starts_with("t1_"))
        })
        .count();
    let top = comments
        .iter()
        .filter(|c| {
            c.data
                .reply_to
                .as_deref()
                .is_some_and(|r| r.starts_with("t3_"))
        })
        .count();
    assert_eq!((replies, top), (7, 5));
    let reply = by_id(&records, "t1_mk9z2hd");
    assert_eq!(reply.data.reply_to.as_deref(), Some("t1_mk9y8v1"));
    assert_eq!(
        reply.data.text,
        "Thank you! And yes, the bridge start is brutal, half the field went out at 10k pace."
    );
    let taper = by_id(&records, "t1_mk3a1p0");
    assert_eq!(taper.data.reply_to.as_deref(), Some("t3_1j6x0aq"));
    let removed = by_id(&records, "t1_nr8m0v3");
    assert_eq!(removed.data.text, "");
    assert_eq!(
        removed.data.metadata.get("removed").map(String::as_str),
        Some("removed")
    );
    assert_eq!(
        removed.data.conversation.as_ref().unwrap().id,
        "r/FigmaDesign"
    );
    let gels = by_id(&records, "t1_mka0c3u");
    assert_eq!(
        gels.data.text,
        "Gels: I used the \"orange\" ones from the race, which taste like an orange described to someone over the phone. Still worked."
    );
    assert_eq!(
        gels.data.occurred_at.to_rfc3339(),
        "2025-03-23T20:12:30+00:00"
    );

    // Messages: 2 threads of 2.
    let threads: std::collections::BTreeMap<&str, usize> =
        messages.iter().fold(Default::default(), |mut acc, m| {
            *acc.entry(m.data.conversation.as_ref().unwrap().id.as_str())
                .or_default() += 1;
            acc
        });
    assert_eq!(
        threads.into_iter().collect::<Vec<_>>(),
        [("t4_2mq8x1k", 2), ("t4_2w1k7d3", 2)]
    );
    let answer = by_id(&records, "t4_2mq9a0b");
    let author = answer.data.author.as_ref().unwrap();
    assert_eq!(
        (author.name.as_str(), author.is_owner),
        ("pimenta_and_pixels", true)
    );
    assert_eq!(answer.data.reply_to.as_deref(), Some("t4_2mq8x1k"));
    assert_eq!(
        answer.data.conversation.as_ref().unwrap().name.as_deref(),
        Some("your race report")
    );
    assert_eq!(
        answer.data.metadata.get("subject").map(String::as_str),
        Some("re: your race report")
    );
    let question = by_id(&records, "t4_2mq8x1k");
    assert!(!question.data.author.as_ref().unwrap().is_owner);
    assert_eq!(question.data.participants.len(), 2);
    assert_eq!(
        question.data.occurred_at.to_rfc3339(),
        "2025-03-24T10:02:00+00:00"
    );
}

#[test]
fn zip_and_reimport_add_nothing_twice() {
    let (tmp, mut vault) = vault();
    let archive = tmp.path().join("export_pimenta_and_pixels_20260620.zip");
    zip_dir(&examples().join("reddit"), &archive);
    let opts = options("UTC", &[]);
    let summary = run(&mut vault, &archive, &opts);
    assert_eq!((summary.format, summary.imported), ("reddit", 22));
    let again = run(&mut vault, &examples().join("reddit"), &opts);
    assert_eq!((again.imported, again.duplicates), (0, 22));
    // A single file works too, and adds nothing new.
    let posts = run(&mut vault, &examples().join("reddit/posts.csv"), &opts);
    assert_eq!((posts.format, posts.duplicates), ("reddit", 6));
    assert_eq!(records(&vault).len(), 22);
}

#[test]
fn youtube_comments_csv_is_not_claimed() {
    let (tmp, mut vault) = vault();
    let dir = tmp
        .path()
        .join("Takeout/YouTube and YouTube Music/comments");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("comments.csv"),
        "Comment ID,Channel ID,Comment Create Timestamp,Price,Parent Comment ID,Post ID,Video ID,Comment Text,Top-level Comment ID\nUgx1,UC1,2025-03-23T19:40:12.000+00:00,0,,,dQw4w9WgXcQ,\"{\"\"text\"\":\"\"nice\"\"}\",\n",
    )
    .unwrap();
    let err = import(
        &mut vault,
        &tmp.path().join("Takeout"),
        &options("UTC", &[]),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("not an export Hearth knows"),
        "{err}"
    );
    let mut forced = options("UTC", &[]);
    forced.format = Some("reddit".into());
    let err = import(
        &mut vault,
        &tmp.path().join("Takeout"),
        &forced,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("not a reddit export"), "{err}");
}

#[test]
fn bad_rows_are_reported_with_their_line_and_deleted_bodies_marked() {
    let (tmp, mut vault) = vault();
    let path = tmp.path().join("comments.csv");
    std::fs::write(
        &path,
        concat!(
            "\u{FEFF}id,permalink,date,ip,subreddit,gildings,link,parent,body,media\n",
            "a1,https://www.reddit.com/r/x/comments/p1/t/a1/,2025-01-01 10:00:00 UTC,,x,0,https://www.reddit.com/r/x/comments/p1/t/,,\"two\nlines\",\n",
            "a2,https://www.reddit.com/r/x/comments/p1/t/a2/,yesterday,,x,0,https://www.reddit.com/r/x/comments/p1/t/,,bad date,\n",
            ",https://www.reddit.com/r/x/comments/p1/t/a3/,2025-01-01 10:00:00 UTC,,x,0,,,no id,\n",
            "a4,https://www.reddit.com/r/x/comments/p1/t/a4/,2025-01-02 10:00:00 UTC,,x,0,https://www.reddit.com/r/x/comments/p1/t/,a1,[deleted],\n",
        ),
    )
    .unwrap();
    let summary = run(&mut vault, &path, &options("UTC", &["me_on_reddit"]));
    assert_eq!((summary.imported, summary.skipped), (2, 2), "{summary:?}");
    let locations: Vec<&str> = summary.errors.iter().map(|e| e.location.as_str()).collect();
    assert!(locations[0].ends_with("comments.csv:4"), "{locations:?}");
    assert!(locations[1].ends_with("comments.csv:5"), "{locations:?}");
    assert_eq!(summary.errors[0].reason, "unreadable date \"yesterday\"");
    let records = records(&vault);
    assert_eq!(records[0].data.text, "two\nlines");
    assert_eq!(
        records[0].data.author.as_ref().unwrap().name,
        "me_on_reddit"
    );
    assert_eq!(
        records[1].data.metadata.get("removed").map(String::as_str),
        Some("deleted")
    );
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000), header in 0..4usize) {
        let (tmp, mut vault) = vault();
        let path = tmp.path().join("comments.csv");
        let mut content = [
            "",
            "id,permalink,date,ip,subreddit,gildings,title,url,body\n",
            "id,permalink,date,ip,subreddit,gildings,link,parent,body,media\n",
            "id,permalink,thread_id,date,ip,from,to,subject,body\n",
        ][header].as_bytes().to_vec();
        content.extend(bytes);
        std::fs::write(&path, &content).unwrap();
        let mut opts = options("UTC", &[]);
        opts.format = Some("reddit".into());
        let _ = import(&mut vault, &path, &opts, &mut |_| {});
    }

    #[test]
    fn mutated_real_export_never_panics(edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..30), file in 0..3usize) {
        let (tmp, mut vault) = vault();
        let name = ["posts.csv", "comments.csv", "messages.csv"][file];
        let data = edit(&std::fs::read(examples().join("reddit").join(name)).unwrap(), &edits);
        let path = tmp.path().join(name);
        std::fs::write(&path, &data).unwrap();
        let mut opts = options("UTC", &[]);
        opts.format = Some("reddit".into());
        let _ = import(&mut vault, &path, &opts, &mut |_| {});
    }
}
