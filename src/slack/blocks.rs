//! Block Kit within Slack's limits (DESIGN.md §7): constructors that escape outside text and
//! cut it to size with a note, a splitter that turns long content into several messages, and
//! [`violations`], the check every renderer's output is tested against.

use serde_json::Value;
use slack_morphism::prelude::*;

/// Slack's limits, and the budget vibe keeps below the sum of them.
pub mod limits {
    pub const MESSAGE_BLOCKS: usize = 50;
    pub const MODAL_BLOCKS: usize = 100;
    pub const SECTION_TEXT: usize = 3000;
    pub const FIELDS: usize = 10;
    pub const FIELD_TEXT: usize = 2000;
    pub const HEADER_TEXT: usize = 150;
    pub const CONTEXT_ELEMENTS: usize = 10;
    pub const CONTEXT_TEXT: usize = 3000;
    pub const ACTIONS_ELEMENTS: usize = 25;
    pub const BUTTON_TEXT: usize = 75;
    pub const ACTION_ID: usize = 255;
    pub const BUTTON_VALUE: usize = 2000;
    pub const MODAL_TITLE: usize = 24;
    pub const PRIVATE_METADATA: usize = 3000;
    /// The top-level `text` (notifications, screen readers); Slack truncates past 40,000 and
    /// recommends under 4,000.
    pub const MESSAGE_TEXT: usize = 3000;
    /// Characters of text over all blocks of one message. Slack rejects some messages well
    /// below the sum of the per-block limits (`msg_blocks_too_long` near 13k), so vibe splits
    /// long content into several messages before that.
    pub const MESSAGE_BUDGET: usize = 11_000;
    /// Text one block may hold in all, so any block fits a message with room to spare.
    pub const BLOCK_BUDGET: usize = 5_000;
}

/// Escapes text from platforms, users or a model for mrkdwn, so it can't mention `<!channel>`,
/// link, or break formatting.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Cuts `s` to at most `max` characters, ending with "…" when cut. Counts characters (what
/// Slack counts), never splits one, and doesn't leave half an `&amp;` entity behind.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let keep = max.saturating_sub(1);
    let mut cut: String = s.chars().take(keep).collect();
    if let Some(amp) = cut.rfind('&') {
        if !cut[amp..].contains(';') {
            cut.truncate(amp);
        }
    }
    cut.push('…');
    cut
}

fn plain(text: &str, max: usize) -> SlackBlockPlainTextOnly {
    let t = truncate(text.trim(), max);
    SlackBlockPlainTextOnly::from(if t.is_empty() { "—".to_string() } else { t })
}

fn mrkdwn(text: &str, max: usize) -> SlackBlockText {
    let t = truncate(text, max);
    SlackBlockText::MarkDown(SlackBlockMarkDownText::new(if t.trim().is_empty() {
        "—".to_string()
    } else {
        t
    }))
}

/// A header (plain text: nothing in it can mention or link).
pub fn header(text: &str) -> SlackBlock {
    SlackHeaderBlock::new(plain(text, limits::HEADER_TEXT)).into()
}

/// A section of mrkdwn, cut at the section limit. Use [`sections`] for text that may be longer.
pub fn section(text: &str) -> SlackBlock {
    SlackSectionBlock::new()
        .with_text(mrkdwn(text, limits::SECTION_TEXT))
        .into()
}

/// A section with a button beside its text.
pub fn section_with_button(text: &str, button: SlackBlockButtonElement) -> SlackBlock {
    SlackSectionBlock::new()
        .with_text(mrkdwn(text, limits::SECTION_TEXT))
        .with_accessory(button.into())
        .into()
}

/// Long mrkdwn as as many sections as it needs, split at line ends. A ``` block that a split
/// cuts is closed and reopened so both halves stay preformatted.
pub fn sections(text: &str) -> Vec<SlackBlock> {
    chunks(text, limits::SECTION_TEXT)
        .iter()
        .map(|c| section(c))
        .collect()
}

