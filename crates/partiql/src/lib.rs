//! DynamoDB's PartiQL subset: `SELECT`, `INSERT ... VALUE`, `UPDATE ... SET/REMOVE`,
//! `DELETE`, with `?` parameters and document literals. Pure: text in, syntax tree out.
//!
//! Hand-written (see ARCHITECTURE.md): the `partiql-parser` crate parses general PartiQL
//! and fails on DynamoDB's dialect (`?` parameters, `INSERT ... VALUE`, `UPDATE ... SET /
//! REMOVE`, `DELETE ... RETURNING`); DynamoDB's subset is small.

use std::fmt;

/// One element of a document path.
#[derive(Debug, Clone, PartialEq)]
pub enum PathElem {
    Name(String),
    Index(u32),
}

/// A document path: `a.b[2]."c d"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Path(pub Vec<PathElem>);

impl Path {
    /// The top-level attribute name.
    pub fn root(&self) -> Option<&str> {
        match self.0.first() {
            Some(PathElem::Name(n)) => Some(n),
            _ => None,
        }
    }

    /// The name the value is returned under in a SELECT: its last name element.
    pub fn leaf_name(&self) -> Option<&str> {
        self.0.iter().rev().find_map(|e| match e {
            PathElem::Name(n) => Some(n.as_str()),
            PathElem::Index(_) => None,
        })
    }
}

/// A literal or parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    /// The number as written.
    Num(String),
    Bool(bool),
    Null,
    Map(Vec<(String, Value)>),
    List(Vec<Value>),
    /// `<< ... >>`
    Set(Vec<Value>),
    /// The n-th `?` of the statement (0-based).
    Param(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Path(Path),
    Value(Value),
    /// `size(path)`
    Size(Path),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// A WHERE condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp(Operand, CmpOp, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    /// `begins_with`, `contains`, `attribute_type`, `attribute_exists`,
    /// `attribute_not_exists` (lower-cased name).
    Func(String, Vec<Operand>),
    /// `path IS MISSING` (false) / `IS NOT MISSING` (true).
    Missing(Path, bool),
}

/// The right side of a SET assignment.
#[derive(Debug, Clone, PartialEq)]
pub enum SetValue {
    Operand(Operand),
    Arith(Operand, char, Operand),
    ListAppend(Operand, Operand),
    IfNotExists(Path, Operand),
    SetAdd(Path, Operand),
    SetDelete(Path, Operand),
}

/// `RETURNING ... *` of UPDATE and DELETE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returning {
    AllOld,
    ModifiedOld,
    AllNew,
    ModifiedNew,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    /// None: `*`.
    pub projection: Option<Vec<Path>>,
    pub table: String,
    pub index: Option<String>,
    pub filter: Option<Expr>,
    /// `ORDER BY <path> [ASC|DESC]`: the path and whether it is descending.
    pub order_by: Option<(Path, bool)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    Select(Select),
    Insert {
        table: String,
        item: Value,
    },
    Update {
        table: String,
        sets: Vec<(Path, SetValue)>,
        removes: Vec<Path>,
        filter: Expr,
        returning: Option<Returning>,
    },
    Delete {
        table: String,
        filter: Expr,
        returning: Option<Returning>,
    },
}

impl Statement {
    pub fn table(&self) -> &str {
        match self {
            Statement::Select(s) => &s.table,
            Statement::Insert { table, .. }
            | Statement::Update { table, .. }
            | Statement::Delete { table, .. } => table,
        }
    }

    pub fn is_read(&self) -> bool {
        matches!(self, Statement::Select(_))
    }
}

/// Why a statement does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    /// 1-based line and column of the offending token, when known.
    pub at: Option<(usize, usize)>,
    /// A semantic error DynamoDB reports in its own words (with `at line:col:len`),
    /// not as "Statement wasn't well formed".
    pub semantic: bool,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Str(String),
    Num(String),
    Sym(&'static str),
    Param,
}

/// Nesting limit of conditions and literals.
const MAX_DEPTH: usize = 100;

