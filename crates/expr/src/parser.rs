//! Parser and resolver: text plus ExpressionAttributeNames/Values in, resolved tree out.
//!
//! Errors come in DynamoDB's order (verified case by case against DynamoDB Local, which
//! runs DynamoDB's own expression front end, and the conformance suite):
//!
//! 1. the expression must be non-empty and at most 4096 characters;
//! 2. it must parse: the first syntax error in reading order, or redundant parentheses,
//!    whichever the parser meets first;
//! 3. walk 1, in reading order: invalid function names, functions used where they are not
//!    allowed, reserved words, list indexes out of range;
//! 4. UpdateExpression: a section (SET, REMOVE, ...) given twice;
//! 5. walk 2: undefined placeholders, nesting depth, operator and IN limits, arity,
//!    operand types, distinct operands, BETWEEN bounds. Conditions report the first such
//!    error in reading order. Update and projection expressions check their target paths
//!    last to first (undefined names, depth, overlapping and conflicting paths), then their
//!    values last to first.
//!
//! Unused placeholders are checked once every expression of the request has parsed
//! ([`Resolver::finish`]).

use std::collections::{BTreeSet, HashMap};

use ferrodyn_types::{AttributeValue, Item, Number};

use crate::ast::*;
use crate::cache::{self, ExprCache, Parsed};
use crate::lexer::{tokenize, Kind, Token};
use crate::reserved::is_reserved;
use crate::ExprError;

/// Maximum length of one expression, in characters (UTF-16 code units, as Java counts).
pub const MAX_EXPRESSION_CHARS: usize = 4096;
/// Maximum number of steps in a document path.
pub const MAX_PATH_DEPTH: usize = 32;
/// Maximum number of operands of `IN`.
pub const MAX_IN_OPERANDS: usize = 100;
/// Most operators (comparisons, logical operators, functions) one condition may hold.
pub const MAX_OPERATORS: usize = 300;
/// Deepest nesting the parser follows. Every nesting level that DynamoDB accepts holds an
/// operator of its own (a group holding only a group is "redundant"), so 300 levels are
/// past its 300-operator limit; deeper input is refused with that message.
pub const MAX_NESTING: usize = MAX_OPERATORS;

/// Largest list index DynamoDB accepts.
pub const MAX_LIST_INDEX: u64 = i32::MAX as u64;

/// Which request parameter an expression came from (it prefixes every message).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExprKind {
    Condition,
    Filter,
    KeyCondition,
    Update,
    Projection,
}

impl ExprKind {
    pub fn param(self) -> &'static str {
        match self {
            ExprKind::Condition => "ConditionExpression",
            ExprKind::Filter => "FilterExpression",
            ExprKind::KeyCondition => "KeyConditionExpression",
            ExprKind::Update => "UpdateExpression",
            ExprKind::Projection => "ProjectionExpression",
        }
    }

    fn is_condition(self) -> bool {
        matches!(
            self,
            ExprKind::Condition | ExprKind::Filter | ExprKind::KeyCondition
        )
    }
}

/// Java's `String.hashCode`, over UTF-16 code units.
fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// `keys` in the iteration order of a Java `HashSet` holding them (DynamoDB builds its
/// "unused" messages from one): by hash bucket, then insertion order.
pub fn java_hash_set_order(keys: &[String]) -> Vec<String> {
    let mut cap = 16usize;
    while keys.len() * 4 > cap * 3 {
        cap *= 2;
    }
    let bucket = |k: &String| {
        let h = java_hash(k) as u32;
        ((h ^ (h >> 16)) as usize) & (cap - 1)
    };
    let mut v: Vec<(usize, usize, &String)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (bucket(k), i, k))
        .collect();
    v.sort();
    v.into_iter().map(|(_, _, k)| k.clone()).collect()
}

/// Resolves the placeholders of every expression of one request and remembers which were
/// used, so that unused ones can be refused once all expressions are parsed.
pub struct Resolver<'a> {
    names: Option<&'a HashMap<String, String>>,
    values: Option<&'a Item>,
    used_names: BTreeSet<String>,
    used_values: BTreeSet<String>,
    /// Placeholder keys in request order, when the caller knows it (for message order).
    order: Option<(Vec<String>, Vec<String>)>,
    /// The cache of parsed expressions, when the caller gave one.
    cache: Option<&'a ExprCache>,
    /// While parsing with a cache: the placeholders this expression reads, and whether
    /// the result depends on a value's content (then it is not cached).
    seen_names: Vec<String>,
    seen_values: Vec<String>,
    uncacheable: bool,
}

impl<'a> Resolver<'a> {
    pub fn new(names: Option<&'a HashMap<String, String>>, values: Option<&'a Item>) -> Self {
        Resolver {
            names,
            values,
            used_names: BTreeSet::new(),
            used_values: BTreeSet::new(),
            order: None,
            cache: None,
            seen_names: Vec::new(),
            seen_values: Vec::new(),
            uncacheable: false,
        }
    }

