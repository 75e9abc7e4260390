//! Splitting MT940/MT942 text into lines and tagged fields.
//!
//! A field starts at a line `:NN:` or `:NNa:` and takes every following line that does not
//! start a new field as a continuation. Envelopes between messages (SWIFT blocks `{1:…}{4:`,
//! `ABNANL2A`/`940`, `0000 01…`/`940 00`, `:940:`) and terminators (`-`, `-}`, `-}{5:}`,
//! `-XXX`, ` -`) are skipped. A line that is only `-` ends the message when the next line
//! starts a new message or the file ends. Otherwise it is text, because Rabobank and ING wrap
//! `:86:` so that a continuation line can be a lone `-`.

/// One line of the file without its line ending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Line<'a> {
    /// The one-based line number.
    pub number: usize,
    /// The text without the line ending.
    pub text: &'a str,
}

/// An iterator over lines ending in LF, CRLF, CR CR LF or a lone CR.
#[derive(Debug, Clone)]
pub(crate) struct Lines<'a> {
    text: &'a str,
    position: usize,
    number: usize,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Lines {
            text,
            position: 0,
            number: 0,
        }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = Line<'a>;

    fn next(&mut self) -> Option<Line<'a>> {
        let bytes = self.text.as_bytes();
        let rest = bytes.get(self.position..).filter(|rest| !rest.is_empty())?;
        let start = self.position;
        self.number += 1;
        let Some(at) = memchr::memchr2(b'\n', b'\r', rest) else {
            self.position = bytes.len();
            return Some(Line {
                number: self.number,
                text: &self.text[start..],
            });
        };
        let end = start + at;
        let mut next = end;
        // A run of CRs, optionally followed by LF, is one line ending (CR CR LF exists).
        while bytes.get(next) == Some(&b'\r') {
            next += 1;
        }
        if bytes.get(next) == Some(&b'\n') {
            next += 1;
        }
        self.position = next;
        Some(Line {
            number: self.number,
            text: &self.text[start..end],
        })
    }
}

/// The kind of a line, judged without its context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind<'a> {
    /// A `:NN:` or `:NNa:` tag with the content after it.
    Tag { tag: &'a str, content: &'a str },
    /// A line with nothing but white space.
    Blank,
    /// A definite end of a message: `-}`, `-}{5:…}` or `}`.
    End,
    /// A line that is only `-` or `-XXX`: an end of message or wrapped text.
    Dash,
    /// A SWIFT block header line such as `{1:F01…}{2:O940…}{4:`, or `:940:`.
    Envelope,
    /// Anything else: continuation text, or an envelope line between messages.
    Text,
}

fn classify(text: &str) -> Kind<'_> {
    if let Some((tag, content)) = split_tag(text) {
        return Kind::Tag { tag, content };
    }
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Kind::Blank;
    }
    if trimmed.starts_with("-}") || trimmed.starts_with('}') {
        return Kind::End;
    }
    if trimmed == "-" || is_dash_code(trimmed) {
        return Kind::Dash;
    }
    if trimmed.starts_with(":940:") || trimmed.starts_with(":942:") {
        return Kind::Envelope;
    }
    if let Some(after_blocks) = strip_swift_blocks(text) {
        return match split_tag(after_blocks) {
            Some((tag, content)) => Kind::Tag { tag, content },
            None => Kind::Envelope,
        };
    }
    Kind::Text
}

/// Splits `:NN:` or `:NNa:` off the start of a line.
pub(crate) fn split_tag(text: &str) -> Option<(&str, &str)> {
    let bytes = text.as_bytes();
    if bytes.first() != Some(&b':') {
        return None;
    }
    let digits = bytes.get(1..3)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let close = match bytes.get(3)? {
        b':' => 3,
        letter if letter.is_ascii_uppercase() && bytes.get(4) == Some(&b':') => 4,
        _ => return None,
    };
    Some((&text[1..close], &text[close + 1..]))
}

/// True for `-` followed by one to four capital letters, such as Van Lanschot's `-XXX`.
fn is_dash_code(trimmed: &str) -> bool {
    let bytes = trimmed.as_bytes();
    bytes.first() == Some(&b'-')
        && (2..=5).contains(&bytes.len())
        && bytes[1..].iter().all(u8::is_ascii_uppercase)
}

