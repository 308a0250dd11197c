//! Read-only answers over the directory: the effective mode (R1.3), the
//! explain view of a routing decision (R3), lint (R8) and the dry-run
//! conversion of legacy interop policies (R9.4).

use crate::directory::Directory;
use crate::error::{DirectoryError, Result};
use crate::model::{Actor, Tenant, User};
use crate::state::State;
use coexist_policy::federation::{FederationSide, check_federation};
use coexist_policy::legacy::{convert_legacy, effective_calling_default, route_call};
use coexist_policy::lint::{Finding, LintUser, lint};
use coexist_policy::pstn::{PstnCallee, PstnCaller, check_pstn_outbound, route_pstn_inbound};
use coexist_policy::routing::{NewConversation, Originator, Reach, Recipient, route};
use coexist_policy::upgrade_policy::{EffectivePolicy, effective_policy};
use coexist_policy::{Client, Homing, InteropPolicy, Mode, Refusal, UpgradePolicy};
use serde::Serialize;
use serde_json::json;

/// A user's effective upgrade state, in the PowerShell vocabulary
/// (`Get-CsOnlineUser`).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EffectiveView {
    /// The user.
    pub upn: String,
    /// The tenant.
    pub tenant: String,
    /// R1.3.
    #[serde(rename = "TeamsUpgradeEffectiveMode")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub mode: Mode,
    /// The policy in force.
    #[serde(rename = "TeamsUpgradePolicy")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub policy: UpgradePolicy,
    /// R1.4.
    #[serde(rename = "TeamsUpgradeNotificationsEnabled")]
    pub notify: bool,
    /// `user`, `tenant` or `default` (R1.3).
    #[serde(rename = "TeamsUpgradePolicySource")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub source: coexist_policy::GrantSource,
    /// The user's own grant, if any.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub user_grant: Option<UpgradePolicy>,
    /// The tenant-wide grant, if any.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub tenant_grant: Option<UpgradePolicy>,
    /// Homing.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub sfb_homing: Homing,
    /// R2.2.
    pub teams_enabled: bool,
    /// R2.2.
    pub sfb_enabled: bool,
    /// The legacy interop policy (R9), if granted.
    #[serde(rename = "TeamsInteropPolicy")]
    pub interop_policy: Option<String>,
}

/// R1.3 for a user of a tenant.
pub fn effective_of(user: &User, tenant: &Tenant) -> EffectivePolicy {
    effective_policy(user.upgrade_policy, tenant.upgrade_policy)
}

fn tenant_of<'a>(state: &'a State, user: &User) -> Result<&'a Tenant> {
    state
        .tenant(&user.tenant)
        .ok_or_else(|| DirectoryError::UnknownTenant(user.tenant.clone()))
}

/// One line of the legacy conversion report (R9.4).
#[derive(Debug, Clone, Serialize)]
pub struct ConversionLine {
    /// The user.
    pub upn: String,
    /// Their legacy policy.
    pub interop_policy: String,
    /// Homing (R1.5).
    pub sfb_homing: Homing,
    /// The upgrade policy they would get.
    pub policy: Option<UpgradePolicy>,
    /// The mode they would be in.
    pub mode: Option<Mode>,
    /// When the conversion is a guess.
    pub warning: Option<&'static str>,
    /// Why it cannot be converted.
    pub refusal: Option<RefusalView>,
    #[serde(skip)]
    refusal_code: Option<Refusal>,
}

/// A refusal for people and scripts.
#[derive(Debug, Clone, Serialize)]
pub struct RefusalView {
    /// Stable code.
    pub code: &'static str,
    /// Rule id.
    pub rule: &'static str,
    /// Sentence.
    pub reason: &'static str,
}

impl From<Refusal> for RefusalView {
    fn from(refusal: Refusal) -> Self {
        RefusalView {
            code: refusal.code.as_str(),
            rule: refusal.rule.as_str(),
            reason: refusal.sentence(),
        }
    }
}

impl Directory {
    /// R1.3: a user's effective mode and where it came from.
    pub fn effective(&self, actor: &Actor, upn: &str) -> Result<EffectiveView> {
        let user = self.user(actor, upn)?;
        let state = self.read();
        let tenant = tenant_of(&state, &user)?;
        let effective = effective_of(&user, tenant);
        Ok(EffectiveView {
            upn: user.upn.clone(),
            tenant: tenant.name.clone(),
            mode: effective.mode(),
            policy: effective.policy,
            notify: effective.policy.notify_sfb_users(),
            source: effective.source,
            user_grant: user.upgrade_policy,
            tenant_grant: tenant.upgrade_policy,
            sfb_homing: user.sfb_homing,
            teams_enabled: user.teams_enabled,
            sfb_enabled: user.sfb_enabled,
            interop_policy: user.interop_policy.clone(),
        })
    }

