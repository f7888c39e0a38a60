//! The `sendmux-mock` binary prints its base URLs and serves.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn binary_prints_its_base_url_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sendmux-mock"))
        .args(["--port", "0", "--seed", "3", "--accept-key", "smx_root_bin"])
        .args(["--fault", "internal_error@1,op=managementGetDomain"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (line, second) = tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::new(stdout);
        let (mut line, mut second) = (String::new(), String::new());
        reader.read_line(&mut line).unwrap();
        reader.read_line(&mut second).unwrap();
        (line, second)
    })
    .await
    .unwrap();
    let base = line.trim().to_owned();
    let sending = second.trim().to_owned();
    let result = async move {
        assert!(
            base.starts_with("http://127.0.0.1:") && base.ends_with("/api/v1"),
            "{base}"
        );
        // The Sending API's base URL follows, on its own port.
        assert!(
            sending.starts_with("http://127.0.0.1:") && sending.ends_with("/api/v1"),
            "{sending}"
        );
        assert_ne!(sending, base);
        let http = reqwest::Client::new();
        let ok = http
            .get(format!("{base}/domains"))
            .bearer_auth("smx_root_bin")
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status().as_u16(), 200);
        let denied = http
            .get(format!("{base}/domains"))
            .bearer_auth("smx_root_test")
            .send()
            .await
            .unwrap();
        assert_eq!(denied.status().as_u16(), 401);
        let faulted = http
            .get(format!("{base}/domains/mdom_x"))
            .bearer_auth("smx_root_bin")
            .send()
            .await
            .unwrap();
        assert_eq!(faulted.status().as_u16(), 500);
        // The main host's routes are not served on the sending port.
        let elsewhere = http
            .get(format!("{sending}/domains"))
            .bearer_auth("smx_root_bin")
            .send()
            .await
            .unwrap();
        assert_eq!(elsewhere.status().as_u16(), 404);
    };
    // Kill the child whatever the assertions say.
    let outcome = tokio::spawn(result).await;
    let _ = child.kill();
    let _ = child.wait();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[test]
fn bad_fault_specs_are_usage_errors() {
    let out = Command::new(env!("CARGO_BIN_EXE_sendmux-mock"))
        .args(["--fault", "latency@1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("latency needs ms=N"));
}

#[test]
fn binary_refuses_a_public_host_without_an_admin_token() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sendmux-mock"))
        .args(["--host", "0.0.0.0", "--port", "0"])
        .env_remove("SENDMUX_MOCK_ADMIN_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded wait: a binary that starts serving anyway must fail the
    // test, not hang it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("sendmux-mock started on 0.0.0.0 without an admin token");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let out = child.wait_with_output().unwrap();
    assert!(!status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0") && stderr.contains("--admin-token"),
        "{stderr}"
    );
}