/// Strips leading SWIFT blocks `{1:…}{2:…}{3:…}` and an opening `{4:`, returning the rest.
fn strip_swift_blocks(text: &str) -> Option<&str> {
    let mut rest = text.trim_start();
    let mut stripped = false;
    while let Some(block) = rest.strip_prefix('{') {
        let number = block.as_bytes().first()?;
        if !number.is_ascii_digit() || block.as_bytes().get(1) != Some(&b':') {
            break;
        }
        stripped = true;
        if *number == b'4' {
            return Some(&block[2..]);
        }
        // Blocks 1 to 3 may nest one level ({3:{108:…}}); skip to the matching brace.
        let mut depth = 0usize;
        let mut end = None;
        for (at, byte) in block.bytes().enumerate() {
            match byte {
                b'{' => depth += 1,
                b'}' if depth == 0 => {
                    end = Some(at);
                    break;
                }
                b'}' => depth -= 1,
                _ => {}
            }
        }
        rest = &block[end? + 1..];
    }
    stripped.then_some(rest)
}

/// True for a text line that belongs to an envelope between messages: a BIC on its own
/// (`ABNANL2A`), a message type (`940`, `940 00`) or an old ING/Van Lanschot header
/// (`0000 01FVLBNL22AXXX00042`).
fn is_envelope_text(trimmed: &str) -> bool {
    let bytes = trimmed.as_bytes();
    let is_bic = (bytes.len() == 8 || bytes.len() == 11)
        && bytes[..6].iter().all(u8::is_ascii_uppercase)
        && bytes[6..]
            .iter()
            .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit());
    let is_message_type = matches!(
        trimmed,
        "940" | "942" | "950" | "940 00" | "942 00" | "950 00"
    );
    let is_old_header = trimmed.starts_with("0000 ") && bytes.len() > 5;
    is_bic || is_message_type || is_old_header
}

/// The tag line of a field. Continuation lines are handed out separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FieldHead<'a> {
    /// The tag without colons, such as `61` or `60F`.
    pub tag: &'a str,
    /// The content after the tag on the tag line.
    pub content: &'a str,
    /// The whole tag line, for error messages.
    pub raw: &'a str,
    /// The one-based line number of the tag line.
    pub line: usize,
}

/// Reads fields one by one, reusing the caller's buffer for continuation lines.
pub(crate) struct FieldReader<'a> {
    lines: Lines<'a>,
    peeked: Option<Line<'a>>,
}

