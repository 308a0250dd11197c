//! R5.1: rich text on a non-native thread becomes plain text. The
//! conversion keeps every word: tags and markup characters go, the text
//! between them stays, links keep their address in brackets, and the common
//! HTML entities are decoded.

use coexist_policy::interop_limits::ContentType;

/// `content` of type `content_type` as plain text.
pub fn to_plain_text(content_type: ContentType, content: &str) -> String {
    match content_type {
        ContentType::Text => content.to_owned(),
        ContentType::Html => html_to_text(content),
        ContentType::Markdown => markdown_to_text(content),
    }
}

fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let tag = rest[start + 1..start + end].trim().to_ascii_lowercase();
        let name = tag
            .trim_start_matches('/')
            .split([' ', '/'])
            .next()
            .unwrap_or("");
        if matches!(name, "br" | "p" | "div" | "li" | "tr")
            && !out.ends_with('\n')
            && !out.is_empty()
        {
            out.push('\n');
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    decode_entities(out.trim())
}

fn decode_entities(text: &str) -> String {
    text.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn markdown_to_text(markdown: &str) -> String {
    let mut lines = Vec::new();
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        let line = trimmed
            .trim_start_matches('#')
            .trim_start_matches('>')
            .trim_start();
        let line = line
            .strip_prefix("- ")
            .or_else(|| line.strip_prefix("* "))
            .or_else(|| line.strip_prefix("+ "))
            .unwrap_or(line);
        if line.starts_with("```") {
            continue;
        }
        lines.push(links_to_text(line).replace(['*', '_', '`', '~'], ""));
    }
    lines.join("\n").trim().to_owned()
}

/// `[words](url)` → `words (url)`; `![alt](url)` → `alt (url)`.
fn links_to_text(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let (Some(close), true) = (after.find("]("), true) else {
            break;
        };
        let Some(paren) = after[close + 2..].find(')') else {
            break;
        };
        let before = rest[..open].strip_suffix('!').unwrap_or(&rest[..open]);
        out.push_str(before);
        out.push_str(&after[..close]);
        out.push_str(" (");
        out.push_str(&after[close + 2..close + 2 + paren]);
        out.push(')');
        rest = &after[close + 2 + paren + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn r5_1_html_loses_tags_and_keeps_every_word() {
        let plain = to_plain_text(
            ContentType::Html,
            "<p>Hello <b>bold</b> &amp; <i>world</i></p><p>second line<br/>third</p>",
        );
        assert_eq!(plain, "Hello bold & world\nsecond line\nthird");
    }

    #[test]
    fn r5_1_markdown_loses_markup_and_keeps_words_and_links() {
        let plain = to_plain_text(
            ContentType::Markdown,
            "# Title\n**bold** and _it_ `code`\n- item [docs](https://x.test/a)",
        );
        assert_eq!(
            plain,
            "Title\nbold and it code\nitem docs (https://x.test/a)"
        );
        assert!(words(&plain).contains(&"docs".to_owned()));
    }

    #[test]
    fn r5_1_text_is_untouched() {
        assert_eq!(to_plain_text(ContentType::Text, "a <b> *c*"), "a <b> *c*");
    }
}
