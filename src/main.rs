//! `coexist` — the binary: command line, configuration and wiring.
//! The rules live in `coexist-policy`; this file only dispatches.

mod rules_cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// The Teams / Skype for Business coexistence server.
#[derive(Debug, Parser)]
#[command(
    name = "coexist",
    version,
    about = "The Teams / Skype for Business coexistence server, and its rules from the command line",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Where a new chat or call lands, and why (R3), with no server.
    Route(rules_cli::RouteArgs),
    /// Every cell of a RULES.md table, computed by the rules engine.
    Matrix(rules_cli::MatrixArgs),
    /// Whose presence a watcher sees (R7), with no server.
    Presence(rules_cli::PresenceArgs),
    /// Run the server: the admin API over HTTP and the sfb side over SIP.
    Serve(coexist::serve::ServeArgs),
    /// Configuration helpers.
    Config(coexist::config::ConfigArgs),
    /// The admin API from the shell, with verbs named like the cmdlets.
    Admin(coexist::admin_cli::AdminArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Route(args) => rules_cli::route(&args),
        Command::Matrix(args) => rules_cli::matrix(&args),
        Command::Presence(args) => rules_cli::presence(&args),
        Command::Serve(args) => coexist::serve::serve(&args).map_err(Into::into),
        Command::Config(args) => coexist::config::command(&args).map_err(Into::into),
        Command::Admin(args) => coexist::admin_cli::admin(&args).map_err(Into::into),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}
