//! `runhook completions SHELL`: print a shell completion script (clap_complete).

use clap::CommandFactory;
use clap_complete::Shell;

use crate::exit::Exit;

/// Arguments of `runhook completions`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The shell: bash, zsh, fish, powershell or elvish.
    #[arg(value_enum, value_name = "SHELL")]
    shell: Shell,
}

/// Prints the script for `args.shell` on stdout, e.g.
/// `runhook completions bash > ~/.local/share/bash-completion/completions/runhook`.
pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    let mut command = crate::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "runhook", &mut script);
    let script = String::from_utf8_lossy(&script);
    crate::out::line(script.trim_end_matches('\n'))?;
    Ok(Exit::Success)
}
