//! `berth`: headless serve, operator commands, and scripting with `--json`.
//!
//! Exit codes: 0 success, 1 runtime error (printed as `error[<code>]: <message>`
//! on stderr, and as `{"error":{"code","message"}}` on stdout with `--json`),
//! 2 bad arguments.

mod cli;
mod cmd;
mod connect;
mod output;

use berth_core::{Error, ErrorCode};
use clap::Parser;
use std::io::IsTerminal;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command};
use crate::output::Ctx;

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
            report(
                &Error::new(
                    ErrorCode::Internal,
                    format!("cannot start the async runtime: {e}"),
                ),
                ctx.json,
            );
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cmd::run(cli.command, ctx)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report(&e, ctx.json);
            ExitCode::FAILURE
        }
    }
}

/// Clap's own message on stderr (exit 2); with `--json`, an `invalid_input` error on stdout too.
fn bad_arguments(e: clap::Error, json: bool) -> ExitCode {
    if !e.use_stderr() {
        // --help, --version.
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    if json {
        let rendered = e.render().to_string();
        let message = rendered
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("invalid arguments")
            .trim_start_matches("error: ")
            .to_string();
        print_json_error(ErrorCode::InvalidInput, &message);
    }
    let _ = e.print();
    ExitCode::from(2)
}

fn report(e: &Error, json: bool) {
    eprintln!("error[{}]: {e}", e.code().as_str());
    if json {
        print_json_error(e.code(), &e.to_string());
    }
}

fn print_json_error(code: ErrorCode, message: &str) {
    let doc = serde_json::json!({ "error": { "code": code.as_str(), "message": message } });
    output::emit(doc);
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
