//! The `timebank` binary; all behaviour lives in the `timebank-cli` crate.

fn main() -> std::process::ExitCode {
    timebank_cli::main()
}
