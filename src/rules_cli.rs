//! `coexist route | matrix | presence`: the rules alone, no server.
//!
//! Output for people by default, `--json` for scripts. Bad input exits
//! with status 2 and a message that lists the valid values (clap, through
//! the policy vocabulary's `FromStr`) or names the rule that excludes it.

use clap::{Args, ValueEnum};
use coexist_policy::federation::FederationStatus;
use coexist_policy::matrix::{
    ORIGINATORS, RoutingCell, legacy_calling_cells, presence_cells, routing_cells,
};
use coexist_policy::mode_capabilities::mode_allows_client;
use coexist_policy::presence::presence_source;
use coexist_policy::{
    Client, DefaultClient, Enablement, Homing, LegacyCaller, Mode, NewConversation, Originator,
    Reach, Recipient, Scope, Topology, Verdict,
};
use std::fmt::Write as _;

/// `coexist route`.
#[derive(Debug, Args)]
pub struct RouteArgs {
    /// The originator's mode: Islands, SfBOnly, SfBWithTeamsCollab,
    /// SfBWithTeamsCollabAndMeetings or TeamsOnly (any case).
    #[arg(long)]
    from_mode: Mode,
    /// The client the originator uses: teams or sfb.
    #[arg(long)]
    from_client: Client,
    /// Where the originator's SfB account is homed: online or onprem.
    #[arg(long)]
    from_homing: Homing,
    /// The recipient's mode.
    #[arg(long)]
    to_mode: Mode,
    /// Where the recipient's SfB account is homed.
    #[arg(long, default_value = "online")]
    to_homing: Homing,
    /// The recipient is in another tenant.
    #[arg(long)]
    federated: bool,
    /// The tenant's topology (in-tenant): online, hybrid or onprem.
    /// Default: hybrid when someone is homed onprem, else online.
    #[arg(long)]
    topology: Option<Topology>,
    /// With --federated: what R3.4 found of the two tenants' settings.
    #[arg(long, value_enum, default_value_t = FederationArg::Allowed)]
    federation: FederationArg,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// R3.4's finding, for `--federation`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum FederationArg {
    Allowed,
    NotAllowed,
    CrossCloud,
}

/// `coexist matrix`.
#[derive(Debug, Args)]
pub struct MatrixArgs {
    /// Which table: routing (1a–2c), presence (3, 4) or legacy-calling (R9.1).
    #[arg(value_enum)]
    table: MatrixTable,
    /// Print JSON: one object per cell.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum MatrixTable {
    Routing,
    Presence,
    LegacyCalling,
}

