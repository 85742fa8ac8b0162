//! The source list: which feeds to watch, from `sources.toml` or an OPML file.
//!
//! `sources.toml` holds `[[feed]]` entries; only `url` is required. The same
//! located-problem machinery as the config reports mistakes with file:line:col.
//! OPML 2.0 import/export lets operators move lists to and from feed readers.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::diag::{KeyPath, Origin, Problem, Problems, TomlSource, schema_of};
use crate::config::{Validator, parse_duration};
use crate::matching::{Topic, TopicError, TopicOverride};

/// One watched feed, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedSource {
    pub url: Url,
    /// Shown in posts ("via Focus Taiwan") and in `feedwatch feeds`.
    pub name: String,
    /// The operator's language hint for items that do not declare one.
    pub lang: Option<String>,
    pub tags: Vec<String>,
    pub enabled: bool,
    /// Overrides `[schedule] interval` for this feed.
    pub interval: Option<Duration>,
    /// This feed's adjustments of the topic rules. Boxed: few feeds have
    /// any, and every copy of the feed list (one entry per feed in each
    /// cycle's dispatch list) would carry its 128 bytes.
    pub rules: Option<Box<TopicOverride>>,
}

impl FeedSource {
    /// An enabled feed with no language hint, tags, interval or overrides.
    pub fn new(url: Url, name: impl Into<String>) -> FeedSource {
        FeedSource {
            url,
            name: name.into(),
            lang: None,
            tags: Vec::new(),
            enabled: true,
            interval: None,
            rules: None,
        }
    }
}

impl FeedSource {
    /// The topic that judges this feed's items: `base`, with this feed's
    /// `[feed.rules]` applied when it has any.
    pub fn topic(&self, base: &std::sync::Arc<Topic>) -> Result<std::sync::Arc<Topic>, TopicError> {
        match &self.rules {
            None => Ok(base.clone()),
            Some(ov) => base.with_override(ov).map(std::sync::Arc::new),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
struct RawSourcesFile {
    feed: Vec<RawFeed>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
struct RawFeed {
    url: String,
    name: String,
    lang: String,
    tags: Vec<String>,
    enabled: bool,
    interval: String,
    rules: Option<TopicOverride>,
}

impl Default for RawFeed {
    fn default() -> Self {
        RawFeed {
            url: String::new(),
            name: String::new(),
            lang: String::new(),
            tags: Vec::new(),
            enabled: true,
            interval: String::new(),
            rules: None,
        }
    }
}

fn schema() -> toml::Value {
    let template = RawFeed {
        url: "https://example.org/feed.xml".to_string(),
        name: "Example News".to_string(),
        lang: "en".to_string(),
        tags: vec!["taiwan".to_string()],
        enabled: true,
        interval: "30m".to_string(),
        rules: Some(TopicOverride::default()),
    };
    schema_of(&RawSourcesFile {
        feed: vec![template],
    })
}

/// Loads a `.toml` source list or an `.opml` file, by extension.
pub fn load(path: &Path) -> Result<Vec<FeedSource>, Problems> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Problems(vec![Problem {
            file: path.to_path_buf(),
            origin: Origin::FileNoPosition,
            key: String::new(),
            message: format!("cannot read the source list: {e}"),
            hint: Some("set [sources] path in config.toml to a .toml or .opml file".to_string()),
        }])
    })?;
    if is_opml(path) {
        from_opml(path, &text)
    } else {
        parse_toml(path, text)
    }
}

fn is_opml(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("opml") || e.eq_ignore_ascii_case("xml"))
}

