//! The resolved syntax tree: placeholders are already replaced by the names and values
//! they stand for, so evaluation never looks anything up.

use std::fmt;

use ferrodyn_types::AttributeValue;

/// One step of a document path.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    /// A map key (or, as the first step, a top-level attribute name).
    Attr(String),
    /// A list index.
    Index(usize),
}

/// A document path such as `a.b[2].c`. Never empty; the first step is always an `Attr`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Path(pub Vec<Step>);

impl Path {
    /// The top-level attribute this path starts at.
    pub fn root(&self) -> &str {
        match self.0.first() {
            Some(Step::Attr(a)) => a,
            _ => "",
        }
    }

    /// A path of one top-level attribute.
    pub fn attr(name: impl Into<String>) -> Path {
        Path(vec![Step::Attr(name.into())])
    }
}

impl fmt::Display for Path {
    /// DynamoDB's rendering in error messages: `[a, b, [2]]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match s {
                Step::Attr(a) => f.write_str(a)?,
                Step::Index(n) => write!(f, "[{n}]")?,
            }
        }
        f.write_str("]")
    }
}

/// An operand of a condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Path(Path),
    Value(AttributeValue),
    Size(Path),
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// A condition (ConditionExpression, FilterExpression, KeyConditionExpression).
#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    Cmp(CmpOp, Operand, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
    Exists(Path),
    NotExists(Path),
    Type(Path, Operand),
    BeginsWith(Operand, Operand),
    Contains(Operand, Operand),
}

/// An operand on the right-hand side of `SET`.
#[derive(Clone, Debug, PartialEq)]
pub enum SetOperand {
    Path(Path),
    Value(AttributeValue),
    IfNotExists(Path, Box<SetOperand>),
    ListAppend(Box<SetOperand>, Box<SetOperand>),
}

/// The value assigned by one `SET` action.
#[derive(Clone, Debug, PartialEq)]
pub enum SetValue {
    Operand(SetOperand),
    Plus(SetOperand, SetOperand),
    Minus(SetOperand, SetOperand),
}

/// One action of an UpdateExpression.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Set(Path, SetValue),
    Remove(Path),
    Add(Path, AttributeValue),
    Delete(Path, AttributeValue),
}

impl Action {
    pub fn path(&self) -> &Path {
        match self {
            Action::Set(p, _) | Action::Remove(p) | Action::Add(p, _) | Action::Delete(p, _) => p,
        }
    }
}

/// A whole UpdateExpression, actions in the order written.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Update {
    pub actions: Vec<Action>,
}

impl Update {
    /// The paths the update writes.
    pub fn paths(&self) -> Vec<Path> {
        self.actions.iter().map(|a| a.path().clone()).collect()
    }

    /// For each written path, what UPDATED_OLD / UPDATED_NEW return: the path itself (list
    /// elements come back as a list of just those elements, in index order, as AWS
    /// answers; DynamoDB Local returns the whole list).
    pub fn returned_paths(&self) -> Vec<(Path, Path)> {
        self.actions
            .iter()
            .map(|a| (a.path().clone(), a.path().clone()))
            .collect()
    }
}
