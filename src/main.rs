//! Thin binary: parse the command line, initialise logging, hand over to `app`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Before any thread: at most two malloc arenas (infra::memory).
    feedwatch::infra::memory::limit_arenas();
    let cli = feedwatch::cli::Cli::parse();
    feedwatch::commands::main(cli)
}
