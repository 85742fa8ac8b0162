//! Locating configuration problems in their source text.
//!
//! Operators edit TOML by hand; an error that says "invalid value" without a
//! place is a support ticket. Every problem found while loading a TOML file is
//! turned into a [`Problem`] that carries the file, line and column (or the
//! environment variable that set the value), the dotted key, what is wrong,
//! and what to write instead.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// One step in a key path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A key path such as `schedule.cron` or `feed[3].url`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct KeyPath(pub Vec<Seg>);

impl KeyPath {
    pub fn key(parts: &[&str]) -> Self {
        KeyPath(parts.iter().map(|p| Seg::Key((*p).to_string())).collect())
    }

    pub fn child(&self, key: &str) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.to_string()));
        KeyPath(segs)
    }

    pub fn index(&self, index: usize) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        KeyPath(segs)
    }

    fn parent(&self) -> KeyPath {
        let mut segs = self.0.clone();
        segs.pop();
        KeyPath(segs)
    }

    fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Seg::Key(k)) => Some(k),
            _ => None,
        }
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for seg in &self.0 {
            match seg {
                Seg::Key(k) if first => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(i) => write!(f, "[{i}]")?,
            }
            first = false;
        }
        Ok(())
    }
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    File {
        line: usize,
        column: usize,
    },
    /// The key is absent from the file (so a default or a missing required key).
    FileNoPosition,
    Env(String),
}

/// One thing wrong with a configuration or source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub origin: Origin,
    pub key: String,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        match &self.origin {
            Origin::File { line, column } => write!(f, "{file}:{line}:{column}: ")?,
            Origin::FileNoPosition => write!(f, "{file}: ")?,
            Origin::Env(var) => write!(f, "environment variable {var} (overrides {file}): ")?,
        }
        if !self.key.is_empty() {
            write!(f, "`{}`: ", self.key)?;
        }
        write!(f, "{}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n    help: {hint}")?;
        }
        Ok(())
    }
}

/// Every problem found in one load; never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// A TOML file parsed twice: once with spans (for locating problems) and once
/// as values (for deserializing, after environment overrides).
pub struct TomlSource {
    pub file: PathBuf,
    text: String,
    spanned: toml_edit::Document<String>,
    pub value: toml::Table,
    env_keys: HashMap<KeyPath, String>,
}

impl TomlSource {
    pub fn parse(file: &Path, text: String) -> Result<TomlSource, Problems> {
        let spanned = match toml_edit::Document::parse(text.clone()) {
            Ok(doc) => doc,
            Err(e) => {
                let origin = match e.span() {
                    Some(span) => position(&text, span.start),
                    None => Origin::FileNoPosition,
                };
                return Err(Problems(vec![Problem {
                    file: file.to_path_buf(),
                    origin,
                    key: String::new(),
                    message: format!("TOML syntax error: {}", e.message().trim()),
                    hint: Some(
                        "check quotes, brackets and `key = value` form on that line".to_string(),
                    ),
                }]));
            }
        };
        let value: toml::Table = toml::from_str(&text).map_err(|e| {
            Problems(vec![Problem {
                file: file.to_path_buf(),
                origin: e
                    .span()
                    .map_or(Origin::FileNoPosition, |s| position(&text, s.start)),
                key: String::new(),
                message: format!("TOML syntax error: {}", e.message().trim()),
                hint: None,
            }])
        })?;
        Ok(TomlSource {
            file: file.to_path_buf(),
            text,
            spanned,
            value,
            env_keys: HashMap::new(),
        })
    }