    /// Look expressions up in `cache` before parsing them, and remember new ones there.
    pub fn with_cache(mut self, cache: &'a ExprCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Parse through the cache when there is one.
    fn cached<T>(
        &mut self,
        src: &str,
        kind: ExprKind,
        parse: impl FnOnce(&mut Self) -> Result<T, ExprError>,
        wrap: impl FnOnce(&T) -> Parsed,
        unwrap: impl FnOnce(Parsed) -> Option<T>,
    ) -> Result<T, ExprError> {
        let Some(cache) = self.cache else {
            return parse(self);
        };
        let hash = cache::key_hash(kind, src, self.names, self.values);
        if let Some(entry) = cache.lookup(hash, kind, src, self.names, self.values) {
            if let Some(v) = entry.instantiate(self.values).and_then(unwrap) {
                self.used_names.extend(entry.used_names.iter().cloned());
                self.used_values.extend(entry.used_values.iter().cloned());
                return Ok(v);
            }
        }
        self.seen_names.clear();
        self.seen_values.clear();
        self.uncacheable = false;
        let v = parse(self)?;
        if !self.uncacheable {
            let names = std::mem::take(&mut self.seen_names);
            let values = std::mem::take(&mut self.seen_values);
            cache.store(
                hash,
                kind,
                src,
                self.names,
                self.values,
                &wrap(&v),
                names,
                values,
            );
        }
        Ok(v)
    }

    /// Tell the resolver the order the request listed its placeholders in.
    pub fn with_order(mut self, names: Vec<String>, values: Vec<String>) -> Self {
        self.order = Some((names, values));
        self
    }

    /// Parse a condition (ConditionExpression, FilterExpression, KeyConditionExpression).
    pub fn condition(&mut self, src: &str, kind: ExprKind) -> Result<Cond, ExprError> {
        self.cached(
            src,
            kind,
            |r| r.parse_condition(src, kind),
            |c| Parsed::Cond(c.clone()),
            |p| match p {
                Parsed::Cond(c) => Some(c),
                _ => None,
            },
        )
    }

    fn parse_condition(&mut self, src: &str, kind: ExprKind) -> Result<Cond, ExprError> {
        let mut p = Parser::new(src, kind, self)?;
        let c = p.condition_top();
        let c = p.finish(c)?;
        p.into_result(c, &[])
    }

    /// Parse an UpdateExpression.
    pub fn update(&mut self, src: &str) -> Result<Update, ExprError> {
        self.cached(
            src,
            ExprKind::Update,
            |r| r.parse_update(src),
            |u| Parsed::Update(u.clone()),
            |p| match p {
                Parsed::Update(u) => Some(u),
                _ => None,
            },
        )
    }

    fn parse_update(&mut self, src: &str) -> Result<Update, ExprError> {
        let mut p = Parser::new(src, ExprKind::Update, self)?;
        let u = p.update();
        let u = p.finish(u)?;
        let paths = u.paths();
        p.into_result(u, &paths)
    }

    /// Parse a ProjectionExpression.
    pub fn projection(&mut self, src: &str) -> Result<Vec<Path>, ExprError> {
        self.cached(
            src,
            ExprKind::Projection,
            |r| r.parse_projection(src),
            |v| Parsed::Projection(v.clone()),
            |p| match p {
                Parsed::Projection(v) => Some(v),
                _ => None,
            },
        )
    }

    fn parse_projection(&mut self, src: &str) -> Result<Vec<Path>, ExprError> {
        let mut p = Parser::new(src, ExprKind::Projection, self)?;
        let paths = p.projection();
        let paths = p.finish(paths)?;
        let check = paths.clone();
        p.into_result(paths, &check)
    }

    /// After every expression of the request is parsed: refuse unused placeholders, names
    /// first.
    pub fn finish(self) -> Result<(), ExprError> {
        let (name_order, value_order) = self.order.unwrap_or_else(|| {
            let mut n: Vec<String> = self
                .names
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            n.sort();
            let v: Vec<String> = self
                .values
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            (n, v)
        });
        let unused = |all: Vec<String>, used: &BTreeSet<String>| -> Vec<String> {
            let left: Vec<String> = all.into_iter().filter(|k| !used.contains(k)).collect();
            java_hash_set_order(&left)
        };
        let names = unused(name_order, &self.used_names);
        if !names.is_empty() {
            return Err(ExprError(format!(
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {{{}}}",
                names.join(", ")
            )));
        }
        let values = unused(value_order, &self.used_values);
        if !values.is_empty() {
            return Err(ExprError(format!(
                "Value provided in ExpressionAttributeValues unused in expressions: keys: {{{}}}",
                values.join(", ")
            )));
        }
        Ok(())
    }
}

/// A parsed operand before it is given its role.
#[derive(Clone, Debug)]
enum Term {
    Path(Path),
    Value(AttributeValue),
    Call {
        name: String,
        args: Vec<Term>,
        /// Token index of the function name.
        at: usize,
    },
}

/// What a condition-level parse produced: a condition, or an operand that only a
/// comparison around it can give a meaning (`(a) = :v`).
enum Piece {
    Cond(Cond),
    Term(Term),
}

/// Internal failure: a syntax error at a token (or a fatal parse-time message).
struct Syntax(usize);

type PResult<T> = Result<T, Syntax>;

/// Where semantic errors found now belong.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Condition,
    Target(usize),
    Value(usize),
}

#[derive(Default)]
struct Errors {
    fatal: Option<String>,
    /// Walk-1 errors with the token where their node starts (reported in pre-order).
    walk1: Vec<(usize, String)>,
    section: Option<String>,
    walk2: Option<String>,
    targets: Vec<Option<String>>,
    values: Vec<Option<String>>,
}

fn first(slot: &mut Option<String>, msg: String) {
    if slot.is_none() {
        *slot = Some(msg);
    }
}

struct Parser<'s, 'r, 'a> {
    src: &'s str,
    toks: Vec<Token>,
    pos: usize,
    kind: ExprKind,
    r: &'r mut Resolver<'a>,
    errors: Errors,
    ctx: Ctx,
    /// Token spans `(open, close)` of every parenthesised group parsed so far.
    groups: Vec<(usize, usize)>,
    /// Operators and functions seen.
    operators: usize,
    /// Current nesting (parentheses, NOT, function arguments), bounded so that hostile
    /// input cannot exhaust the stack.
    depth: usize,
}

fn keyword(s: &str) -> Option<&'static str> {
    [
        "AND", "OR", "NOT", "BETWEEN", "IN", "SET", "REMOVE", "ADD", "DELETE",
    ]
    .into_iter()
    .find(|k| s.eq_ignore_ascii_case(k))
}

