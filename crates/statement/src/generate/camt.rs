//! Writing statements as a camt.053.001.02 document.

use std::fmt::Write as _;

use rust_decimal::Decimal;

use super::{Rng, bic_for};
use crate::model::{Balance, Statement, Transaction};

/// Percentage of entries written as a batch of two or three `TxDtls`.
const BATCH_PERCENT: u64 = 5;

/// Writes `statements` as one camt.053.001.02 document, one entry per transaction.
///
/// Reading the output back with [`crate::parse`] gives the same dates, amounts, counterparties,
/// remittance texts, references and balances. The transaction codes become ISO bank
/// transaction codes (`PMNT-RCDT-ESCT` for a credit, `PMNT-ICDT-ESCT` for a debit).
pub fn render_camt053(statements: &[Statement]) -> String {
    render_batched(statements, 0, 0)
}

/// Writes `statements` as one camt.053 document. Runs of same-direction transactions are
/// sometimes written as one batch entry, decided by `seed`.
pub(super) fn render(statements: &[Statement], seed: u64) -> String {
    render_batched(statements, seed, BATCH_PERCENT)
}

/// Writes a camt.053 document in which about `batch_percent` percent of the entries are
/// batches of two or three transactions.
fn render_batched(statements: &[Statement], seed: u64, batch_percent: u64) -> String {
    let transactions: usize = statements
        .iter()
        .map(|statement| statement.transactions.len())
        .sum();
    let mut out = String::with_capacity(2048 + statements.len() * 1024 + transactions * 1400);
    let mut rng = Rng::new(seed ^ 0x0C4A_7053);
    out.push_str(concat!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
        "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\">\n",
        "  <BkToCstmrStmt>\n",
        "    <GrpHdr>\n",
        "      <MsgId>DK-GENERATED</MsgId>\n",
        "      <CreDtTm>2026-01-01T00:00:00+01:00</CreDtTm>\n",
        "    </GrpHdr>\n",
    ));
    for statement in statements {
        render_statement(&mut out, statement, &mut rng, batch_percent);
    }
    out.push_str("  </BkToCstmrStmt>\n</Document>\n");
    out
}

fn render_statement(out: &mut String, statement: &Statement, rng: &mut Rng, batch_percent: u64) {
    out.push_str("    <Stmt>\n");
    let _ = writeln!(
        out,
        "      <Id>{}</Id>",
        escape(statement.statement_id.as_deref().unwrap_or_default())
    );
    if let Some(sequence) = &statement.sequence {
        let _ = writeln!(
            out,
            "      <ElctrncSeqNb>{}</ElctrncSeqNb>",
            escape(sequence)
        );
    }
    let iban = statement.iban.as_deref().unwrap_or(&statement.account);
    let _ = writeln!(
        out,
        "      <Acct>\n        <Id>\n          <IBAN>{}</IBAN>\n        </Id>\n        <Ccy>{}</Ccy>\n      </Acct>",
        escape(iban),
        escape(&statement.currency)
    );
    if let Some(opening) = &statement.opening_balance {
        render_balance(out, "OPBD", opening);
    }
    if let Some(closing) = &statement.closing_balance {
        render_balance(out, "CLBD", closing);
    }

    let mut rest = statement.transactions.as_slice();
    while let Some(first) = rest.first() {
        let same_direction = rest
            .iter()
            .take(3)
            .take_while(|transaction| {
                transaction.amount.is_sign_negative() == first.amount.is_sign_negative()
            })
            .count();
        let size = if same_direction >= 2 && rng.chance(batch_percent) {
            2 + usize::try_from(rng.below(2))
                .unwrap_or(0)
                .min(same_direction - 2)
        } else {
            1
        };
        let (batch, remaining) = rest.split_at(size);
        render_entry(out, batch);
        rest = remaining;
    }
    out.push_str("    </Stmt>\n");
}

fn render_balance(out: &mut String, code: &str, balance: &Balance) {
    let indicator = if balance.amount.is_sign_negative() {
        "DBIT"
    } else {
        "CRDT"
    };
    let _ = write!(
        out,
        concat!(
            "      <Bal>\n",
            "        <Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>\n",
            "        <Amt Ccy=\"{currency}\">{amount}</Amt>\n",
            "        <CdtDbtInd>{indicator}</CdtDbtInd>\n",
            "        <Dt><Dt>{date}</Dt></Dt>\n",
            "      </Bal>\n",
        ),
        code = code,
        currency = escape(&balance.currency),
        amount = balance.amount.abs(),
        indicator = indicator,
        date = balance.date.format("%Y-%m-%d"),
    );
}