/// Splits text into pieces of at most `max` characters at line ends (mid-line only for a line
/// longer than that), keeping ``` fences balanced in each piece.
pub fn chunks(text: &str, max: usize) -> Vec<String> {
    const FENCE: &str = "```";
    // Room for a closing and an opening fence with their newlines.
    let room = max.saturating_sub(2 * (FENCE.len() + 1)).max(1);
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut cur_len = 0usize;
    let mut in_code = false;
    let mut push_piece = |cur: &mut String, cur_len: &mut usize, in_code: bool| {
        if cur.is_empty() {
            return;
        }
        let mut piece = std::mem::take(cur);
        if in_code {
            piece.push_str("\n```");
        }
        out.push(piece);
        *cur_len = 0;
        if in_code {
            cur.push_str("```\n");
            *cur_len = FENCE.len() + 1;
        }
    };
    for line in text.split('\n') {
        let mut rest: Vec<char> = line.chars().collect();
        loop {
            let sep = usize::from(cur_len > 0 && !cur.ends_with('\n'));
            let fits = room.saturating_sub(cur_len + sep);
            if rest.len() <= fits {
                if sep == 1 {
                    cur.push('\n');
                }
                cur.extend(rest.iter());
                cur_len += sep + rest.len();
                break;
            }
            if fits > 0 && (rest.len() > room || cur_len == 0) {
                // A line longer than a piece: fill this piece with its start.
                if sep == 1 {
                    cur.push('\n');
                }
                cur.extend(rest[..fits].iter());
                cur_len += sep + fits;
                rest.drain(..fits);
            }
            push_piece(&mut cur, &mut cur_len, in_code);
        }
        if line.trim_start().starts_with(FENCE) && line.matches(FENCE).count() % 2 == 1 {
            in_code = !in_code;
        }
    }
    if !(cur.is_empty() || in_code && cur == "```\n") {
        out.push(cur);
    }
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

/// A grid of mrkdwn fields (label over value), at most 10, each cut at the field limit.
pub fn fields(items: &[String]) -> SlackBlock {
    let n = items.len().clamp(1, limits::FIELDS);
    let each = limits::FIELD_TEXT.min(limits::BLOCK_BUDGET / n);
    let fields = items
        .iter()
        .take(limits::FIELDS)
        .map(|f| mrkdwn(f, each))
        .collect();
    SlackSectionBlock::new().with_fields(fields).into()
}

/// Small grey text: periods, definitions, who did what when.
pub fn context(items: &[String]) -> SlackBlock {
    let n = items.len().clamp(1, limits::CONTEXT_ELEMENTS);
    let each = limits::CONTEXT_TEXT.min(limits::BLOCK_BUDGET / n);
    let elements = items
        .iter()
        .take(limits::CONTEXT_ELEMENTS)
        .map(|t| {
            let t = truncate(t, each);
            SlackContextBlockElement::MarkDown(SlackBlockMarkDownText::new(if t.is_empty() {
                "—".into()
            } else {
                t
            }))
        })
        .collect();
    SlackContextBlock::new(elements).into()
}

pub fn divider() -> SlackBlock {
    SlackDividerBlock::new().into()
}

/// An image uploaded to Slack, shown from its file id (no public URL needed).
pub fn slack_file_image(file_id: &str, alt: &str) -> SlackBlock {
    SlackImageBlock::new(
        SlackImageUrlOrFile::SlackFile {
            slack_file: SlackFileIdOrUrl::Id {
                id: SlackFileId(file_id.to_string()),
            },
        },
        truncate(alt, 2000),
    )
    .into()
}

/// How a button looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonStyle {
    Default,
    Primary,
    Danger,
}

/// A button; its value carries what the click acts on.
pub fn button(
    action_id: &str,
    text: &str,
    value: &str,
    style: ButtonStyle,
) -> SlackBlockButtonElement {
    let b = SlackBlockButtonElement::new(plain(text, limits::BUTTON_TEXT))
        .with_action_id(SlackActionId(truncate(action_id, limits::ACTION_ID)))
        .with_value(truncate(value, limits::BUTTON_VALUE));
    match style {
        ButtonStyle::Default => b,
        ButtonStyle::Primary => b.with_style(SlackBlockButtonStyle::Primary),
        ButtonStyle::Danger => b.with_style(SlackBlockButtonStyle::Danger),
    }
}

