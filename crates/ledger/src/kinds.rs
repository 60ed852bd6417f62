use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Defines a string-backed enum with `as_str`, `FromStr`, `Display` and the
/// snake_case serde form, so stored text and wire text are one spelling.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = UnknownKind;
            fn from_str(s: &str) -> Result<Self, UnknownKind> {
                match s { $($text => Ok($name::$variant),)+ _ => Err(UnknownKind(s.to_owned())) }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value {0:?} in the ledger")]
pub struct UnknownKind(pub String);

text_enum!(
    /// What is counted: spendable points or service hours. Never mixed.
    Asset { Point => "POINT", Hour => "HOUR" }
);

text_enum!(
    AccountKind {
        VolunteerWallet => "volunteer_wallet",
        OrgIssuance => "org_issuance",
        DistrictPool => "district_pool",
        SiteSink => "site_sink",
        ExpirySink => "expiry_sink",
        Escrow => "escrow",
        TeamAccount => "team_account",
    }
);

impl AccountKind {
    /// Only an issuance account may go below zero: it is where points and
    /// hours come from.
    pub fn may_go_negative(self) -> bool {
        self == AccountKind::OrgIssuance
    }
}

text_enum!(
    TxKind {
        EarnHours => "earn_hours",
        CaseAward => "case_award",
        Redeem => "redeem",
        Refund => "refund",
        Gift => "gift",
        ServicePayment => "service_payment",
        Reversal => "reversal",
        Penalty => "penalty",
        Expiry => "expiry",
        Adjustment => "adjustment",
        PoolGrant => "pool_grant",
        TeamGrant => "team_grant",
    }
);

impl TxKind {
    /// Credits of these kinds count towards a volunteer's lifetime points.
    pub fn is_earning(self) -> bool {
        matches!(
            self,
            TxKind::EarnHours | TxKind::CaseAward | TxKind::ServicePayment
        )
    }
}

/// How much a posting adds to the account's lifetime earned total: positive
/// credits of an earning kind count, and the reversal of one takes it back.
/// `original_kind` is the kind of the transaction a reversal undoes.
pub fn earned_delta(kind: TxKind, original_kind: Option<TxKind>, amount: i64) -> i64 {
    match (kind, original_kind) {
        (TxKind::Reversal, Some(orig)) if orig.is_earning() && amount < 0 => amount,
        (TxKind::Reversal, _) => 0,
        (k, _) if k.is_earning() && amount > 0 => amount,
        _ => 0,
    }
}