    /// Applies `PREFIX<SECTION>__<KEY>` variables over the file's values.
    /// `schema` (the serialized defaults) decides how a raw string is typed, so
    /// `FEEDWATCH_ADMIN__TOKEN=12345` stays a string and `..._PORT=80` a number.
    pub fn apply_env(
        &mut self,
        prefix: &str,
        vars: impl IntoIterator<Item = (String, String)>,
        schema: &toml::Value,
        problems: &mut Vec<Problem>,
    ) {
        let mut vars: Vec<(String, String)> = vars
            .into_iter()
            .filter(|(k, _)| k.starts_with(prefix) && k[prefix.len()..].contains("__"))
            .collect();
        vars.sort();
        'vars: for (var, raw) in vars {
            let parts: Vec<String> = var[prefix.len()..]
                .split("__")
                .map(str::to_ascii_lowercase)
                .collect();
            let path = KeyPath(parts.iter().map(|p| Seg::Key(p.clone())).collect());
            let Some(template) = lookup(schema, &path) else {
                problems.push(Problem {
                    file: self.file.clone(),
                    origin: Origin::Env(var.clone()),
                    key: path.to_string(),
                    message: "no such configuration key".to_string(),
                    hint: suggest(schema, &path)
                        .or_else(|| closest_leaf(schema, &path))
                        .map(|s| {
                            format!(
                                "did you mean {prefix}{}?",
                                s.replace('.', "__").to_ascii_uppercase()
                            )
                        }),
                });
                continue;
            };
            let value = typed_env_value(template, &raw);
            let mut table = &mut self.value;
            for part in &parts[..parts.len() - 1] {
                let entry = table
                    .entry(part.clone())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                if !entry.is_table() {
                    *entry = toml::Value::Table(toml::Table::new());
                }
                let toml::Value::Table(inner) = entry else {
                    continue 'vars;
                };
                table = inner;
            }
            if let Some(last) = parts.last() {
                table.insert(last.clone(), value);
            }
            self.env_keys.insert(path, var);
        }
    }

    /// Where the value at `path` came from.
    pub fn origin(&self, path: &KeyPath) -> Origin {
        // An override of a parent table covers its children.
        let mut probe = path.clone();
        loop {
            if let Some(var) = self.env_keys.get(&probe) {
                return Origin::Env(var.clone());
            }
            if probe.0.is_empty() {
                break;
            }
            probe = probe.parent();
        }
        match self.span(path) {
            Some(span) => position(&self.text, span.start),
            None => Origin::FileNoPosition,
        }
    }

    fn span(&self, path: &KeyPath) -> Option<Range<usize>> {
        span_in_item(self.spanned.as_item(), &path.0)
    }

    pub fn problem(
        &self,
        path: &KeyPath,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Problem {
        Problem {
            file: self.file.clone(),
            origin: self.origin(path),
            key: path.to_string(),
            message: message.into(),
            hint,
        }
    }

    /// Deserializes `T` from `value`, found at `base` in this file, collecting
    /// every unknown key (with a suggestion from `schema`, the schema of the
    /// whole file) and the first type error. Callers deserialize section by
    /// section so one mistake does not hide the others.
    pub fn deserialize_at<T: DeserializeOwned>(
        &self,
        base: &KeyPath,
        value: toml::Value,
        schema: &toml::Value,
        problems: &mut Vec<Problem>,
    ) -> Option<T> {
        let mut value = value;
        let mut unknown: Vec<KeyPath> = Vec::new();
        let mut result = None;
        // On a type error, report it, drop the bad key (its default applies)
        // and try again, so every bad key in the section is reported at once.
        for _ in 0..64 {
            let attempt: Result<T, serde_path_to_error::Error<toml::de::Error>> =
                serde_path_to_error::deserialize(serde_ignored::Deserializer::new(
                    value.clone(),
                    &mut |p: serde_ignored::Path<'_>| {
                        let mut path = base.clone();
                        path.0.extend(ignored_path(&p).0);
                        if !unknown.contains(&path) {
                            unknown.push(path);
                        }
                    },
                ));
            match attempt {
                Ok(v) => {
                    result = Some(v);
                    break;
                }
                Err(e) => {
                    let rel: Vec<Seg> = e
                        .path()
                        .iter()
                        .filter_map(|s| match s {
                            serde_path_to_error::Segment::Map { key } => {
                                Some(Seg::Key(key.clone()))
                            }
                            serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
                            _ => None,
                        })
                        .collect();
                    let mut path = base.clone();
                    path.0.extend(rel.iter().cloned());
                    let message = e.into_inner().message().trim().to_string();
                    let hint = lookup(schema, &path).map(|t| format!("expected {}", describe(t)));
                    problems.push(self.problem(&path, message, hint));
                    if !remove_at(&mut value, &rel) {
                        break;
                    }
                }
            }
        }
        for path in unknown {
            problems.push(self.unknown_key(&path, schema));
        }
        result
    }

    /// A problem for a key the schema does not know, with the nearest known one.
    pub fn unknown_key(&self, path: &KeyPath, schema: &toml::Value) -> Problem {
        let hint = match suggest(schema, path) {
            Some(s) => Some(format!("did you mean `{s}`? (keys are case-sensitive)")),
            None => known_keys(schema, &path.parent())
                .map(|keys| format!("known keys here: {}", keys.join(", "))),
        };
        self.problem(path, "unknown key", hint)
    }
}