/// A row of buttons (at most 25).
pub fn actions(block_id: &str, buttons: Vec<SlackBlockButtonElement>) -> SlackBlock {
    let n = buttons.len().clamp(1, limits::ACTIONS_ELEMENTS);
    // Values are read back by vibe, not shown; long ones share the block's budget.
    let each = limits::BUTTON_VALUE.min(limits::BLOCK_BUDGET / n - limits::BUTTON_TEXT);
    SlackActionsBlock::new(
        buttons
            .into_iter()
            .take(limits::ACTIONS_ELEMENTS)
            .map(|b| {
                let value = b.value.as_deref().map(|v| truncate(v, each));
                SlackActionBlockElement::Button(b.opt_value(value))
            })
            .collect(),
    )
    .with_block_id(SlackBlockId(block_id.to_string()))
    .into()
}

/// One message: the notification text and its blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub text: String,
    pub blocks: Vec<SlackBlock>,
}

impl Message {
    /// A message with `text` as its top-level text (the notification and fallback line),
    /// which is escaped here: it often names a test, a brand or a post, and Slack reads it as
    /// mrkdwn, so `<!channel>` in a name would otherwise ping everyone.
    pub fn new(text: &str, blocks: Vec<SlackBlock>) -> Message {
        Message {
            text: truncate(&escape(text), limits::MESSAGE_TEXT),
            blocks,
        }
    }

    /// The message as slack-morphism content.
    pub fn content(&self) -> SlackMessageContent {
        SlackMessageContent::new()
            .with_text(self.text.clone())
            .with_blocks(self.blocks.clone())
    }

    /// The blocks as Slack JSON.
    pub fn blocks_json(&self) -> Value {
        serde_json::to_value(&self.blocks).unwrap_or(Value::Array(Vec::new()))
    }
}

/// Characters of text in a block (what counts towards Slack's overall message size).
fn text_len(v: &Value) -> usize {
    match v {
        Value::String(s) => s.chars().count(),
        Value::Array(a) => a.iter().map(text_len).sum(),
        Value::Object(o) => o.values().map(text_len).sum(),
        _ => 0,
    }
}

/// Splits content that may be long into messages within the block count and size budget. The
/// first message keeps `text`; the others say they continue it.
pub fn split(text: &str, blocks: Vec<SlackBlock>) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::new();
    let mut cur: Vec<SlackBlock> = Vec::new();
    let mut size = 0usize;
    for b in blocks {
        let len = serde_json::to_value(&b).map(|v| text_len(&v)).unwrap_or(0);
        if !cur.is_empty()
            && (cur.len() + 1 > limits::MESSAGE_BLOCKS || size + len > limits::MESSAGE_BUDGET)
        {
            out.push(Message::new(text, std::mem::take(&mut cur)));
            size = 0;
        }
        size += len;
        cur.push(b);
    }
    if !cur.is_empty() || out.is_empty() {
        out.push(Message::new(text, cur));
    }
    let n = out.len();
    if n > 1 {
        for (i, m) in out.iter_mut().enumerate().skip(1) {
            m.text = truncate(
                &format!("{text} (part {} of {n})", i + 1),
                limits::MESSAGE_TEXT,
            );
        }
    }
    out
}

