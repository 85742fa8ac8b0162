//! Thin binary: parse the command line, initialise logging, hand over to `app`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = feedwatch::cli::Cli::parse();
    feedwatch::commands::main(cli)
}