/// Removes the value at `rel`; false when there is nothing to remove.
fn remove_at(value: &mut toml::Value, rel: &[Seg]) -> bool {
    let Some((last, parents)) = rel.split_last() else {
        return false;
    };
    let mut cur = value;
    for seg in parents {
        cur = match (seg, cur) {
            (Seg::Key(k), toml::Value::Table(t)) => match t.get_mut(k) {
                Some(v) => v,
                None => return false,
            },
            (Seg::Index(i), toml::Value::Array(a)) => match a.get_mut(*i) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    match (last, cur) {
        (Seg::Key(k), toml::Value::Table(t)) => t.remove(k).is_some(),
        (Seg::Index(i), toml::Value::Array(a)) if *i < a.len() => {
            a.remove(*i);
            true
        }
        _ => false,
    }
}

/// The span of the deepest part of `segs` that exists, so a missing key
/// points at its table.
fn span_in_item(item: &toml_edit::Item, segs: &[Seg]) -> Option<Range<usize>> {
    let Some((first, rest)) = segs.split_first() else {
        return item.span();
    };
    match first {
        Seg::Key(_) => span_in_table(item.as_table_like()?, segs),
        Seg::Index(i) => match item {
            toml_edit::Item::ArrayOfTables(a) => {
                let t = a.get(*i)?;
                span_in_table(t, rest).or_else(|| t.span())
            }
            toml_edit::Item::Value(toml_edit::Value::Array(arr)) => {
                let v = arr.get(*i)?;
                match v {
                    toml_edit::Value::InlineTable(t) if !rest.is_empty() => {
                        span_in_table(t, rest).or_else(|| v.span())
                    }
                    _ => v.span(),
                }
            }
            _ => None,
        },
    }
}

fn span_in_table(table: &dyn toml_edit::TableLike, segs: &[Seg]) -> Option<Range<usize>> {
    let Some((Seg::Key(k), rest)) = segs.split_first() else {
        return None;
    };
    let (key, child) = table.get_key_value(k)?;
    if rest.is_empty() {
        return key.span().or_else(|| child.span());
    }
    span_in_item(child, rest).or_else(|| key.span())
}

fn ignored_path(p: &serde_ignored::Path<'_>) -> KeyPath {
    fn walk(p: &serde_ignored::Path<'_>, out: &mut Vec<Seg>) {
        match p {
            serde_ignored::Path::Root => {}
            serde_ignored::Path::Seq { parent, index } => {
                walk(parent, out);
                out.push(Seg::Index(*index));
            }
            serde_ignored::Path::Map { parent, key } => {
                walk(parent, out);
                out.push(Seg::Key(key.clone()));
            }
            serde_ignored::Path::Some { parent }
            | serde_ignored::Path::NewtypeStruct { parent }
            | serde_ignored::Path::NewtypeVariant { parent } => walk(parent, out),
        }
    }
    let mut segs = Vec::new();
    walk(p, &mut segs);
    KeyPath(segs)
}

/// The value at `path` in a schema; array indices look at the first element,
/// which is the template for every element.
fn lookup<'a>(schema: &'a toml::Value, path: &KeyPath) -> Option<&'a toml::Value> {
    let mut v = schema;
    for seg in &path.0 {
        v = match (seg, v) {
            (Seg::Key(k), toml::Value::Table(t)) => t.get(k)?,
            (Seg::Index(_), toml::Value::Array(a)) => a.first()?,
            _ => return None,
        };
    }
    Some(v)
}

