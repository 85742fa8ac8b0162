//! Records the git commit the binary is built from, for `feedwatch --version`.
//! Without git (a source tarball, `cargo install` from a copy) it says "unknown".

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!text.is_empty()).then_some(text)
}

fn main() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=FEEDWATCH_GIT_COMMIT={commit}");
    // Rebuild when HEAD moves: the HEAD file (a worktree has its own) and the
    // branch it points at. Paths that do not exist would rerun every build.
    if let Some(head) = git(&["rev-parse", "--git-path", "HEAD"]) {
        println!("cargo:rerun-if-changed={head}");
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        if let Some(path) = git(&["rev-parse", "--git-path", &branch]) {
            if std::path::Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
    // `sqlx::migrate!` embeds the migrations at compile time; without this a
    // new migration file alone would not rebuild the crate.
    println!("cargo:rerun-if-changed=src/store/migrations");
    println!("cargo:rerun-if-changed=build.rs");
}