/// Everything in `blocks` (as Slack JSON) that breaks a Block Kit limit; empty when Slack
/// would accept it. `modal` selects the modal block count.
pub fn violations(blocks: &Value, modal: bool) -> Vec<String> {
    use limits::*;
    let mut out = Vec::new();
    let Some(list) = blocks.as_array() else {
        return vec!["blocks is not an array".into()];
    };
    let max_blocks = if modal { MODAL_BLOCKS } else { MESSAGE_BLOCKS };
    if list.len() > max_blocks {
        out.push(format!("{} blocks (at most {max_blocks})", list.len()));
    }
    if !modal && text_len(blocks) > MESSAGE_BUDGET {
        out.push(format!(
            "{} characters of text in blocks (budget {MESSAGE_BUDGET})",
            text_len(blocks)
        ));
    }
    let chars = |v: &Value| v.as_str().map(|s| s.chars().count()).unwrap_or(0);
    let text_obj = |at: String, t: Option<&Value>, max: usize, out: &mut Vec<String>| match t {
        None => out.push(format!("{at}: missing text")),
        Some(t) => {
            let s = t.get("text");
            let n = s.map(chars).unwrap_or(0);
            if n == 0
                || s.and_then(Value::as_str)
                    .is_some_and(|x| x.trim().is_empty())
            {
                out.push(format!("{at}: empty text"));
            }
            if n > max {
                out.push(format!("{at}: {n} characters (at most {max})"));
            }
        }
    };
    for (i, b) in list.iter().enumerate() {
        let at = format!("blocks[{i}]");
        match b.get("type").and_then(Value::as_str) {
            Some("header") => text_obj(at, b.get("text"), HEADER_TEXT, &mut out),
            Some("section") => {
                let fields = b.get("fields").and_then(Value::as_array);
                if b.get("text").is_none() && fields.is_none() {
                    out.push(format!("{at}: a section needs text or fields"));
                }
                if b.get("text").is_some() {
                    text_obj(format!("{at}.text"), b.get("text"), SECTION_TEXT, &mut out);
                }
                if let Some(f) = fields {
                    if f.len() > FIELDS {
                        out.push(format!("{at}: {} fields (at most {FIELDS})", f.len()));
                    }
                    for (j, x) in f.iter().enumerate() {
                        text_obj(format!("{at}.fields[{j}]"), Some(x), FIELD_TEXT, &mut out);
                    }
                }
                if let Some(a) = b.get("accessory") {
                    check_element(&format!("{at}.accessory"), a, &mut out);
                }
            }
            Some("context") => {
                let els = b.get("elements").and_then(Value::as_array);
                match els {
                    None => out.push(format!("{at}: context without elements")),
                    Some(e) => {
                        if e.is_empty() || e.len() > CONTEXT_ELEMENTS {
                            out.push(format!(
                                "{at}: {} context elements (1 to {CONTEXT_ELEMENTS})",
                                e.len()
                            ));
                        }
                        for (j, x) in e.iter().enumerate() {
                            text_obj(
                                format!("{at}.elements[{j}]"),
                                Some(x),
                                CONTEXT_TEXT,
                                &mut out,
                            );
                        }
                    }
                }
            }
            Some("actions") => {
                let els = b.get("elements").and_then(Value::as_array);
                match els {
                    Some(e) if !e.is_empty() && e.len() <= ACTIONS_ELEMENTS => {
                        for (j, x) in e.iter().enumerate() {
                            check_element(&format!("{at}.elements[{j}]"), x, &mut out);
                        }
                    }
                    _ => out.push(format!(
                        "{at}: actions need 1 to {ACTIONS_ELEMENTS} elements"
                    )),
                }
            }
            Some("image") => {
                if chars(b.get("alt_text").unwrap_or(&Value::Null)) == 0 {
                    out.push(format!("{at}: image without alt_text"));
                }
            }
            Some("divider") => {}
            Some("input") => {
                text_obj(format!("{at}.label"), b.get("label"), 2000, &mut out);
            }
            other => out.push(format!("{at}: unexpected block type {other:?}")),
        }
    }
    out
}