impl<'a> FieldReader<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        FieldReader {
            lines: Lines::new(text),
            peeked: None,
        }
    }

    fn next_line(&mut self) -> Option<Line<'a>> {
        self.peeked.take().or_else(|| self.lines.next())
    }

    /// Returns the next field's tag line and fills `continuation` with its other lines.
    pub(crate) fn next_field(&mut self, continuation: &mut Vec<Line<'a>>) -> Option<FieldHead<'a>> {
        continuation.clear();
        let head = loop {
            let line = self.next_line()?;
            match classify(line.text) {
                Kind::Tag { tag, content } => {
                    break FieldHead {
                        tag,
                        content,
                        raw: line.text,
                        line: line.number,
                    };
                }
                Kind::Text if line.text.trim() == ":" => {
                    // A tag broken after its first colon (`:` then `86:…`).
                    if let Some(head) = self.join_broken_tag(line) {
                        break head;
                    }
                }
                Kind::Blank | Kind::Dash | Kind::Text | Kind::End | Kind::Envelope => {}
            }
        };

        while let Some(line) = self.next_line() {
            match classify(line.text) {
                Kind::Tag { .. } => {
                    self.peeked = Some(line);
                    break;
                }
                Kind::Text if line.text.trim() == ":" && self.next_starts_tag_body() => {
                    self.peeked = Some(line);
                    break;
                }
                Kind::End | Kind::Envelope => break,
                Kind::Dash if self.dash_ends_message() => break,
                Kind::Blank | Kind::Dash | Kind::Text => continuation.push(line),
            }
        }
        Some(head)
    }

    fn join_broken_tag(&mut self, colon: Line<'a>) -> Option<FieldHead<'a>> {
        let next = self.lines.next()?;
        let bytes = next.text.as_bytes();
        let tag_len = match bytes.get(2) {
            Some(b':') => 2,
            Some(letter) if letter.is_ascii_uppercase() && bytes.get(3) == Some(&b':') => 3,
            _ => 0,
        };
        let digits = bytes
            .get(..2)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit));
        if tag_len == 0 || !digits {
            self.peeked = Some(next);
            return None;
        }
        Some(FieldHead {
            tag: &next.text[..tag_len],
            content: &next.text[tag_len + 1..],
            raw: next.text,
            line: colon.number,
        })
    }

    fn next_starts_tag_body(&self) -> bool {
        let mut ahead = self.lines.clone();
        ahead.next().is_some_and(|line| {
            let bytes = line.text.as_bytes();
            bytes
                .get(..2)
                .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
                && (bytes.get(2) == Some(&b':') || bytes.get(3) == Some(&b':'))
        })
    }

    /// Decides whether a lone `-` ends the message, by looking at the next non-blank line.
    fn dash_ends_message(&self) -> bool {
        let mut ahead = self.lines.clone();
        loop {
            let Some(line) = ahead.next() else {
                return true;
            };
            return match classify(line.text) {
                Kind::Blank => continue,
                Kind::Tag { tag, .. } => tag == "20",
                Kind::End | Kind::Envelope => true,
                Kind::Text => is_envelope_text(line.text.trim()),
                Kind::Dash => false,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(input: &str) -> Vec<&str> {
        Lines::new(input).map(|line| line.text).collect()
    }

    #[test]
    fn line_endings() {
        let cases: &[(&str, &[&str])] = &[
            ("a\nb\n", &["a", "b"]),
            ("a\r\nb", &["a", "b"]),
            ("a\r\r\nb\r\r\n", &["a", "b"]),
            ("a\rb\r", &["a", "b"]),
            ("a\n\nb", &["a", "", "b"]),
            ("", &[]),
        ];
        for (input, expected) in cases {
            assert_eq!(texts(input), *expected, "input {input:?}");
        }
    }

    #[test]
    fn line_numbers_count_crcrlf_once() {
        let numbers: Vec<usize> = Lines::new("a\r\r\nb\nc").map(|line| line.number).collect();
        assert_eq!(numbers, vec![1, 2, 3]);
    }

    #[test]
    fn classifies_lines() {
        let cases = [
            (
                ":20:ABC",
                Kind::Tag {
                    tag: "20",
                    content: "ABC",
                },
            ),
            (
                ":60F:C1",
                Kind::Tag {
                    tag: "60F",
                    content: "C1",
                },
            ),
            (
                "{1:F01SNSBNL2AXXXX0000000000}{2:O940SNSBNL2AXXXXN}{3:}{4:",
                Kind::Envelope,
            ),
            (
                "{4::20:X",
                Kind::Tag {
                    tag: "20",
                    content: "X",
                },
            ),
            ("-}{5:}", Kind::End),
            ("}", Kind::End),
            (" -", Kind::Dash),
            ("-XXX", Kind::Dash),
            (":940:", Kind::Envelope),
            ("   ", Kind::Blank),
            ("-Kenmerk", Kind::Text),
            (":6:", Kind::Text),
            (":61x:", Kind::Text),
        ];
        for (text, expected) in cases {
            assert_eq!(classify(text), expected, "line {text:?}");
        }
    }

    fn fields(input: &str) -> Vec<(String, Vec<String>)> {
        let mut reader = FieldReader::new(input);
        let mut continuation = Vec::new();
        let mut out = Vec::new();
        while let Some(head) = reader.next_field(&mut continuation) {
            let more = continuation
                .iter()
                .map(|line| line.text.to_string())
                .collect();
            out.push((format!("{}:{}", head.tag, head.content), more));
        }
        out
    }

    #[test]
    fn dash_inside_86_is_text() {
        let input = ":86:/MARF/MND\n-\nEV01//CSID/X\n:62F:C1\n-\n";
        let found = fields(input);
        assert_eq!(found[0].1, vec!["-", "EV01//CSID/X"]);
        assert_eq!(found[1].1, Vec::<String>::new());
    }

    #[test]
    fn dash_before_a_balance_is_text() {
        let input = ":86:/REMI/text -\n-\n:62F:C1\n";
        let found = fields(input);
        assert_eq!(found[0].1, vec!["-"]);
    }

    #[test]
    fn dash_before_envelope_ends_message() {
        let input = ":62F:C1\n-\nABNANL2A\n940\nABNANL2A\n:20:X\n";
        let found = fields(input);
        assert_eq!(found.len(), 2);
        assert!(found[0].1.is_empty());
        assert_eq!(found[1].0, "20:X");
    }

    #[test]
    fn envelope_between_messages_is_skipped() {
        let input = ":86:D000000C000001\n-XXX\n0000 01FVLBNL22AXXX00043\n940 00\n:20:FVLOLB\n";
        let found = fields(input);
        assert!(found[0].1.is_empty());
        assert_eq!(found[1].0, "20:FVLOLB");
    }

    #[test]
    fn end_of_message_stops_86() {
        let input = ":86:text\nmore\n-}{5:}\n{1:F01X}{2:O940X}{3:}{4:\n:20:Y\n";
        let found = fields(input);
        assert_eq!(found[0].1, vec!["more"]);
        assert_eq!(found[1].0, "20:Y");
    }

    #[test]
    fn broken_tag_is_joined() {
        let input = ":61:1811261126C30,00NTRFNONREF\n:\n86:text\n";
        let found = fields(input);
        assert_eq!(found.len(), 2);
        assert_eq!(found[1].0, "86:text");
    }
}