fn known_keys(schema: &toml::Value, parent: &KeyPath) -> Option<Vec<String>> {
    match lookup(schema, parent)? {
        toml::Value::Table(t) => Some(t.keys().cloned().collect()),
        _ => None,
    }
}

/// The closest known sibling of an unknown key, as a full dotted path.
fn suggest(schema: &toml::Value, path: &KeyPath) -> Option<String> {
    let wrong = path.last_key()?;
    let parent = path.parent();
    let keys = known_keys(schema, &parent)?;
    let best = keys
        .iter()
        .map(|k| {
            (
                strsim::damerau_levenshtein(&wrong.to_ascii_lowercase(), k),
                k,
            )
        })
        .min_by_key(|(d, _)| *d)?;
    let limit = (wrong.len() / 3).max(2);
    (best.0 <= limit).then(|| parent.child(best.1).to_string())
}

/// The closest known leaf key anywhere in the schema (for a misspelt section).
fn closest_leaf(schema: &toml::Value, path: &KeyPath) -> Option<String> {
    fn leaves(v: &toml::Value, prefix: &str, out: &mut Vec<String>) {
        if let toml::Value::Table(t) = v {
            for (k, child) in t {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match child {
                    toml::Value::Table(_) => leaves(child, &p, out),
                    _ => out.push(p),
                }
            }
        }
    }
    let mut all = Vec::new();
    leaves(schema, "", &mut all);
    let wrong = path.to_string();
    let (dist, best) = all
        .into_iter()
        .map(|k| (strsim::damerau_levenshtein(&wrong, &k), k))
        .min_by_key(|(d, _)| *d)?;
    (dist <= (wrong.len() / 4).max(2)).then_some(best)
}

fn describe(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) if s.is_empty() => "a string, in quotes".to_string(),
        toml::Value::String(s) => format!("a string in quotes, such as \"{s}\""),
        toml::Value::Integer(i) => format!("a whole number, such as {i}"),
        toml::Value::Float(x) => format!("a number, such as {x}"),
        toml::Value::Boolean(_) => "true or false".to_string(),
        toml::Value::Datetime(_) => "a date".to_string(),
        toml::Value::Array(_) => "a list in brackets, such as [\"a\", \"b\"]".to_string(),
        toml::Value::Table(_) => "a table".to_string(),
    }
}

fn typed_env_value(template: &toml::Value, raw: &str) -> toml::Value {
    match template {
        toml::Value::String(_) => toml::Value::String(raw.to_string()),
        _ => {
            let parsed: Result<toml::Table, _> = toml::from_str(&format!("v = {raw}"));
            match parsed.ok().and_then(|mut t| t.remove("v")) {
                Some(v) => v,
                None => toml::Value::String(raw.to_string()),
            }
        }
    }
}

/// Line and column (both 1-based, column in characters) of a byte offset.
pub fn position(text: &str, offset: usize) -> Origin {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    Origin::File { line, column }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Serializes defaults into the schema used for suggestions and env typing.
pub fn schema_of<T: Serialize>(defaults: &T) -> toml::Value {
    toml::Value::try_from(defaults).unwrap_or(toml::Value::Table(toml::Table::new()))
}
