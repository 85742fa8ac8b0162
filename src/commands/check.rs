//! What `feedwatch check` adds to the config's own validation, so that it is
//! the whole gate: settings read only from the environment (refused here as
//! `run` would refuse them), and warnings that do not fail the check.

use std::path::Path;

use crate::config::{Config, Origin, Problem, key_origin};
use crate::fediverse::MastodonApiSettings;
use crate::sources::FeedSource;

/// Problems `run` would refuse that the config file cannot show.
pub fn env_problems(cfg: &Config, file: &Path) -> Vec<Problem> {
    let mut out = Vec::new();
    if cfg.federation.enabled {
        if let Err(e) = MastodonApiSettings::from_env() {
            out.push(Problem {
                file: file.to_path_buf(),
                origin: Origin::Env("FEEDWATCH_MASTODON_URL".to_string()),
                key: "FEEDWATCH_MASTODON_URL".to_string(),
                message: e.to_string(),
                hint: Some(
                    "the instance's https URL, such as \"https://mastodon.example\"".to_string(),
                ),
            });
        }
    }
    out
}

/// Problems only a starting daemon would otherwise meet: the listen address
/// it binds and the folder it keeps the database in. Returns the problems and
/// notes about a daemon that is already running on this database.
pub fn runtime_problems(cfg: &Config, file: &Path) -> (Vec<Problem>, Vec<String>) {
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let running = crate::infra::lock::holder(&cfg.storage.sqlite_path);
    if let Some(pid) = &running {
        notes.push(format!(
            "a feedwatch daemon (PID {pid}) is running on {}; `run` would refuse to start beside it",
            cfg.storage.sqlite_path.display()
        ));
    }
    let listen = cfg.server.listen;
    if let Err(e) = std::net::TcpListener::bind(listen) {
        let in_use = e.kind() == std::io::ErrorKind::AddrInUse;
        // The running daemon holds its own port; that is not a problem.
        if !(in_use && running.is_some()) {
            let (message, hint) = match e.kind() {
                std::io::ErrorKind::AddrInUse => (
                    format!(
                        "cannot listen on {listen}: the address is already in use by another program"
                    ),
                    "choose a free port here or in FEEDWATCH_SERVER__LISTEN, or stop the program that holds it",
                ),
                std::io::ErrorKind::PermissionDenied => (
                    format!("cannot listen on {listen}: permission denied"),
                    "ports below 1024 need privileges: use a port such as 8080 behind a reverse proxy",
                ),
                std::io::ErrorKind::AddrNotAvailable => (
                    format!("cannot listen on {listen}: this machine has no such address"),
                    "use 127.0.0.1 behind a reverse proxy, or 0.0.0.0 for every address",
                ),
                _ => (
                    format!("cannot listen on {listen}: {e}"),
                    "choose another address in [server] listen",
                ),
            };
            problems.push(Problem {
                file: file.to_path_buf(),
                origin: key_origin(file, &["server", "listen"]).unwrap_or(Origin::FileNoPosition),
                key: "server.listen".to_string(),
                message,
                hint: Some(hint.to_string()),
            });
        }
    }
    if let Some(message) = data_folder_problem(&cfg.storage.sqlite_path) {
        // A data_dir set in the file or the environment moved the database.
        let (key, origin) = match key_origin(file, &["storage", "data_dir"]) {
            Some(moved) => ("storage.data_dir", moved),
            None => (
                "storage.url",
                key_origin(file, &["storage", "url"]).unwrap_or(Origin::FileNoPosition),
            ),
        };
        problems.push(Problem {
            file: file.to_path_buf(),
            origin,
            key: key.to_string(),
            message,
            hint: Some(
                "point it at a folder the daemon's user can write (or pass --data-dir)".to_string(),
            ),
        });
    }
    (problems, notes)
}

/// Why the daemon could not create or write its database at `db`, if it
/// could not. Creates nothing: it asks of the nearest folder that exists.
fn data_folder_problem(db: &Path) -> Option<String> {
    use rustix::fs::{Access, access};
    if db.exists() {
        return access(db, Access::READ_OK | Access::WRITE_OK)
            .err()
            .map(|e| format!("the database {} is not writable: {e}", db.display()));
    }
    let mut dir = db.parent()?;
    while !dir.as_os_str().is_empty() && !dir.exists() {
        dir = dir.parent()?;
    }
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    if !dir.is_dir() {
        return Some(format!(
            "cannot create the database {}: {} is not a folder",
            db.display(),
            dir.display()
        ));
    }
    access(dir, Access::WRITE_OK | Access::EXEC_OK)
        .err()
        .map(|e| {
            format!(
                "cannot create the database {}: the folder {} is not writable ({e})",
                db.display(),
                dir.display()
            )
        })
}