fn type_of(v: &AttributeValue) -> &'static str {
    v.type_name()
}

/// The functions of conditions and of updates.
fn is_function(name: &str) -> bool {
    matches!(
        name,
        "attribute_exists"
            | "attribute_not_exists"
            | "attribute_type"
            | "begins_with"
            | "contains"
            | "size"
            | "if_not_exists"
            | "list_append"
    )
}

fn is_update_function(name: &str) -> bool {
    matches!(name, "if_not_exists" | "list_append")
}

/// The type names `attribute_type` accepts.
pub(crate) const TYPE_NAMES: &[&str] = &["S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M"];

/// The long type names DynamoDB uses in ADD/DELETE operand errors.
fn long_type(v: &AttributeValue) -> &'static str {
    match v {
        AttributeValue::S(_) => "STRING",
        AttributeValue::N(_) => "NUMBER",
        AttributeValue::B(_) => "BINARY",
        AttributeValue::Ss(_) => "STRING SET",
        AttributeValue::Ns(_) => "NUMBER SET",
        AttributeValue::Bs(_) => "BINARY SET",
        AttributeValue::M(_) => "MAP",
        AttributeValue::L(_) => "LIST",
        AttributeValue::Null => "NULL",
        AttributeValue::Bool(_) => "BOOLEAN",
    }
}

impl<'s, 'r, 'a> Parser<'s, 'r, 'a> {
    fn new(src: &'s str, kind: ExprKind, r: &'r mut Resolver<'a>) -> Result<Self, ExprError> {
        let prefix = format!("Invalid {}: ", kind.param());
        if src.is_empty() {
            return Err(ExprError(format!(
                "{prefix}The expression can not be empty;"
            )));
        }
        let chars = src.encode_utf16().count();
        if chars > MAX_EXPRESSION_CHARS {
            return Err(ExprError(if kind.is_condition() {
                format!(
                    "{prefix}Expression size has exceeded the maximum allowed size; expression size: {chars}"
                )
            } else {
                format!("{prefix}Expression size has exceeded the maximum allowed size;")
            }));
        }
        Ok(Parser {
            src,
            toks: tokenize(src),
            pos: 0,
            kind,
            r,
            errors: Errors::default(),
            ctx: Ctx::Condition,
            groups: Vec::new(),
            operators: 0,
            depth: 0,
        })
    }

    fn prefix(&self) -> String {
        format!("Invalid {}: ", self.kind.param())
    }

    /// Turn the parse outcome into the user-facing error, syntax first.
    fn finish<T>(&mut self, r: PResult<T>) -> Result<T, ExprError> {
        let r = r.and_then(|v| {
            if self.peek() == Kind::Eof {
                Ok(v)
            } else {
                Err(Syntax(self.pos))
            }
        });
        match r {
            Ok(v) => Ok(v),
            Err(Syntax(at)) => {
                if let Some(m) = self.errors.fatal.take() {
                    return Err(ExprError(format!("{}{m}", self.prefix())));
                }
                Err(ExprError(format!(
                    "{}Syntax error; token: \"{}\", near: \"{}\"",
                    self.prefix(),
                    self.token_text(at),
                    self.near(at)
                )))
            }
        }
    }

    /// The first semantic error in DynamoDB's order, if any. `paths` are the target paths
    /// of an update or projection, checked last to first for overlaps.
    fn into_result<T>(self, v: T, paths: &[Path]) -> Result<T, ExprError> {
        let prefix = self.prefix();
        let e = self.errors;
        let fail = |m: String| Err(ExprError(format!("{prefix}{m}")));
        if let Some((_, m)) = e.walk1.into_iter().min_by_key(|(at, _)| *at) {
            return fail(m);
        }
        if let Some(m) = e.section {
            return fail(m);
        }
        if let Some(m) = e.walk2 {
            return fail(m);
        }
        for i in (0..paths.len()).rev() {
            if let Some(Some(m)) = e.targets.get(i) {
                return fail(m.clone());
            }
            if let Some(a) = paths.get(i) {
                for b in paths.iter().skip(i + 1).rev() {
                    if let Some(m) = clash(a, b) {
                        return fail(m);
                    }
                }
            }
        }
        if let Some(m) = e.values.into_iter().rev().flatten().next() {
            return fail(m);
        }
        Ok(v)
    }

    fn token_text(&self, at: usize) -> &str {
        match self.toks.get(at) {
            Some(t) if t.kind != Kind::Eof => self.src.get(t.start..t.end).unwrap_or(""),
            _ => "<EOF>",
        }
    }

    /// DynamoDB's "near" text: from the token before the offending one to the token after
    /// it, as written (whitespace included).
    fn near(&self, at: usize) -> &str {
        let Some(tok) = self.toks.get(at) else {
            return "";
        };
        if at == 0 && tok.kind == Kind::Eof {
            return self.src;
        }
        let start = at
            .checked_sub(1)
            .and_then(|i| self.toks.get(i))
            .map_or(tok.start, |p| p.start);
        let end = self
            .toks
            .get(at + 1)
            .filter(|n| n.kind != Kind::Eof)
            .map_or(tok.end, |n| n.end);
        self.src.get(start..end).unwrap_or("")
    }

    /// A walk-1 error: function names and placement, reserved words, index range.
    fn walk1(&mut self, msg: String) {
        let at = self.pos;
        self.walk1_at(at, msg);
    }

    /// A walk-1 error at the node starting at token `at`; the earliest node wins, as in
    /// DynamoDB's pre-order walk.
    fn walk1_at(&mut self, at: usize, msg: String) {
        self.errors.walk1.push((at, msg));
    }

