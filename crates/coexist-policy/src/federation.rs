//! R3.4: may two tenants federate?

use crate::notes::Note;
use crate::vocabulary::Cloud;

/// One tenant's federation settings (R3.4).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederationSettings {
    /// SfB federation enabled.
    #[serde(default)]
    pub sfb_federation: bool,
    /// Teams federation enabled.
    #[serde(default)]
    pub teams_federation: bool,
    /// `None`: any domain not blocked (open, or a block list).
    /// `Some(list)`: only the listed domains (an allow list).
    #[serde(default)]
    pub allowed_domains: Option<Vec<String>>,
    /// Domains never allowed.
    #[serde(default)]
    pub blocked_domains: Vec<String>,
}

impl FederationSettings {
    /// Federation fully open: both pipelines on, any domain.
    pub fn open() -> FederationSettings {
        FederationSettings {
            sfb_federation: true,
            teams_federation: true,
            allowed_domains: None,
            blocked_domains: Vec::new(),
        }
    }

    /// Whether this tenant lets `domain` in (allow list, block list, open).
    pub fn allows_domain(&self, domain: &str) -> bool {
        let listed = |list: &[String]| list.iter().any(|d| d.eq_ignore_ascii_case(domain));
        if listed(&self.blocked_domains) {
            return false;
        }
        match &self.allowed_domains {
            Some(allowed) => listed(allowed),
            None => true,
        }
    }
}

/// One side of a federated conversation.
#[derive(Debug, Clone, Copy)]
pub struct FederationSide<'a> {
    /// The SIP domain of this side's user.
    pub domain: &'a str,
    /// The tenant's cloud.
    pub cloud: Cloud,
    /// The tenant's settings.
    pub settings: &'a FederationSettings,
}

/// The answer of R3.4 for a pair of tenants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FederationStatus {
    /// Both tenants allow it, in one cloud instance.
    Allowed,
    /// Some setting forbids it; the note says which.
    NotAllowed(Note),
    /// The tenants are in different cloud instances.
    CrossCloud,
}

/// R3.4: both tenants need SfB and Teams federation on and the other's
/// domain allowed; both must be in the same cloud instance. Hybrid is not
/// required of either.
pub fn check_federation(from: FederationSide<'_>, to: FederationSide<'_>) -> FederationStatus {
    if from.cloud.instance() != to.cloud.instance() {
        return FederationStatus::CrossCloud;
    }
    let checks: [(bool, Note); 6] = [
        (
            from.settings.sfb_federation,
            Note::SfBFederationOffOriginatorTenant,
        ),
        (
            from.settings.teams_federation,
            Note::TeamsFederationOffOriginatorTenant,
        ),
        (
            to.settings.sfb_federation,
            Note::SfBFederationOffRecipientTenant,
        ),
        (
            to.settings.teams_federation,
            Note::TeamsFederationOffRecipientTenant,
        ),
        (
            from.settings.allows_domain(to.domain),
            Note::OriginatorTenantDoesNotAllowRecipientDomain,
        ),
        (
            to.settings.allows_domain(from.domain),
            Note::RecipientTenantDoesNotAllowOriginatorDomain,
        ),
    ];
    match checks.iter().find(|(ok, _)| !ok) {
        Some((_, why)) => FederationStatus::NotAllowed(*why),
        None => FederationStatus::Allowed,
    }
}
