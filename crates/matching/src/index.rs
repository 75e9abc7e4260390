//! The invoices of one organisation, indexed for the lookups `decide` makes.
//!
//! `decide` on an index of 100,000 invoices spends most of its time waiting for memory, so the
//! lookup path is kept small: a 128-byte record per invoice with what a decision reads, and keys
//! stored inline in the hash tables. The full [`OpenInvoice`] is only read for long invoice
//! numbers and double-payment messages.

use std::collections::HashMap;

use rust_decimal::Decimal;
use uuid::Uuid;

use crate::invoice::{InvoiceKind, OpenInvoice};
use crate::reference::{IbanKey, ReferenceKey};
use crate::slot_map::{MAX_SLOTS, SlotMap};
use crate::tokens::{NumberKey, invoice_number_key};

pub(crate) use crate::slot_map::Slot;

/// The invoices of one organisation, indexed by number key, payment reference and
/// (counterparty IBAN, open amount), separately for sales and purchase invoices.
///
/// Build it once per organisation and keep it up to date with [`insert`](Self::insert),
/// [`update_open_amount`](Self::update_open_amount) and [`remove`](Self::remove). Each update
/// costs a few hash map operations. Fully paid invoices stay in the index so that a second
/// payment naming them is recognised as a possible double payment.
#[derive(Debug, Clone, Default)]
pub struct InvoiceIndex {
    /// Fields a decision reads, by slot.
    records: Vec<Record>,
    /// The invoice as inserted and its keys, by slot.
    entries: Vec<Entry>,
    slot_by_id: HashMap<Uuid, Slot>,
    /// Lookup tables per [`InvoiceKind`], at [`InvoiceKind::position`].
    kinds: [KindIndex; 2],
}

/// The part of an invoice a decision reads, in one aligned 128-byte block (two cache lines).
#[derive(Debug, Clone, Copy)]
#[repr(C, align(128))]
struct Record {
    open_amount: Decimal,
    id: Uuid,
    kind: InvoiceKind,
    /// Another invoice of the same kind has the same counterparty IBAN and open amount, so a
    /// payment of that amount has more than one candidate.
    shares_open_amount: bool,
    /// Length of `number`, or 0 when the invoice number is longer than `number` and is read
    /// from the [`Entry`] instead.
    number_len: u8,
    counterparty_iban: Option<IbanKey>,
    number: [u8; Record::NUMBER_CAPACITY],
}

impl Record {
    const NUMBER_CAPACITY: usize = 57;

    fn new(invoice: &OpenInvoice, counterparty_iban: Option<IbanKey>) -> Self {
        let mut number = [0; Self::NUMBER_CAPACITY];
        let number_len = if invoice.number.len() <= Self::NUMBER_CAPACITY {
            number[..invoice.number.len()].copy_from_slice(invoice.number.as_bytes());
            invoice.number.len() as u8
        } else {
            0
        };
        Self {
            open_amount: invoice.open_amount,
            id: invoice.id,
            counterparty_iban,
            kind: invoice.kind,
            shares_open_amount: false,
            number_len,
            number,
        }
    }
}

const _: () = assert!(size_of::<Record>() == 128, "a record fills two cache lines");

/// One invoice as inserted, with its normalised keys, kept so that removing it does not
/// recompute them.
#[derive(Debug, Clone)]
struct Entry {
    invoice: OpenInvoice,
    number_key: Option<StoredNumberKey>,
    payment_reference: Option<ReferenceKey>,
    counterparty_iban: Option<IbanKey>,
}

impl Entry {
    fn new(invoice: OpenInvoice) -> Self {
        let number_key =
            invoice_number_key(&invoice.number).map(|key| {
                match NumberKey::from_ascii(key.as_bytes()) {
                    Some(inline) => StoredNumberKey::Inline(inline),
                    None => StoredNumberKey::Long(key.into_boxed_str()),
                }
            });
        let payment_reference = invoice
            .payment_reference
            .as_deref()
            .and_then(ReferenceKey::compact);
        let counterparty_iban = invoice
            .counterparty_iban
            .as_deref()
            .and_then(IbanKey::compact);
        Self {
            invoice,
            number_key,
            payment_reference,
            counterparty_iban,
        }
    }
}

