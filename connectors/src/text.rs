//! Text repairs shared by the formats: byte-order marks, invisible direction marks, and Meta's
//! mojibake.

/// Decodes bytes as UTF-8, dropping a leading byte-order mark; invalid sequences become U+FFFD.
pub fn decode_utf8(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    String::from_utf8_lossy(bytes).into_owned()
}

/// `reader` with a leading UTF-8 byte-order mark dropped, for parsers that stream a file
/// (`serde_json::Deserializer::from_reader`) instead of decoding it whole.
pub fn skip_bom<R: std::io::Read>(
    mut reader: R,
) -> std::io::Result<std::io::Chain<std::io::Cursor<Vec<u8>>, R>> {
    let mut head = Vec::with_capacity(3);
    while head.len() < 3 {
        let mut byte = [0u8; 1];
        match reader.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => head.push(byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        if head[..] != b"\xEF\xBB\xBF"[..head.len()] {
            break;
        }
    }
    if head == b"\xEF\xBB\xBF" {
        head.clear();
    }
    Ok(std::io::Read::chain(std::io::Cursor::new(head), reader))
}

/// Removes the invisible marks phones put into exported text (left-to-right and right-to-left
/// marks, and the BOM anywhere) and turns narrow no-break spaces (U+202F, before AM/PM) and
/// no-break spaces into plain spaces.
pub fn clean_marks(text: &str) -> String {
    clean_marks_borrowed(text).into_owned()
}

/// [`clean_marks`] without a copy when there is nothing to clean (the common case, checked on
/// the UTF-8 bytes of the five characters it removes or replaces).
pub fn clean_marks_borrowed(text: &str) -> std::borrow::Cow<'_, str> {
    let bytes = text.as_bytes();
    let has_mark = bytes.iter().enumerate().any(|(i, b)| match b {
        0xC2 => bytes.get(i + 1) == Some(&0xA0),
        0xE2 => matches!(bytes.get(i + 1..i + 3), Some([0x80, 0x8E | 0x8F | 0xAF])),
        0xEF => bytes.get(i + 1..i + 3) == Some(&[0xBB, 0xBF][..]),
        _ => false,
    });
    if !has_mark {
        return std::borrow::Cow::Borrowed(text);
    }
    let cleaned: String = text
        .chars()
        .filter(|c| !matches!(c, '\u{200E}' | '\u{200F}' | '\u{FEFF}'))
        .map(|c| {
            if matches!(c, '\u{202F}' | '\u{00A0}') {
                ' '
            } else {
                c
            }
        })
        .collect();
    std::borrow::Cow::Owned(cleaned)
}

/// Repairs Facebook/Instagram "Download Your Information" text, where each UTF-8 byte was
/// written as its own `\u00XX` character. If any character is above U+00FF, or the bytes are not
/// valid UTF-8, the text was not mangled and is returned unchanged.
pub fn fix_meta_mojibake(text: &str) -> String {
    if text.is_ascii() {
        return text.to_owned();
    }
    let mut bytes = Vec::with_capacity(text.len());
    for c in text.chars() {
        let code = c as u32;
        if code > 0xFF {
            return text.to_owned();
        }
        bytes.push(code as u8);
    }
    String::from_utf8(bytes).unwrap_or_else(|_| text.to_owned())
}

/// Plain text from simple HTML: tags dropped, block ends as newlines, common entities decoded.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    let mut skip_until: Option<&str> = None;
    while let Some(lt) = rest.find('<') {
        if skip_until.is_none() {
            out.push_str(&decode_entities(&rest[..lt]));
        }
        let after = &rest[lt + 1..];
        let Some(gt) = after.find('>') else {
            rest = "";
            break;
        };
        let tag = after[..gt].trim().to_ascii_lowercase();
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if let Some(end) = skip_until {
            if tag.starts_with('/') && name == end {
                skip_until = None;
            }
        } else if !tag.starts_with('/') && (name == "script" || name == "style" || name == "head") {
            skip_until = Some(match name.as_str() {
                "script" => "script",
                "style" => "style",
                _ => "head",
            });
        } else if matches!(
            name.as_str(),
            "br" | "p" | "div" | "tr" | "li" | "h1" | "h2" | "h3" | "h4" | "blockquote"
        ) && !out.ends_with('\n')
        {
            out.push('\n');
        }
        rest = &after[gt + 1..];
    }
    if skip_until.is_none() {
        out.push_str(&decode_entities(rest));
    }
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    let mut joined = lines.join("\n");
    while joined.contains("\n\n\n") {
        joined = joined.replace("\n\n\n", "\n\n");
    }
    joined.trim().to_owned()
}

/// Decodes the HTML entities that exports use (`&amp;`, `&lt;`, `&#39;`, `&#x1F600;`, ...).
pub fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after.find(';').filter(|&e| e <= 10);
        let decoded = end.and_then(|e| {
            let name = &after[..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &after[e + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mojibake_is_repaired_and_clean_text_left_alone() {
        // "ã" written as its two UTF-8 bytes, and ❤ as three.
        assert_eq!(fix_meta_mojibake("S\u{00c3}\u{00a3}o Paulo"), "São Paulo");
        assert_eq!(fix_meta_mojibake("\u{00e2}\u{009d}\u{00a4}"), "❤");
        assert_eq!(fix_meta_mojibake("plain"), "plain");
        assert_eq!(fix_meta_mojibake("already fine ❤"), "already fine ❤");
        // Latin-1 text that is not UTF-8 bytes stays as it is.
        assert_eq!(fix_meta_mojibake("caf\u{00e9}"), "café");
    }

    #[test]
    fn marks_and_bom() {
        assert_eq!(
            clean_marks("\u{200E}[12.03.25, 10:00:00] A:\u{202F}hi"),
            "[12.03.25, 10:00:00] A: hi"
        );
        assert_eq!(decode_utf8(b"\xEF\xBB\xBFhello"), "hello");
        assert!(matches!(
            clean_marks_borrowed("São Paulo ❤ 🧗"),
            std::borrow::Cow::Borrowed("São Paulo ❤ 🧗")
        ));
        assert_eq!(clean_marks_borrowed("a\u{00A0}b\u{FEFF}"), "a b");
    }

    #[test]
    fn html_and_entities() {
        assert_eq!(
            html_to_text(
                "<html><head><style>p{}</style></head><body><p>Hi &amp; bye</p><p>Line&#33;<br>next &#x1F600;</p></body></html>"
            ),
            "Hi & bye\nLine!\nnext 😀"
        );
        assert_eq!(decode_entities("a &unknown; b & c"), "a &unknown; b & c");
    }
}