fn lex(text: &str) -> Result<Vec<(Tok, usize)>, ParseError> {
    let b = text.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let err = |m: String, pos: usize| ParseError {
        message: m,
        at: Some(line_col(text, pos)),
        semantic: false,
    };
    while i < b.len() {
        let c = b.get(i).copied().unwrap_or(0);
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while b.get(i).is_some_and(|x| *x != b'\n') {
                i += 1;
            }
            continue;
        }
        if c == b'\'' || c == b'"' {
            let mut s = String::new();
            i += 1;
            loop {
                match text.get(i..).and_then(|r| r.chars().next()) {
                    None => return Err(err("Unterminated quoted text".into(), start)),
                    Some(ch) if ch as u32 == u32::from(c) => {
                        if b.get(i + 1) == Some(&c) {
                            s.push(ch);
                            i += 2;
                        } else {
                            i += 1;
                            break;
                        }
                    }
                    Some(ch) => {
                        s.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            out.push((
                if c == b'"' {
                    Tok::Quoted(s)
                } else {
                    Tok::Str(s)
                },
                start,
            ));
            continue;
        }
        if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            while b.get(i).is_some_and(|x| x.is_ascii_digit() || *x == b'.') {
                i += 1;
            }
            if b.get(i).is_some_and(|x| *x == b'e' || *x == b'E') {
                let save = i;
                i += 1;
                if b.get(i).is_some_and(|x| *x == b'+' || *x == b'-') {
                    i += 1;
                }
                if b.get(i).is_some_and(u8::is_ascii_digit) {
                    while b.get(i).is_some_and(u8::is_ascii_digit) {
                        i += 1;
                    }
                } else {
                    i = save;
                }
            }
            out.push((
                Tok::Num(text.get(start..i).unwrap_or_default().to_owned()),
                start,
            ));
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' || c == b'$' {
            while b
                .get(i)
                .is_some_and(|x| x.is_ascii_alphanumeric() || *x == b'_' || *x == b'$')
            {
                i += 1;
            }
            out.push((
                Tok::Word(text.get(start..i).unwrap_or_default().to_owned()),
                start,
            ));
            continue;
        }
        let two = text.get(i..i + 2).unwrap_or("");
        let sym: Option<&'static str> = match two {
            "<=" => Some("<="),
            ">=" => Some(">="),
            "<>" => Some("<>"),
            "!=" => Some("<>"),
            "<<" => Some("<<"),
            ">>" => Some(">>"),
            _ => None,
        };
        if let Some(s) = sym {
            out.push((Tok::Sym(s), start));
            i += 2;
            continue;
        }
        let one: &'static str = match c {
            b'=' => "=",
            b'<' => "<",
            b'>' => ">",
            b'(' => "(",
            b')' => ")",
            b'[' => "[",
            b']' => "]",
            b'{' => "{",
            b'}' => "}",
            b',' => ",",
            b'.' => ".",
            b':' => ":",
            b'*' => "*",
            b'+' => "+",
            b'-' => "-",
            b';' => ";",
            b'?' => {
                out.push((Tok::Param, start));
                i += 1;
                continue;
            }
            _ => {
                let ch = text.get(i..).and_then(|r| r.chars().next()).unwrap_or('?');
                return Err(err(format!("Unexpected character: {ch}"), start));
            }
        };
        out.push((Tok::Sym(one), start));
        i += 1;
    }
    Ok(out)
}

fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let before = text.get(..pos).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