#[derive(Debug, Clone)]
enum StoredNumberKey {
    Inline(NumberKey),
    /// A key longer than [`NumberKey::CAPACITY`].
    Long(Box<str>),
}

impl StoredNumberKey {
    fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inline(key) => key.as_bytes(),
            Self::Long(key) => key.as_bytes(),
        }
    }
}

#[derive(Debug, Clone, Default)]
struct KindIndex {
    by_number: SlotMap<NumberKey>,
    by_long_number: SlotMap<Box<str>>,
    number_lengths: LengthCounts,
    /// Number of indexed number keys without a digit, so that the scanner can skip words
    /// without digits when there are none.
    digitless_numbers: usize,
    by_payment_reference: SlotMap<ReferenceKey>,
    payment_reference_lengths: LengthCounts,
    payment_reference_first_chars: FirstCharCounts,
    /// Invoices with an open amount above zero, by compact counterparty IBAN and open amount.
    open_by_counterparty: SlotMap<(IbanKey, AmountKey)>,
}

/// An amount in a form that hashes cheaply: the bytes of the normalised decimal, so that
/// `150.00` and `150` give the same key.
type AmountKey = [u8; 16];

fn amount_key(amount: Decimal) -> AmountKey {
    amount.normalize().serialize()
}

/// How many indexed keys have each length, so that the scanner can skip a word whose length no
/// key has without hashing it. Lengths of 63 and more share the last counter.
#[derive(Debug, Clone)]
struct LengthCounts([u32; 64]);

impl Default for LengthCounts {
    fn default() -> Self {
        Self([0; 64])
    }
}

impl LengthCounts {
    fn bucket(len: usize) -> usize {
        len.min(63)
    }

    fn add(&mut self, len: usize) {
        self.0[Self::bucket(len)] += 1;
    }

    fn remove(&mut self, len: usize) {
        self.0[Self::bucket(len)] -= 1;
    }

    fn contains(&self, len: usize) -> bool {
        self.0[Self::bucket(len)] > 0
    }
}

/// How many indexed compact references start with each digit or letter, so that the scanner
/// can skip a run of words that no reference starts like.
#[derive(Debug, Clone)]
struct FirstCharCounts([u32; 36]);

impl Default for FirstCharCounts {
    fn default() -> Self {
        Self([0; 36])
    }
}

impl FirstCharCounts {
    /// Returns the counter of an ASCII letter or digit, case-insensitively.
    fn position(first: u8) -> Option<usize> {
        match first.to_ascii_uppercase() {
            digit @ b'0'..=b'9' => Some(usize::from(digit - b'0')),
            letter @ b'A'..=b'Z' => Some(usize::from(letter - b'A') + 10),
            _ => None,
        }
    }

    fn add(&mut self, key: &ReferenceKey) {
        if let Some(position) = key.as_bytes().first().copied().and_then(Self::position) {
            self.0[position] += 1;
        }
    }

    fn remove(&mut self, key: &ReferenceKey) {
        if let Some(position) = key.as_bytes().first().copied().and_then(Self::position) {
            self.0[position] -= 1;
        }
    }

    fn contains(&self, first: u8) -> bool {
        Self::position(first).is_some_and(|position| self.0[position] > 0)
    }
}

impl InvoiceIndex {
    /// Creates an empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an invoice, or replaces the invoice with the same id.
    ///
    /// A negative open amount is stored as zero. An invoice whose number has no ASCII letter or
    /// digit, or has a letter or digit outside ASCII, can only be found by its payment reference
    /// or as a suggestion. A payment reference longer than 35 letters and digits is ignored.
    ///
    /// # Panics
    ///
    /// Panics when the index already contains 2^31 invoices.
    pub fn insert(&mut self, mut invoice: OpenInvoice) {
        invoice.open_amount = invoice.open_amount.max(Decimal::ZERO);
        let entry = Entry::new(invoice);

        if let Some(&slot) = self.slot_by_id.get(&entry.invoice.id) {
            self.detach(slot);
            self.entries[slot as usize] = entry;
            self.attach(slot);
            return;
        }

        assert!(
            self.entries.len() < MAX_SLOTS,
            "an index holds fewer than 2^31 invoices"
        );
        let slot = self.entries.len() as Slot;
        self.slot_by_id.insert(entry.invoice.id, slot);
        self.records
            .push(Record::new(&entry.invoice, entry.counterparty_iban));
        self.entries.push(entry);
        self.attach(slot);
    }

