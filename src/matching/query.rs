//! The operator rule language: lexer, parser, compiler and evaluator.
//!
//! ```text
//! query   := or
//! or      := and (("OR" | "|") and)*
//! and     := unary (["AND"] unary)*          adjacent terms are ANDed
//! unary   := ("NOT" | "-") unary | scoped
//! scoped  := [field ":"] atom                field = title|summary|link|source|lang|tags|author
//! atom    := "(" query ")" | "\"phrase\"" | "/regex/" | "@group" | word | word*
//! ```
//!
//! `NOT` binds tighter than `AND`, which binds tighter than `OR`, as in
//! every search box. Keywords are upper-case only, so that `and`/`or` in a
//! phrase stay words. An unscoped term looks at the title and the summary.
//!
//! Matching semantics (why: the operator writes one term and expects it to
//! find every spelling a feed may use):
//! * Latin words and phrases are folded (case, width, accents) and stemmed,
//!   and match whole tokens; a phrase matches consecutive tokens.
//! * A term with Han or kana characters matches as a substring of the folded
//!   text (Traditional and Simplified fold to one form).
//! * `word*` matches tokens starting with `word` (folded, not stemmed).
//! * `/regex/` runs on the folded field, case-insensitively, with compiled
//!   size limits; inputs are capped at [`text::MAX_FIELD_BYTES`], and the
//!   regex crate runs in linear time, so no rule can stall the pipeline.
//!
//! Parsing is separate from compiling: [`parse`] only builds an [`Expr`]
//! (so `feedwatch check` can validate a query on its own); the crate-private
//! compiler resolves `@group` references (with cycle detection), interns
//! terms in one table shared by all rules (so a group used by ten rules is
//! matched once per item), and compiles regexes.
//!
//! Columns in a [`ParseError`] count characters from the start of the query,
//! from 1; in a multi-line TOML string the line breaks count as characters.

use std::collections::BTreeMap;
use std::fmt;

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use super::text::{self, FxHashMap, WordStemmer};

/// Longest accepted query, in characters.
pub const MAX_QUERY_CHARS: usize = 4096;
/// Deepest accepted nesting of parentheses / NOT / groups.
pub const MAX_DEPTH: usize = 32;
/// Longest accepted `/regex/` pattern, in characters.
pub const MAX_REGEX_CHARS: usize = 256;
/// Compiled-program and lazy-DFA caps for one regex (bytes).
const REGEX_SIZE_LIMIT: usize = 256 * 1024;
const REGEX_DFA_LIMIT: usize = 1024 * 1024;

/// Field bits. Unscoped terms use [`DEFAULT_FIELDS`].
pub const TITLE: u8 = 1;
pub const SUMMARY: u8 = 2;
pub const LINK: u8 = 4;
pub const SOURCE: u8 = 8;
pub const LANG: u8 = 16;
/// The item's categories (the feed's own tags), one per line.
pub const TAGS: u8 = 32;
/// The item's author(s), as the feed names them.
pub const AUTHOR: u8 = 64;
/// Unscoped terms look at title and summary.
pub const DEFAULT_FIELDS: u8 = TITLE | SUMMARY;
/// Names of the field bits, in bit order.
pub const FIELD_NAMES: [&str; 7] = [
    "title", "summary", "link", "source", "lang", "tags", "author",
];

fn field_bit(name: &str) -> Option<u8> {
    FIELD_NAMES
        .iter()
        .position(|n| *n == name)
        .map(|i| 1u8 << i)
}

/// Name of a single field bit.
pub fn field_name(bit: u8) -> &'static str {
    let i = bit.trailing_zeros() as usize;
    FIELD_NAMES.get(i).copied().unwrap_or("?")
}

/// A query that could not be parsed or compiled. `column` counts characters
/// from 1, so an editor can jump to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct ParseError {
    /// 1-based character column where the problem starts.
    pub column: usize,
    /// What the parser would have accepted there.
    pub expected: String,
    /// What it found instead.
    pub found: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "column {}: expected {} but found {}",
            self.column, self.expected, self.found
        )
    }
}

fn err(column: usize, expected: impl Into<String>, found: impl Into<String>) -> ParseError {
    ParseError {
        column,
        expected: expected.into(),
        found: found.into(),
    }
}

/// A term as written in the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TermSpec {
    /// A bare word (`scam`) or quoted phrase (`"scam centre"`).
    Text { text: String, quoted: bool },
    /// `word*`.
    Prefix(String),
    /// `/pattern/`.
    Regex(String),
}

/// Parsed, unresolved query. `fields == 0` means "not scoped here": the
/// scope is inherited from an enclosing `field:` (or defaults to
/// title+summary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Term {
        spec: TermSpec,
        fields: u8,
        column: usize,
    },
    Group {
        name: String,
        fields: u8,
        column: usize,
    },
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    LParen,
    RParen,
    Or(&'static str),
    And,
    Not(&'static str),
    Field(u8, String),
    Word(String),
    Phrase(String),
    Regex(String),
    Group(String),
    Eof,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::Or(s) | Tok::Not(s) => format!("'{s}'"),
            Tok::And => "'AND'".into(),
            Tok::Field(_, n) => format!("'{n}:'"),
            Tok::Word(w) => format!("'{w}'"),
            Tok::Phrase(p) => format!("\"{p}\""),
            Tok::Regex(r) => format!("/{r}/"),
            Tok::Group(g) => format!("'@{g}'"),
            Tok::Eof => "end of input".into(),
        }
    }

    fn starts_term(&self) -> bool {
        matches!(
            self,
            Tok::LParen
                | Tok::Not(_)
                | Tok::Field(..)
                | Tok::Word(_)
                | Tok::Phrase(_)
                | Tok::Regex(_)
                | Tok::Group(_)
        )
    }
}