/// Writes one entry: a single transaction, or a batch whose parts have their own amounts.
fn render_entry(out: &mut String, parts: &[Transaction]) {
    let Some(first) = parts.first() else {
        return;
    };
    let total: Decimal = parts.iter().map(|part| part.amount).sum();
    let indicator = if total.is_sign_negative() {
        "DBIT"
    } else {
        "CRDT"
    };
    let code = if total.is_sign_negative() {
        ("PMNT", "ICDT", "ESCT")
    } else {
        ("PMNT", "RCDT", "ESCT")
    };
    let _ = write!(
        out,
        concat!(
            "      <Ntry>\n",
            "        <Amt Ccy=\"{currency}\">{amount}</Amt>\n",
            "        <CdtDbtInd>{indicator}</CdtDbtInd>\n",
            "        <Sts>BOOK</Sts>\n",
            "        <BookgDt><Dt>{booking}</Dt></BookgDt>\n",
            "        <ValDt><Dt>{value}</Dt></ValDt>\n",
            "        <AcctSvcrRef>{reference}</AcctSvcrRef>\n",
            "        <BkTxCd><Domn><Cd>{domain}</Cd><Fmly><Cd>{family}</Cd><SubFmlyCd>{sub}</SubFmlyCd></Fmly></Domn></BkTxCd>\n",
            "        <NtryDtls>\n",
        ),
        currency = escape(&first.currency),
        amount = total.abs(),
        indicator = indicator,
        booking = first.booking_date.format("%Y-%m-%d"),
        value = first.value_date.format("%Y-%m-%d"),
        reference = escape(first.bank_reference.as_deref().unwrap_or("NONREF")),
        domain = code.0,
        family = code.1,
        sub = code.2,
    );
    if parts.len() > 1 {
        let _ = writeln!(
            out,
            "          <Btch><NbOfTxs>{}</NbOfTxs></Btch>",
            parts.len()
        );
    }
    for part in parts {
        render_details(out, part);
    }
    out.push_str("        </NtryDtls>\n      </Ntry>\n");
}

fn render_details(out: &mut String, part: &Transaction) {
    out.push_str("          <TxDtls>\n            <Refs>\n");
    if let Some(reference) = &part.bank_reference {
        let _ = writeln!(
            out,
            "              <AcctSvcrRef>{}</AcctSvcrRef>",
            escape(reference)
        );
    }
    let _ = writeln!(
        out,
        "              <EndToEndId>{}</EndToEndId>\n            </Refs>",
        escape(part.end_to_end_id.as_deref().unwrap_or("NOTPROVIDED"))
    );
    let _ = writeln!(
        out,
        "            <AmtDtls><TxAmt><Amt Ccy=\"{}\">{}</Amt></TxAmt></AmtDtls>",
        escape(&part.currency),
        part.amount.abs()
    );

    let (party, account, agent) = if part.amount.is_sign_negative() {
        ("Cdtr", "CdtrAcct", "CdtrAgt")
    } else {
        ("Dbtr", "DbtrAcct", "DbtrAgt")
    };
    out.push_str("            <RltdPties>\n");
    if let Some(name) = &part.counterparty_name {
        let _ = writeln!(
            out,
            "              <{party}><Nm>{}</Nm></{party}>",
            escape(name)
        );
    }
    if let Some(iban) = &part.counterparty_iban {
        let _ = writeln!(
            out,
            "              <{account}><Id><IBAN>{}</IBAN></Id></{account}>",
            escape(iban)
        );
    }
    out.push_str("            </RltdPties>\n");
    if let Some(iban) = &part.counterparty_iban {
        let _ = writeln!(
            out,
            "            <RltdAgts><{agent}><FinInstnId><BIC>{}</BIC></FinInstnId></{agent}></RltdAgts>",
            bic_for(iban)
        );
    }

    out.push_str("            <RmtInf>\n");
    if !part.remittance.is_empty() {
        let _ = writeln!(
            out,
            "              <Ustrd>{}</Ustrd>",
            escape(&part.remittance)
        );
    }
    if let Some(reference) = &part.structured_reference {
        let _ = writeln!(
            out,
            concat!(
                "              <Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>CUR</Issr></Tp>",
                "<Ref>{}</Ref></CdtrRefInf></Strd>"
            ),
            escape(reference)
        );
    }
    out.push_str("            </RmtInf>\n          </TxDtls>\n");
}

/// Escapes the five XML special characters.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_special_characters() {
        assert_eq!(escape("Knip & Kleur <b>"), "Knip &amp; Kleur &lt;b&gt;");
    }
}