    /// Sets the open amount of the invoice with `id`, for example after booking a payment.
    ///
    /// A negative amount is stored as zero. Does nothing when no invoice has this id.
    pub fn update_open_amount(&mut self, id: Uuid, open_amount: Decimal) {
        let Some(&slot) = self.slot_by_id.get(&id) else {
            return;
        };
        let open_amount = open_amount.max(Decimal::ZERO);
        self.detach_open(slot);
        self.entries[slot as usize].invoice.open_amount = open_amount;
        self.records[slot as usize].open_amount = open_amount;
        self.attach_open(slot);
    }

    /// Removes the invoice with `id` and returns it, or returns `None` when there is none.
    pub fn remove(&mut self, id: Uuid) -> Option<OpenInvoice> {
        let slot = self.slot_by_id.remove(&id)?;
        let last = (self.entries.len() - 1) as Slot;

        // The last invoice moves into the freed slot, so its table entries must point there.
        self.detach(slot);
        if slot != last {
            self.detach(last);
        }
        self.records.swap_remove(slot as usize);
        let removed = self.entries.swap_remove(slot as usize);
        if slot != last {
            self.attach(slot);
            self.slot_by_id
                .insert(self.entries[slot as usize].invoice.id, slot);
        }
        Some(removed.invoice)
    }

    /// Returns the invoice with `id`.
    pub fn get(&self, id: Uuid) -> Option<&OpenInvoice> {
        let slot = *self.slot_by_id.get(&id)?;
        Some(&self.entries[slot as usize].invoice)
    }

