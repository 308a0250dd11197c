//! Bulk import of users from CSV: a header row naming the columns (those of
//! `POST …/users`, `preferred_calling_client` (R9.2) included, plus
//! `policy`), validated line by line into a report
//! (line, field, reason), then applied all-or-nothing — or not at all in a
//! dry run.
//!
//! Passwords in an import are stored as SIP HA1 values only; the argon2
//! log-in hash is made at first log-in (see [`crate::credentials`]): that is
//! what lets 100 000 users import in seconds.

use crate::credentials::Credentials;
use crate::directory::Directory;
use crate::error::{DirectoryError, Result};
use crate::fields::UserFields;
use crate::model::{Actor, Tenant, User};
use coexist_policy::{Mode, UpgradePolicy};
use serde::Serialize;
use std::collections::HashSet;

/// The columns an import file may have.
pub const COLUMNS: &[&str] = &[
    "upn",
    "display_name",
    "password",
    "sfb_homing",
    "teams_enabled",
    "sfb_enabled",
    "voice",
    "phone_number",
    "specialized_workflow",
    "policy",
    "preferred_calling_client",
];

/// One problem (or note) on one line of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineIssue {
    /// The file's line number (the header is line 1).
    pub line: u64,
    /// The column concerned.
    pub field: String,
    /// What is wrong, or what was done.
    pub reason: String,
    /// The rule, for rule refusals (R1.5) and notes (R1.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// What an import did or would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportReport {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Whether the users were stored.
    pub applied: bool,
    /// Data lines read.
    pub rows: usize,
    /// Lines that are valid.
    pub valid: usize,
    /// Users created (0 unless applied).
    pub created: usize,
    /// Every invalid line; any error means nothing is imported.
    pub errors: Vec<LineIssue>,
    /// Conversions made (e.g. `Legacy` → Islands, R1.1).
    pub notes: Vec<LineIssue>,
}

const MAX_REPORTED_ERRORS: usize = 1000;

fn parse_bool(field: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(DirectoryError::invalid(
            field,
            format!("'{value}' is not a boolean (true|false)"),
        )),
    }
}

/// The `policy` column: a built-in upgrade policy (R1.2), or a mode name,
/// `Legacy` included (R1.1: converted to Islands, with a note).
fn parse_policy(value: &str) -> std::result::Result<(UpgradePolicy, Option<&'static str>), String> {
    if let Ok(policy) = value.parse::<UpgradePolicy>() {
        return Ok((policy, None));
    }
    match Mode::parse_import(value) {
        Ok((mode, note)) => Ok((UpgradePolicy::for_mode(mode), note)),
        Err(_) => Err(format!(
            "unknown upgrade policy '{value}'; valid values: {} (or a mode name, or Legacy)",
            UpgradePolicy::NAMES.join(", ")
        )),
    }
}

fn issue(line: u64, error: &DirectoryError) -> LineIssue {
    LineIssue {
        line,
        field: error.field().unwrap_or("upn").to_owned(),
        reason: match error {
            DirectoryError::Invalid { reason, .. } | DirectoryError::Conflict { reason, .. } => {
                reason.clone()
            }
            other => other.to_string(),
        },
        rule: error.rule().map(|r| r.as_str().to_owned()),
    }
}

impl Directory {
    /// Imports users into `tenant` from a CSV file. In a dry run, or when any
    /// line is invalid, nothing changes; otherwise every user is created in
    /// one transaction. Invalid lines on a real run give
    /// [`DirectoryError::ImportRejected`] carrying the report.
    pub async fn import_users(
        &self,
        actor: &Actor,
        tenant: &str,
        csv_text: &[u8],
        dry_run: bool,
    ) -> Result<ImportReport> {
        let _writer = self.lock_writer().await;
        let tenant = self.tenant(actor, tenant)?;
        let (mut report, users) = self.validate_import(&tenant, csv_text, dry_run)?;
        if dry_run {
            return Ok(report);
        }
        if !report.errors.is_empty() {
            return Err(DirectoryError::ImportRejected(Box::new(report)));
        }
        report.created = users.len();
        self.commit_import(actor, &tenant.name, users).await?;
        report.applied = true;
        Ok(report)
    }