fn is_delim(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '"' | '|')
}

fn lex(query: &str) -> Result<Vec<(Tok, usize)>, ParseError> {
    let chars: Vec<char> = query.chars().collect();
    if chars.len() > MAX_QUERY_CHARS {
        return Err(err(
            MAX_QUERY_CHARS + 1,
            format!("a query of at most {MAX_QUERY_CHARS} characters"),
            format!("{} characters", chars.len()),
        ));
    }
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        match c {
            '(' => {
                toks.push((Tok::LParen, col));
                i += 1;
            }
            ')' => {
                toks.push((Tok::RParen, col));
                i += 1;
            }
            '|' => {
                toks.push((Tok::Or("|"), col));
                i += 1;
            }
            '"' => {
                let start = i + 1;
                let Some(len) = chars[start..].iter().position(|&c| c == '"') else {
                    return Err(err(
                        chars.len() + 1,
                        "'\"' closing the phrase",
                        "end of input",
                    ));
                };
                let text: String = chars[start..start + len].iter().collect();
                if text.trim().is_empty() {
                    return Err(err(col, "a phrase with words inside the quotes", "\"\""));
                }
                toks.push((Tok::Phrase(text), col));
                i = start + len + 1;
            }
            '/' => {
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && chars[j] != '/' {
                    if chars[j] == '\\' {
                        j += 1;
                    }
                    j += 1;
                }
                if j >= chars.len() {
                    return Err(err(
                        chars.len() + 1,
                        "'/' closing the regex",
                        "end of input",
                    ));
                }
                let pat: String = chars[start..j].iter().collect();
                if pat.is_empty() {
                    return Err(err(col, "a regex pattern between the slashes", "//"));
                }
                if pat.chars().count() > MAX_REGEX_CHARS {
                    return Err(err(
                        col,
                        format!("a regex of at most {MAX_REGEX_CHARS} characters"),
                        format!("{} characters", pat.chars().count()),
                    ));
                }
                toks.push((Tok::Regex(pat), col));
                i = j + 1;
            }
            '-' if chars
                .get(i + 1)
                .is_some_and(|n| !is_delim(*n) || *n == '(' || *n == '"') =>
            {
                toks.push((Tok::Not("-"), col));
                i += 1;
            }
            '@' => {
                let start = i + 1;
                let mut j = start;
                while j < chars.len()
                    && (chars[j].is_alphanumeric() || chars[j] == '_' || chars[j] == '-')
                {
                    j += 1;
                }
                if j == start {
                    return Err(err(
                        col + 1,
                        "a group name after '@'",
                        found_at(&chars, start),
                    ));
                }
                toks.push((Tok::Group(chars[start..j].iter().collect()), col));
                i = j;
            }
            _ => {
                // A field prefix: ASCII letters then ':' then a term.
                let mut j = i;
                while j < chars.len() && chars[j].is_ascii_alphabetic() {
                    j += 1;
                }
                if j > i && chars.get(j) == Some(&':') {
                    let name: String = chars[i..j].iter().collect();
                    let Some(bit) = field_bit(&name.to_ascii_lowercase()) else {
                        return Err(err(
                            col,
                            "a field name (title, summary, link, source, lang, tags or author)",
                            format!("'{name}:'"),
                        ));
                    };
                    if chars.get(j + 1).is_none_or(|c| c.is_whitespace()) {
                        return Err(err(
                            j + 2,
                            format!("a term after '{name}:'"),
                            found_at(&chars, j + 1),
                        ));
                    }
                    toks.push((Tok::Field(bit, name), col));
                    i = j + 1;
                    continue;
                }
                let mut j = i;
                while j < chars.len() && !is_delim(chars[j]) {
                    j += 1;
                }
                let word: String = chars[i..j].iter().collect();
                let tok = match word.as_str() {
                    "AND" => Tok::And,
                    "OR" => Tok::Or("OR"),
                    "NOT" => Tok::Not("NOT"),
                    _ => Tok::Word(word),
                };
                toks.push((tok, col));
                i = j;
            }
        }
    }
    toks.push((Tok::Eof, chars.len() + 1));
    Ok(toks)
}