/// `coexist presence`.
#[derive(Debug, Args)]
pub struct PresenceArgs {
    /// The watcher's client: teams or sfb.
    #[arg(long)]
    watcher_client: Client,
    /// The publisher's mode.
    #[arg(long)]
    publisher_mode: Mode,
    /// The publisher is in another tenant.
    #[arg(long)]
    federated: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// An input the rules exclude: names the rule.
#[derive(Debug)]
pub struct Excluded(String);

impl std::fmt::Display for Excluded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Excluded {}

type CliResult = Result<(), Box<dyn std::error::Error>>;

/// R2.1 and R1.5: the originators the tables leave out (R3.5) are input
/// errors on the command line, not routing answers.
fn check_originator(mode: Mode, client: Client, homing: Homing) -> Result<(), Excluded> {
    if !mode_allows_client(mode, client) {
        let allowed = if mode == Mode::TeamsOnly {
            "teams"
        } else {
            "sfb"
        };
        return Err(Excluded(format!(
            "a {mode} user cannot start chats or calls from {client} (R2.1, R3.5): \
             {mode} allows {allowed} only"
        )));
    }
    if mode == Mode::TeamsOnly && homing == Homing::OnPrem {
        return Err(Excluded(
            "a TeamsOnly user is never homed onprem (R1.5, R3.5): use --from-homing online".into(),
        ));
    }
    Ok(())
}

pub fn route(args: &RouteArgs) -> CliResult {
    check_originator(args.from_mode, args.from_client, args.from_homing)?;
    let anyone_onprem = args.from_homing == Homing::OnPrem || args.to_homing == Homing::OnPrem;
    let topology = args.topology.unwrap_or(if anyone_onprem {
        Topology::Hybrid
    } else {
        Topology::Online
    });
    let reach = if args.federated {
        Reach::Federated(match args.federation {
            FederationArg::Allowed => FederationStatus::Allowed,
            FederationArg::NotAllowed => {
                FederationStatus::NotAllowed(coexist_policy::Note::FederationSettingsForbid)
            }
            FederationArg::CrossCloud => FederationStatus::CrossCloud,
        })
    } else {
        Reach::InTenant(topology)
    };
    let conversation = NewConversation {
        from: Originator {
            mode: args.from_mode,
            client: args.from_client,
            homing: args.from_homing,
            enabled: Enablement::default(),
        },
        to: Recipient {
            mode: args.to_mode,
            homing: args.to_homing,
            enabled: Enablement::default(),
        },
        reach,
    };
    let verdict = coexist_policy::route(&conversation);
    if args.json {
        #[derive(serde::Serialize)]
        struct RouteJson {
            scope: Scope,
            #[serde(skip_serializing_if = "Option::is_none")]
            topology: Option<Topology>,
            #[serde(flatten)]
            verdict: Verdict,
        }
        let json = RouteJson {
            scope: reach.scope(),
            topology: (!args.federated).then_some(topology),
            verdict,
        };
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        println!("{verdict}");
    }
    Ok(())
}

pub fn presence(args: &PresenceArgs) -> CliResult {
    let scope = if args.federated {
        Scope::Federated
    } else {
        Scope::InTenant
    };
    let source = presence_source(args.watcher_client, args.publisher_mode, scope);
    if args.json {
        #[derive(serde::Serialize)]
        struct PresenceJson {
            scope: Scope,
            watcher_client: Client,
            publisher_mode: Mode,
            shows: Client,
            rules: coexist_policy::RuleTrail,
        }
        let json = PresenceJson {
            scope,
            watcher_client: args.watcher_client,
            publisher_mode: args.publisher_mode,
            shows: source.client,
            rules: source.trail,
        };
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        println!("{} presence — {}", source.client, source.trail);
    }
    Ok(())
}

pub fn matrix(args: &MatrixArgs) -> CliResult {
    let text = match (args.table, args.json) {
        (MatrixTable::Routing, true) => {
            serde_json::to_string_pretty(&routing_cells().collect::<Vec<_>>())?
        }
        (MatrixTable::Presence, true) => {
            serde_json::to_string_pretty(&presence_cells().collect::<Vec<_>>())?
        }
        (MatrixTable::LegacyCalling, true) => {
            serde_json::to_string_pretty(&legacy_calling_cells().collect::<Vec<_>>())?
        }
        (MatrixTable::Routing, false) => routing_tables(),
        (MatrixTable::Presence, false) => presence_tables(),
        (MatrixTable::LegacyCalling, false) => legacy_calling_table(),
    };
    println!("{}", text.trim_end());
    Ok(())
}

/// A cell as RULES.md writes it: `teams`, `sfb (interop)`, `not possible`.
fn cell_text(verdict: &Verdict) -> String {
    match (verdict.lands_on(), verdict.method(), verdict.refusal()) {
        (Some(client), Some(coexist_policy::Method::Interop), _) => format!("{client} (interop)"),
        (Some(client), _, _) => client.to_string(),
        (None, _, Some(refusal)) => {
            format!("**not possible** ({}, {})", refusal.code, refusal.rule)
        }
        (None, _, None) => "not possible".into(),
    }
}

fn markdown_table(out: &mut String, header: &[String], rows: &[Vec<String>]) {
    let line = |cells: &[String]| format!("| {} |", cells.join(" | "));
    let _ = writeln!(out, "{}", line(header));
    let _ = writeln!(
        out,
        "|{}",
        header.iter().map(|_| "---|").collect::<String>()
    );
    for row in rows {
        let _ = writeln!(out, "{}", line(row));
    }
    out.push('\n');
}

/// Tables 1a–2c, one per recipient group, SfB* expanded to its three modes.
fn routing_tables() -> String {
    let cells: Vec<RoutingCell> = routing_cells().collect();
    let groups: [(&str, &[Mode]); 3] = [
        ("Islands", &[Mode::Islands]),
        (
            "SfB*",
            &[
                Mode::SfBOnly,
                Mode::SfBWithTeamsCollab,
                Mode::SfBWithTeamsCollabAndMeetings,
            ],
        ),
        ("TeamsOnly", &[Mode::TeamsOnly]),
    ];
    let mut out = String::new();
    for (scope_index, scope) in Scope::ALL.iter().enumerate() {
        for (group_index, (group, modes)) in groups.iter().enumerate() {
            let letter = ['a', 'b', 'c'][group_index];
            let _ = writeln!(
                out,
                "Table {}{letter} — {scope}, recipient {group}\n",
                scope_index + 1
            );
            let mut header = vec!["Originator".to_string()];
            header.extend(modes.iter().map(|m| m.to_string()));
            let rows: Vec<Vec<String>> = ORIGINATORS
                .iter()
                .map(|&(mode, client, homing)| {
                    let mut row = vec![format!("{mode}, {client}, {homing}")];
                    row.extend(modes.iter().map(|&to_mode| {
                        cells
                            .iter()
                            .find(|c| {
                                c.scope == *scope
                                    && (c.from_mode, c.from_client, c.from_homing)
                                        == (mode, client, homing)
                                    && c.to_mode == to_mode
                            })
                            .map_or_else(String::new, |c| cell_text(&c.verdict))
                    }));
                    row
                })
                .collect();
            markdown_table(&mut out, &header, &rows);
        }
    }
    out
}

/// Tables 3 and 4.
fn presence_tables() -> String {
    let cells: Vec<_> = presence_cells().collect();
    let mut out = String::new();
    for (index, scope) in Scope::ALL.iter().enumerate() {
        let _ = writeln!(
            out,
            "Table {} — {scope}: whose presence the watcher sees\n",
            index + 3
        );
        let mut header = vec!["Watcher client".to_string()];
        header.extend(Mode::ALL.iter().map(|m| m.to_string()));
        let rows: Vec<Vec<String>> = Client::ALL
            .iter()
            .rev()
            .map(|&watcher| {
                let mut row = vec![watcher.to_string()];
                row.extend(
                    cells
                        .iter()
                        .filter(|c| c.scope == *scope && c.watcher_client == watcher)
                        .map(|c| c.shows.to_string()),
                );
                row
            })
            .collect();
        markdown_table(&mut out, &header, &rows);
    }
    out
}

/// The R9.1 table.
fn legacy_calling_table() -> String {
    let cells: Vec<_> = legacy_calling_cells().collect();
    let mut out =
        String::from("R9.1 — legacy calls land by the receiver's CallingDefaultClient\n\n");
    let mut header = vec!["Caller from".to_string()];
    header.extend(DefaultClient::ALL.iter().map(|d| d.to_string()));
    let rows: Vec<Vec<String>> = LegacyCaller::ALL
        .iter()
        .map(|&caller| {
            let mut row = vec![caller.to_string()];
            row.extend(
                cells
                    .iter()
                    .filter(|c| c.caller == caller)
                    .map(|c| c.lands_on.to_string()),
            );
            row
        })
        .collect();
    markdown_table(&mut out, &header, &rows);
    out
}
