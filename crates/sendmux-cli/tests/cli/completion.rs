//! Shell completions load in the shell, and every command has a manual
//! page.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::support::{bare_sendmux, run};

#[test]
fn the_bash_completion_loads_in_bash() {
    if std::process::Command::new("bash")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: bash is not installed");
        return;
    }
    let script = run(bare_sendmux().args(["completion", "bash"]));
    assert_eq!(script.code, 0, "{}", script.stderr);
    assert!(script.stdout.contains("_sendmux"), "{}", script.stdout);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sendmux.bash");
    std::fs::write(&path, &script.stdout).unwrap();
    // Loaded the documented way, then asked what completes `sendmux dom`.
    let check = std::process::Command::new("bash")
        .arg("-c")
        .arg(
            r#"source <(cat "$1") || exit 1
complete -p sendmux >/dev/null || exit 2
COMP_WORDS=(sendmux dom); COMP_CWORD=1; COMP_LINE="sendmux dom"; COMP_POINT=${#COMP_LINE}
_sendmux sendmux dom sendmux || exit 3
printf '%s\n' "${COMPREPLY[@]}""#,
        )
        .arg("bash")
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&check.stdout);
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(check.status.success(), "{:?}: {stderr}", check.status);
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(stdout.trim(), "domains", "{stdout}");
}

#[test]
fn every_shell_gets_a_script() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = run(bare_sendmux().args(["completion", shell]));
        assert_eq!(script.code, 0, "{shell}: {}", script.stderr);
        assert!(script.stdout.contains("mailboxes"), "{shell}");
        assert!(script.stdout.contains("sending-accounts"), "{shell}");
    }
    let unknown = run(bare_sendmux().args(["completion", "tcsh"]));
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
}

/// Every command's path, `sendmux domains filters get` as
/// `sendmux-domains-filters-get`, without clap's `help` commands.
fn command_names(command: &clap::Command, prefix: &str, names: &mut Vec<String>) {
    let name = if prefix.is_empty() {
        command.get_name().to_owned()
    } else {
        format!("{prefix}-{}", command.get_name())
    };
    for sub in command.get_subcommands() {
        if sub.get_name() != "help" && !sub.is_hide_set() {
            command_names(sub, &name, names);
        }
    }
    names.push(name);
}

#[test]
fn every_command_has_a_manual_page() {
    let dir = tempfile::tempdir().unwrap();
    let pages = sendmux_cli::man_pages(dir.path()).unwrap();

    let mut expected = Vec::new();
    command_names(&sendmux_cli::command(), "", &mut expected);
    assert!(expected.len() > 50, "{expected:?}");
    let mut written: Vec<String> = pages
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let mut expected: Vec<String> = expected.iter().map(|n| format!("{n}.1")).collect();
    expected.sort();
    assert_eq!(written, expected);

    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        assert!(
            text.starts_with(".ie") || text.contains(".TH"),
            "{}",
            page.display()
        );
        assert!(text.contains("Examples:"), "{}", page.display());
    }
    let add = std::fs::read_to_string(dir.path().join("sendmux-domains-add.1")).unwrap();
    assert!(add.contains("mail.acme.com"), "{add}");
    assert!(
        add.contains("\\-\\-api\\-key"),
        "global flags are listed: {add}"
    );
}