/// Parses `sources.toml` text; `path` is used for messages.
pub fn parse_toml(path: &Path, text: String) -> Result<Vec<FeedSource>, Problems> {
    let schema = schema();
    let src = TomlSource::parse(path, text)?;
    let mut problems = Vec::new();
    // `None` marks an entry that failed to deserialize (already reported).
    let mut entries_raw: Vec<Option<RawFeed>> = Vec::new();
    for (name, value) in src.value.clone() {
        let at = KeyPath::key(&[&name]);
        match (name.as_str(), value) {
            ("feed", toml::Value::Array(entries)) => {
                // Entry by entry: one bad feed must not hide the others.
                for (i, entry) in entries.into_iter().enumerate() {
                    entries_raw.push(src.deserialize_at(
                        &at.index(i),
                        entry,
                        &schema,
                        &mut problems,
                    ));
                }
            }
            ("feed", _) => problems.push(src.problem(
                &at,
                "must be a list of [[feed]] tables",
                Some("write each feed as a [[feed]] table with a url = \"...\" line".to_string()),
            )),
            _ => problems.push(src.unknown_key(&at, &schema)),
        }
    }
    let mut feeds = Vec::new();
    {
        let mut v = Validator {
            src: &src,
            problems: &mut problems,
        };
        let mut seen = HashSet::new();
        for (i, f) in entries_raw.into_iter().enumerate() {
            let Some(f) = f else { continue };
            let at = KeyPath::key(&["feed"]).index(i);
            let url = v.check_at(
                &at.child("url"),
                parse_feed_url(&f.url),
                "the feed's address, such as \"https://focustaiwan.tw/rss/aall.xml\" or \"file://feeds/local.xml\"",
            );
            let interval = if f.interval.trim().is_empty() {
                Some(None)
            } else {
                v.check_at(
                    &at.child("interval"),
                    parse_duration(&f.interval).map(Some),
                    "a duration such as \"30m\" or \"2h\", or leave it out",
                )
            };
            let (Some(url), Some(interval)) = (url, interval) else {
                continue;
            };
            if !seen.insert(url.clone()) {
                v.check_at::<()>(
                    &at.child("url"),
                    Err(format!("{url} is listed twice")),
                    "each feed once; remove this entry",
                );
                continue;
            }
            let name = if f.name.trim().is_empty() {
                url.host_str().unwrap_or("local file").to_string()
            } else {
                f.name.trim().to_string()
            };
            feeds.push(FeedSource {
                url,
                name,
                lang: (!f.lang.trim().is_empty()).then(|| f.lang.trim().to_string()),
                tags: f.tags,
                enabled: f.enabled,
                interval,
                rules: f.rules.map(Box::new),
            });
        }
    }
    if problems.is_empty() {
        Ok(feeds)
    } else {
        Err(Problems(problems))
    }
}

/// Feed URLs come from the operator and are trusted: http(s) and file.
/// `file://relative/path` is read relative to the working directory.
pub fn parse_feed_url(text: &str) -> Result<Url, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("is missing; every [[feed]] needs a url".to_string());
    }
    let url = Url::parse(text).map_err(|e| format!("\"{text}\" is not a URL: {e}"))?;
    match url.scheme() {
        "http" | "https" if url.host_str().is_some() => Ok(url),
        "file" => Ok(url),
        s => Err(format!("scheme \"{s}\" is not http, https or file")),
    }
}

