//! ISO 20022 camt.052 (account report), camt.053 (statement) and camt.054 (notification).
//!
//! The three messages share their inner structure and differ in the root's child element
//! (`BkToCstmrAcctRpt`, `BkToCstmrStmt`, `BkToCstmrDbtCdtNtfctn`) and in the element that
//! contains one account's report (`Rpt`, `Stmt`, `Ntfctn`). The reader streams through the
//! document with quick-xml and keeps only the path of open elements, so memory and time grow
//! linearly with the file.

mod entry;
mod state;
mod statement;
mod tags;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use self::state::State;
use self::tags::Tag;
use crate::check;
use crate::decode::Decoded;
use crate::detect;
use crate::error::ParseError;
use crate::model::{Dialect, Format, ParsedFile, Warning};

/// The deepest element nesting accepted. CAMT documents nest about 12 levels deep.
const MAX_DEPTH: usize = 64;

/// Reads a decoded CAMT document of the `requested` format.
pub(crate) fn parse(decoded: &Decoded<'_>, requested: Format) -> Result<ParsedFile, ParseError> {
    let text: &str = &decoded.text;
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;

    let mut state = State::new(requested);
    if decoded.declared_utf8_was_invalid {
        state.warnings.push(Warning {
            statement: None,
            message: "the XML declaration names UTF-8, but the file is not valid UTF-8, so it was read as Windows-1252".to_string(),
        });
    }
    // The open elements, innermost last, and the text of the innermost one.
    let mut path: Vec<Tag> = Vec::with_capacity(16);
    let mut value = String::new();
    let at_byte = |offset: usize, expected: String, found: &str| {
        ParseError::at_byte(decoded.input_offset(offset), expected, found)
    };

    loop {
        let offset = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader.read_event().map_err(|error| {
            let at = usize::try_from(reader.error_position()).unwrap_or(0);
            at_byte(
                at,
                format!("well-formed XML ({error})"),
                text.get(at..).unwrap_or_default(),
            )
        })?;
        match event {
            Event::Start(start) => {
                open_element(&mut state, &mut path, &start, offset)
                    .map_err(|expected| at_byte(offset, expected, &element_text(&start)))?;
                value.clear();
            }
            Event::Empty(start) => {
                open_element(&mut state, &mut path, &start, offset)
                    .map_err(|expected| at_byte(offset, expected, &element_text(&start)))?;
                state
                    .close(&path, "")
                    .map_err(|(at, expected)| at_byte(at, expected, ""))?;
                path.pop();
            }
            Event::End(_) => {
                state
                    .close(&path, &value)
                    .map_err(|(at, expected)| at_byte(at, expected, ""))?;
                path.pop();
                value.clear();
            }
            Event::Text(content) => {
                value.push_str(std::str::from_utf8(&content).unwrap_or_default())
            }
            Event::CData(content) => {
                value.push_str(std::str::from_utf8(&content).unwrap_or_default())
            }
            Event::GeneralRef(reference) => push_reference(&mut value, &reference),
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    finish(state, &path, decoded)
}

/// Lets the state see a start tag and pushes it on `path`. Returns what was expected when the
/// element is not allowed there.
fn open_element(
    state: &mut State,
    path: &mut Vec<Tag>,
    start: &BytesStart<'_>,
    offset: usize,
) -> Result<(), String> {
    if path.len() >= MAX_DEPTH {
        return Err(format!("at most {MAX_DEPTH} nested elements"));
    }
    let tag = Tag::from_local_name(start.local_name().as_ref());
    state.open(path, tag, start, offset)?;
    path.push(tag);
    Ok(())
}

/// Checks that the document was complete and builds the result.
fn finish(state: State, path: &[Tag], decoded: &Decoded<'_>) -> Result<ParsedFile, ParseError> {
    let text: &str = &decoded.text;
    if let Some(open) = path.last() {
        let expected = match open {
            Tag::Other => {
                "a closing tag for every open element (the file is truncated)".to_string()
            }
            tag => format!("a closing </{}> tag (the file is truncated)", tag.name()),
        };
        return Err(ParseError::at_byte(
            decoded.input_offset(text.len()),
            expected,
            "",
        ));
    }
    if !state.root_seen {
        let start = text.trim_start();
        return Err(ParseError::at_byte(
            decoded.input_offset(text.len() - start.len()),
            state.expected_root(),
            start,
        ));
    }

    let dialect = state
        .statements
        .first()
        .and_then(|statement| statement.iban.as_deref())
        .and_then(detect::dialect_from_account)
        .unwrap_or(Dialect::Generic);
    let mut warnings = state.warnings;
    check::check_chain(&state.statements, &mut warnings);
    warnings.sort_by_key(|warning| warning.statement);
    Ok(ParsedFile {
        format: state.requested,
        dialect,
        statements: state.statements,
        warnings,
    })
}

fn element_text(start: &BytesStart<'_>) -> String {
    format!("<{}>", String::from_utf8_lossy(start.name().as_ref()))
}

/// Appends an entity or character reference (`&amp;`, `&#233;`) to `value`.
fn push_reference(value: &mut String, reference: &quick_xml::events::BytesRef<'_>) {
    if let Ok(Some(c)) = reference.resolve_char_ref() {
        value.push(c);
        return;
    }
    let replacement = match reference.as_ref() {
        b"amp" => "&",
        b"lt" => "<",
        b"gt" => ">",
        b"quot" => "\"",
        b"apos" => "'",
        other => {
            value.push('&');
            value.push_str(&String::from_utf8_lossy(other));
            value.push(';');
            return;
        }
    };
    value.push_str(replacement);
}

/// Returns the message element below `Document` and the short name of a CAMT format.
fn root_element(format: Format) -> (&'static str, &'static str) {
    match format {
        Format::Camt052 => ("BkToCstmrAcctRpt", "camt.052"),
        Format::Camt054 => ("BkToCstmrDbtCdtNtfctn", "camt.054"),
        _ => ("BkToCstmrStmt", "camt.053"),
    }
}

#[cfg(test)]
mod tests;