    /// R3 for two real users (or R6.4 to a phone number no user has): the
    /// verdict with the rules that fired, plus what the decision saw. The
    /// actor must be allowed to see the originator.
    pub fn explain(
        &self,
        actor: &Actor,
        from: &str,
        client: Client,
        to: &str,
    ) -> Result<serde_json::Value> {
        let origin = self.user(actor, from)?;
        let state = self.read();
        let origin_tenant = tenant_of(&state, &origin)?;
        let origin_mode = effective_of(&origin, origin_tenant).mode();
        let party = |user: &User, tenant: &Tenant| {
            let effective = effective_of(user, tenant);
            json!({
                "upn": user.upn, "tenant": tenant.name, "mode": effective.mode(),
                "policy_source": effective.source, "sfb_homing": user.sfb_homing,
                "teams_enabled": user.teams_enabled, "sfb_enabled": user.sfb_enabled,
            })
        };
        let recipient = if to.starts_with('+') {
            state.user_by_number(to)
        } else {
            state.user(to)
        };
        let Some(recipient) = recipient else {
            if to.starts_with('+') {
                // A number no user has: an outbound phone call (R6.4).
                let outcome = check_pstn_outbound(PstnCaller {
                    mode: origin_mode,
                    client,
                    voice: origin.voice,
                });
                let (rules, refusal) = match outcome {
                    Ok(trail) => (json!(trail), None),
                    Err(refusal) => (json!([refusal.rule]), Some(RefusalView::from(refusal))),
                };
                return Ok(json!({
                    "possible": refusal.is_none(), "lands_on": null,
                    "method": refusal.is_none().then_some("pstn"),
                    "code": refusal.as_ref().map(|r| r.code), "rule": refusal.as_ref().map(|r| r.rule),
                    "reason": refusal.as_ref().map(|r| r.reason), "rules": rules,
                    "scope": "pstn", "version": state.version,
                    "from": party(&origin, origin_tenant), "client": client, "to": {"number": to},
                }));
            }
            return Err(DirectoryError::UnknownUser(to.to_owned()));
        };
        let recipient_tenant = tenant_of(&state, recipient)?;
        let reach = if recipient_tenant.name == origin_tenant.name {
            Reach::InTenant(origin_tenant.topology)
        } else {
            Reach::Federated(check_federation(
                FederationSide {
                    domain: origin.domain(),
                    cloud: origin_tenant.cloud,
                    settings: &origin_tenant.federation,
                },
                FederationSide {
                    domain: recipient.domain(),
                    cloud: recipient_tenant.cloud,
                    settings: &recipient_tenant.federation,
                },
            ))
        };
        let conversation = NewConversation {
            from: Originator {
                mode: origin_mode,
                client,
                homing: origin.sfb_homing,
                enabled: origin.enablement(),
            },
            to: Recipient {
                mode: effective_of(recipient, recipient_tenant).mode(),
                homing: recipient.sfb_homing,
                enabled: recipient.enablement(),
            },
            reach,
        };
        let verdict = route(&conversation);
        let mut view = serde_json::to_value(verdict).unwrap_or_default();
        if let Some(object) = view.as_object_mut() {
            object.insert("scope".into(), json!(reach.scope()));
            if let Reach::Federated(coexist_policy::FederationStatus::NotAllowed(why)) = reach {
                object.insert("federation".into(), json!(why));
            }
            object.insert("client".into(), json!(client));
            object.insert("from".into(), party(&origin, origin_tenant));
            object.insert("to".into(), party(recipient, recipient_tenant));
            object.insert("version".into(), json!(state.version));
            if let Some(calls) = legacy_calls(&state, recipient, &conversation) {
                object.insert("legacy_calls".into(), calls);
            }
        }
        Ok(view)
    }

    /// R8 over the real tenant. `has_ip_phone` tells whether one of a
    /// user's live sfb registrations is an IP phone (the SIP edge knows,
    /// R6.3): those of users whose calls land in teams are R8.6.
    pub fn lint(
        &self,
        actor: &Actor,
        tenant: &str,
        has_ip_phone: impl Fn(&str) -> bool,
    ) -> Result<(usize, Vec<Finding>)> {
        let tenant = self.tenant(actor, tenant)?;
        let state = self.read();
        let users: Vec<LintUser> = state
            .users_of(&tenant.name)
            .map(|user| LintUser {
                upn: user.upn.clone(),
                mode: effective_of(user, &tenant).mode(),
                homing: user.sfb_homing,
                voice: user.voice,
                // R9.2: the user's own calling client, where the policy
                // lets it replace CallingDefaultClient.
                legacy: state.legacy_calling(user).map(|legacy| InteropPolicy {
                    calling_default_client: effective_calling_default(
                        legacy.policy,
                        legacy.user_choice,
                    ),
                    ..legacy.policy
                }),
                specialized_workflow: user.specialized_workflow,
                ip_phones: u32::from(has_ip_phone(&user.upn)),
            })
            .collect();
        Ok((users.len(), lint(&users)))
    }