/// The local path a `file://` URL names. `file://feeds/x.xml` (host "feeds")
/// is read as the relative path `feeds/x.xml`, which is what operators mean.
pub fn file_url_path(url: &Url) -> PathBuf {
    let path = percent_decode(url.path());
    match url.host_str() {
        Some(host) if !host.is_empty() => PathBuf::from(format!("{host}{path}")),
        _ => PathBuf::from(path),
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

fn from_opml(path: &Path, text: &str) -> Result<Vec<FeedSource>, Problems> {
    read_opml(path, text).map(|(feeds, _)| feeds)
}

/// An OPML outline left out of an import, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub outline: String,
    pub why: String,
}

/// The feeds of an OPML document, and the outlines that are not feeds.
pub fn read_opml(path: &Path, text: &str) -> Result<(Vec<FeedSource>, Vec<Skipped>), Problems> {
    let doc = opml::OPML::from_str(text).map_err(|e| {
        Problems(vec![Problem {
            file: path.to_path_buf(),
            origin: Origin::FileNoPosition,
            key: String::new(),
            message: format!("not a valid OPML file: {e}"),
            hint: Some("export the list again from your feed reader as OPML 2.0".to_string()),
        }])
    })?;
    let mut walk = Walk {
        out: Vec::new(),
        problems: Vec::new(),
        skipped: Vec::new(),
        seen: HashSet::new(),
        path,
    };
    walk.outlines(&doc.body.outlines, &[]);
    if walk.problems.is_empty() {
        Ok((walk.out, walk.skipped))
    } else {
        Err(Problems(walk.problems))
    }
}

/// Tags from an OPML `category` attribute: a comma-separated list of
/// categories, each a plain name or a slash path. A path counts as one tag,
/// its last part (Inoreader's "/user/1005/label/Taiwan" is "Taiwan").
pub fn category_tags(category: &str) -> Vec<String> {
    category
        .split(',')
        .filter_map(|c| {
            let c = c.trim();
            let last = c.rsplit('/').find(|p| !p.trim().is_empty())?;
            Some(last.trim().to_string())
        })
        .collect()
}

struct Walk<'a> {
    out: Vec<FeedSource>,
    problems: Vec<Problem>,
    skipped: Vec<Skipped>,
    seen: HashSet<Url>,
    path: &'a Path,
}

impl Walk<'_> {
    fn outlines(&mut self, outlines: &[opml::Outline], parent_tags: &[String]) {
        for o in outlines {
            let mut tags = parent_tags.to_vec();
            for t in o.category.as_deref().map(category_tags).unwrap_or_default() {
                if !tags.contains(&t) {
                    tags.push(t);
                }
            }
            let label = o.title.clone().unwrap_or_else(|| o.text.clone());
            let label = label.trim();
            match &o.xml_url {
                Some(xml_url) => match parse_feed_url(xml_url) {
                    Ok(url) => {
                        if !self.seen.insert(url.clone()) {
                            self.skipped.push(Skipped {
                                outline: label.to_string(),
                                why: format!("{url} is listed twice in the file"),
                            });
                            continue;
                        }
                        let name = if label.is_empty() {
                            url.host_str().unwrap_or("feed").to_string()
                        } else {
                            label.to_string()
                        };
                        self.out.push(FeedSource {
                            lang: o.language.clone().filter(|l| !l.trim().is_empty()),
                            tags: tags.clone(),
                            ..FeedSource::new(url, name)
                        });
                    }
                    Err(message) => self.problems.push(Problem {
                        file: self.path.to_path_buf(),
                        origin: Origin::FileNoPosition,
                        key: format!("outline \"{}\" xmlUrl", o.text),
                        message,
                        hint: Some("fix or remove that outline".to_string()),
                    }),
                },
                None if !o.outlines.is_empty() => {
                    // A folder: its name becomes a tag of the feeds inside it.
                    let mut folder_tags = tags.clone();
                    let folder = o.text.trim().to_string();
                    if !folder.is_empty() && !folder_tags.contains(&folder) {
                        folder_tags.push(folder);
                    }
                    self.outlines(&o.outlines, &folder_tags);
                }
                None => {
                    let why = match (o.r#type.as_deref(), o.url.as_deref()) {
                        (Some("link"), Some(u)) => {
                            format!("type=\"link\": a web page ({u}), not a feed")
                        }
                        (Some("link"), None) => "type=\"link\": a web page, not a feed".to_string(),
                        _ => "no xmlUrl: not a feed".to_string(),
                    };
                    self.skipped.push(Skipped {
                        outline: label.to_string(),
                        why,
                    });
                }
            }
        }
    }
}

