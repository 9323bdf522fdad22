//! Parser and resolver: text plus ExpressionAttributeNames/Values in, resolved tree out.
//!
//! Errors come in DynamoDB's order: the expression must be non-empty and within the size
//! limit, then syntactically valid as a whole; only then are semantic problems reported
//! (reserved words, undefined placeholders, nesting depth, function misuse, operand types,
//! overlapping paths), the first one found in reading order.

use std::collections::{BTreeSet, HashMap};

use ferrodyn_types::{AttributeValue, Item};

use crate::ast::*;
use crate::lexer::{tokenize, Kind, Token};
use crate::reserved::is_reserved;
use crate::ExprError;

/// Maximum length of one expression, in bytes.
pub const MAX_EXPRESSION_BYTES: usize = 4096;
/// Maximum number of steps in a document path.
pub const MAX_PATH_DEPTH: usize = 32;
/// Maximum number of operands of `IN`.
pub const MAX_IN_OPERANDS: usize = 100;

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
}

/// Resolves the placeholders of every expression of one request and remembers which were
/// used, so that unused ones can be refused once all expressions are parsed.
pub struct Resolver<'a> {
    names: Option<&'a HashMap<String, String>>,
    values: Option<&'a Item>,
    used_names: BTreeSet<String>,
    used_values: BTreeSet<String>,
}

impl<'a> Resolver<'a> {
    pub fn new(names: Option<&'a HashMap<String, String>>, values: Option<&'a Item>) -> Self {
        Resolver {
            names,
            values,
            used_names: BTreeSet::new(),
            used_values: BTreeSet::new(),
        }
    }

    /// Parse a condition (ConditionExpression, FilterExpression, KeyConditionExpression).
    pub fn condition(&mut self, src: &str, kind: ExprKind) -> Result<Cond, ExprError> {
        let mut p = Parser::new(src, kind, self)?;
        let c = p.or_expr(0);
        let c = p.finish(c)?;
        if p.operators > MAX_OPERATORS {
            p.semantic(format!(
                "The expression contains too many operators; operator count: {}",
                MAX_OPERATORS + 1
            ));
        }
        p.into_result(c)
    }

    /// Parse an UpdateExpression.
    pub fn update(&mut self, src: &str) -> Result<Update, ExprError> {
        let mut p = Parser::new(src, ExprKind::Update, self)?;
        let u = p.update();
        let u = p.finish(u)?;
        let paths = u.paths();
        p.check_overlaps(&paths);
        p.into_result(u)
    }

    /// Parse a ProjectionExpression.
    pub fn projection(&mut self, src: &str) -> Result<Vec<Path>, ExprError> {
        let mut p = Parser::new(src, ExprKind::Projection, self)?;
        let paths = p.projection();
        let paths = p.finish(paths)?;
        p.check_overlaps(&paths);
        p.into_result(paths)
    }

    /// After every expression of the request is parsed: refuse unused placeholders.
    pub fn finish(self) -> Result<(), ExprError> {
        let unused = |all: Option<Vec<&String>>, used: &BTreeSet<String>| -> Vec<String> {
            all.unwrap_or_default()
                .into_iter()
                .filter(|k| !used.contains(*k))
                .cloned()
                .collect()
        };
        let mut names: Vec<&String> = self.names.map(|m| m.keys().collect()).unwrap_or_default();
        names.sort();
        let names = unused(Some(names), &self.used_names);
        if !names.is_empty() {
            return Err(ExprError(format!(
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {{{}}}",
                names.join(", ")
            )));
        }
        let values = unused(self.values.map(|m| m.keys().collect()), &self.used_values);
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
    Call { name: String, args: Vec<Term> },
}

/// Internal failure: a syntax error at a token.
struct Syntax(usize);

type PResult<T> = Result<T, Syntax>;

struct Parser<'s, 'r, 'a> {
    src: &'s str,
    toks: Vec<Token>,
    pos: usize,
    kind: ExprKind,
    r: &'r mut Resolver<'a>,
    /// The first semantic error of each tier, reported only if the whole text parses:
    /// reserved words first, then undefined placeholders, then everything else.
    semantic: [Option<String>; 4],
    /// Token spans `(open, close)` of every parenthesised group parsed so far.
    groups: Vec<(usize, usize)>,
    /// Operators and functions seen (conditions allow at most 300).
    operators: usize,
}

