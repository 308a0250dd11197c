//! The directory's errors: one enum, each with a stable code and (for rule
//! refusals) the rule id. Edges map them to their protocol in one place.

use crate::import::ImportReport;
use crate::ports::StoreError;
use coexist_policy::{Refusal, RuleId};

/// Why a directory operation did not happen. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// A field is malformed or invalid.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field, as the request spells it.
        field: String,
        /// What is wrong, for people.
        reason: String,
    },
    /// No such tenant.
    #[error("unknown tenant '{0}'")]
    UnknownTenant(String),
    /// No such user.
    #[error("unknown user '{0}'")]
    UnknownUser(String),
    /// No such peer.
    #[error("unknown peer '{0}'")]
    UnknownPeer(String),
    /// No such interop policy.
    #[error("unknown interop policy '{0}'")]
    UnknownInteropPolicy(String),
    /// The name, UPN, domain or number is already taken.
    #[error("{field}: {reason}")]
    Conflict {
        /// The field.
        field: String,
        /// What it collides with.
        reason: String,
    },
    /// A rule forbids it (R1.5), naming the users concerned.
    #[error("{refusal}; users: {}", users.join(", "))]
    Refused {
        /// Code and rule.
        refusal: Refusal,
        /// The users concerned.
        users: Vec<String>,
    },
    /// The caller may not act on this tenant or resource.
    #[error("{0}")]
    Forbidden(String),
    /// A bulk import had invalid lines; nothing was imported.
    #[error("the import has {} invalid lines; nothing was imported", .0.errors.len())]
    ImportRejected(Box<ImportReport>),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DirectoryError {
    /// An invalid field.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> DirectoryError {
        DirectoryError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A conflicting field.
    pub fn conflict(field: impl Into<String>, reason: impl Into<String>) -> DirectoryError {
        DirectoryError::Conflict {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The stable code scripts match on.
    pub fn code(&self) -> &'static str {
        match self {
            DirectoryError::Invalid { .. } => "InvalidField",
            DirectoryError::UnknownTenant(_) => "UnknownTenant",
            DirectoryError::UnknownUser(_) => "UnknownUser",
            DirectoryError::UnknownInteropPolicy(_) => "UnknownInteropPolicy",
            DirectoryError::UnknownPeer(_) => "UnknownPeer",
            DirectoryError::Conflict { .. } => "AlreadyExists",
            DirectoryError::Refused { refusal, .. } => refusal.code.as_str(),
            DirectoryError::Forbidden(_) => "Forbidden",
            DirectoryError::ImportRejected(_) => "ImportRejected",
            DirectoryError::Store(_) => "Internal",
        }
    }

    /// The rule that decided, for rule refusals.
    pub fn rule(&self) -> Option<RuleId> {
        match self {
            DirectoryError::Refused { refusal, .. } => Some(refusal.rule),
            _ => None,
        }
    }

    /// The field concerned, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            DirectoryError::Invalid { field, .. } | DirectoryError::Conflict { field, .. } => {
                Some(field)
            }
            _ => None,
        }
    }
}

/// Results of directory operations.
pub type Result<T, E = DirectoryError> = std::result::Result<T, E>;