    /// Returns the number of invoices, fully paid ones included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Returns whether the index has no invoices.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn id(&self, slot: Slot) -> Uuid {
        self.records[slot as usize].id
    }

    pub(crate) fn open_amount(&self, slot: Slot) -> Decimal {
        self.records[slot as usize].open_amount
    }

    pub(crate) fn total_amount(&self, slot: Slot) -> Decimal {
        self.entries[slot as usize].invoice.total_amount
    }

    /// Returns the invoice number as inserted.
    pub(crate) fn number(&self, slot: Slot) -> &str {
        let record = &self.records[slot as usize];
        if record.number_len == 0 {
            return &self.entries[slot as usize].invoice.number;
        }
        std::str::from_utf8(&record.number[..usize::from(record.number_len)])
            .expect("the record contains a whole String")
    }

    /// Returns the compact counterparty IBAN of the invoice in `slot`.
    pub(crate) fn counterparty_iban(&self, slot: Slot) -> Option<&IbanKey> {
        self.records[slot as usize].counterparty_iban.as_ref()
    }

    /// Returns whether another invoice of the same kind has the same counterparty IBAN and open
    /// amount as the invoice in `slot`.
    pub(crate) fn shares_open_amount(&self, slot: Slot) -> bool {
        self.records[slot as usize].shares_open_amount
    }

    /// Returns whether an invoice number key of `len` bytes may exist, and whether one without a
    /// digit may exist when the word has none.
    pub(crate) fn may_have_number(&self, kind: InvoiceKind, len: usize, has_digit: bool) -> bool {
        let tables = &self.kinds[kind.position()];
        tables.number_lengths.contains(len) && (has_digit || tables.digitless_numbers > 0)
    }

    pub(crate) fn slots_by_number(&self, kind: InvoiceKind, key: &NumberKey) -> &[Slot] {
        self.kinds[kind.position()].by_number.get(key)
    }

    /// Looks up a number key longer than [`NumberKey::CAPACITY`].
    pub(crate) fn slots_by_long_number(&self, kind: InvoiceKind, key: &str) -> &[Slot] {
        self.kinds[kind.position()].by_long_number.get(key)
    }

    /// Returns whether a compact payment reference of `len` bytes starting with `first` (an
    /// ASCII letter or digit, in any case) may exist.
    pub(crate) fn may_have_payment_reference(
        &self,
        kind: InvoiceKind,
        len: usize,
        first: u8,
    ) -> bool {
        let tables = &self.kinds[kind.position()];
        tables.payment_reference_lengths.contains(len)
            && tables.payment_reference_first_chars.contains(first)
    }

    pub(crate) fn slots_by_payment_reference(
        &self,
        kind: InvoiceKind,
        key: &ReferenceKey,
    ) -> &[Slot] {
        self.kinds[kind.position()].by_payment_reference.get(key)
    }

    /// Returns the invoices of `kind` with `open_amount` open and this compact counterparty IBAN.
    pub(crate) fn slots_by_counterparty_and_amount(
        &self,
        kind: InvoiceKind,
        counterparty_iban: &IbanKey,
        open_amount: Decimal,
    ) -> &[Slot] {
        self.kinds[kind.position()]
            .open_by_counterparty
            .get(&(*counterparty_iban, amount_key(open_amount)))
    }

    /// Adds the invoice in `slot` to every table and fills its record.
    fn attach(&mut self, slot: Slot) {
        let entry = &self.entries[slot as usize];
        self.records[slot as usize] = Record::new(&entry.invoice, entry.counterparty_iban);

        let tables = &mut self.kinds[entry.invoice.kind.position()];
        if let Some(number_key) = &entry.number_key {
            match number_key {
                StoredNumberKey::Inline(key) => {
                    tables.by_number.insert(*key, slot);
                }
                StoredNumberKey::Long(key) => {
                    tables.by_long_number.insert(key.clone(), slot);
                }
            }
            tables.number_lengths.add(number_key.as_bytes().len());
            if !number_key.as_bytes().iter().any(u8::is_ascii_digit) {
                tables.digitless_numbers += 1;
            }
        }
        if let Some(reference) = &entry.payment_reference {
            tables.by_payment_reference.insert(*reference, slot);
            tables.payment_reference_lengths.add(reference.len());
            tables.payment_reference_first_chars.add(reference);
        }
        self.attach_open(slot);
    }

    fn detach(&mut self, slot: Slot) {
        self.detach_open(slot);

        let entry = &self.entries[slot as usize];
        let tables = &mut self.kinds[entry.invoice.kind.position()];
        if let Some(number_key) = &entry.number_key {
            match number_key {
                StoredNumberKey::Inline(key) => {
                    tables.by_number.remove(key, slot);
                }
                StoredNumberKey::Long(key) => {
                    tables.by_long_number.remove(key, slot);
                }
            }
            tables.number_lengths.remove(number_key.as_bytes().len());
            if !number_key.as_bytes().iter().any(u8::is_ascii_digit) {
                tables.digitless_numbers -= 1;
            }
        }
        if let Some(reference) = &entry.payment_reference {
            tables.by_payment_reference.remove(reference, slot);
            tables.payment_reference_lengths.remove(reference.len());
            tables.payment_reference_first_chars.remove(reference);
        }
    }

    fn attach_open(&mut self, slot: Slot) {
        let record = self.records[slot as usize];
        let Some(iban) = record.counterparty_iban else {
            return;
        };
        if record.open_amount.is_zero() {
            return;
        }
        let sharing = self.kinds[record.kind.position()]
            .open_by_counterparty
            .insert((iban, amount_key(record.open_amount)), slot);
        if sharing.len() > 1 {
            for &other in sharing {
                self.records[other as usize].shares_open_amount = true;
            }
        }
    }

    fn detach_open(&mut self, slot: Slot) {
        let record = self.records[slot as usize];
        let Some(iban) = record.counterparty_iban else {
            return;
        };
        self.records[slot as usize].shares_open_amount = false;
        let left = self.kinds[record.kind.position()]
            .open_by_counterparty
            .remove(&(iban, amount_key(record.open_amount)), slot);
        if let [only] = *left {
            self.records[only as usize].shares_open_amount = false;
        }
    }
}

#[cfg(test)]
mod tests;