const PAREN_TIER: usize = 0;
const RESERVED_TIER: usize = 1;
const PLACEHOLDER_TIER: usize = 2;
const OTHER_TIER: usize = 3;
/// Most operators (comparisons, logical operators, functions) one condition may hold.
pub const MAX_OPERATORS: usize = 300;

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

impl<'s, 'r, 'a> Parser<'s, 'r, 'a> {
    fn new(src: &'s str, kind: ExprKind, r: &'r mut Resolver<'a>) -> Result<Self, ExprError> {
        let prefix = format!("Invalid {}: ", kind.param());
        if src.is_empty() {
            return Err(ExprError(format!(
                "{prefix}The expression can not be empty;"
            )));
        }
        if src.len() > MAX_EXPRESSION_BYTES {
            return Err(ExprError(format!(
                "{prefix}Expression size has exceeded the maximum allowed size; expression size: {}",
                src.len()
            )));
        }
        Ok(Parser {
            src,
            toks: tokenize(src),
            pos: 0,
            kind,
            r,
            semantic: [None, None, None, None],
            groups: Vec::new(),
            operators: 0,
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
            Err(Syntax(at)) => Err(ExprError(format!(
                "{}Syntax error; token: \"{}\", near: \"{}\"",
                self.prefix(),
                self.token_text(at),
                self.near(at)
            ))),
        }
    }

    fn into_result<T>(self, v: T) -> Result<T, ExprError> {
        let prefix = self.prefix();
        match self.semantic.into_iter().flatten().next() {
            Some(m) => Err(ExprError(format!("{prefix}{m}"))),
            None => Ok(v),
        }
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

    fn semantic(&mut self, msg: String) {
        self.semantic_at(OTHER_TIER, msg);
    }

    fn semantic_at(&mut self, tier: usize, msg: String) {
        if let Some(slot) = self.semantic.get_mut(tier) {
            if slot.is_none() {
                *slot = Some(msg);
            }
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

    // ------------------------------------------------------------------ names and values

    fn name(&mut self) -> PResult<String> {
        let text = self.text();
        match self.peek() {
            Kind::Ident if keyword(text).is_none() || self.kind == ExprKind::Projection => {
                self.pos += 1;
                if is_reserved(text) && !text.eq_ignore_ascii_case("size") {
                    self.semantic_at(
                        RESERVED_TIER,
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
                        Ok(n.clone())
                    }
                    None => {
                        self.semantic_at(PLACEHOLDER_TIER, format!(
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
                Ok(v.clone())
            }
            None => {
                self.semantic_at(PLACEHOLDER_TIER, format!(
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
                    let at = self.pos;
                    let digits = self.text();
                    self.expect(Kind::Int)?;
                    let _ = at;
                    self.expect(Kind::RBracket)?;
                    let n = match digits.parse::<u32>() {
                        Ok(n) if n <= i32::MAX as u32 => n as usize,
                        _ => {
                            self.semantic(format!(
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
            Kind::Value => Ok(Term::Value(self.value()?)),
            Kind::Ident if self.peek_at(1) == Kind::LParen && keyword(self.text()).is_none() => {
                let name = self.text().to_owned();
                self.pos += 2;
                self.operators += 1;
                let mut args = vec![self.term()?];
                while self.peek() == Kind::Comma {
                    self.pos += 1;
                    args.push(self.term()?);
                }
                self.expect(Kind::RParen)?;
                Ok(Term::Call { name, args })
            }
            _ => Ok(Term::Path(self.path()?)),
        }
    }

    // ------------------------------------------------------------------ conditions

    fn or_expr(&mut self, depth: usize) -> PResult<Cond> {
        let mut left = self.and_expr(depth)?;
        while self.is_keyword("OR") {
            self.pos += 1;
            self.operators += 1;
            let right = self.and_expr(depth)?;
            left = Cond::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self, depth: usize) -> PResult<Cond> {
        let mut left = self.not_expr(depth)?;
        while self.is_keyword("AND") {
            self.pos += 1;
            self.operators += 1;
            let right = self.not_expr(depth)?;
            left = Cond::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not_expr(&mut self, depth: usize) -> PResult<Cond> {
        if self.is_keyword("NOT") {
            self.pos += 1;
            self.operators += 1;
            let c = self.not_expr(depth + 1)?;
            return Ok(Cond::Not(Box::new(c)));
        }
        self.primary(depth)
    }

    fn primary(&mut self, depth: usize) -> PResult<Cond> {
        if depth > 512 {
            // Far beyond anything DynamoDB accepts; stops stack exhaustion on hostile input.
            return Err(Syntax(self.pos));
        }
        if self.peek() == Kind::LParen {
            let open = self.pos;
            self.pos += 1;
            let c = self.or_expr(depth + 1)?;
            self.expect(Kind::RParen)?;
            self.close_group(open);
            return Ok(c);
        }
        let first = self.term()?;
        let op = self.comparator();
        if let Term::Call { name, args } = &first {
            if name != "size" {
                let c = self.function(name, args.clone());
                if op.is_some() || self.is_keyword("BETWEEN") || self.is_keyword("IN") {
                    if is_function(name) {
                        self.semantic(format!(
                            "The function is not allowed to be used this way in an expression; function: {name}"
                        ));
                    }
                } else {
                    return Ok(c);
                }
            } else if op.is_none() && !self.is_keyword("BETWEEN") && !self.is_keyword("IN") {
                if matches!(self.peek(), Kind::Eof | Kind::RParen)
                    || self.is_keyword("AND")
                    || self.is_keyword("OR")
                {
                    self.semantic(
                        "The function is not allowed to be used this way in an expression; function: size"
                            .to_owned(),
                    );
                    return Ok(Cond::Exists(Path::attr("")));
                }
                return Err(Syntax(self.pos));
            }
        }
        if let Some(op) = op {
            self.pos += 1;
            self.operators += 1;
            let second = self.term()?;
            let a = self.operand(first, op.as_str());
            let b = self.operand(second, op.as_str());
            if op != CmpOp::Eq && op != CmpOp::Ne {
                self.check_ordered(&a, op.as_str());
                self.check_ordered(&b, op.as_str());
            }
            self.check_distinct(&a, &[&b], op.as_str());
            return Ok(Cond::Cmp(op, a, b));
        }
        if self.is_keyword("BETWEEN") {
            self.pos += 1;
            self.operators += 1;
            let lo = self.term()?;
            self.expect_keyword("AND")?;
            let hi = self.term()?;
            let x = self.operand(first, "BETWEEN");
            let lo = self.operand(lo, "BETWEEN");
            let hi = self.operand(hi, "BETWEEN");
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
            return Ok(Cond::Between(x, lo, hi));
        }
        if self.is_keyword("IN") {
            self.pos += 1;
            self.operators += 1;
            self.expect(Kind::LParen)?;
            let mut list = vec![self.term()?];
            while self.peek() == Kind::Comma {
                self.pos += 1;
                list.push(self.term()?);
            }
            self.expect(Kind::RParen)?;
            if list.len() > MAX_IN_OPERANDS {
                self.semantic(format!(
                    "The IN operator is provided with too many operands; number of operands: {}",
                    list.len()
                ));
            }
            let x = self.operand(first, "IN");
            let list: Vec<Operand> = list.into_iter().map(|t| self.operand(t, "IN")).collect();
            let rest: Vec<&Operand> = list.iter().collect();
            self.check_distinct(&x, &rest, "IN");
            return Ok(Cond::In(x, list));
        }
        Err(Syntax(self.pos))
    }

    /// Record a parenthesised group that opened at token `open` and just closed; a group
    /// whose whole content is another group is redundant, which DynamoDB refuses.
    fn close_group(&mut self, open: usize) {
        let close = self.pos - 1;
        if self.groups.contains(&(open + 1, close.saturating_sub(1))) {
            self.semantic_at(
                PAREN_TIER,
                "The expression has redundant parentheses;".into(),
            );
        }
        self.groups.push((open, close));
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

    /// A term in operand position: a path, a value, or `size(path)`.
    fn operand(&mut self, t: Term, _op: &str) -> Operand {
        match t {
            Term::Path(p) => Operand::Path(p),
            Term::Value(v) => Operand::Value(v),
            Term::Call { name, args } => {
                if name != "size" {
                    if name == "if_not_exists" || name == "list_append" {
                        self.semantic(format!(
                            "The function is not allowed in a condition expression; function: {name}"
                        ));
                    } else if is_function(&name) {
                        self.semantic(format!(
                            "The function is not allowed to be used this way in an expression; function: {name}"
                        ));
                    } else {
                        self.semantic(format!("Invalid function name; function: {name}"));
                    }
                    return Operand::Value(AttributeValue::Null);
                }
                match self.args::<1>(&name, args) {
                    Some([Term::Path(p)]) => Operand::Size(p),
                    Some([Term::Value(v)]) => {
                        self.semantic(format!(
                            "Incorrect operand type for operator or function; operator or function: {name}, operand type: {}",
                            type_of(&v)
                        ));
                        Operand::Value(AttributeValue::Null)
                    }
                    Some(_) => {
                        self.semantic(format!(
                            "Operator or function requires a document path; operator or function: {name}"
                        ));
                        Operand::Value(AttributeValue::Null)
                    }
                    None => Operand::Value(AttributeValue::Null),
                }
            }
        }
    }

    /// Check the operand count of a function call.
    fn args<const N: usize>(&mut self, name: &str, args: Vec<Term>) -> Option<[Term; N]> {
        let n = args.len();
        match <[Term; N]>::try_from(args) {
            Ok(a) => Some(a),
            Err(_) => {
                self.semantic(format!(
                    "Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {n}"
                ));
                None
            }
        }
    }

    fn require_path(&mut self, name: &str, t: Term) -> Path {
        match t {
            Term::Path(p) => p,
            _ => {
                self.semantic(format!(
                    "Operator or function requires a document path; operator or function: {name}"
                ));
                Path::attr("")
            }
        }
    }

    /// A function in condition position.
    fn function(&mut self, name: &str, args: Vec<Term>) -> Cond {
        let never = Cond::Exists(Path::attr(""));
        match name {
            "attribute_exists" | "attribute_not_exists" => {
                let Some([a]) = self.args::<1>(name, args) else {
                    return never;
                };
                let p = self.require_path(name, a);
                if name == "attribute_exists" {
                    Cond::Exists(p)
                } else {
                    Cond::NotExists(p)
                }
            }
            "attribute_type" => {
                let Some([a, t]) = self.args::<2>(name, args) else {
                    return never;
                };
                let p = self.require_path(name, a);
                let t = self.operand(t, name);
                if let Operand::Value(v) = &t {
                    match v {
                        AttributeValue::S(s) if TYPE_NAMES.contains(&s.as_str()) => {}
                        AttributeValue::S(s) => self.semantic(format!(
                            "Invalid attribute type name found; type: {s}, valid types: {{N,BS,L,B,NULL,M,S,SS,NS,BOOL}}"
                        )),
                        other => self.semantic(format!(
                            "Incorrect operand type for operator or function; operator or function: {name}, operand type: {}",
                            type_of(other)
                        )),
                    }
                }
                Cond::Type(p, t)
            }
            "begins_with" => {
                let Some([a, b]) = self.args::<2>(name, args) else {
                    return never;
                };
                let a = self.operand(a, name);
                let b = self.operand(b, name);
                for o in [&a, &b] {
                    if let Operand::Value(v) = o {
                        if !matches!(v, AttributeValue::S(_) | AttributeValue::B(_)) {
                            self.semantic(format!(
                                "Incorrect operand type for operator or function; operator or function: {name}, operand type: {}",
                                type_of(v)
                            ));
                        }
                    }
                }
                Cond::BeginsWith(a, b)
            }
            "contains" => {
                let Some([a, b]) = self.args::<2>(name, args) else {
                    return never;
                };
                let a = self.operand(a, name);
                let b = self.operand(b, name);
                Cond::Contains(a, b)
            }
            "size" => never,
            "if_not_exists" | "list_append" => {
                self.semantic(format!(
                    "The function is not allowed in a condition expression; function: {name}"
                ));
                never
            }
            _ if is_function(name) => {
                self.semantic(format!(
                    "The function is not allowed to be used this way in an expression; function: {name}"
                ));
                never
            }
            _ => {
                self.semantic(format!("Invalid function name; function: {name}"));
                never
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
                self.semantic(format!(
                    "The \"{clause}\" section can only be used once in an update expression;"
                ));
            }
            seen.push(clause);
            loop {
                let path = self.path()?;
                let action = match clause {
                    "SET" => {
                        self.expect(Kind::Eq)?;
                        let a = self.set_operand()?;
                        let v = match self.peek() {
                            Kind::Plus => {
                                self.pos += 1;
                                SetValue::Plus(a, self.set_operand()?)
                            }
                            Kind::Minus => {
                                self.pos += 1;
                                SetValue::Minus(a, self.set_operand()?)
                            }
                            _ => SetValue::Operand(a),
                        };
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
        Ok(Update { actions })
    }

    fn set_operand(&mut self) -> PResult<SetOperand> {
        if self.peek() == Kind::LParen {
            let open = self.pos;
            self.pos += 1;
            let o = self.set_operand()?;
            self.expect(Kind::RParen)?;
            self.close_group(open);
            return Ok(o);
        }
        let t = self.term()?;
        Ok(self.set_operand_of(t))
    }

    fn set_operand_of(&mut self, t: Term) -> SetOperand {
        let none = SetOperand::Value(AttributeValue::Null);
        match t {
            Term::Path(p) => SetOperand::Path(p),
            Term::Value(v) => SetOperand::Value(v),
            Term::Call { name, args } => match name.as_str() {
                "if_not_exists" => {
                    let Some([a, b]) = self.args::<2>(&name, args) else {
                        return none;
                    };
                    let p = self.require_path(&name, a);
                    let b = self.set_operand_of(b);
                    SetOperand::IfNotExists(p, Box::new(b))
                }
                "list_append" => {
                    let Some([a, b]) = self.args::<2>(&name, args) else {
                        return none;
                    };
                    let a = self.set_operand_of(a);
                    let b = self.set_operand_of(b);
                    for o in [&a, &b] {
                        if let SetOperand::Value(v) = o {
                            if !matches!(v, AttributeValue::L(_)) {
                                self.semantic(format!(
                                    "Incorrect operand type for operator or function; operator or function: list_append, operand type: {}",
                                    type_of(v)
                                ));
                            }
                        }
                    }
                    SetOperand::ListAppend(Box::new(a), Box::new(b))
                }
                _ if is_function(&name) => {
                    self.semantic(format!(
                        "The function is not allowed in an update expression; function: {name}"
                    ));
                    none
                }
                _ => {
                    self.semantic(format!("Invalid function name; function: {name}"));
                    none
                }
            },
        }
    }

    // ------------------------------------------------------------------ projection

    fn projection(&mut self) -> PResult<Vec<Path>> {
        let mut paths = vec![self.path()?];
        while self.peek() == Kind::Comma {
            self.pos += 1;
            paths.push(self.path()?);
        }
        Ok(paths)
    }

    /// DynamoDB refuses two paths where one contains the other (overlap) or where one
    /// treats a step as a map key and the other as a list index (conflict).
    fn check_overlaps(&mut self, paths: &[Path]) {
        for (i, a) in paths.iter().enumerate() {
            for b in paths.iter().skip(i + 1) {
                let mut conflict = false;
                let mut common = 0;
                for (x, y) in a.0.iter().zip(&b.0) {
                    match (x, y) {
                        (Step::Attr(p), Step::Attr(q)) if p == q => common += 1,
                        (Step::Index(p), Step::Index(q)) if p == q => common += 1,
                        (Step::Attr(_), Step::Index(_)) | (Step::Index(_), Step::Attr(_)) => {
                            conflict = true;
                            break;
                        }
                        _ => break,
                    }
                }
                if conflict {
                    self.semantic(format!(
                        "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: {a}, path two: {b}"
                    ));
                    return;
                }
                if common == a.0.len().min(b.0.len()) {
                    self.semantic(format!(
                        "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {a}, path two: {b}"
                    ));
                    return;
                }
            }
        }
    }
}

/// The type names `attribute_type` accepts.
const TYPE_NAMES: &[&str] = &["S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M"];

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

/// The long type names DynamoDB uses in update-expression operand errors.
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