    /// A walk-2 error, filed under the current condition, target path or value.
    fn semantic(&mut self, msg: String) {
        let e = &mut self.errors;
        match self.ctx {
            Ctx::Condition => first(&mut e.walk2, msg),
            Ctx::Target(i) => {
                if e.targets.len() <= i {
                    e.targets.resize(i + 1, None);
                }
                if let Some(slot) = e.targets.get_mut(i) {
                    first(slot, msg);
                }
            }
            Ctx::Value(i) => {
                if e.values.len() <= i {
                    e.values.resize(i + 1, None);
                }
                if let Some(slot) = e.values.get_mut(i) {
                    first(slot, msg);
                }
            }
        }
    }

    /// Count one operator or function; conditions allow at most 300.
    fn operator(&mut self) {
        self.operators += 1;
        if self.kind.is_condition() && self.operators == MAX_OPERATORS + 1 {
            self.semantic(format!(
                "The expression contains too many operators; operator count: {}",
                MAX_OPERATORS + 1
            ));
        }
    }

    fn peek(&self) -> Kind {
        self.toks.get(self.pos).map_or(Kind::Eof, |t| t.kind)
    }

    fn peek_at(&self, n: usize) -> Kind {
        self.toks.get(self.pos + n).map_or(Kind::Eof, |t| t.kind)
    }