fn found_at(chars: &[char], i: usize) -> String {
    match chars.get(i) {
        None => "end of input".into(),
        Some(c) if c.is_whitespace() => "a space".into(),
        Some(c) => format!("'{c}'"),
    }
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &(Tok, usize) {
        // The token list always ends with Eof and we never advance past it.
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn bump(&mut self) -> (Tok, usize) {
        let t = self.peek().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let (t, col) = self.peek();
            return Err(err(
                *col,
                format!("at most {MAX_DEPTH} nested levels"),
                t.describe(),
            ));
        }
        Ok(())
    }

    fn or(&mut self, scope: u8) -> Result<Expr, ParseError> {
        self.enter()?;
        let mut parts = vec![self.and(scope)?];
        while matches!(self.peek().0, Tok::Or(_)) {
            self.bump();
            parts.push(self.and(scope)?);
        }
        self.depth -= 1;
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Or(parts)
        })
    }

    fn and(&mut self, scope: u8) -> Result<Expr, ParseError> {
        let mut parts = vec![self.unary(scope)?];
        loop {
            if matches!(self.peek().0, Tok::And) {
                self.bump();
                parts.push(self.unary(scope)?);
            } else if self.peek().0.starts_term() {
                parts.push(self.unary(scope)?);
            } else {
                break;
            }
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::And(parts)
        })
    }

    fn unary(&mut self, scope: u8) -> Result<Expr, ParseError> {
        if let Tok::Not(kw) = self.peek().0 {
            self.bump();
            self.enter()?;
            if !self.peek().0.starts_term() {
                let (t, col) = self.peek();
                return Err(err(*col, format!("a term after '{kw}'"), t.describe()));
            }
            let inner = self.unary(scope)?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.scoped(scope)
    }

    fn scoped(&mut self, scope: u8) -> Result<Expr, ParseError> {
        let mut scope = scope;
        if let Tok::Field(bit, _) = self.peek().0 {
            scope = bit;
            self.bump();
        }
        let (tok, col) = self.bump();
        match tok {
            Tok::LParen => {
                let inner = self.or(scope)?;
                let (t, c) = self.bump();
                if t != Tok::RParen {
                    return Err(err(c, "')'", t.describe()));
                }
                Ok(inner)
            }
            Tok::Word(w) => Ok(Expr::Term {
                spec: match w.strip_suffix('*') {
                    Some(p) if !p.is_empty() => TermSpec::Prefix(p.to_string()),
                    _ => TermSpec::Text {
                        text: w,
                        quoted: false,
                    },
                },
                fields: scope,
                column: col,
            }),
            Tok::Phrase(p) => Ok(Expr::Term {
                spec: TermSpec::Text {
                    text: p,
                    quoted: true,
                },
                fields: scope,
                column: col,
            }),
            Tok::Regex(r) => Ok(Expr::Term {
                spec: TermSpec::Regex(r),
                fields: scope,
                column: col,
            }),
            Tok::Group(name) => Ok(Expr::Group {
                name,
                fields: scope,
                column: col,
            }),
            other => Err(err(col, "a term", other.describe())),
        }
    }
}

/// Parses a query into an unresolved [`Expr`].
pub fn parse(query: &str) -> Result<Expr, ParseError> {
    let toks = lex(query)?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let expr = p.or(0)?;
    let (t, col) = p.bump();
    if t != Tok::Eof {
        let expected = if t == Tok::RParen {
            "end of query (this ')' has no matching '(')"
        } else {
            "end of query"
        };
        return Err(err(col, expected, t.describe()));
    }
    Ok(expr)
}

/// Lower-case `and`/`or`/`not` written between terms: they are matched as
/// words (keywords are upper-case only), which is rarely what was meant.
/// Returns one message per occurrence, e.g.
/// ``column 11: `or` is matched as a word here; write OR``. A query that
/// does not lex gives no warnings (its error is reported instead).
pub fn lowercase_operator_warnings(query: &str) -> Vec<String> {
    let Ok(toks) = lex(query) else {
        return Vec::new();
    };
    let ends_term = |t: &Tok| {
        matches!(
            t,
            Tok::RParen | Tok::Word(_) | Tok::Phrase(_) | Tok::Regex(_) | Tok::Group(_)
        )
    };
    let mut out = Vec::new();
    for i in 1..toks.len().saturating_sub(1) {
        let (Tok::Word(w), col) = &toks[i] else {
            continue;
        };
        let kw = match w.as_str() {
            "and" => "AND",
            "or" => "OR",
            "not" => "NOT",
            _ => continue,
        };
        let before = &toks[i - 1].0;
        let after = &toks[i + 1].0;
        let between = (ends_term(before) || kw == "NOT") && after.starts_term();
        if between {
            out.push(format!(
                "column {col}: `{w}` is matched as a word here; write {kw}"
            ));
        }
    }
    out
}

/// How one interned term matches a field.
#[derive(Debug)]
pub(crate) enum TermKind {
    /// Consecutive stemmed tokens (vocabulary ids); one id for a word.
    Phrase(Vec<u32>),
    /// Tokens whose folded form starts with this.
    Prefix(String),
    /// Substring of the folded text (Chinese terms).
    Substring(String),
    /// Consecutive tokens, each starting with its word (Korean: particles
    /// attach to the end of a word, `대만의` is "Taiwan's").
    PrefixPhrase(Vec<String>),
    /// Regex over the folded text.
    Regex(Regex),
}

/// An interned term and the text the operator wrote for it.
#[derive(Debug)]
pub(crate) struct Term {
    pub kind: TermKind,
    pub display: String,
}

/// Stem vocabulary: the ids that documents' tokens are mapped to, so phrase
/// matching compares integers. Shared with the scorer, which keeps the
/// profile weight of each id.
#[derive(Debug, Clone, Default)]
pub(crate) struct Vocab {
    pub ids: FxHashMap<String, u32>,
}

impl Vocab {
    pub fn intern(&mut self, key: &str) -> u32 {
        if let Some(id) = self.ids.get(key) {
            return *id;
        }
        let id = self.ids.len() as u32;
        self.ids.insert(key.to_string(), id);
        id
    }

    pub fn get(&self, key: &str) -> Option<u32> {
        self.ids.get(key).copied()
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }
}

/// Every term of every rule, interned.
#[derive(Debug, Default)]
pub(crate) struct TermTable {
    pub terms: Vec<Term>,
    index: FxHashMap<String, u32>,
}

/// A compiled rule tree.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Leaf { term: u32, fields: u8 },
    Not(Box<Node>),
    And(Vec<Node>),
    Or(Vec<Node>),
}