struct Parser<'a> {
    text: &'a str,
    toks: Vec<(Tok, usize)>,
    i: usize,
    params: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|(t, _)| t)
    }

    fn fail<T>(&self, what: &str) -> Result<T, ParseError> {
        let (found, at) = match self.toks.get(self.i) {
            Some((t, pos)) => (describe(t), Some(line_col(self.text, *pos))),
            None => ("end of statement".to_owned(), None),
        };
        Err(ParseError {
            message: format!("Expected {what}, found {found}"),
            at,
            semantic: false,
        })
    }

    fn keyword(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(k))
    }

    fn eat_keyword(&mut self, k: &str) -> bool {
        if self.keyword(k) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect_keyword(&mut self, k: &str) -> Result<(), ParseError> {
        if self.eat_keyword(k) {
            Ok(())
        } else {
            self.fail(k)
        }
    }

    fn sym(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Tok::Sym(x)) if *x == s)
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        if self.sym(s) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect_sym(&mut self, s: &str) -> Result<(), ParseError> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            self.fail(&format!("'{s}'"))
        }
    }

    /// `line:col:len` of token `k`, as DynamoDB prints positions.
    fn pos_of(&self, k: usize) -> String {
        match self.toks.get(k) {
            Some((t, pos)) => {
                let (l, c) = line_col(self.text, *pos);
                let len = match t {
                    Tok::Word(w) => w.chars().count(),
                    Tok::Quoted(q) => q.chars().count() + 2,
                    Tok::Str(s) => s.chars().count() + 2,
                    Tok::Num(n) => n.len(),
                    Tok::Sym(s) => s.len(),
                    Tok::Param => 1,
                };
                format!("{l}:{c}:{len}")
            }
            None => "end".into(),
        }
    }

    fn semantic<T>(&self, message: String) -> Result<T, ParseError> {
        Err(ParseError {
            message,
            at: None,
            semantic: true,
        })
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError {
                message: "Statement is nested too deeply".into(),
                at: None,
                semantic: false,
            });
        }
        Ok(())
    }

    /// A table or attribute name: bare or "quoted".
    fn name(&mut self) -> Result<String, ParseError> {
        match self.peek().cloned() {
            Some(Tok::Quoted(s)) => {
                self.i += 1;
                Ok(s)
            }
            Some(Tok::Word(w)) => {
                self.i += 1;
                Ok(w)
            }
            _ => self.fail("a name"),
        }
    }

    fn path(&mut self) -> Result<Path, ParseError> {
        let mut elems = vec![PathElem::Name(self.name()?)];
        loop {
            if self.eat_sym(".") {
                elems.push(PathElem::Name(self.name()?));
            } else if self.eat_sym("[") {
                match self.peek().cloned() {
                    Some(Tok::Num(n)) => {
                        self.i += 1;
                        let idx = n.parse::<u32>().or_else(|_| self.fail("a list index"))?;
                        elems.push(PathElem::Index(idx));
                    }
                    _ => return self.fail("a list index"),
                }
                self.expect_sym("]")?;
            } else {
                return Ok(Path(elems));
            }
        }
    }

    fn value(&mut self) -> Result<Value, ParseError> {
        self.enter()?;
        let v = self.value_inner();
        self.depth -= 1;
        v
    }

    fn value_inner(&mut self) -> Result<Value, ParseError> {
        match self.peek().cloned() {
            Some(Tok::Str(s)) => {
                self.i += 1;
                Ok(Value::Str(s))
            }
            Some(Tok::Num(n)) => {
                self.i += 1;
                Ok(Value::Num(n))
            }
            Some(Tok::Sym("-")) => {
                self.i += 1;
                match self.peek().cloned() {
                    Some(Tok::Num(n)) => {
                        self.i += 1;
                        Ok(Value::Num(format!("-{n}")))
                    }
                    _ => self.fail("a number"),
                }
            }
            Some(Tok::Param) => {
                self.i += 1;
                self.params += 1;
                Ok(Value::Param(self.params - 1))
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("true") => {
                self.i += 1;
                Ok(Value::Bool(true))
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("false") => {
                self.i += 1;
                Ok(Value::Bool(false))
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("null") => {
                self.i += 1;
                Ok(Value::Null)
            }
            Some(Tok::Sym("{")) => {
                self.i += 1;
                let mut fields = Vec::new();
                if !self.eat_sym("}") {
                    loop {
                        let k = match self.peek().cloned() {
                            Some(Tok::Str(s) | Tok::Quoted(s)) => {
                                self.i += 1;
                                s
                            }
                            _ => return self.fail("a quoted attribute name"),
                        };
                        self.expect_sym(":")?;
                        fields.push((k, self.value()?));
                        if self.eat_sym("}") {
                            break;
                        }
                        self.expect_sym(",")?;
                    }
                }
                Ok(Value::Map(fields))
            }
            Some(Tok::Sym("[")) => {
                self.i += 1;
                let items = self.values_until("]")?;
                Ok(Value::List(items))
            }
            Some(Tok::Sym("<<")) => {
                self.i += 1;
                let items = self.values_until(">>")?;
                Ok(Value::Set(items))
            }
            _ => self.fail("a value"),
        }
    }

    fn values_until(&mut self, close: &str) -> Result<Vec<Value>, ParseError> {
        let mut items = Vec::new();
        if self.eat_sym(close) {
            return Ok(items);
        }
        loop {
            items.push(self.value()?);
            if self.eat_sym(close) {
                return Ok(items);
            }
            self.expect_sym(",")?;
        }
    }

    fn is_value_start(&self) -> bool {
        match self.peek() {
            Some(Tok::Str(_) | Tok::Num(_) | Tok::Param) => true,
            Some(Tok::Sym(s)) => matches!(*s, "{" | "[" | "<<" | "-"),
            Some(Tok::Word(w)) => ["true", "false", "null"]
                .iter()
                .any(|k| w.eq_ignore_ascii_case(k)),
            _ => false,
        }
    }

    fn operand(&mut self) -> Result<Operand, ParseError> {
        if self.is_value_start() {
            return Ok(Operand::Value(self.value()?));
        }
        if self.keyword("size") && matches!(self.toks.get(self.i + 1), Some((Tok::Sym("("), _))) {
            self.i += 2;
            let p = self.path()?;
            self.expect_sym(")")?;
            return Ok(Operand::Size(p));
        }
        Ok(Operand::Path(self.path()?))
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let mut left = self.and_expr()?;
        while self.eat_keyword("OR") {
            let right = self.and_expr()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        self.depth -= 1;
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.not_expr()?;
        while self.eat_keyword("AND") {
            let right = self.not_expr()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not_expr(&mut self) -> Result<Expr, ParseError> {
        if self.eat_keyword("NOT") {
            self.enter()?;
            let e = self.not_expr()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Result<Expr, ParseError> {
        if self.eat_sym("(") {
            let e = self.expr()?;
            self.expect_sym(")")?;
            return Ok(e);
        }
        // Functions that are conditions by themselves.
        if let Some(Tok::Word(w)) = self.peek() {
            let f = w.to_ascii_lowercase();
            let is_call = matches!(self.toks.get(self.i + 1), Some((Tok::Sym("("), _)));
            if is_call
                && matches!(
                    f.as_str(),
                    "begins_with"
                        | "contains"
                        | "attribute_type"
                        | "attribute_exists"
                        | "attribute_not_exists"
                )
            {
                self.i += 2;
                let mut args = Vec::new();
                if !self.eat_sym(")") {
                    loop {
                        args.push(self.operand()?);
                        if self.eat_sym(")") {
                            break;
                        }
                        self.expect_sym(",")?;
                    }
                }
                return Ok(Expr::Func(f, args));
            }
        }
        if let (Some(Tok::Word(w)), Some((Tok::Sym("("), _))) =
            (self.peek(), self.toks.get(self.i + 1))
        {
            if !w.eq_ignore_ascii_case("size") {
                return self.semantic(format!(
                    "Unrecognized function: {} at {}",
                    w.to_ascii_lowercase(),
                    self.pos_of(self.i)
                ));
            }
        }
        let left = self.operand()?;
        if self.eat_keyword("IS") {
            let negated = self.eat_keyword("NOT");
            self.expect_keyword("MISSING")?;
            let Operand::Path(p) = left else {
                return self.fail("a path before IS MISSING");
            };
            return Ok(Expr::Missing(p, negated));
        }
        if self.eat_keyword("BETWEEN") {
            let lo = self.operand()?;
            self.expect_keyword("AND")?;
            let hi = self.operand()?;
            return Ok(Expr::Between(left, lo, hi));
        }
        if self.eat_keyword("IN") {
            let close = if self.eat_sym("[") {
                "]"
            } else {
                self.expect_sym("(")?;
                ")"
            };
            let mut items = Vec::new();
            loop {
                items.push(self.operand()?);
                if self.eat_sym(close) {
                    break;
                }
                self.expect_sym(",")?;
            }
            return Ok(Expr::In(left, items));
        }
        let op = match self.peek() {
            Some(Tok::Sym("=")) => CmpOp::Eq,
            Some(Tok::Sym("<>")) => CmpOp::Ne,
            Some(Tok::Sym("<")) => CmpOp::Lt,
            Some(Tok::Sym("<=")) => CmpOp::Le,
            Some(Tok::Sym(">")) => CmpOp::Gt,
            Some(Tok::Sym(">=")) => CmpOp::Ge,
            _ => return self.fail("a comparison"),
        };
        self.i += 1;
        let right = self.operand()?;
        Ok(Expr::Cmp(left, op, right))
    }

    fn set_value(&mut self, target: &Path) -> Result<SetValue, ParseError> {
        if let Some(Tok::Word(w)) = self.peek() {
            let f = w.to_ascii_lowercase();
            let is_call = matches!(self.toks.get(self.i + 1), Some((Tok::Sym("("), _)));
            if is_call && (f == "set_add" || f == "set_delete") {
                return self.set_function(&f, target);
            }
            let is_call = matches!(self.toks.get(self.i + 1), Some((Tok::Sym("("), _)));
            if is_call
                && matches!(
                    f.as_str(),
                    "list_append" | "set_add" | "set_delete" | "if_not_exists"
                )
            {
                self.i += 2;
                let out = match f.as_str() {
                    "list_append" => {
                        let a = self.operand()?;
                        self.expect_sym(",")?;
                        SetValue::ListAppend(a, self.operand()?)
                    }
                    name => {
                        let p = self.path()?;
                        self.expect_sym(",")?;
                        let v = self.operand()?;
                        match name {
                            "set_add" => SetValue::SetAdd(p, v),
                            "set_delete" => SetValue::SetDelete(p, v),
                            _ => SetValue::IfNotExists(p, v),
                        }
                    }
                };
                self.expect_sym(")")?;
                return Ok(out);
            }
        }
        let left = self.operand()?;
        for op in ['+', '-'] {
            let s = if op == '+' { "+" } else { "-" };
            if self.eat_sym(s) {
                let right = self.operand()?;
                return Ok(SetValue::Arith(left, op, right));
            }
        }
        Ok(SetValue::Operand(left))
    }

    /// `set_add(path, <<...>>)` / `set_delete(...)`, with DynamoDB's rules and messages.
    fn set_function(&mut self, f: &str, target: &Path) -> Result<SetValue, ParseError> {
        let name_at = self.i;
        let upper = f.to_ascii_uppercase();
        self.i += 2;
        // The arguments, each with the token it starts at.
        let mut args = Vec::new();
        if !self.eat_sym(")") {
            loop {
                let at = self.i;
                args.push((self.operand()?, at));
                if self.eat_sym(")") {
                    break;
                }
                self.expect_sym(",")?;
            }
        }
        if args.len() != 2 {
            return self.semantic(format!(
                "{upper} must have exactly two arguments at {}",
                self.pos_of(name_at)
            ));
        }
        let mut it = args.into_iter();
        let (Some((first, first_at)), Some((second, _))) = (it.next(), it.next()) else {
            return self.semantic(format!(
                "{upper} must have exactly two arguments at {}",
                self.pos_of(name_at)
            ));
        };
        let Operand::Path(p) = first else {
            return self.semantic(format!(
                "The first argument to {upper} must equal the assignment value at {}",
                self.pos_of(name_at)
            ));
        };
        if p != *target {
            return self.semantic(format!(
                "The first argument to {upper} must equal the assignment value at {}",
                self.pos_of(name_at)
            ));
        }
        if !matches!(
            second,
            Operand::Value(Value::Set(_)) | Operand::Value(Value::Param(_))
        ) {
            return self.semantic(format!(
                "The second argument to {upper} must be a value with type SET at {}",
                self.pos_of(first_at)
            ));
        }
        Ok(if f == "set_add" {
            SetValue::SetAdd(p, second)
        } else {
            SetValue::SetDelete(p, second)
        })
    }

    fn returning(&mut self) -> Result<Option<Returning>, ParseError> {
        if !self.eat_keyword("RETURNING") {
            return Ok(None);
        }
        let all = if self.eat_keyword("ALL") {
            true
        } else if self.eat_keyword("MODIFIED") {
            false
        } else {
            return self.fail("ALL or MODIFIED");
        };
        let old = if self.eat_keyword("OLD") {
            true
        } else if self.eat_keyword("NEW") {
            false
        } else {
            return self.fail("OLD or NEW");
        };
        self.expect_sym("*")?;
        Ok(Some(match (all, old) {
            (true, true) => Returning::AllOld,
            (false, true) => Returning::ModifiedOld,
            (true, false) => Returning::AllNew,
            (false, false) => Returning::ModifiedNew,
        }))
    }

    fn statement(&mut self) -> Result<Statement, ParseError> {
        if self.eat_keyword("SELECT") {
            let projection = if self.eat_sym("*") {
                None
            } else {
                let mut paths = vec![self.path()?];
                while self.eat_sym(",") {
                    paths.push(self.path()?);
                }
                Some(paths)
            };
            self.expect_keyword("FROM")?;
            let table = self.name()?;
            let index = if self.eat_sym(".") {
                Some(self.name()?)
            } else {
                None
            };
            let filter = if self.eat_keyword("WHERE") {
                Some(self.expr()?)
            } else {
                None
            };
            let order_by = if self.eat_keyword("ORDER") {
                self.expect_keyword("BY")?;
                let p = self.path()?;
                let desc = if self.eat_keyword("DESC") {
                    true
                } else {
                    self.eat_keyword("ASC");
                    false
                };
                Some((p, desc))
            } else {
                None
            };
            return Ok(Statement::Select(Select {
                projection,
                table,
                index,
                filter,
                order_by,
            }));
        }
        if self.eat_keyword("INSERT") {
            self.expect_keyword("INTO")?;
            let table = self.name()?;
            self.expect_keyword("VALUE")?;
            let item = self.value()?;
            if !matches!(item, Value::Map(_) | Value::Param(_)) {
                return Err(ParseError {
                    message: "INSERT needs a document value {...}".into(),
                    at: None,
                    semantic: false,
                });
            }
            return Ok(Statement::Insert { table, item });
        }
        if self.eat_keyword("UPDATE") {
            let table = self.name()?;
            let mut sets = Vec::new();
            let mut removes = Vec::new();
            loop {
                if self.eat_keyword("SET") {
                    loop {
                        let p = self.path()?;
                        self.expect_sym("=")?;
                        let v = self.set_value(&p)?;
                        sets.push((p, v));
                        if !self.eat_sym(",") {
                            break;
                        }
                    }
                } else if self.eat_keyword("REMOVE") {
                    loop {
                        removes.push(self.path()?);
                        if !self.eat_sym(",") {
                            break;
                        }
                    }
                } else {
                    break;
                }
            }
            if sets.is_empty() && removes.is_empty() {
                return self.fail("SET or REMOVE");
            }
            self.expect_keyword("WHERE")?;
            let filter = self.expr()?;
            let returning = self.returning()?;
            return Ok(Statement::Update {
                table,
                sets,
                removes,
                filter,
                returning,
            });
        }
        if self.eat_keyword("DELETE") {
            self.expect_keyword("FROM")?;
            let table = self.name()?;
            self.expect_keyword("WHERE")?;
            let filter = self.expr()?;
            let returning = self.returning()?;
            return Ok(Statement::Delete {
                table,
                filter,
                returning,
            });
        }
        // DynamoDB's words for a statement that starts with anything else.
        Err(ParseError {
            message: "Expected data manipulation".into(),
            at: self
                .toks
                .get(self.i)
                .map(|(_, pos)| line_col(self.text, *pos)),
            semantic: false,
        })
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Word(w) => format!("'{w}'"),
        Tok::Quoted(q) => format!("identifier \"{q}\""),
        Tok::Str(s) => format!("string '{s}'"),
        Tok::Num(n) => format!("number {n}"),
        Tok::Sym(s) => format!("'{s}'"),
        Tok::Param => "'?'".into(),
    }
}

/// Parse one statement; returns it and how many `?` parameters it has.
pub fn parse(text: &str) -> Result<(Statement, usize), ParseError> {
    let toks = lex(text)?;
    let mut p = Parser {
        text,
        toks,
        i: 0,
        params: 0,
        depth: 0,
    };
    let stmt = p.statement()?;
    p.eat_sym(";");
    if p.i < p.toks.len() {
        return p.fail("end of statement");
    }
    Ok((stmt, p.params))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn name(s: &str) -> PathElem {
        PathElem::Name(s.into())
    }

    #[test]
    fn parses_every_statement_kind() {
        let (s, n) = parse(r#"SELECT a.b[2], "c d" FROM "t"."idx" WHERE pk = ? AND begins_with("sk", 'x') AND size(l) > 3 AND m IS NOT MISSING AND v IN [1, 2] AND NOT (q BETWEEN -1 AND 2.5e3 OR w <> 'it''s') ORDER BY sk DESC"#).unwrap();
        assert_eq!(n, 1);
        let Statement::Select(sel) = s else { panic!() };
        assert_eq!(sel.table, "t");
        assert_eq!(sel.index.as_deref(), Some("idx"));
        assert_eq!(
            sel.projection.unwrap(),
            vec![
                Path(vec![name("a"), name("b"), PathElem::Index(2)]),
                Path(vec![name("c d")])
            ]
        );
        assert!(matches!(sel.order_by, Some((_, true))));
        let (s, _) = parse("insert into t value {'pk': 'a', 'n': 1, 'l': [1, 'x'], 's': <<'a','b'>>, 'm': {'z': null, 'b': TRUE}}").unwrap();
        assert!(matches!(s, Statement::Insert { .. }));
        let (s, n) = parse("UPDATE t SET a = 1, b = b + ?, c = list_append(c, [1]) SET d = set_add(d, <<'x'>>) REMOVE e, f[1] WHERE pk = 'k' AND x = 1 RETURNING ALL NEW *").unwrap();
        assert_eq!(n, 1);
        let Statement::Update {
            sets,
            removes,
            returning,
            ..
        } = s
        else {
            panic!()
        };
        assert_eq!(sets.len(), 4);
        assert_eq!(removes.len(), 2);
        assert_eq!(returning, Some(Returning::AllNew));
        let (s, _) = parse("DELETE FROM \"t\" WHERE pk = 'k' RETURNING ALL OLD *;").unwrap();
        assert!(matches!(
            s,
            Statement::Delete {
                returning: Some(Returning::AllOld),
                ..
            }
        ));
    }

    #[test]
    fn reports_where_it_fails() {
        let e = parse("SELECTT * FROMM \"t\"").unwrap_err();
        assert_eq!(e.message, "Expected data manipulation");
        assert_eq!(e.at, Some((1, 1)));
        let e = parse("SELECT * FROM t WHERE").unwrap_err();
        assert_eq!(e.message, "Expected a name, found end of statement");
        let e = parse("SELECT * FROM t\nWHERE a = 'x").unwrap_err();
        assert_eq!(e.at, Some((2, 11)));
        assert!(parse("UPDATE t WHERE pk = 1").is_err());
        assert!(parse("SELECT * FROM t extra").is_err());
        let deep = format!(
            "SELECT * FROM t WHERE {}a = 1{}",
            "(".repeat(500),
            ")".repeat(500)
        );
        assert!(parse(&deep).is_err());
    }
}
