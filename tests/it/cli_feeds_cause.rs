//! `feedwatch feeds` names a failing feed's cause in the plain words the
//! logs use, next to the stored error chain.

use std::process::Command;

use crate::helpers::{TestEnv, feed};

#[test]
fn feeds_names_the_cause_in_plain_words() {
    // A port nothing listens on: the poll fails with "connection refused".
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let env = TestEnv::new(&[feed(
        format!("http://127.0.0.1:{port}/gone.xml"),
        "unreachable",
    )]);
    let run_feedwatch = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_feedwatch"))
            .arg("--config")
            .arg(&env.config_path)
            .args(args)
            .output()
            .expect("run feedwatch")
    };
    let run = run_feedwatch(&["run", "--once"]);
    assert_eq!(
        run.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let out = run_feedwatch(&["feeds"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l == "unreachable: cause: connection refused"),
        "{text}"
    );
    // The stored chain is still shown.
    assert!(
        text.contains("unreachable: last error: fetch: cannot connect"),
        "{text}"
    );
}