impl Node {
    /// Union of the fields any leaf looks at (to skip analysing the others).
    pub fn fields(&self) -> u8 {
        match self {
            Node::Leaf { fields, .. } => *fields,
            Node::Not(n) => n.fields(),
            Node::And(v) | Node::Or(v) => v.iter().fold(0, |a, n| a | n.fields()),
        }
    }
}

/// Resolves groups and interns terms.
pub(crate) struct Compiler<'a> {
    pub stemmer: &'a WordStemmer,
    pub vocab: &'a mut Vocab,
    pub table: &'a mut TermTable,
    groups: BTreeMap<String, Expr>,
}

impl<'a> Compiler<'a> {
    /// Parses and checks every group (unknown references, cycles, bad
    /// terms), so later rule compilation cannot fail inside a group.
    pub fn new(
        stemmer: &'a WordStemmer,
        vocab: &'a mut Vocab,
        table: &'a mut TermTable,
        group_src: &BTreeMap<String, String>,
    ) -> Result<Self, (String, ParseError)> {
        let mut groups = BTreeMap::new();
        for (name, src) in group_src {
            let name = name.trim_start_matches('@').to_string();
            let expr = parse(src).map_err(|e| (name.clone(), e))?;
            groups.insert(name, expr);
        }
        let mut c = Compiler {
            stemmer,
            vocab,
            table,
            groups,
        };
        let names: Vec<String> = c.groups.keys().cloned().collect();
        for name in names {
            let expr = c.groups.get(&name).cloned();
            if let Some(expr) = expr {
                let mut stack = vec![name.clone()];
                c.resolve(&expr, DEFAULT_FIELDS, &mut stack)
                    .map_err(|e| (name.clone(), e))?;
            }
        }
        Ok(c)
    }

    /// Parses and compiles one rule query.
    pub fn compile(&mut self, query: &str) -> Result<Node, ParseError> {
        let expr = parse(query)?;
        self.resolve(&expr, DEFAULT_FIELDS, &mut Vec::new())
    }