    /// Named interop policies: built-ins first, then admin-made ones.
    pub fn interop_policies(&self) -> Vec<(String, InteropPolicy, bool)> {
        let state = self.read();
        coexist_policy::legacy::BUILT_IN_INTEROP_POLICIES
            .iter()
            .map(|(name, policy)| ((*name).to_owned(), *policy, true))
            .chain(
                state
                    .custom_interop_policies()
                    .map(|(name, policy)| (name.clone(), *policy, false)),
            )
            .collect()
    }

    /// R9.4 dry run: what each user with a legacy policy would become.
    pub fn interop_conversion(&self, actor: &Actor, tenant: &str) -> Result<Vec<ConversionLine>> {
        let tenant = self.tenant(actor, tenant)?;
        let state = self.read();
        Ok(conversion_lines(&state, &tenant))
    }

    /// R9.4 applied, after the dry run: every legacy-policy user of the
    /// tenant gets the converted upgrade policy and loses the legacy one, all
    /// or nothing. Any refusal (R1.5) refuses the whole conversion, naming
    /// the users.
    pub async fn apply_interop_conversion(
        &self,
        actor: &Actor,
        tenant: &str,
    ) -> Result<Vec<ConversionLine>> {
        let _writer = self.lock_writer().await;
        let tenant = self.tenant(actor, tenant)?;
        let (lines, users) = {
            let state = self.read();
            let lines = conversion_lines(&state, &tenant);
            let refused: Vec<String> = lines
                .iter()
                .filter(|l| l.refusal.is_some())
                .map(|l| l.upn.clone())
                .collect();
            if let Some(refusal) = lines.iter().find_map(|l| l.refusal_code) {
                return Err(DirectoryError::Refused {
                    refusal,
                    users: refused,
                });
            }
            let users: Vec<(User, User)> = lines
                .iter()
                .filter_map(|line| {
                    let before = state.user(&line.upn)?.clone();
                    let after = User {
                        upgrade_policy: line.policy,
                        interop_policy: None,
                        updated_at: self.clock().now(),
                        ..before.clone()
                    };
                    Some((before, after))
                })
                .collect();
            (lines, users)
        };
        self.commit_users(actor, "convert-interop-policy", &tenant.name, users)
            .await?;
        Ok(lines)
    }
}

/// R9.1/R9.2 for a recipient whose legacy TeamsInteropPolicy decides their
/// calls (while they are in Islands, R1.1): where a call from the
/// originator's client lands (`route_call`: the decision the teams side
/// and the SIP edge route real calls by), and where a PSTN call to their
/// number lands, with the policy and the user's own choice. `None` for
/// everyone else.
fn legacy_calls(
    state: &State,
    recipient: &User,
    conversation: &NewConversation,
) -> Option<serde_json::Value> {
    let legacy = state.legacy_calling(recipient)?;
    if conversation.to.mode != Mode::Islands {
        return None;
    }
    let pstn = route_pstn_inbound(&PstnCallee {
        mode: conversation.to.mode,
        homing: recipient.sfb_homing,
        voice: recipient.voice,
        enabled: recipient.enablement(),
        legacy: Some(legacy),
    });
    Some(json!({
        "interop_policy": recipient.interop_policy,
        "calling_default_client": legacy.policy.calling_default_client,
        "allow_end_user_client_override": legacy.policy.allow_end_user_client_override,
        "preferred_calling_client": legacy.user_choice,
        "call": route_call(conversation, Some(legacy)),
        "pstn_call": pstn,
    }))
}

/// R9.4 for every user of `tenant` holding a legacy policy.
fn conversion_lines(state: &State, tenant: &Tenant) -> Vec<ConversionLine> {
    state
        .users_of(&tenant.name)
        .filter_map(|user| {
            let name = user.interop_policy.clone()?;
            let policy = state.interop_policy(&name)?;
            let conversion = convert_legacy(policy, user.sfb_homing);
            Some(ConversionLine {
                upn: user.upn.clone(),
                interop_policy: name,
                sfb_homing: user.sfb_homing,
                policy: conversion.policy,
                mode: conversion.policy.map(UpgradePolicy::mode),
                warning: conversion.warning,
                refusal: conversion.refusal.map(RefusalView::from),
                refusal_code: conversion.refusal,
            })
        })
        .collect()
}