fn check_element(at: &str, e: &Value, out: &mut Vec<String>) {
    use limits::*;
    let chars = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .map(|s| s.chars().count())
            .unwrap_or(0)
    };
    if e.get("type").and_then(Value::as_str) == Some("button") {
        let t = chars(e.get("text").and_then(|t| t.get("text")));
        if t == 0 || t > BUTTON_TEXT {
            out.push(format!(
                "{at}: button text of {t} characters (1 to {BUTTON_TEXT})"
            ));
        }
        if chars(e.get("value")) > BUTTON_VALUE {
            out.push(format!("{at}: button value too long"));
        }
    }
    if chars(e.get("action_id")) > ACTION_ID {
        out.push(format!("{at}: action_id too long"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_defuses_mentions_and_links() {
        let cases = [
            ("plain", "plain"),
            ("<!channel> now", "&lt;!channel&gt; now"),
            ("a & b", "a &amp; b"),
            ("<https://x.io|click>", "&lt;https://x.io|click&gt;"),
            ("emoji 🎉 <@U123>", "emoji 🎉 &lt;@U123&gt;"),
        ];
        for (input, want) in cases {
            assert_eq!(escape(input), want);
        }
    }

    #[test]
    fn truncation_counts_characters_and_keeps_entities_whole() {
        let cases = [
            ("short", 10, "short"),
            ("abcdefghij", 10, "abcdefghij"),
            ("abcdefghijk", 10, "abcdefghi…"),
            ("🎉🎉🎉🎉", 3, "🎉🎉…"),
            ("abcdef&amp;gh", 10, "abcdef…"),
        ];
        for (input, max, want) in cases {
            assert_eq!(truncate(input, max), want, "{input:?} {max}");
            assert!(truncate(input, max).chars().count() <= max);
        }
    }

    #[test]
    fn chunks_respect_the_limit_and_keep_code_fences_balanced() {
        let long_line = "x".repeat(7000);
        let code = format!(
            "```\n{}\n```",
            (0..400)
                .map(|i| format!("row {i:>4} | value"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        let cases = [long_line.as_str(), code.as_str(), "a\nb\nc", ""];
        for text in cases {
            let parts = chunks(text, 3000);
            for p in &parts {
                assert!(p.chars().count() <= 3000, "{} chars", p.chars().count());
                assert_eq!(
                    p.matches("```").count() % 2,
                    0,
                    "unbalanced fence in {p:.60}"
                );
            }
            let joined: String = parts.concat();
            let want = text.chars().filter(|c| *c != '\n' && *c != '`').count();
            let got = joined.chars().filter(|c| *c != '\n' && *c != '`').count();
            assert_eq!(got, want, "content lost");
        }
    }

    #[test]
    fn constructors_stay_within_limits_with_extreme_input() {
        let huge = "<!channel> ".repeat(2000) + &"🎉".repeat(5000);
        let mut blocks = vec![header(&huge), context(&vec![huge.clone(); 20])];
        blocks.extend(sections(&huge));
        blocks.push(fields(&vec![huge.clone(); 30]));
        blocks.push(actions(
            "a",
            (0..40)
                .map(|i| button(&format!("b{i}"), &huge, &huge, ButtonStyle::Primary))
                .collect(),
        ));
        blocks.push(header("   "));
        for m in split("summary", blocks) {
            let v = m.blocks_json();
            assert_eq!(violations(&v, false), Vec::<String>::new());
            assert!(!m.text.is_empty());
        }
    }

    #[test]
    fn split_keeps_every_block_and_numbers_the_parts() {
        let blocks: Vec<SlackBlock> = (0..120).map(|i| section(&format!("block {i}"))).collect();
        let parts = split("Report", blocks);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts.iter().map(|m| m.blocks.len()).sum::<usize>(), 120);
        assert_eq!(parts[0].text, "Report");
        assert_eq!(parts[2].text, "Report (part 3 of 3)");
    }

    #[test]
    fn violations_finds_what_slack_rejects() {
        let v = serde_json::json!([
            {"type": "section", "text": {"type": "mrkdwn", "text": "x".repeat(3001)}},
            {"type": "header", "text": {"type": "plain_text", "text": ""}},
            {"type": "context", "elements": []},
        ]);
        let found = violations(&v, false);
        assert_eq!(found.len(), 3, "{found:?}");
    }
}
