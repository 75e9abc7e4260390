//! The ISO 20022 element names the CAMT reader looks at.
//!
//! Elements are matched by local name, so every namespace version (`camt.053.001.02` to
//! `.13`, and files with a misspelled namespace) reads the same way.

/// Defines [`Tag`] with one variant per element name, plus [`Tag::Other`].
macro_rules! tags {
    ($($variant:ident => $name:literal,)*) => {
        /// An element name the reader acts on; all others are [`Tag::Other`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Tag {
            $($variant,)*
            Other,
        }

        impl Tag {
            /// Looks up a local element name.
            pub(crate) fn from_local_name(name: &[u8]) -> Tag {
                match std::str::from_utf8(name) {
                    $(Ok($name) => Tag::$variant,)*
                    _ => Tag::Other,
                }
            }

            /// Returns the element name as written in XML, or `"?"` for [`Tag::Other`].
            pub(crate) fn name(self) -> &'static str {
                match self {
                    $(Tag::$variant => $name,)*
                    Tag::Other => "?",
                }
            }
        }
    };
}

tags! {
    Document => "Document",
    BkToCstmrStmt => "BkToCstmrStmt",
    BkToCstmrAcctRpt => "BkToCstmrAcctRpt",
    BkToCstmrDbtCdtNtfctn => "BkToCstmrDbtCdtNtfctn",
    GrpHdr => "GrpHdr",
    CreDtTm => "CreDtTm",
    Stmt => "Stmt",
    Rpt => "Rpt",
    Ntfctn => "Ntfctn",
    Id => "Id",
    ElctrncSeqNb => "ElctrncSeqNb",
    LglSeqNb => "LglSeqNb",
    CpyDplctInd => "CpyDplctInd",
    FrToDt => "FrToDt",
    ToDtTm => "ToDtTm",
    Acct => "Acct",
    Iban => "IBAN",
    Othr => "Othr",
    Ccy => "Ccy",
    Bal => "Bal",
    Tp => "Tp",
    CdOrPrtry => "CdOrPrtry",
    Cd => "Cd",
    Prtry => "Prtry",
    Amt => "Amt",
    CdtDbtInd => "CdtDbtInd",
    Dt => "Dt",
    DtTm => "DtTm",
    Ntry => "Ntry",
    NtryRef => "NtryRef",
    RvslInd => "RvslInd",
    Sts => "Sts",
    BookgDt => "BookgDt",
    ValDt => "ValDt",
    AcctSvcrRef => "AcctSvcrRef",
    BkTxCd => "BkTxCd",
    Domn => "Domn",
    Fmly => "Fmly",
    SubFmlyCd => "SubFmlyCd",
    NtryDtls => "NtryDtls",
    Btch => "Btch",
    NbOfTxs => "NbOfTxs",
    TxDtls => "TxDtls",
    Refs => "Refs",
    EndToEndId => "EndToEndId",
    AmtDtls => "AmtDtls",
    TxAmt => "TxAmt",
    InstdAmt => "InstdAmt",
    RltdPties => "RltdPties",
    Dbtr => "Dbtr",
    Cdtr => "Cdtr",
    Pty => "Pty",
    Nm => "Nm",
    DbtrAcct => "DbtrAcct",
    CdtrAcct => "CdtrAcct",
    RmtInf => "RmtInf",
    Ustrd => "Ustrd",
    Strd => "Strd",
    CdtrRefInf => "CdtrRefInf",
    Ref => "Ref",
    AddtlTxInf => "AddtlTxInf",
    AddtlNtryInf => "AddtlNtryInf",
}

impl Tag {
    /// Returns true for the element that contains one statement, report or notification.
    pub(crate) fn is_statement(self) -> bool {
        matches!(self, Tag::Stmt | Tag::Rpt | Tag::Ntfctn)
    }

    /// Returns true for the message element below `Document`.
    pub(crate) fn is_message_root(self) -> bool {
        matches!(
            self,
            Tag::BkToCstmrStmt | Tag::BkToCstmrAcctRpt | Tag::BkToCstmrDbtCdtNtfctn
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_names() {
        assert_eq!(Tag::from_local_name(b"Ntry"), Tag::Ntry);
        assert_eq!(Tag::from_local_name(b"IBAN"), Tag::Iban);
        assert_eq!(Tag::from_local_name(b"Iban"), Tag::Other);
        assert_eq!(Tag::from_local_name(b"\xff"), Tag::Other);
        assert_eq!(Tag::Iban.name(), "IBAN");
        assert_eq!(Tag::Other.name(), "?");
        assert!(Tag::Rpt.is_statement());
        assert!(!Tag::Ntry.is_statement());
        assert!(Tag::BkToCstmrAcctRpt.is_message_root());
    }
}