/// Renders the sources as OPML 2.0, for feed readers: an XML declaration,
/// one element per line, feeds grouped into folders by their first tag
/// (feeds without tags at the top level). Every tag is also in `category`.
pub fn to_opml(feeds: &[FeedSource]) -> Result<String, std::fmt::Error> {
    use std::fmt::Write;
    let mut out = String::new();
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(out, "<opml version=\"2.0\">")?;
    writeln!(out, "  <head>")?;
    writeln!(out, "    <title>feedwatch sources</title>")?;
    writeln!(out, "  </head>")?;
    writeln!(out, "  <body>")?;
    let outline = |out: &mut String, f: &FeedSource, indent: &str| -> std::fmt::Result {
        write!(
            out,
            "{indent}<outline type=\"rss\" text=\"{n}\" title=\"{n}\" xmlUrl=\"{u}\"",
            n = xml_attr(&f.name),
            u = xml_attr(f.url.as_str())
        )?;
        if let Some(lang) = &f.lang {
            write!(out, " language=\"{}\"", xml_attr(lang))?;
        }
        if !f.tags.is_empty() {
            write!(out, " category=\"{}\"", xml_attr(&f.tags.join(",")))?;
        }
        writeln!(out, "/>")
    };
    // In the list's order: a feed without tags where it stands, a folder
    // (with all the feeds whose first tag it is) where its first feed stands.
    let mut done: Vec<&str> = Vec::new();
    for f in feeds {
        let Some(folder) = f.tags.first().map(String::as_str) else {
            outline(&mut out, f, "    ")?;
            continue;
        };
        if done.contains(&folder) {
            continue;
        }
        done.push(folder);
        writeln!(
            out,
            "    <outline text=\"{f}\" title=\"{f}\">",
            f = xml_attr(folder)
        )?;
        for f in feeds
            .iter()
            .filter(|f| f.tags.first().map(String::as_str) == Some(folder))
        {
            outline(&mut out, f, "      ")?;
        }
        writeln!(out, "    </outline>")?;
    }
    writeln!(out, "  </body>")?;
    write!(out, "</opml>")?;
    Ok(out)
}

/// Text for a double-quoted XML attribute.
fn xml_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

/// What an OPML import changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub added: Vec<String>,
    pub already_present: usize,
    /// (URL, the name it is listed under) of each feed already in the list.
    pub already_listed: Vec<(String, String)>,
    /// Outlines that are not feeds.
    pub skipped: Vec<Skipped>,
}

/// Appends the OPML file's feeds that are not yet listed to `sources.toml`,
/// keeping the file's comments and layout.
pub fn import_opml(sources_toml: &Path, opml_file: &Path) -> anyhow::Result<ImportReport> {
    use anyhow::Context;
    let opml_text = std::fs::read_to_string(opml_file)
        .with_context(|| format!("reading {}", opml_file.display()))?;
    let (incoming, skipped) =
        read_opml(opml_file, &opml_text).map_err(|p| anyhow::anyhow!("{p}"))?;
    let text = match std::fs::read_to_string(sources_toml) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", sources_toml.display())),
    };
    let existing = if text.trim().is_empty() {
        Vec::new()
    } else {
        parse_toml(sources_toml, text.clone()).map_err(|p| anyhow::anyhow!("{p}"))?
    };
    let known: HashMap<&Url, &str> = existing.iter().map(|f| (&f.url, f.name.as_str())).collect();
    // New entries are appended as text, so the operator's file (comments,
    // order, layout) stays byte for byte as it was.
    let mut additions = toml_edit::DocumentMut::new();
    let mut report = ImportReport {
        skipped,
        ..ImportReport::default()
    };
    let mut array = toml_edit::ArrayOfTables::new();
    for f in incoming {
        if let Some(name) = known.get(&f.url) {
            report.already_present += 1;
            report
                .already_listed
                .push((f.url.to_string(), (*name).to_string()));
            continue;
        }
        let mut t = toml_edit::Table::new();
        t["url"] = toml_edit::value(f.url.as_str());
        t["name"] = toml_edit::value(f.name.as_str());
        if let Some(lang) = &f.lang {
            t["lang"] = toml_edit::value(lang.as_str());
        }
        if !f.tags.is_empty() {
            let mut tags = toml_edit::Array::new();
            for tag in &f.tags {
                tags.push(tag.as_str());
            }
            t["tags"] = toml_edit::value(tags);
        }
        array.push(t);
        report.added.push(f.url.to_string());
    }
    additions.insert("feed", toml_edit::Item::ArrayOfTables(array));
    let mut doc = text;
    if !report.added.is_empty() {
        if !doc.is_empty() && !doc.ends_with('\n') {
            doc.push('\n');
        }
        doc.push_str("\n# Imported from ");
        doc.push_str(&opml_file.display().to_string());
        doc.push('\n');
        doc.push_str(&additions.to_string());
    }
    if let Some(dir) = sources_toml.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // Write to a temporary file and rename, so a crash never leaves half a list.
    let tmp = sources_toml.with_extension("toml.tmp");
    std::fs::write(&tmp, doc).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, sources_toml)
        .with_context(|| format!("replacing {}", sources_toml.display()))?;
    Ok(report)
}