    fn resolve(
        &mut self,
        expr: &Expr,
        outer: u8,
        stack: &mut Vec<String>,
    ) -> Result<Node, ParseError> {
        let scope = |f: u8| if f != 0 { f } else { outer };
        Ok(match expr {
            Expr::Term {
                spec,
                fields,
                column,
            } => Node::Leaf {
                term: self.intern(spec, *column)?,
                fields: scope(*fields),
            },
            Expr::Group {
                name,
                fields,
                column,
            } => {
                if stack.iter().any(|n| n == name) {
                    return Err(err(
                        *column,
                        "a group that does not refer back to itself",
                        format!("'@{name}' (cycle: @{} -> @{name})", stack.join(" -> @")),
                    ));
                }
                let Some(def) = self.groups.get(name).cloned() else {
                    let known: Vec<String> = self.groups.keys().map(|k| format!("@{k}")).collect();
                    let expected = if known.is_empty() {
                        "a defined group (none are defined)".to_string()
                    } else {
                        format!("a defined group ({})", known.join(", "))
                    };
                    return Err(err(*column, expected, format!("'@{name}'")));
                };
                if stack.len() >= MAX_DEPTH {
                    return Err(err(
                        *column,
                        format!("groups nested at most {MAX_DEPTH} deep"),
                        format!("'@{name}'"),
                    ));
                }
                stack.push(name.clone());
                let node = self.resolve(&def, scope(*fields), stack);
                stack.pop();
                node?
            }
            Expr::Not(e) => Node::Not(Box::new(self.resolve(e, outer, stack)?)),
            Expr::And(v) => Node::And(
                v.iter()
                    .map(|e| self.resolve(e, outer, stack))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Or(v) => Node::Or(
                v.iter()
                    .map(|e| self.resolve(e, outer, stack))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }

    fn intern(&mut self, spec: &TermSpec, column: usize) -> Result<u32, ParseError> {
        let (kind, display) = match spec {
            TermSpec::Text { text, quoted } => {
                let display = if *quoted {
                    format!("\"{text}\"")
                } else {
                    text.clone()
                };
                let folded = text::fold(text);
                let kind = if folded.chars().any(crate::text::is_cjk)
                    && !folded.chars().any(crate::text::is_kana)
                {
                    TermKind::Substring(folded.trim().to_string())
                } else if unknown_unspaced_word(&folded) {
                    // A Thai/Lao/Khmer/Burmese term the dictionary does not
                    // know (a name, a loanword such as อินเตอร์โพล) is split
                    // differently alone and in a sentence: match it as a
                    // substring instead.
                    TermKind::Substring(folded.trim().to_string())
                } else if folded.chars().any(crate::text::is_hangul) {
                    let mut words = Vec::new();
                    text::for_each_word(&folded, |s, e| words.push(folded[s..e].to_string()));
                    TermKind::PrefixPhrase(words)
                } else {
                    let mut ids = Vec::new();
                    text::for_each_word(&folded, |s, e| {
                        let stem = self.stemmer.stem(&folded[s..e]);
                        ids.push(self.vocab.intern(&stem));
                    });
                    if ids.is_empty() {
                        return Err(err(
                            column,
                            "a term with letters or digits",
                            format!("'{text}'"),
                        ));
                    }
                    TermKind::Phrase(ids)
                };
                (kind, display)
            }
            TermSpec::Prefix(p) => {
                let folded = text::fold(p);
                let mut n = 0;
                text::for_each_word(&folded, |_, _| n += 1);
                if n != 1 || folded.chars().any(crate::text::is_cjk) {
                    return Err(err(
                        column,
                        "a single Latin-script word before '*'",
                        format!("'{p}*'"),
                    ));
                }
                (TermKind::Prefix(folded), format!("{p}*"))
            }
            TermSpec::Regex(r) => (compile_regex(r, column)?, format!("/{r}/")),
        };
        // Terms are deduplicated by what they match, not how they are
        // written: `scam | scams` is one term, matched once, reported once.
        let key = match &kind {
            TermKind::Phrase(ids) => format!("w:{ids:?}"),
            TermKind::Prefix(p) => format!("p:{p}"),
            TermKind::Substring(s) => format!("s:{s}"),
            TermKind::PrefixPhrase(w) => format!("pp:{w:?}"),
            TermKind::Regex(re) => format!("r:{}", re.as_str()),
        };
        if let Some(id) = self.table.index.get(&key) {
            return Ok(*id);
        }
        let id = self.table.terms.len() as u32;
        self.table.terms.push(Term { kind, display });
        self.table.index.insert(key, id);
        Ok(id)
    }
}

/// True for a one-word term in a script written without spaces that the
/// dictionary segmenter splits into several pieces.
fn unknown_unspaced_word(folded: &str) -> bool {
    let t = folded.trim();
    if t.is_ascii() || t.contains(char::is_whitespace) || !t.chars().any(text::is_unspaced_script) {
        return false;
    }
    let mut n = 0;
    text::for_each_word(t, |_, _| n += 1);
    n > 1
}

/// Compiles a `/regex/` term with the size limits.
fn compile_regex(r: &str, column: usize) -> Result<TermKind, ParseError> {
    // Han characters in the pattern are folded like the text they will run
    // on; the rest of the pattern is left alone.
    let pattern = if r.chars().any(crate::text::is_han) {
        text::to_simplified(r)
    } else {
        r.to_string()
    };
    let re = RegexBuilder::new(&pattern)
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_LIMIT)
        .nest_limit(MAX_DEPTH as u32)
        .build()
        .map_err(|e| {
            let expected = match e {
                regex::Error::CompiledTooBig(_) => "a smaller regex (compiled size limit exceeded)",
                _ => "a valid regex",
            };
            let detail = e.to_string();
            let last = detail.lines().last().unwrap_or("").trim().to_string();
            err(column, expected, format!("/{r}/ ({last})"))
        })?;
    Ok(TermKind::Regex(re))
}

/// One analysed field of a candidate.
#[derive(Debug, Default)]
pub(crate) struct FieldDoc {
    /// Folded text (see [`text::fold`]).
    pub folded: String,
    /// Vocabulary id of each Latin token, `u32::MAX` when unknown.
    pub ids: Vec<u32>,
    /// Byte range of each Latin token in `folded`.
    pub spans: Vec<(u32, u32)>,
    /// Whether `folded` has Han/kana characters (or Thai, Lao, Khmer,
    /// Burmese: substring terms look at these fields only).
    pub has_cjk: bool,
    /// Bit set of the vocabulary ids present, so a phrase whose words are
    /// absent is rejected without scanning the tokens.
    present: Vec<u64>,
    /// Bit set of the tokens' first two bytes (hashed), so a prefix term no
    /// token can start with is rejected without scanning the tokens: the
    /// shipped alias table alone has 46 prefix terms (and every Korean term
    /// is a prefix phrase), most of them absent from any one item.
    starts: [u64; 8],
}

/// The bit of [`FieldDoc::starts`] for a text's first two bytes; `None` when
/// it is shorter.
fn start_bit(text: &str) -> Option<usize> {
    match text.as_bytes() {
        [a, b, ..] => Some((usize::from(*a) * 29 + usize::from(*b)) % 512),
        _ => None,
    }
}

impl FieldDoc {
    pub fn analyse(raw: &str, stemmer: &WordStemmer, vocab: &Vocab) -> Self {
        let folded = text::fold(raw);
        let mut ids = Vec::new();
        let mut spans = Vec::new();
        let mut present = vec![0u64; vocab.len().div_ceil(64)];
        let mut starts = [0u64; 8];
        text::for_each_word(&folded, |s, e| {
            if let Some(bit) = start_bit(&folded[s..e]) {
                starts[bit / 64] |= 1 << (bit % 64);
            }
            let id = vocab.get(&stemmer.stem(&folded[s..e]));
            if let Some(id) = id
                && let Some(w) = present.get_mut(id as usize / 64)
            {
                *w |= 1 << (id % 64);
            }
            ids.push(id.unwrap_or(u32::MAX));
            spans.push((s as u32, e as u32));
        });
        let has_cjk = !folded.is_ascii()
            && folded
                .chars()
                .any(|c| crate::text::is_cjk(c) || text::is_unspaced_script(c));
        FieldDoc {
            folded,
            ids,
            spans,
            has_cjk,
            present,
            starts,
        }
    }

    /// False when no token starts with `prefix`'s first two bytes (true
    /// when it has fewer: those are not filtered).
    fn may_start_with(&self, prefix: &str) -> bool {
        start_bit(prefix).is_none_or(|bit| self.starts[bit / 64] & (1 << (bit % 64)) != 0)
    }

    fn has_id(&self, id: u32) -> bool {
        self.present
            .get(id as usize / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    fn matches(&self, kind: &TermKind) -> bool {
        match kind {
            TermKind::Phrase(p) => {
                let Some((first, rest)) = p.split_first() else {
                    return false;
                };
                if !p.iter().all(|id| self.has_id(*id)) {
                    return false;
                }
                // Element-wise, not slice equality: phrases are 1-4 ids, and
                // a memcmp call per window costs more than the comparison.
                self.ids.iter().enumerate().any(|(i, id)| {
                    id == first
                        && self.ids.len() > i + rest.len()
                        && rest.iter().zip(&self.ids[i + 1..]).all(|(a, b)| a == b)
                })
            }
            TermKind::Prefix(p) => {
                self.may_start_with(p)
                    && self
                        .spans
                        .iter()
                        .any(|&(s, e)| self.folded[s as usize..e as usize].starts_with(p.as_str()))
            }
            TermKind::Substring(s) => self.has_cjk && self.folded.contains(s.as_str()),
            TermKind::PrefixPhrase(words) => {
                let tok = |i: usize| {
                    self.spans
                        .get(i)
                        .map_or("", |&(s, e)| &self.folded[s as usize..e as usize])
                };
                words.first().is_some_and(|w| self.may_start_with(w))
                    && (0..self.spans.len()).any(|i| {
                        words
                            .iter()
                            .enumerate()
                            .all(|(j, w)| tok(i + j).starts_with(w.as_str()))
                    })
            }
            TermKind::Regex(re) => re.is_match(&self.folded),
        }
    }
}

/// One term that matched, in one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hit {
    pub term: u32,
    pub field: u8,
}

/// Evaluates rule trees against one candidate's fields, caching each term's
/// result per field (groups make the same term appear in many rules).
pub(crate) struct Matcher<'a> {
    table: &'a TermTable,
    fields: [&'a FieldDoc; 7],
    known: Vec<u8>,
    hit: Vec<u8>,
}

impl<'a> Matcher<'a> {
    pub fn new(table: &'a TermTable, fields: [&'a FieldDoc; 7]) -> Self {
        let n = table.terms.len();
        Matcher {
            table,
            fields,
            known: vec![0; n],
            hit: vec![0; n],
        }
    }

    fn term_fields(&mut self, term: u32, mask: u8) -> u8 {
        let t = term as usize;
        let todo = mask & !self.known[t];
        if todo != 0 {
            let kind = &self.table.terms[t].kind;
            for (i, doc) in self.fields.iter().enumerate() {
                let bit = 1u8 << i;
                if todo & bit != 0 && doc.matches(kind) {
                    self.hit[t] |= bit;
                }
            }
            self.known[t] |= todo;
        }
        self.hit[t] & mask
    }

    /// Evaluates `node`; the terms that made it true are appended to `hits`
    /// (all of them for OR, so the explanation is complete; none from inside
    /// a NOT or from a failed AND).
    pub fn eval(&mut self, node: &Node, hits: &mut Vec<Hit>) -> bool {
        match node {
            Node::Leaf { term, fields } => {
                let m = self.term_fields(*term, *fields);
                for i in 0..FIELD_NAMES.len() {
                    let bit = 1u8 << i;
                    if m & bit != 0 {
                        hits.push(Hit {
                            term: *term,
                            field: bit,
                        });
                    }
                }
                m != 0
            }
            Node::Not(n) => {
                let mark = hits.len();
                let r = self.eval(n, hits);
                hits.truncate(mark);
                !r
            }
            Node::And(v) => {
                let mark = hits.len();
                for n in v {
                    if !self.eval(n, hits) {
                        hits.truncate(mark);
                        return false;
                    }
                }
                true
            }
            Node::Or(v) => {
                let mut any = false;
                for n in v {
                    any |= self.eval(n, hits);
                }
                any
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(q: &str) -> Expr {
        match parse(q) {
            Ok(e) => e,
            Err(e) => panic!("{q}: {e}"),
        }
    }

    /// The expression with columns zeroed, to compare shapes.
    fn shape(q: &str) -> Expr {
        fn z(e: Expr) -> Expr {
            match e {
                Expr::Term { spec, fields, .. } => Expr::Term {
                    spec,
                    fields,
                    column: 0,
                },
                Expr::Group { name, fields, .. } => Expr::Group {
                    name,
                    fields,
                    column: 0,
                },
                Expr::Not(b) => Expr::Not(Box::new(z(*b))),
                Expr::And(v) => Expr::And(v.into_iter().map(z).collect()),
                Expr::Or(v) => Expr::Or(v.into_iter().map(z).collect()),
            }
        }
        z(ok(q))
    }

    fn word(w: &str, fields: u8, column: usize) -> Expr {
        Expr::Term {
            spec: TermSpec::Text {
                text: w.into(),
                quoted: false,
            },
            fields,
            column,
        }
    }

    #[test]
    fn lowercase_operators_are_warned_about() {
        let w = lowercase_operator_warnings("title:DEA or title:FBI");
        assert_eq!(
            w,
            vec!["column 11: `or` is matched as a word here; write OR".to_string()]
        );
        let w = lowercase_operator_warnings("@taiwan and (@interpol | not x)");
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("`and`") && w[0].ends_with("write AND"));
        assert!(w[1].contains("`not`") && w[1].ends_with("write NOT"));
        // Inside a phrase, at the edges, and in upper case: no warning.
        assert!(lowercase_operator_warnings("\"law and order\" | OR x").is_empty());
        assert!(lowercase_operator_warnings("or taiwan").is_empty());
        assert!(lowercase_operator_warnings("taiwan OR interpol AND NOT x").is_empty());
    }

    #[test]
    fn precedence_not_and_or() {
        // a b | NOT c  ==  (a AND b) OR (NOT c)
        assert_eq!(
            ok("a b | NOT c"),
            Expr::Or(vec![
                Expr::And(vec![word("a", 0, 1), word("b", 0, 3)]),
                Expr::Not(Box::new(word("c", 0, 11))),
            ])
        );
        assert_eq!(shape("a AND b OR c"), shape("a b | c"));
        assert_eq!(shape("a -b"), shape("a AND NOT b"));
        assert_eq!(shape("(a OR b) c"), shape("(a | b) AND c"));
        assert_ne!(shape("a (b | c)"), shape("a b | c"));
    }

    #[test]
    fn scopes_phrases_regex_groups_prefix() {
        assert_eq!(ok("title:taiwan"), word("taiwan", TITLE, 7));
        match ok("summary:(a | \"b c\")") {
            Expr::Or(v) => {
                assert!(
                    v.iter()
                        .all(|e| matches!(e, Expr::Term { fields, .. } if *fields == SUMMARY))
                )
            }
            e => panic!("{e:?}"),
        }
        assert!(
            matches!(ok("/inter.?pol/"), Expr::Term { spec: TermSpec::Regex(r), .. } if r == "inter.?pol")
        );
        assert!(
            matches!(ok("lang:@zh"), Expr::Group { name, fields, .. } if name == "zh" && fields == LANG)
        );
        assert!(matches!(ok("scam*"), Expr::Term { spec: TermSpec::Prefix(p), .. } if p == "scam"));
        assert!(matches!(ok("-\"red notice\""), Expr::Not(_)));
        // lower-case keywords are words
        assert!(matches!(ok("law and order"), Expr::And(v) if v.len() == 3));
    }

    #[test]
    fn errors_name_column_and_expectation() {
        let e = parse("(taiwan | taipei").unwrap_err();
        assert_eq!(e.column, 17);
        assert_eq!(e.expected, "')'");
        assert_eq!(e.found, "end of input");
        assert_eq!(
            e.to_string(),
            "column 17: expected ')' but found end of input"
        );

        let e = parse("taiwan OR").unwrap_err();
        assert_eq!((e.column, e.expected.as_str()), (10, "a term"));

        let e = parse("taiwan ) interpol").unwrap_err();
        assert_eq!(e.column, 8);
        assert!(e.expected.starts_with("end of query"));

        let e = parse("interpol \"scam centre").unwrap_err();
        assert_eq!((e.column, e.found.as_str()), (22, "end of input"));

        let e = parse("tittle:taiwan").unwrap_err();
        assert_eq!(e.column, 1);
        assert!(e.expected.contains("field name"));

        let e = parse("a NOT").unwrap_err();
        assert_eq!((e.column, e.expected.as_str()), (6, "a term after 'NOT'"));

        let e = parse("a | | b").unwrap_err();
        assert_eq!((e.column, e.found.as_str()), (5, "'|'"));

        let e = parse("").unwrap_err();
        assert_eq!((e.column, e.expected.as_str()), (1, "a term"));

        let deep = format!("{}a{}", "(".repeat(40), ")".repeat(40));
        assert!(parse(&deep).unwrap_err().expected.contains("nested"));
        // columns count characters, not bytes
        let e = parse("台灣 (詐騙").unwrap_err();
        assert_eq!(e.column, 7);
    }

    fn compile(groups: &[(&str, &str)], q: &str) -> Result<(Node, TermTable, Vocab), String> {
        let st = WordStemmer::default();
        let mut vocab = Vocab::default();
        let mut table = TermTable::default();
        let g: BTreeMap<String, String> = groups
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut c = Compiler::new(&st, &mut vocab, &mut table, &g)
            .map_err(|(g, e)| format!("@{g}: {e}"))?;
        let node = c.compile(q).map_err(|e| e.to_string())?;
        Ok((node, table, vocab))
    }

    fn run(groups: &[(&str, &str)], q: &str, title: &str, summary: &str, lang: &str) -> bool {
        let (node, table, vocab) = compile(groups, q).unwrap_or_else(|e| panic!("{e}"));
        let st = WordStemmer::default();
        let t = FieldDoc::analyse(title, &st, &vocab);
        let s = FieldDoc::analyse(summary, &st, &vocab);
        let l = FieldDoc::analyse("", &st, &vocab);
        let so = FieldDoc::analyse("example.com", &st, &vocab);
        let la = FieldDoc::analyse(lang, &st, &vocab);
        let e = FieldDoc::analyse("", &st, &vocab);
        let mut m = Matcher::new(&table, [&t, &s, &l, &so, &la, &e, &e]);
        m.eval(&node, &mut Vec::new())
    }

    #[test]
    fn prefix_terms_match_any_token_and_nothing_else() {
        // Every token of the text is a candidate, first, middle or last.
        for text in [
            "Cybercriminals arrested",
            "police arrest cybercriminals",
            "x cyberfraud y",
        ] {
            assert!(run(&[], "cyber*", text, "", "en"), "{text}");
        }
        // Same first two bytes, different prefix; no token; a 1-byte token.
        for text in ["a cyborg", "", "c y b e r", "cy ber"] {
            assert!(!run(&[], "cyber*", text, "", "en"), "{text}");
        }
        // The summary's tokens count for the summary, not the title's.
        assert!(run(&[], "summary:cyber*", "weather", "cybercrime", "en"));
        assert!(!run(&[], "summary:cyber*", "cybercrime", "weather", "en"));
    }

    /// Like [`run`], with the item's tags (one per line) and author.
    fn run_meta(q: &str, title: &str, tags: &str, author: &str) -> bool {
        let (node, table, vocab) = compile(&[], q).unwrap_or_else(|e| panic!("{e}"));
        let st = WordStemmer::default();
        let t = FieldDoc::analyse(title, &st, &vocab);
        let e = FieldDoc::analyse("", &st, &vocab);
        let tg = FieldDoc::analyse(tags, &st, &vocab);
        let au = FieldDoc::analyse(author, &st, &vocab);
        let mut m = Matcher::new(&table, [&t, &e, &e, &e, &e, &tg, &au]);
        m.eval(&node, &mut Vec::new())
    }

    #[test]
    fn tags_and_author_fields() {
        // Scoped terms look only at their field …
        assert!(run_meta(
            "tags:interpol",
            "Police news",
            "Interpol\nAsia",
            ""
        ));
        assert!(!run_meta("tags:interpol", "Interpol news", "Asia", ""));
        assert!(run_meta("author:\"Jane Doe\"", "x", "", "Jane Doe"));
        assert!(!run_meta("author:\"Jane Doe\"", "Jane Doe", "", "John Roe"));
        // … are folded like the other fields (case, accents, Chinese script) …
        assert!(run_meta("tags:taiwan", "x", "TAIWÁN", ""));
        assert!(run_meta("tags:台灣", "x", "台湾", ""));
        // … and unscoped terms never look at them.
        assert!(!run_meta("interpol", "Police news", "Interpol", "Interpol"));
        assert!(run_meta(
            "title:police -author:/bot$/",
            "Police news",
            "",
            "Jane"
        ));
        assert!(!run_meta(
            "title:police -author:/bot$/",
            "Police news",
            "",
            "newsbot"
        ));
        // A field name that does not exist names the ones that do.
        let e = parse("tag:x").expect_err("unknown field");
        assert!(e.expected.contains("tags or author"), "{e}");
    }

    #[test]
    fn evaluation_semantics() {
        let g = [
            ("taiwan", "taiwan | taiwanese | taipei | 台灣 | 臺灣"),
            ("crime", "scam | fraud | \"human trafficking\""),
        ];
        assert!(run(
            &g,
            "@taiwan @crime",
            "Taiwanese deported over scams",
            "",
            "en"
        ));
        assert!(run(
            &g,
            "@taiwan @crime",
            "",
            "台湾警方破获诈骗集团 scam",
            "zh"
        ));
        assert!(
            run(&g, "@taiwan", "臺灣", "", "zh"),
            "traditional/simplified fold"
        );
        assert!(!run(
            &g,
            "@taiwan @crime",
            "Taiwan typhoon",
            "heavy rain",
            "en"
        ));
        assert!(!run(&g, "title:@taiwan @crime", "scam", "Taiwan", "en"));
        assert!(run(
            &g,
            "summary:@taiwan title:@crime",
            "scam",
            "Taiwan",
            "en"
        ));
        // phrases need consecutive tokens
        assert!(run(&g, "@crime", "Human-trafficking rings", "", "en"));
        assert!(!run(&g, "@crime", "human rights and trafficking", "", "en"));
        // NOT and -
        assert!(!run(
            &g,
            "interpol -band",
            "Interpol the band tours",
            "",
            "en"
        ));
        assert!(run(
            &g,
            "interpol -band",
            "Interpol general assembly",
            "",
            "en"
        ));
        // case, width and accents
        assert!(run(&g, "interpol", "ＩＮＴＥＲＰＯＬ", "", "en"));
        assert!(run(&g, "cafe", "Café", "", "en"));
        // prefix, regex, lang and source scopes
        assert!(run(&g, "cyber*", "Cybercriminals", "", "en"));
        assert!(run(&g, "/i-?24\\/7/", "access to I-24/7", "", "en"));
        assert!(run(&g, "lang:zh 詐騙", "", "诈骗", "zh-TW"));
        assert!(!run(&g, "lang:zh 詐騙", "", "诈骗", "en"));
        assert!(run(&g, "source:example.com", "", "", "en"));
        assert!(!run(&g, "source:example.org", "", "", "en"));
    }

    #[test]
    fn group_errors() {
        let e = compile(&[("a", "x | @b"), ("b", "y @a")], "@a").unwrap_err();
        assert!(e.contains("refer back"), "{e}");
        let e = compile(&[("a", "x")], "taiwan @nope").unwrap_err();
        assert!(
            e.starts_with("column 8: expected a defined group (@a)"),
            "{e}"
        );
        let e = compile(&[], "/(unclosed/").unwrap_err();
        assert!(e.contains("valid regex"), "{e}");
        let e = compile(&[], "/a{1000}{1000}/").unwrap_err();
        assert!(e.contains("column 1"), "{e}");
        let long = format!("/{}/", "a".repeat(MAX_REGEX_CHARS + 1));
        assert!(compile(&[], &long).unwrap_err().contains("at most"));
    }

    #[test]
    fn or_collects_all_hits_and_not_drops_them() {
        let (node, table, vocab) =
            compile(&[], "(taiwan | interpol) -band").unwrap_or_else(|e| panic!("{e}"));
        let st = WordStemmer::default();
        let t = FieldDoc::analyse("Taiwan and Interpol", &st, &vocab);
        let s = FieldDoc::analyse("interpol", &st, &vocab);
        let e = FieldDoc::default();
        let mut m = Matcher::new(&table, [&t, &s, &e, &e, &e, &e, &e]);
        let mut hits = Vec::new();
        assert!(m.eval(&node, &mut hits));
        assert_eq!(hits.len(), 3);
    }
}