    fn text(&self) -> &'s str {
        self.toks
            .get(self.pos)
            .and_then(|t| self.src.get(t.start..t.end))
            .unwrap_or("")
    }

    fn is_keyword(&self, kw: &str) -> bool {
        self.peek() == Kind::Ident && self.text().eq_ignore_ascii_case(kw)
    }

    fn expect(&mut self, k: Kind) -> PResult<()> {
        if self.peek() == k {
            self.pos += 1;
            Ok(())
        } else {
            Err(Syntax(self.pos))
        }
    }

    fn expect_keyword(&mut self, kw: &str) -> PResult<()> {
        if self.is_keyword(kw) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Syntax(self.pos))
        }
    }

    /// Record a parenthesised group that opened at token `open` and just closed; a group
    /// whose whole content is another group is redundant, which DynamoDB refuses while
    /// parsing.
    fn close_group(&mut self, open: usize) -> PResult<()> {
        let close = self.pos.saturating_sub(1);
        if self.groups.contains(&(open + 1, close.saturating_sub(1))) {
            first(
                &mut self.errors.fatal,
                "The expression has redundant parentheses;".into(),
            );
            return Err(Syntax(close));
        }
        self.groups.push((open, close));
        Ok(())
    }

    // ------------------------------------------------------------------ names and values

    fn name(&mut self) -> PResult<String> {
        let text = self.text();
        match self.peek() {
            Kind::Ident if keyword(text).is_none() => {
                self.pos += 1;
                if is_reserved(text) && !text.eq_ignore_ascii_case("size") {
                    let at = self.pos - 1;
                    self.walk1_at(
                        at,
                        format!("Attribute name is a reserved keyword; reserved keyword: {text}"),
                    );
                }
                Ok(text.to_owned())
            }
            Kind::Name => {
                self.pos += 1;
                match self.r.names.and_then(|m| m.get(text)) {
                    Some(n) => {
                        self.r.used_names.insert(text.to_owned());
                        if self.r.cache.is_some() {
                            self.r.seen_names.push(text.to_owned());
                        }
                        Ok(n.clone())
                    }
                    None => {
                        self.semantic(format!(
                            "An expression attribute name used in the document path is not defined; attribute name: {text}"
                        ));
                        Ok(text.to_owned())
                    }
                }
            }
            _ => Err(Syntax(self.pos)),
        }
    }

    fn value(&mut self) -> PResult<AttributeValue> {
        let text = self.text();
        self.expect(Kind::Value)?;
        match self.r.values.and_then(|m| m.get(text)) {
            Some(v) => {
                self.r.used_values.insert(text.to_owned());
                if self.r.cache.is_some() {
                    self.r.seen_values.push(text.to_owned());
                }
                Ok(v.clone())
            }
            None => {
                self.semantic(format!(
                    "An expression attribute value used in expression is not defined; attribute value: {text}"
                ));
                Ok(AttributeValue::Null)
            }
        }
    }

    fn path(&mut self) -> PResult<Path> {
        let mut steps = vec![Step::Attr(self.name()?)];
        loop {
            match self.peek() {
                Kind::Dot => {
                    self.pos += 1;
                    steps.push(Step::Attr(self.name()?));
                }
                Kind::LBracket => {
                    self.pos += 1;
                    let digits = self.text();
                    self.expect(Kind::Int)?;
                    self.expect(Kind::RBracket)?;
                    let n = match digits.parse::<u64>() {
                        Ok(n) if n <= MAX_LIST_INDEX => usize::try_from(n).unwrap_or(0),
                        _ => {
                            self.walk1(format!(
                                "List index is not within the allowable range; index: [{digits}]"
                            ));
                            0
                        }
                    };
                    steps.push(Step::Index(n));
                }
                _ => break,
            }
        }
        if steps.len() > MAX_PATH_DEPTH {
            self.semantic(format!(
                "The document path has too many nesting levels; nesting levels: {}",
                steps.len()
            ));
        }
        Ok(Path(steps))
    }

    /// A path, a value, or a function call.
    fn term(&mut self) -> PResult<Term> {
        match self.peek() {
            Kind::LParen => self.paren_term(),
            Kind::Value => Ok(Term::Value(self.value()?)),
            Kind::Ident if self.peek_at(1) == Kind::LParen && keyword(self.text()).is_none() => {
                self.call()
            }
            _ => Ok(Term::Path(self.path()?)),
        }
    }

    /// `( operand )`.
    #[inline(never)]
    fn paren_term(&mut self) -> PResult<Term> {
        let open = self.pos;
        self.pos += 1;
        self.enter()?;
        let t = self.term();
        self.depth -= 1;
        let t = t?;
        self.expect(Kind::RParen)?;
        self.close_group(open)?;
        Ok(t)
    }

    /// `name(args)`.
    #[inline(never)]
    fn call(&mut self) -> PResult<Term> {
        {
            {
                let name = self.text().to_owned();
                let at = self.pos;
                self.pos += 2;
                self.operator();
                if !is_function(&name) {
                    self.walk1_at(at, format!("Invalid function name; function: {name}"));
                }
                self.enter()?;
                let args = self.call_args();
                self.depth -= 1;
                let args = args?;
                self.expect(Kind::RParen)?;
                Ok(Term::Call { name, args, at })
            }
        }
    }

    fn call_args(&mut self) -> PResult<Vec<Term>> {
        let mut args = vec![self.term()?];
        while self.peek() == Kind::Comma {
            self.pos += 1;
            args.push(self.term()?);
        }
        Ok(args)
    }

    /// One level deeper; refuse input nested past [`MAX_NESTING`].
    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            self.depth -= 1;
            first(
                &mut self.errors.fatal,
                format!(
                    "The expression contains too many operators; operator count: {}",
                    MAX_OPERATORS + 1
                ),
            );
            return Err(Syntax(self.pos));
        }
        Ok(())
    }

    // ------------------------------------------------------------------ conditions

    /// A whole condition: everything parsed, and what was parsed is a condition.
    fn condition_top(&mut self) -> PResult<Cond> {
        let piece = self.or_expr()?;
        if self.peek() != Kind::Eof {
            return Err(Syntax(self.pos));
        }
        self.cond_of(*piece)
    }

    /// [`Self::cond_of`], boxed, out of line (keeps recursive frames small).
    #[inline(never)]
    #[allow(clippy::boxed_local)] // pieces stay boxed so that recursive frames stay small
    fn boxed_cond(&mut self, piece: Box<Piece>) -> PResult<Box<Cond>> {
        self.cond_of(*piece).map(Box::new)
    }

    /// A piece that must be a condition here (an operand alone is not one).
    fn cond_of(&mut self, piece: Piece) -> PResult<Cond> {
        match piece {
            Piece::Cond(c) => Ok(c),
            Piece::Term(Term::Call { name, args, at }) if name != "size" => {
                Ok(self.function(&name, args, at))
            }
            Piece::Term(Term::Call { at, .. }) => {
                self.walk1_at(
                    at,
                    "The function is not allowed to be used this way in an expression; function: size"
                        .to_owned(),
                );
                Ok(Cond::Exists(Path::attr("")))
            }
            Piece::Term(_) => Err(Syntax(self.pos)),
        }
    }

    // The functions on the recursive path of nested groups (or_expr, and_expr, not_expr,
    // primary, group) keep their frames small: pieces travel boxed, and the work of each
    // level happens in separate functions that are not inlined.

    fn or_expr(&mut self) -> PResult<Box<Piece>> {
        let left = self.and_expr()?;
        if self.is_keyword("OR") {
            self.or_rest(left)
        } else {
            Ok(left)
        }
    }

    #[inline(never)]
    fn or_rest(&mut self, mut left: Box<Piece>) -> PResult<Box<Piece>> {
        while self.is_keyword("OR") {
            let l = self.boxed_cond(left)?;
            self.pos += 1;
            self.operator();
            let right = self.and_expr()?;
            let r = self.boxed_cond(right)?;
            left = Box::new(Piece::Cond(Cond::Or(l, r)));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> PResult<Box<Piece>> {
        let left = self.not_expr()?;
        if self.is_keyword("AND") {
            self.and_rest(left)
        } else {
            Ok(left)
        }
    }

    #[inline(never)]
    fn and_rest(&mut self, mut left: Box<Piece>) -> PResult<Box<Piece>> {
        while self.is_keyword("AND") {
            let l = self.boxed_cond(left)?;
            self.pos += 1;
            self.operator();
            let right = self.not_expr()?;
            let r = self.boxed_cond(right)?;
            left = Box::new(Piece::Cond(Cond::And(l, r)));
        }
        Ok(left)
    }

    fn not_expr(&mut self) -> PResult<Box<Piece>> {
        if self.is_keyword("NOT") {
            self.not_rest()
        } else {
            self.primary()
        }
    }

    #[inline(never)]
    fn not_rest(&mut self) -> PResult<Box<Piece>> {
        self.pos += 1;
        self.operator();
        self.enter()?;
        let c = self.not_expr();
        self.depth -= 1;
        let c = self.boxed_cond(c?)?;
        Ok(Box::new(Piece::Cond(Cond::Not(c))))
    }

    fn comparator(&self) -> Option<CmpOp> {
        match self.peek() {
            Kind::Eq => Some(CmpOp::Eq),
            Kind::Ne => Some(CmpOp::Ne),
            Kind::Lt => Some(CmpOp::Lt),
            Kind::Le => Some(CmpOp::Le),
            Kind::Gt => Some(CmpOp::Gt),
            Kind::Ge => Some(CmpOp::Ge),
            _ => None,
        }
    }

    fn primary(&mut self) -> PResult<Box<Piece>> {
        if self.peek() == Kind::LParen {
            let p = self.group()?;
            if matches!(*p, Piece::Term(_)) {
                self.after_group(*p)
            } else {
                Ok(p)
            }
        } else {
            self.simple()
        }
    }

    /// `( ... )` around a condition or an operand.
    fn group(&mut self) -> PResult<Box<Piece>> {
        let open = self.pos;
        self.pos += 1;
        self.enter()?;
        let c = self.or_expr();
        self.depth -= 1;
        let c = c?;
        self.expect(Kind::RParen)?;
        self.close_group(open)?;
        Ok(c)
    }

    /// A parenthesised operand, then what follows it.
    #[inline(never)]
    fn after_group(&mut self, p: Piece) -> PResult<Box<Piece>> {
        match p {
            Piece::Term(t) => self.after_first(t).map(Box::new),
            cond => Ok(Box::new(cond)),
        }
    }

    /// A comparison, BETWEEN, IN or function call.
    #[inline(never)]
    fn simple(&mut self) -> PResult<Box<Piece>> {
        let first = self.term()?;
        self.after_first(first).map(Box::new)
    }

    /// What follows a first operand: a comparison, BETWEEN or IN; else the operand (or
    /// function call) stands alone and the caller decides what it is.
    #[inline(never)]
    fn after_first(&mut self, first: Term) -> PResult<Piece> {
        let op = self.comparator();
        let compared = op.is_some() || self.is_keyword("BETWEEN") || self.is_keyword("IN");
        if !compared {
            return Ok(match first {
                Term::Call { name, args, at } if name != "size" => {
                    Piece::Cond(self.function(&name, args, at))
                }
                other => Piece::Term(other),
            });
        }
        if let Some(op) = op {
            self.pos += 1;
            self.operator();
            let second = self.term()?;
            let a = self.operand(first);
            let b = self.operand(second);
            if op != CmpOp::Eq && op != CmpOp::Ne {
                self.check_ordered(&a, op.as_str());
                self.check_ordered(&b, op.as_str());
            }
            self.check_distinct(&a, &[&b], op.as_str());
            return Ok(Piece::Cond(Cond::Cmp(op, a, b)));
        }
        if self.is_keyword("BETWEEN") {
            self.pos += 1;
            self.operator();
            let lo = self.term()?;
            self.expect_keyword("AND")?;
            let hi = self.term()?;
            let x = self.operand(first);
            let lo = self.operand(lo);
            let hi = self.operand(hi);
            for o in [&x, &lo, &hi] {
                self.check_ordered(o, "BETWEEN");
            }
            self.check_distinct(&x, &[&lo, &hi], "BETWEEN");
            if let (Operand::Value(l), Operand::Value(h)) = (&lo, &hi) {
                if l.type_name() != h.type_name() {
                    self.semantic(format!(
                        "The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {}, upper bound operand: AttributeValue: {}",
                        crate::eval::short_repr(l),
                        crate::eval::short_repr(h)
                    ));
                } else if crate::eval::compare(l, h) == Some(std::cmp::Ordering::Greater) {
                    self.semantic(format!(
                        "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {}, upper bound operand: AttributeValue: {}",
                        crate::eval::short_repr(l),
                        crate::eval::short_repr(h)
                    ));
                }
            }
            return Ok(Piece::Cond(Cond::Between(x, lo, hi)));
        }
        // IN
        self.pos += 1;
        self.operator();
        self.expect(Kind::LParen)?;
        let mut list = vec![self.term()?];
        while self.peek() == Kind::Comma {
            self.pos += 1;
            list.push(self.term()?);
        }
        self.expect(Kind::RParen)?;
        let x = self.operand(first);
        let list: Vec<Operand> = list.into_iter().map(|t| self.operand(t)).collect();
        if list.len() > MAX_IN_OPERANDS {
            self.semantic(format!(
                "The IN operator is provided with too many operands; number of operands: {}",
                list.len()
            ));
        }
        let rest: Vec<&Operand> = list.iter().collect();
        self.check_distinct(&x, &rest, "IN");
        Ok(Piece::Cond(Cond::In(x, list)))
    }

    /// DynamoDB refuses comparing a document path with itself.
    fn check_distinct(&mut self, first: &Operand, rest: &[&Operand], op: &str) {
        if let Operand::Path(p) = first {
            if rest.iter().any(|o| matches!(o, Operand::Path(q) if q == p)) {
                self.semantic(format!(
                    "The first operand must be distinct from the remaining operands for this operator or function; operator: {op}, first operand: {p}"
                ));
            }
        }
    }

    /// Comparisons other than `=`/`<>` need scalar literal operands.
    fn check_ordered(&mut self, o: &Operand, op: &str) {
        if let Operand::Value(v) = o {
            if v.scalar_type().is_none() {
                self.semantic(format!(
                    "Incorrect operand type for operator or function; operator or function: {op}, operand type: {}",
                    type_of(v)
                ));
            }
        }
    }

    fn misuse(&mut self, name: &str, at: usize) {
        if is_update_function(name) {
            self.walk1_at(
                at,
                format!("The function is not allowed in a condition expression; function: {name}"),
            );
        } else if is_function(name) {
            self.walk1_at(
                at,
                format!(
                "The function is not allowed to be used this way in an expression; function: {name}"
            ),
            );
        }
        // Unknown names were reported when they were read.
    }

    /// A term in operand position: a path, a value, or `size(...)`.
    fn operand(&mut self, t: Term) -> Operand {
        let none = Operand::Value(AttributeValue::Null);
        match t {
            Term::Path(p) => Operand::Path(p),
            Term::Value(v) => Operand::Value(v),
            Term::Call { name, args, .. } if name == "size" => {
                let n = args.len();
                let mut args = args.into_iter();
                let (Some(arg), None) = (args.next(), args.next()) else {
                    self.semantic(arity("size", n));
                    return none;
                };
                match arg {
                    Term::Path(p) => Operand::Size(p),
                    Term::Value(v) => {
                        // Folded from the value's content: a template cannot hold it.
                        self.r.uncacheable = true;
                        match crate::eval::size_of(&v) {
                            Some(n) => Operand::Value(AttributeValue::N(Number::from_i64(
                                i64::try_from(n).unwrap_or(i64::MAX),
                            ))),
                            None => {
                                self.semantic(operand_type("size", type_of(&v)));
                                none
                            }
                        }
                    }
                    call @ Term::Call { .. } => {
                        let is_size = matches!(&call, Term::Call { name, .. } if name == "size");
                        let _ = self.operand(call);
                        if is_size {
                            self.semantic(operand_type("size", "N"));
                        }
                        none
                    }
                }
            }
            Term::Call { name, args, at } => {
                self.misuse(&name, at);
                for a in args {
                    let _ = self.operand(a);
                }
                none
            }
        }
    }

    /// An operand of a function that needs a document path.
    fn path_arg(&mut self, name: &str, t: Term) -> Path {
        match t {
            Term::Path(p) => p,
            other => {
                let _ = self.operand(other);
                self.semantic(format!(
                    "Operator or function requires a document path; operator or function: {name}"
                ));
                Path::attr("")
            }
        }
    }

    /// Literal operands of begins_with must be S or B (a size() result is N).
    fn check_string_like(&mut self, name: &str, o: &Operand) {
        let ty = match o {
            Operand::Value(v) if !matches!(v, AttributeValue::S(_) | AttributeValue::B(_)) => {
                type_of(v)
            }
            Operand::Size(_) => "N",
            _ => return,
        };
        self.semantic(operand_type(name, ty));
    }

    /// A function in condition position.
    fn function(&mut self, name: &str, args: Vec<Term>, at: usize) -> Cond {
        let never = Cond::Exists(Path::attr(""));
        if !is_function(name) {
            // Reported when read; still look inside for more errors.
            for a in args {
                let _ = self.operand(a);
            }
            return never;
        }
        if is_update_function(name) {
            self.misuse(name, at);
            return never;
        }
        let n = args.len();
        let want = match name {
            "attribute_exists" | "attribute_not_exists" => 1,
            _ => 2,
        };
        let mut it = args.into_iter();
        let a = it.next();
        let b = it.next();
        let extra: Vec<Term> = it.collect();
        // Children first (their errors come before this function's own).
        let converted_b = match (name, b) {
            (_, None) => None,
            (_, Some(t)) => Some(self.operand(t)),
        };
        for t in extra {
            let _ = self.operand(t);
        }
        let Some(a) = a else {
            return never;
        };
        match name {
            "attribute_exists" | "attribute_not_exists" => {
                let p = self.path_arg(name, a);
                if n != want {
                    self.semantic(arity(name, n));
                    return never;
                }
                if name == "attribute_exists" {
                    Cond::Exists(p)
                } else {
                    Cond::NotExists(p)
                }
            }
            "attribute_type" => {
                let p = self.path_arg(name, a);
                let (Some(t), true) = (converted_b, n == want) else {
                    self.semantic(arity(name, n));
                    return never;
                };
                let pa = Operand::Path(p.clone());
                self.check_distinct(&pa, &[&t], name);
                match &t {
                    Operand::Value(AttributeValue::S(s)) if TYPE_NAMES.contains(&s.as_str()) => {}
                    Operand::Value(AttributeValue::S(s)) => self.semantic(format!(
                        "Invalid attribute type name found; type: {s}, valid types: {{N,BS,L,B,NULL,M,S,SS,NS,BOOL}}"
                    )),
                    Operand::Value(other) => self.semantic(operand_type(name, type_of(other))),
                    Operand::Size(_) => self.semantic(operand_type(name, "N")),
                    Operand::Path(_) => self.semantic(operand_type(
                        name,
                        "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}",
                    )),
                }
                Cond::Type(p, t)
            }
            _ => {
                // begins_with, contains
                let a = self.operand(a);
                let (Some(b), true) = (converted_b, n == want) else {
                    self.semantic(arity(name, n));
                    return never;
                };
                if name == "begins_with" {
                    self.check_string_like(name, &a);
                    self.check_string_like(name, &b);
                }
                self.check_distinct(&a, &[&b], name);
                if name == "begins_with" {
                    Cond::BeginsWith(a, b)
                } else {
                    Cond::Contains(a, b)
                }
            }
        }
    }

    // ------------------------------------------------------------------ update

    fn update(&mut self) -> PResult<Update> {
        let mut actions = Vec::new();
        let mut seen: Vec<&'static str> = Vec::new();
        loop {
            let clause = match self.peek() {
                Kind::Ident => match keyword(self.text()) {
                    Some(k @ ("SET" | "REMOVE" | "ADD" | "DELETE")) => k,
                    _ => return Err(Syntax(self.pos)),
                },
                Kind::Eof if !seen.is_empty() => break,
                _ => return Err(Syntax(self.pos)),
            };
            self.pos += 1;
            if seen.contains(&clause) {
                first(
                    &mut self.errors.section,
                    format!(
                        "The \"{clause}\" section can only be used once in an update expression;"
                    ),
                );
            }
            seen.push(clause);
            loop {
                let i = actions.len();
                self.ctx = Ctx::Target(i);
                let path = self.path()?;
                self.ctx = Ctx::Value(i);
                let action = match clause {
                    "SET" => {
                        self.expect(Kind::Eq)?;
                        let v = self.set_value()?;
                        Action::Set(path, v)
                    }
                    "REMOVE" => Action::Remove(path),
                    "ADD" => {
                        let v = self.value()?;
                        if !matches!(
                            v,
                            AttributeValue::N(_)
                                | AttributeValue::Ss(_)
                                | AttributeValue::Ns(_)
                                | AttributeValue::Bs(_)
                        ) {
                            self.semantic(format!(
                                "Incorrect operand type for operator or function; operator: ADD, operand type: {}, typeSet: ALLOWED_FOR_ADD_OPERAND",
                                long_type(&v)
                            ));
                        }
                        Action::Add(path, v)
                    }
                    _ => {
                        let v = self.value()?;
                        if !matches!(
                            v,
                            AttributeValue::Ss(_) | AttributeValue::Ns(_) | AttributeValue::Bs(_)
                        ) {
                            self.semantic(format!(
                                "Incorrect operand type for operator or function; operator: DELETE, operand type: {}, typeSet: ALLOWED_FOR_DELETE_OPERAND",
                                long_type(&v)
                            ));
                        }
                        Action::Delete(path, v)
                    }
                };
                actions.push(action);
                if self.peek() == Kind::Comma {
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        self.ctx = Ctx::Condition;
        Ok(Update { actions })
    }

    /// Operands of `+`/`-` must be numbers when their type is known.
    fn check_number(&mut self, op: &str, o: &SetOperand) {
        match o {
            SetOperand::Value(v) if !matches!(v, AttributeValue::N(_)) => {
                self.semantic(operand_type(op, type_of(v)));
            }
            SetOperand::IfNotExists(_, d) => self.check_number(op, d),
            SetOperand::ListAppend(..) => {
                self.walk1(
                    "The function is not allowed to be used this way in an expression; function: list_append"
                        .into(),
                );
            }
            _ => {}
        }
    }

    /// A SET value: an operand, or `operand + operand` / `operand - operand`; either may
    /// be wrapped in parentheses, as may the whole value.
    fn set_value(&mut self) -> PResult<SetValue> {
        let a = self.set_atom()?;
        let plus = match self.peek() {
            Kind::Plus => true,
            Kind::Minus => false,
            _ => return Ok(a),
        };
        let SetValue::Operand(a) = a else {
            return Err(Syntax(self.pos));
        };
        self.pos += 1;
        let SetValue::Operand(b) = self.set_atom()? else {
            return Err(Syntax(self.pos));
        };
        let op = if plus { "+" } else { "-" };
        self.check_number(op, &a);
        self.check_number(op, &b);
        Ok(if plus {
            SetValue::Plus(a, b)
        } else {
            SetValue::Minus(a, b)
        })
    }

    #[inline(never)]
    fn set_atom(&mut self) -> PResult<SetValue> {
        if self.peek() == Kind::LParen {
            let open = self.pos;
            self.pos += 1;
            self.enter()?;
            let v = self.set_value();
            self.depth -= 1;
            let v = v?;
            self.expect(Kind::RParen)?;
            self.close_group(open)?;
            return Ok(v);
        }
        let t = self.term()?;
        Ok(SetValue::Operand(self.set_operand_of(t, false)))
    }

    fn set_operand_of(&mut self, t: Term, in_list_append: bool) -> SetOperand {
        let none = SetOperand::Value(AttributeValue::Null);
        match t {
            Term::Path(p) => SetOperand::Path(p),
            Term::Value(v) => SetOperand::Value(v),
            Term::Call { name, args, at } => {
                if !is_function(&name) {
                    return none;
                }
                if !is_update_function(&name) {
                    self.walk1_at(
                        at,
                        format!(
                            "The function is not allowed in an update expression; function: {name}"
                        ),
                    );
                    return none;
                }
                if name == "list_append" && in_list_append {
                    self.walk1_at(
                        at,
                        "The function is not allowed to be used this way in an expression; function: list_append"
                            .into(),
                    );
                    return none;
                }
                let n = args.len();
                let mut it = args.into_iter();
                let (a, b) = (it.next(), it.next());
                let rest: Vec<Term> = it.collect();
                let a = a.map(|t| (matches!(t, Term::Path(_)), t));
                let b = b.map(|t| self.set_operand_of(t, in_list_append || name == "list_append"));
                for t in rest {
                    let _ = self.set_operand_of(t, true);
                }
                if name == "if_not_exists" {
                    let p = match a {
                        Some((true, Term::Path(p))) => p,
                        Some((_, other)) => {
                            let _ = self.set_operand_of(other, in_list_append);
                            self.semantic(format!(
                                "Operator or function requires a document path; operator or function: {name}"
                            ));
                            Path::attr("")
                        }
                        None => Path::attr(""),
                    };
                    let Some(b) = b.filter(|_| n == 2) else {
                        self.semantic(arity(&name, n));
                        return none;
                    };
                    return SetOperand::IfNotExists(p, Box::new(b));
                }
                let a = a.map(|(_, t)| self.set_operand_of(t, true));
                let (Some(a), Some(b), 2) = (a, b, n) else {
                    self.semantic(arity(&name, n));
                    return none;
                };
                for o in [&a, &b] {
                    if let SetOperand::Value(v) = o {
                        if !matches!(v, AttributeValue::L(_)) {
                            self.semantic(operand_type("list_append", type_of(v)));
                        }
                    }
                }
                SetOperand::ListAppend(Box::new(a), Box::new(b))
            }
        }
    }

    // ------------------------------------------------------------------ projection

    fn projection(&mut self) -> PResult<Vec<Path>> {
        self.ctx = Ctx::Target(0);
        let mut paths = vec![self.path()?];
        while self.peek() == Kind::Comma {
            self.pos += 1;
            self.ctx = Ctx::Target(paths.len());
            paths.push(self.path()?);
        }
        self.ctx = Ctx::Condition;
        Ok(paths)
    }
}

fn arity(name: &str, n: usize) -> String {
    format!(
        "Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {n}"
    )
}

fn operand_type(name: &str, ty: &str) -> String {
    format!(
        "Incorrect operand type for operator or function; operator or function: {name}, operand type: {ty}"
    )
}

/// DynamoDB refuses two paths where one contains the other (overlap) or where one treats a
/// step as a map key and the other as a list index (conflict). `a` is the earlier path.
fn clash(a: &Path, b: &Path) -> Option<String> {
    let mut common = 0;
    for (x, y) in a.0.iter().zip(&b.0) {
        match (x, y) {
            (Step::Attr(p), Step::Attr(q)) if p == q => common += 1,
            (Step::Index(p), Step::Index(q)) if p == q => common += 1,
            (Step::Attr(_), Step::Index(_)) | (Step::Index(_), Step::Attr(_)) => {
                return Some(format!(
                    "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: {a}, path two: {b}"
                ));
            }
            _ => return None,
        }
    }
    (common == a.0.len().min(b.0.len())).then(|| {
        format!(
            "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {a}, path two: {b}"
        )
    })
}
