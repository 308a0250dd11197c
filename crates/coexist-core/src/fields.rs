//! Request fields as people and files spell them, and their validation:
//! every error names the field (`upn`, `sfb_homing`, …).

use crate::error::{DirectoryError, Result};
use coexist_policy::{Client, Cloud, Homing, Topology, Voice};
use serde::Deserialize;
use std::str::FromStr;

/// A new tenant (`POST /v1/tenants`).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TenantFields {
    /// Identifier in URLs: lower-case letters, digits, `-`, `_`, `.`.
    pub name: Option<String>,
    /// SIP domains; the first is the primary one.
    pub domains: Option<Vec<String>>,
    /// `online|hybrid|onprem` (R10.2). Default `online`.
    pub topology: Option<String>,
    /// `commercial|gcc|gcc-high|dod|china` (R3.4). Default `commercial`.
    pub cloud: Option<String>,
}

/// A user's fields (`POST …/users`, `PATCH /v1/users/{upn}`, import rows).
/// Absent fields keep their value (patch) or take the default (create).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UserFields {
    /// `local@domain`; the domain must be one of the tenant's. Create only.
    pub upn: Option<String>,
    /// Shown to people. Default: the UPN's local part.
    pub display_name: Option<String>,
    /// At least 8 characters; stored only as hashes.
    pub password: Option<String>,
    /// `online|onprem`. Default `online`.
    pub sfb_homing: Option<String>,
    /// Default true.
    pub teams_enabled: Option<bool>,
    /// Default true.
    pub sfb_enabled: Option<bool>,
    /// `none|online|hybrid`. Default `none`.
    pub voice: Option<String>,
    /// E.164 (`+14255550100`); empty string removes it.
    pub phone_number: Option<String>,
    /// Relies on specialised SfB workflows (R8.5). Default false.
    pub specialized_workflow: Option<bool>,
    /// R9.2: `teams`, `sfb`, or null to remove the choice. Absent keeps it.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub preferred_calling_client: Option<Option<String>>,
}

/// A field that may be null: `Some(None)` when it is null, `None` (by
/// `#[serde(default)]`) when it is absent.
fn present<'de, D, T>(deserializer: D) -> std::result::Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// R9.2: a calling client choice (`teams`, `sfb`) or its removal (null,
/// empty).
pub fn calling_client(value: Option<&str>) -> Result<Option<Client>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => parse_named("preferred_calling_client", v).map(Some),
    }
}

/// Parses a vocabulary value, naming the field on error.
pub fn parse_named<T: FromStr>(field: &str, value: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    value
        .parse()
        .map_err(|e: T::Err| DirectoryError::invalid(field, e.to_string()))
}

/// Parses an optional vocabulary value with a default.
pub fn parse_or<T: FromStr>(field: &str, value: Option<&str>, default: T) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    value.map_or(Ok(default), |v| parse_named(field, v))
}

/// A tenant name.
pub fn tenant_name(value: &str) -> Result<String> {
    let ok = !value.is_empty()
        && value.len() <= 63
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
        && value
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(value.to_owned())
    } else {
        Err(DirectoryError::invalid(
            "name",
            format!(
                "'{value}' is not a tenant name: 1-63 lower-case letters, digits, '-', '_' or '.', starting with a letter or digit"
            ),
        ))
    }
}

/// A DNS domain, lower-cased.
pub fn domain(field: &str, value: &str) -> Result<String> {
    let lower = value.trim().to_ascii_lowercase();
    let labels_ok = lower.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    if labels_ok && lower.contains('.') && lower.len() <= 253 {
        Ok(lower)
    } else {
        Err(DirectoryError::invalid(
            field,
            format!("'{value}' is not a domain name like contoso.com"),
        ))
    }
}

/// A UPN (`local@domain`), lower-cased.
pub fn upn(value: &str) -> Result<String> {
    let lower = value.trim().to_ascii_lowercase();
    let bad = || {
        DirectoryError::invalid(
            "upn",
            format!("'{value}' is not a UPN like alice@contoso.com"),
        )
    };
    let (local, dom) = lower.split_once('@').ok_or_else(bad)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+'".contains(&b));
    if !local_ok {
        return Err(bad());
    }
    domain("upn", dom).map_err(|_| bad())?;
    Ok(lower)
}

