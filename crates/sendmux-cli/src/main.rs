//! `sendmux`: manage Sendmux (domains, mailboxes, webhooks, sending
//! accounts, billing, logs) from a terminal or a script. Everything is in
//! the library, which also serves the manual pages and completions.

fn main() -> std::process::ExitCode {
    sendmux_cli::main()
}
