//! Finding the invoices a mutation names in its fields. Each field is split into words once.
//! Words, pairs of words and runs of words are then looked up in the index, and only those whose
//! length some indexed key has are hashed.

use crate::decision::MatchField;
use crate::index::{InvoiceIndex, Slot};
use crate::invoice::InvoiceKind;
use crate::reference::{ReferenceKey, has_valid_check_digits};
use crate::tokens::{
    NumberKey, Word, letter_prefix_len, number_key_bytes, scan_words, slash_separated_numbers,
    spaced_number_key_bytes,
};

/// Form of a token that named invoices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenForm {
    /// The word's number key equals the invoice number key.
    Word,
    /// The word minus a letter prefix equals the invoice number key.
    Prefixed,
    /// Two words with one space between them form the invoice number key.
    Spaced,
    /// The token's compact form equals the invoice's payment reference.
    PaymentReference,
}

/// A token that names one or more invoices of the kind being matched.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hit<'i, 't> {
    pub field: MatchField,
    pub token: &'t str,
    pub form: TokenForm,
    /// Invoices under the token's key, in insertion order. More than one when, for example, two
    /// suppliers use the same invoice number.
    pub slots: &'i [Slot],
}

/// Scans mutation fields for invoices of one kind. Its buffers are reused across fields.
pub(crate) struct Scanner<'i, 't> {
    index: &'i InvoiceIndex,
    kind: InvoiceKind,
    words: Vec<Word>,
    /// Buffer for number keys longer than [`NumberKey::CAPACITY`], allocated only when used.
    long_key: String,
    pub hits: Vec<Hit<'i, 't>>,
}

impl<'i, 't> Scanner<'i, 't> {
    pub fn new(index: &'i InvoiceIndex, kind: InvoiceKind) -> Self {
        Self {
            index,
            kind,
            words: Vec::with_capacity(32),
            long_key: String::new(),
            hits: Vec::with_capacity(4),
        }
    }

    /// Adds the hits of one field, in the order their tokens appear.
    ///
    /// Payment references are found first. Their words are then skipped when looking for invoice
    /// numbers, and so are the words of any other grouped code with valid check digits (a
    /// betalingskenmerk, RF reference or IBAN written in groups). That way the group `0567` of
    /// `5000 0567 8901 2345` never names invoice `0567`.
    pub fn scan_field(&mut self, field: MatchField, text: &'t str) {
        scan_words(text, &mut self.words);
        if self.words.is_empty() {
            return;
        }
        let first_hit = self.hits.len();

        self.scan_references(field, text);
        if field == MatchField::StructuredReference {
            self.match_whole_reference(field, text);
        }
        self.scan_numbers(field, text);

        // Reference hits were added before number hits, so restore text order.
        self.hits[first_hit..].sort_by_key(|hit| hit.token.as_ptr() as usize);
    }

    /// Looks up every run of words joined by single spaces, up to the maximum reference length,
    /// as a compact payment reference, and marks the words of matches and grouped codes as
    /// consumed.
    ///
    /// A grouped code is a run of two or more words, each a single group of at most four
    /// letters or digits as these codes are printed, whose compact form has valid check
    /// digits. Longer words or words with separators (`2026-0012 2026-0012`) never form one,
    /// because their check digits can be valid by chance.
    fn scan_references(&mut self, field: MatchField, text: &'t str) {
        const MAX_GROUP_LEN: usize = 4;
        let bytes = text.as_bytes();

        for first in 0..self.words.len() {
            // Every word starts with a letter or digit.
            let first_char = bytes[self.words[first].start];
            let mut compact_len = 0;
            let mut printed_in_groups = true;
            let mut last = first;
            loop {
                let word = self.words[last];
                compact_len += word.alnum_len;
                if compact_len > ReferenceKey::CAPACITY {
                    break;
                }
                printed_in_groups &= !word.has_separator && word.alnum_len <= MAX_GROUP_LEN;

                // Build the compact form only when a reference of this length and first
                // character may exist or the run may be a grouped code, because most runs are
                // neither.
                let may_be_reference =
                    self.index
                        .may_have_payment_reference(self.kind, compact_len, first_char);
                let may_be_code = printed_in_groups && last > first;
                if may_be_reference || may_be_code {
                    let mut compact = ReferenceKey::new();
                    for grouped in &self.words[first..=last] {
                        compact.push_compact(&bytes[grouped.start..grouped.end]);
                    }

                    let slots = if may_be_reference {
                        self.index.slots_by_payment_reference(self.kind, &compact)
                    } else {
                        &[]
                    };
                    if !slots.is_empty() {
                        self.hits.push(Hit {
                            field,
                            token: &text[self.words[first].start..word.end],
                            form: TokenForm::PaymentReference,
                            slots,
                        });
                    }
                    if !slots.is_empty()
                        || (may_be_code && has_valid_check_digits(compact.as_str()))
                    {
                        for grouped in &mut self.words[first..=last] {
                            grouped.consumed = true;
                        }
                    }
                }

                last += 1;
                if last == self.words.len() || !self.words[last].space_before {
                    break;
                }
            }
        }
    }