    /// Reads and checks every line against the directory as it is now.
    fn validate_import(
        &self,
        tenant: &Tenant,
        csv_text: &[u8],
        dry_run: bool,
    ) -> Result<(ImportReport, Vec<User>)> {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .flexible(false)
            .from_reader(csv_text);
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| DirectoryError::invalid("header", e.to_string()))?
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        if let Some(unknown) = header.iter().find(|h| !COLUMNS.contains(&h.as_str())) {
            return Err(DirectoryError::invalid(
                "header",
                format!(
                    "unknown column '{unknown}'; columns: {}",
                    COLUMNS.join(", ")
                ),
            ));
        }
        if !header.iter().any(|h| h == "upn") {
            return Err(DirectoryError::invalid(
                "header",
                "the column 'upn' is required",
            ));
        }
        let mut report = ImportReport {
            dry_run,
            applied: false,
            rows: 0,
            valid: 0,
            created: 0,
            errors: Vec::new(),
            notes: Vec::new(),
        };
        let mut users: Vec<User> = Vec::new();
        let mut seen_upns: HashSet<String> = HashSet::new();
        let mut seen_numbers: HashSet<String> = HashSet::new();
        let state = self.read();
        for record in reader.records() {
            report.rows += 1;
            let record = match record {
                Ok(record) => record,
                Err(error) => {
                    let line = error.position().map_or(0, csv::Position::line);
                    push_error(
                        &mut report,
                        LineIssue {
                            line,
                            field: "row".into(),
                            reason: error.to_string(),
                            rule: None,
                        },
                    );
                    continue;
                }
            };
            let line = record.position().map_or(0, csv::Position::line);
            let row = |column: &str| -> Option<&str> {
                header
                    .iter()
                    .position(|h| h == column)
                    .and_then(|i| record.get(i))
                    .filter(|v| !v.is_empty())
            };
            let parsed = (|| -> Result<(User, Option<&'static str>)> {
                let bool_field =
                    |column: &str| row(column).map(|v| parse_bool(column, v)).transpose();
                let fields = UserFields {
                    upn: row("upn").map(str::to_owned),
                    display_name: row("display_name").map(str::to_owned),
                    password: row("password").map(str::to_owned),
                    sfb_homing: row("sfb_homing").map(str::to_owned),
                    teams_enabled: bool_field("teams_enabled")?,
                    sfb_enabled: bool_field("sfb_enabled")?,
                    voice: row("voice").map(str::to_owned),
                    phone_number: row("phone_number").map(str::to_owned),
                    specialized_workflow: bool_field("specialized_workflow")?,
                    // R9.2: `teams` or `sfb`; it counts once the user holds
                    // a TeamsInteropPolicy that allows an override.
                    preferred_calling_client: row("preferred_calling_client")
                        .map(|v| Some(v.to_owned())),
                };
                let mut user = self.build_user(tenant, &fields, Credentials::digest_only)?;
                let mut note = None;
                if let Some(value) = row("policy") {
                    let (policy, converted) = parse_policy(value)
                        .map_err(|reason| DirectoryError::invalid("policy", reason))?;
                    user.upgrade_policy = Some(policy);
                    note = converted;
                }
                Directory::check_unique(&state, &user, true)?;
                Directory::check_r1_5(&user, tenant)?;
                if !seen_upns.insert(user.upn.clone()) {
                    return Err(DirectoryError::conflict(
                        "upn",
                        format!("'{}' appears twice in the file", user.upn),
                    ));
                }
                if let Some(number) = &user.phone_number {
                    if !seen_numbers.insert(number.clone()) {
                        return Err(DirectoryError::conflict(
                            "phone_number",
                            format!("{number} appears twice in the file"),
                        ));
                    }
                }
                Ok((user, note))
            })();
            match parsed {
                Ok((user, note)) => {
                    if let Some(note) = note {
                        report.notes.push(LineIssue {
                            line,
                            field: "policy".into(),
                            reason: note.to_owned(),
                            rule: Some("R1.1".into()),
                        });
                    }
                    report.valid += 1;
                    if report.errors.is_empty() {
                        users.push(user);
                    }
                }
                Err(error) => push_error(&mut report, issue(line, &error)),
            }
        }
        Ok((report, users))
    }
}

fn push_error(report: &mut ImportReport, issue: LineIssue) {
    if report.errors.len() < MAX_REPORTED_ERRORS {
        report.errors.push(issue);
    }
}
