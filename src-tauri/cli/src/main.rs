//! `berth`: headless serve, operator commands, and scripting with `--json`.
//!
//! Every refusal prints the same way: one `error[<code>]: <message>` line
//! on stderr and, with `--json`, one `{"error":{"code","message"}}`
//! document on stdout. Exit codes: 0 success, 1 runtime error, 2 bad
//! arguments (refused by the parser, code `invalid_input`).

mod cli;
mod cmd;
mod connect;
mod output;

use berth_core::{Error, ErrorCode};
use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use std::io::IsTerminal;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command};
use crate::output::{Ctx, Failure};

fn main() -> ExitCode {
    // Known before parsing, so bad arguments can be reported as JSON too.
    let json_requested = std::env::args()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return bad_arguments(e, json_requested),
    };
    init_logging(&cli.command);
    let ctx = Ctx {
        json: cli.json,
        dev: cli.dev,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let e = Error::new(
                ErrorCode::Internal,
                format!("cannot start the async runtime: {e}"),
            );
            output::refusal(&e.into(), ctx.json);
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cmd::run(cli.command, ctx)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            output::refusal(&failure, ctx.json);
            ExitCode::FAILURE
        }
    }
}

/// A refusal by the parser, printed like every other refusal (code
/// `invalid_input`, exit 2). `--help` and `--version` print as usual.
fn bad_arguments(e: clap::Error, json: bool) -> ExitCode {
    if !e.use_stderr() {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let message = match e.kind() {
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            missing_command(std::env::args().skip(1))
        }
        _ => one_line(&e.render().to_string()),
    };
    let failure = Failure::from(Error::new(ErrorCode::InvalidInput, message));
    output::refusal(&failure, json);
    ExitCode::from(2)
}

/// Clap's message as one line: the `error:` text and its detail lines
/// joined, tips in parentheses, without the usage and help pointers.
fn one_line(rendered: &str) -> String {
    let mut text = String::new();
    let mut tips = Vec::new();
    for line in rendered.lines().map(str::trim) {
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if let Some(tip) = line.strip_prefix("tip: ") {
            tips.push(tip.to_string());
        } else if !line.is_empty() {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(line.strip_prefix("error: ").unwrap_or(line));
        }
    }
    if !tips.is_empty() {
        text.push_str(&format!(" ({})", tips.join("; ")));
    }
    if text.is_empty() {
        "invalid arguments; see --help".to_string()
    } else {
        text
    }
}

/// `berth` or `berth bots` without a command: which commands it takes.
fn missing_command(args: impl Iterator<Item = String>) -> String {
    let mut command = Cli::command();
    let mut path = vec!["berth".to_string()];
    for arg in args.filter(|a| !a.starts_with('-')) {
        let Some(sub) = command.find_subcommand(&arg).cloned() else {
            break;
        };
        path.push(arg);
        command = sub;
    }
    let names: Vec<&str> = command
        .get_subcommands()
        .map(|c| c.get_name())
        .filter(|n| *n != "help")
        .collect();
    let path = path.join(" ");
    format!(
        "`{path}` needs a command: {}; see `{path} --help`",
        names.join(", ")
    )
}

fn init_logging(command: &Command) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::try_new(&spec).unwrap_or_else(|e| {
            eprintln!("warning: RUST_LOG={spec:?} is not a valid filter ({e}); using the default");
            EnvFilter::new(command.default_log_filter())
        }),
        _ => EnvFilter::new(command.default_log_filter()),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_error(args: &[&str]) -> clap::Error {
        Cli::try_parse_from(std::iter::once("berth").chain(args.iter().copied()))
            .expect_err("refused")
    }

    #[test]
    fn parser_refusals_become_one_line() {
        let e = parse_error(&["bots", "create", "--meeting-platform", "zoom"]);
        assert_eq!(
            one_line(&e.render().to_string()),
            "the following required arguments were not provided: --meeting-url <URL>"
        );
        let e = parse_error(&["slots", "--stauts", "idle"]);
        let line = one_line(&e.render().to_string());
        assert!(
            line.starts_with("unexpected argument '--stauts' found (")
                && line.contains("'--status'"),
            "{line}"
        );
        assert!(!line.contains('\n') && !line.contains("Usage"), "{line}");
    }

    #[test]
    fn a_missing_command_lists_the_commands_it_takes() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            missing_command(args(&["--json", "bots"]).into_iter()),
            "`berth bots` needs a command: create, status, cancel, priority, reroute, redeploy, move, show, list; see `berth bots --help`"
        );
        assert!(missing_command(args(&[]).into_iter())
            .starts_with("`berth` needs a command: migrate, serve, status,"));
    }
}