/// Things that work but are probably not what the operator wants.
pub fn warnings(cfg: &Config, feeds: &[FeedSource]) -> Vec<String> {
    let mut out = Vec::new();
    if cfg.federation.enabled {
        let url = &cfg.bot.base_url;
        let local = match url.host() {
            Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback() || ip.is_private(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => true,
        };
        if local {
            out.push(format!(
                "[bot] base_url {url} is a local address with federation on: other servers cannot reach it"
            ));
        }
        if url.scheme() == "http" {
            out.push(format!(
                "[bot] base_url {url} is http with federation on: Mastodon and most servers only talk to https"
            ));
        }
        let (u, t) = (
            std::env::var_os("FEEDWATCH_MASTODON_URL").is_some(),
            std::env::var_os("FEEDWATCH_MASTODON_TOKEN").is_some(),
        );
        if u != t {
            out.push(
                "only one of FEEDWATCH_MASTODON_URL and FEEDWATCH_MASTODON_TOKEN is set: the Mastodon API channel stays off"
                    .to_string(),
            );
        }
    }
    if cfg.admin.token.is_some() && std::env::var_os("FEEDWATCH_ADMIN__TOKEN").is_none() {
        out.push(
            "[admin] token is set in the config file: prefer the FEEDWATCH_ADMIN__TOKEN environment variable, so the secret stays out of the file"
                .to_string(),
        );
    }
    for f in feeds {
        if let Some(lang) = &f.lang {
            if !known_language_tag(lang) {
                out.push(format!(
                    "feed {:?}: lang {lang:?} is not a BCP 47 language tag (such as \"en\", \"zh-TW\")",
                    f.name
                ));
            }
        }
    }
    out
}

/// Well-formed BCP 47 with a 2- or 3-letter primary language (the 5-8
/// letter form is reserved and has no registered values: "english" is not a
/// tag), or a private-use tag.
pub fn known_language_tag(tag: &str) -> bool {
    match oxilangtag::LanguageTag::parse(tag) {
        Ok(t) => {
            tag.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("x-"))
                || (2..=3).contains(&t.primary_language().len())
        }
        Err(_) => false,
    }
}

/// `feedwatch check`: every problem in the config and the source list.
pub(crate) fn run(
    path: &std::path::Path,
    data_dir: Option<&std::path::Path>,
) -> std::process::ExitCode {
    let mut problems = Vec::new();
    match crate::config::load(path).map(|c| match data_dir {
        Some(d) => c.with_data_dir(d),
        None => c,
    }) {
        Ok(cfg) => match crate::sources::load(&cfg.sources.path) {
            Ok(feeds) => {
                // Also what only `run` would find: the environment-only settings.
                problems.extend(env_problems(&cfg, path));
                let (runtime, notes) = runtime_problems(&cfg, path);
                problems.extend(runtime);
                for note in notes {
                    println!("note: {note}");
                }
                for w in cfg
                    .topic
                    .warnings()
                    .into_iter()
                    .chain(warnings(&cfg, &feeds))
                {
                    println!("warning: {w}");
                }
                if feeds.iter().all(|f| !f.enabled) {
                    println!(
                        "warning: no enabled feeds in {}",
                        cfg.sources.path.display()
                    );
                }
                if problems.is_empty() {
                    println!(
                        "ok: {} is valid; {} feeds ({} enabled) in {}",
                        path.display(),
                        feeds.len(),
                        feeds.iter().filter(|f| f.enabled).count(),
                        cfg.sources.path.display()
                    );
                }
            }
            Err(p) => problems.extend(p.0),
        },
        Err(p) => problems.extend(p.0),
    }
    if problems.is_empty() {
        return std::process::ExitCode::SUCCESS;
    }
    for p in &problems {
        println!("{p}");
    }
    println!("{} problem(s) found", problems.len());
    std::process::ExitCode::from(1)
}

#[cfg(test)]
mod tests {
    use super::known_language_tag;

    #[test]
    fn language_tags() {
        for ok in [
            "en",
            "zh-TW",
            "zh-Hant-TW",
            "yue",
            "en-GB-oxendict",
            "x-private",
        ] {
            assert!(known_language_tag(ok), "{ok}");
        }
        for bad in ["english", "", "zh_TW", "e", "en--GB"] {
            assert!(!known_language_tag(bad), "{bad}");
        }
    }
}