/// An E.164 number; empty means none.
pub fn phone_number(value: &str) -> Result<Option<String>> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let digits = trimmed.strip_prefix('+').unwrap_or("");
    if (6..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(Some(trimmed.to_owned()))
    } else {
        Err(DirectoryError::invalid(
            "phone_number",
            format!("'{value}' is not an E.164 number like +14255550100"),
        ))
    }
}

/// A display name.
pub fn display_name(value: &str) -> Result<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 256 || trimmed.chars().any(char::is_control)
    {
        Err(DirectoryError::invalid(
            "display_name",
            "must be 1-256 printable characters",
        ))
    } else {
        Ok(trimmed.to_owned())
    }
}

/// A password's acceptability (never stored).
pub fn password(value: &str) -> Result<()> {
    let count = value.chars().count();
    if (8..=256).contains(&count) {
        Ok(())
    } else {
        Err(DirectoryError::invalid(
            "password",
            "must be 8-256 characters",
        ))
    }
}

/// Topology, cloud, homing and voice, with their field names.
pub fn topology(value: Option<&str>) -> Result<Topology> {
    parse_or("topology", value, Topology::Online)
}

/// See [`topology`].
pub fn cloud(value: Option<&str>) -> Result<Cloud> {
    parse_or("cloud", value, Cloud::Commercial)
}

/// See [`topology`].
pub fn homing(value: Option<&str>, default: Homing) -> Result<Homing> {
    parse_or("sfb_homing", value, default)
}

/// See [`topology`].
pub fn voice(value: Option<&str>, default: Voice) -> Result<Voice> {
    parse_or("voice", value, default)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(result: Result<impl std::fmt::Debug>) -> String {
        result
            .err()
            .and_then(|e| e.field().map(str::to_owned))
            .unwrap_or_default()
    }

    #[test]
    fn upns_are_lower_cased_and_checked() {
        assert_eq!(
            upn(" Alice@Contoso.TEST ").ok().as_deref(),
            Some("alice@contoso.test")
        );
        assert_eq!(field_of(upn("alice")), "upn");
        assert_eq!(field_of(upn("al ice@contoso.test")), "upn");
        assert_eq!(field_of(upn("alice@nodot")), "upn");
    }

    #[test]
    fn vocabulary_errors_name_the_field_and_list_values() {
        let err = homing(Some("cloud"), Homing::Online).err();
        assert_eq!(err.as_ref().and_then(|e| e.field()), Some("sfb_homing"));
        assert!(err.is_some_and(|e| e.to_string().contains("online, onprem")));
        assert_eq!(topology(None).ok(), Some(Topology::Online));
    }

    #[test]
    fn numbers_tenants_domains_passwords() {
        assert_eq!(
            phone_number("+14255550100").ok().flatten().as_deref(),
            Some("+14255550100")
        );
        assert_eq!(phone_number("").ok(), Some(None));
        assert_eq!(field_of(phone_number("4255550100")), "phone_number");
        assert!(tenant_name("contoso").is_ok());
        assert_eq!(field_of(tenant_name("Contoso Ltd")), "name");
        assert_eq!(field_of(domain("domains", "-bad.test")), "domains");
        assert_eq!(field_of(password("short")), "password");
        assert_eq!(field_of(display_name("")), "display_name");
    }

    #[test]
    fn r9_2_a_calling_client_choice_is_teams_sfb_or_none() {
        assert_eq!(
            calling_client(Some("Teams")).ok(),
            Some(Some(Client::Teams))
        );
        assert_eq!(calling_client(Some("sfb")).ok(), Some(Some(Client::Sfb)));
        assert_eq!(calling_client(None).ok(), Some(None));
        assert_eq!(calling_client(Some("")).ok(), Some(None));
        assert_eq!(
            field_of(calling_client(Some("phone"))),
            "preferred_calling_client"
        );
        let patch: UserFields =
            serde_json::from_str(r#"{"preferred_calling_client": null}"#).unwrap_or_default();
        assert_eq!(patch.preferred_calling_client, Some(None));
        let patch: UserFields = serde_json::from_str("{}").unwrap_or_default();
        assert_eq!(patch.preferred_calling_client, None);
    }
}
