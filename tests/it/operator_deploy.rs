//! Deployment pieces: the systemd unit (verified by systemd-analyze), the
//! container recipe (its entrypoint's arguments parsed by the real binary),
//! `--data-dir`, `--version` and the licence text.

use std::path::Path;
use std::process::Command;

use crate::helpers::TestEnv;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_feedwatch"))
}

/// A missing tool fails under CI=true and is reported as skipped otherwise.
fn tool_or_skip(tool: &str) -> bool {
    let found = Command::new(tool).arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{tool} is missing (scripts/install-test-tools.sh installs it)"
        );
        eprintln!("SKIPPED: {tool} is not installed");
    }
    found
}

#[test]
fn systemd_unit_passes_systemd_analyze_verify() {
    let unit = std::fs::read_to_string(root().join("contrib/feedwatch.service")).unwrap();
    for key in [
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "StateDirectory=feedwatch",
        "NoNewPrivileges=yes",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "--data-dir /var/lib/feedwatch",
    ] {
        assert!(unit.contains(key), "the unit lacks {key}");
    }
    if !tool_or_skip("systemd-analyze") {
        return;
    }
    // verify checks that ExecStart exists: point it at the binary just built.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feedwatch.service");
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/feedwatch", env!("CARGO_BIN_EXE_feedwatch")),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze verify: {stderr}");
    assert!(
        !stderr.contains("feedwatch.service"),
        "warnings about the unit: {stderr}"
    );
    // The unit's own arguments parse with the real binary.
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap();
    let args: Vec<&str> = exec.split_whitespace().skip(1).collect();
    assert_eq!(args.last(), Some(&"run"));
    let help = bin()
        .args(&args[..args.len() - 1])
        .args(["run", "--help"])
        .output()
        .unwrap();
    assert!(help.status.success(), "{help:?}");
}

#[test]
fn containerfile_is_multi_stage_non_root_and_its_entrypoint_parses() {
    let text = std::fs::read_to_string(root().join("contrib/Containerfile")).unwrap();
    assert!(text.matches("\nFROM ").count() >= 2, "multi-stage");
    let user = text
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    assert_ne!(user.trim(), "root");
    assert!(text.contains("VOLUME [\"/data\"]"));
    assert!(text.contains("HEALTHCHECK") && text.contains("/healthz"));
    // COPY sources exist in the repository.
    for line in text
        .lines()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from"))
    {
        let src = line.split_whitespace().nth(1).unwrap();
        assert!(root().join(src).exists(), "{line}: {src} is missing");
    }
    // ENTRYPOINT + CMD, with the config and data folder of a test deployment,
    // parse with the real binary: `check` accepts them.
    let json_of = |key: &str| -> Vec<String> {
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key}"));
        serde_json::from_str(line.trim()).unwrap()
    };
    let entry = json_of("ENTRYPOINT ");
    let cmd = json_of("CMD ");
    assert_eq!(entry[0], "/usr/local/bin/feedwatch");
    assert_eq!(cmd, vec!["run".to_string()]);
    let env = TestEnv::new(&[]);
    let data = env.path().join("volume");
    let args: Vec<String> = entry[1..]
        .iter()
        .map(|a| match a.as_str() {
            "/etc/feedwatch/config.toml" => env.config_path.display().to_string(),
            "/data" => data.display().to_string(),
            other => other.to_string(),
        })
        .collect();
    let out = bin().args(&args).args(["run", "--help"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = bin().args(&args).arg("check").output().unwrap();
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn data_dir_moves_the_database() {
    let env = TestEnv::new(&[]);
    let elsewhere = env.path().join("state");
    let out = bin()
        .arg("--config")
        .arg(&env.config_path)
        .arg("--data-dir")
        .arg(&elsewhere)
        .args(["run", "--once"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(elsewhere.join("feedwatch.db").exists());
    assert!(!env.db_path.exists(), "nothing in the default place");

    // The same from the file, relative to the config's folder.
    let text = std::fs::read_to_string(&env.config_path).unwrap();
    std::fs::write(
        &env.config_path,
        text.replace(
            "url = \"sqlite://data/feedwatch.db\"",
            "url = \"sqlite://data/feedwatch.db\"\ndata_dir = \"var\"",
        ),
    )
    .unwrap();
    assert_eq!(
        env.config().storage.sqlite_path,
        env.path().join("var").join("feedwatch.db")
    );
}

#[test]
fn version_names_the_commit() {
    let out = bin().arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(&format!("feedwatch {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    let commit = text
        .trim()
        .trim_end_matches(')')
        .rsplit(' ')
        .next()
        .unwrap();
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{text}"
    );
}

#[test]
fn license_is_the_full_agpl_text() {
    let text = std::fs::read_to_string(root().join("LICENSE")).unwrap();
    assert!(text.contains("GNU AFFERO GENERAL PUBLIC LICENSE"));
    assert!(text.contains("Version 3, 19 November 2007"));
    assert!(
        text.contains("13. Remote Network Interaction; Use with the GNU General Public License.")
    );
    assert!(text.contains("END OF TERMS AND CONDITIONS"));
    assert!(text.lines().count() > 600, "the whole text, not a summary");
}
