//! `yadokari`: the command-line tool (see [`yadokari::cli`]).

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = yadokari::cli::Cli::parse();
    let code = yadokari::cli::run(
        &cli,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    ExitCode::from(code)
}