/// Sets `enabled` of the `[[feed]]` with `url` in a `sources.toml`, with
/// toml_edit: every other byte of the file stays. `Ok(false)` when no feed
/// has that URL. Enabling removes nothing: a missing key already means on.
pub fn set_enabled(sources_toml: &Path, url: &str, enabled: bool) -> anyhow::Result<bool> {
    use anyhow::Context;
    anyhow::ensure!(
        !is_opml(sources_toml),
        "{} is an OPML list; enable or disable feeds in a sources.toml",
        sources_toml.display()
    );
    let text = std::fs::read_to_string(sources_toml)
        .with_context(|| format!("reading {}", sources_toml.display()))?;
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .with_context(|| format!("parsing {}", sources_toml.display()))?;
    let Some(feeds) = doc
        .get_mut("feed")
        .and_then(toml_edit::Item::as_array_of_tables_mut)
    else {
        return Ok(false);
    };
    let wanted = parse_feed_url(url).ok();
    let Some(feed) = feeds.iter_mut().find(|t| {
        t.get("url")
            .and_then(toml_edit::Item::as_str)
            .is_some_and(|u| u == url || parse_feed_url(u).ok() == wanted && wanted.is_some())
    }) else {
        return Ok(false);
    };
    match feed.get_mut("enabled") {
        Some(item) if item.as_bool() != Some(enabled) => {
            let decor = item.as_value().map(|v| v.decor().clone());
            *item = toml_edit::value(enabled);
            if let (Some(d), Some(v)) = (decor, item.as_value_mut()) {
                *v.decor_mut() = d;
            }
        }
        Some(_) => {}
        None if !enabled => {
            feed.insert("enabled", toml_edit::value(false));
        }
        None => {}
    }
    let out = doc.to_string();
    if out != text {
        let tmp = sources_toml.with_extension("toml.tmp");
        std::fs::write(&tmp, out).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, sources_toml)
            .with_context(|| format!("replacing {}", sources_toml.display()))?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls_accept_relative_and_absolute_paths() {
        let rel = parse_feed_url("file://feeds/local.xml").expect("test input");
        assert_eq!(file_url_path(&rel), PathBuf::from("feeds/local.xml"));
        let abs = parse_feed_url("file:///srv/feeds/a%20b.xml").expect("test input");
        assert_eq!(file_url_path(&abs), PathBuf::from("/srv/feeds/a b.xml"));
    }

    #[test]
    fn rejects_other_schemes() {
        assert!(parse_feed_url("ftp://example.org/feed").is_err());
        assert!(parse_feed_url("").is_err());
    }
}