    /// Compares the whole structured reference field, whatever its spacing, with the payment
    /// references. A run of words already matched in [`Self::scan_references`] gives the same
    /// invoice, which the decision lists once.
    fn match_whole_reference(&mut self, field: MatchField, text: &'t str) {
        let Some(compact) = ReferenceKey::compact(text) else {
            return;
        };
        if !self
            .index
            .may_have_payment_reference(self.kind, compact.len(), compact.as_bytes()[0])
        {
            return;
        }
        let slots = self.index.slots_by_payment_reference(self.kind, &compact);
        if !slots.is_empty() {
            self.hits.push(Hit {
                field,
                token: text.trim(),
                form: TokenForm::PaymentReference,
                slots,
            });
            for word in &mut self.words {
                word.consumed = true;
            }
        }
    }

    fn scan_numbers(&mut self, field: MatchField, text: &'t str) {
        let mut position = 0;
        while position < self.words.len() {
            let word = self.words[position];
            if word.consumed {
                position += 1;
                continue;
            }
            if self.is_isolated_number_pair(position)
                && self.match_spaced_pair(field, text, position)
            {
                position += 2;
                continue;
            }
            self.match_word(field, text, word);
            position += 1;
        }
    }

    /// Returns whether the word at `position` and the next one are two digit groups separated
    /// by one space with no other word containing a digit joined to them by one space.
    ///
    /// Reading `2026 0012` as `2026-0012` is only safe for an isolated pair: in
    /// `2025 2026 0012` or `2026 0012 17` the grouping is ambiguous, so no pair is formed there.
    fn is_isolated_number_pair(&self, position: usize) -> bool {
        let first = self.words[position];
        let Some(second) = self.words.get(position + 1) else {
            return false;
        };
        let joined_before = first.space_before && self.words[position - 1].has_digit;
        let joined_after = self
            .words
            .get(position + 2)
            .is_some_and(|third| third.space_before && third.has_digit);

        first.all_digits
            && second.all_digits
            && second.space_before
            && !second.consumed
            && !joined_before
            && !joined_after
    }

    fn match_spaced_pair(&mut self, field: MatchField, text: &'t str, position: usize) -> bool {
        let first = self.words[position];
        let second = self.words[position + 1];
        let len = (first.end - first.start) + 1 + (second.end - second.start);
        if !self.index.may_have_number(self.kind, len, true) {
            return false;
        }

        let bytes = text.as_bytes();
        let key = spaced_number_key_bytes(
            &bytes[first.start..first.end],
            &bytes[second.start..second.end],
        );
        let Some(slots) = self.lookup_number_key(len, key) else {
            return false;
        };
        self.hits.push(Hit {
            field,
            token: &text[first.start..second.end],
            form: TokenForm::Spaced,
            slots,
        });
        true
    }

    fn match_word(&mut self, field: MatchField, text: &'t str, word: Word) {
        if self.match_token(field, &text[word.start..word.end], word.has_digit) {
            return;
        }
        if !word.has_slash {
            return;
        }
        let token = &text[word.start..word.end];
        for (start, end) in slash_separated_numbers(token.as_bytes()) {
            let part = &token[start..end];
            let has_digit = part.bytes().any(|byte| byte.is_ascii_digit());
            self.match_token(field, part, has_digit);
        }
    }

    /// Looks up `token` as written and then without a letter prefix. Returns whether it named
    /// an invoice.
    fn match_token(&mut self, field: MatchField, token: &'t str, has_digit: bool) -> bool {
        let bytes = token.as_bytes();
        if let Some(slots) = self.lookup_number(bytes, has_digit) {
            self.hits.push(Hit {
                field,
                token,
                form: TokenForm::Word,
                slots,
            });
            return true;
        }

        let Some(prefix_len) = letter_prefix_len(bytes) else {
            return false;
        };
        let Some(slots) = self.lookup_number(&bytes[prefix_len..], true) else {
            return false;
        };
        self.hits.push(Hit {
            field,
            token,
            form: TokenForm::Prefixed,
            slots,
        });
        true
    }

    fn lookup_number(&mut self, token: &[u8], has_digit: bool) -> Option<&'i [Slot]> {
        if !self
            .index
            .may_have_number(self.kind, token.len(), has_digit)
        {
            return None;
        }
        self.lookup_number_key(token.len(), number_key_bytes(token))
    }

    /// Looks up a number key of `len` bytes given as `key_bytes`.
    fn lookup_number_key(
        &mut self,
        len: usize,
        key_bytes: impl Iterator<Item = u8>,
    ) -> Option<&'i [Slot]> {
        if len <= NumberKey::CAPACITY {
            let mut key = NumberKey::new();
            for byte in key_bytes {
                key.push(byte);
            }
            let slots = self.index.slots_by_number(self.kind, &key);
            return (!slots.is_empty()).then_some(slots);
        }
        self.long_key.clear();
        self.long_key.extend(key_bytes.map(char::from));
        let slots = self.index.slots_by_long_number(self.kind, &self.long_key);
        (!slots.is_empty()).then_some(slots)
    }
}
