#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::expect_used
)]

use std::collections::HashMap;

use ferrodyn_types::{AttributeValue as V, Item, Number};

use crate::eval::{eval, project};
use crate::update::apply;
use crate::{ExprKind, Resolver};

fn n(s: &str) -> V {
    V::N(Number::parse(s).unwrap())
}
fn s(x: &str) -> V {
    V::S(x.into())
}

fn item() -> Item {
    let mut m = Item::new();
    m.insert("x".into(), s("y"));
    let mut it = Item::new();
    it.insert("pk".into(), s("a"));
    it.insert("n".into(), n("5"));
    it.insert("m".into(), V::M(m));
    it.insert("l".into(), V::L(vec![n("1"), s("two"), n("3")]));
    it.insert("ss".into(), V::Ss(vec!["p".into(), "q".into()]));
    it
}

fn values(pairs: &[(&str, V)]) -> Item {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn cond(src: &str, vals: &Item) -> Result<bool, String> {
    let mut r = Resolver::new(None, Some(vals));
    let c = r.condition(src, ExprKind::Condition).map_err(|e| e.0)?;
    Ok(eval(&c, &item()))
}

#[test]
fn comparisons_and_logic() {
    let v = values(&[(":five", n("5")), (":six", n("6")), (":y", s("y"))]);
    assert_eq!(cond("n = :five", &v), Ok(true));
    assert_eq!(cond("n < :six AND m.x = :y", &v), Ok(true));
    assert_eq!(cond("n > :six OR NOT n <> :five", &v), Ok(true));
    assert_eq!(cond("n BETWEEN :five AND :six", &v), Ok(true));
    assert_eq!(cond("n IN (:six, :five)", &v), Ok(true));
    assert_eq!(cond("nothere <> :five", &v), Ok(true));
    assert_eq!(cond("nothere = :five", &v), Ok(false));
    // different types: false, not an error
    assert_eq!(cond("n = :y", &v), Ok(false));
    assert_eq!(cond("n < :y", &v), Ok(false));
}

#[test]
fn functions() {
    let v = values(&[
        (":t", s("N")),
        (":p", s("tw")),
        (":q", s("q")),
        (":three", n("3")),
    ]);
    assert_eq!(
        cond(
            "attribute_exists(m.x) AND attribute_not_exists(m.z)",
            &Item::new()
        ),
        Ok(true)
    );
    assert_eq!(
        cond("attribute_type(n, :t)", &values(&[(":t", s("N"))])),
        Ok(true)
    );
    assert_eq!(
        cond("begins_with(l[1], :p)", &values(&[(":p", s("tw"))])),
        Ok(true)
    );
    assert_eq!(
        cond("contains(ss, :q)", &values(&[(":q", s("q"))])),
        Ok(true)
    );
    assert_eq!(
        cond("size(l) = :three", &values(&[(":three", n("3"))])),
        Ok(true)
    );
    let _ = v;
}

#[test]
fn error_messages() {
    let v = values(&[(":v", n("1"))]);
    assert_eq!(
        cond("", &v).unwrap_err(),
        "Invalid ConditionExpression: The expression can not be empty;"
    );
    assert_eq!(
        cond("status = :v", &v).unwrap_err(),
        "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: status"
    );
    assert_eq!(
        cond("a = :w", &v).unwrap_err(),
        "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :w"
    );
    assert_eq!(
        cond("#a = :v", &v).unwrap_err(),
        "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #a"
    );
    assert_eq!(
        cond("a = :v AND", &v).unwrap_err(),
        "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"AND\""
    );
    let mut r = Resolver::new(None, Some(&v));
    r.condition("attribute_exists(a)", ExprKind::Condition)
        .unwrap();
    assert_eq!(
        r.finish().unwrap_err().0,
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:v}"
    );
    let mut r = Resolver::new(None, None);
    assert_eq!(
        r.projection("!!! INVALID !!!").unwrap_err().0,
        "Invalid ProjectionExpression: Syntax error; token: \"!\", near: \"!!\""
    );
}

fn upd(src: &str, vals: &Item) -> Result<Item, String> {
    let names: HashMap<String, String> = HashMap::new();
    let mut r = Resolver::new(Some(&names), Some(vals));
    let u = r.update(src).map_err(|e| e.0)?;
    let mut it = item();
    apply(&u, &mut it).map_err(|e| e.0)?;
    Ok(it)
}

#[test]
fn updates() {
    let v = values(&[
        (":one", n("1")),
        (":l", V::L(vec![n("9")])),
        (":ss", V::Ss(vec!["q".into(), "r".into()])),
    ]);
    let it = upd(
        "SET n = n + :one, c = if_not_exists(c, :one), l = list_append(l, :l) REMOVE m.x ADD ss :ss",
        &v,
    )
    .unwrap();
    assert_eq!(it["n"], n("6"));
    assert_eq!(it["c"], n("1"));
    assert_eq!(it["l"], V::L(vec![n("1"), s("two"), n("3"), n("9")]));
    assert_eq!(it["m"], V::M(Item::new()));
    assert_eq!(it["ss"], V::Ss(vec!["p".into(), "q".into(), "r".into()]));

    let it = upd("REMOVE l[0], l[2]", &Item::new()).unwrap();
    assert_eq!(it["l"], V::L(vec![s("two")]));

    assert_eq!(
        upd("SET a = :one, a.b = :one", &values(&[(":one", n("1"))])).unwrap_err(),
        "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]"
    );
    assert_eq!(
        upd("SET pk = pk + :one", &values(&[(":one", n("1"))])).unwrap_err(),
        "An operand in the update expression has an incorrect data type"
    );
    assert_eq!(
        upd("SET z.y = :one", &values(&[(":one", n("1"))])).unwrap_err(),
        "The document path provided in the update expression is invalid for update"
    );
    assert_eq!(
        upd("SET a = :one SET b = :one", &values(&[(":one", n("1"))])).unwrap_err(),
        "Invalid UpdateExpression: The \"SET\" section can only be used once in an update expression;"
    );
}

#[test]
fn projections() {
    let mut r = Resolver::new(None, None);
    let p = r.projection("m.x, l[2], l[0], nope").unwrap();
    let out = project(&item(), &p);
    let mut m = Item::new();
    m.insert("x".into(), s("y"));
    assert_eq!(out["m"], V::M(m));
    assert_eq!(out["l"], V::L(vec![n("1"), n("3")]));
    assert_eq!(out.len(), 2);
}

#[test]
#[ignore = "manual: STACK_CASE=i STACK_KB=n cargo test -p ferrodyn-expr --lib stack_probe -- --ignored"]
fn stack_probe() {
    let cases = [
        format!("{}a = :v{}", "(".repeat(400), ")".repeat(400)),
        format!("{}a = :v{}", "(a=:v AND ".repeat(300), ")".repeat(300)),
        "a(".repeat(2048),
        format!("{}a = :v", "NOT ".repeat(1000)),
        format!("{}a{} = :v", "size(".repeat(600), ")".repeat(600)),
        format!("{}a = :v{}", "NOT (".repeat(300), ")".repeat(300)),
    ];
    let i: usize = std::env::var("STACK_CASE").unwrap().parse().unwrap();
    let kb: usize = std::env::var("STACK_KB").unwrap().parse().unwrap();
    let src = cases[i].clone();
    std::thread::Builder::new()
        .stack_size(kb << 10)
        .spawn(move || {
            let mut r = Resolver::new(None, None);
            let _ = r.condition(&src, ExprKind::Condition);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn parenthesised_operands() {
    let v = values(&[(":five", n("5")), (":six", n("6"))]);
    assert_eq!(cond("(n) = :five", &v), Ok(true));
    assert_eq!(cond("n = (:five)", &v), Ok(true));
    assert_eq!(cond("(size(l)) < (:five)", &v), Ok(true));
    assert_eq!(cond("(n) BETWEEN (:five) AND (:six)", &v), Ok(true));
    assert_eq!(cond("n IN ((:six), :five)", &v), Ok(true));
    assert_eq!(
        cond("n = ((:five))", &v).unwrap_err(),
        "Invalid ConditionExpression: The expression has redundant parentheses;"
    );
    let it = upd(
        "SET a = (:one + :one), b = ((n)-(:one))",
        &values(&[(":one", n("1"))]),
    )
    .unwrap();
    assert_eq!(it["a"], n("2"));
    assert_eq!(it["b"], n("4"));
}

mod cache {
    use super::*;
    use crate::ExprCache;

    fn cond(c: &ExprCache, src: &str, vals: &Item) -> Result<crate::Cond, String> {
        let mut r = Resolver::new(None, Some(vals)).with_cache(c);
        let out = r.condition(src, ExprKind::Condition).map_err(|e| e.0)?;
        r.finish().map_err(|e| e.0)?;
        Ok(out)
    }

    #[test]
    fn a_hit_fills_in_the_new_values() {
        let c = ExprCache::new();
        let src = "n BETWEEN :lo AND :hi AND pk = :p";
        let a = values(&[(":lo", n("1")), (":hi", n("9")), (":p", s("a"))]);
        let b = values(&[(":lo", n("6")), (":hi", n("7")), (":p", s("a"))]);
        assert!(eval(&cond(&c, src, &a).unwrap(), &item()));
        assert_eq!(c.len(), 1);
        // Same shape, other values: served from the cache, evaluated with the new bounds.
        assert!(!eval(&cond(&c, src, &b).unwrap(), &item()));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn content_checks_run_again_on_a_hit() {
        let c = ExprCache::new();
        let src = "n BETWEEN :lo AND :hi";
        cond(&c, src, &values(&[(":lo", n("1")), (":hi", n("9"))])).unwrap();
        let e = cond(&c, src, &values(&[(":lo", n("9")), (":hi", n("1"))])).unwrap_err();
        assert!(
            e.contains("requires upper bound to be greater than or equal to lower bound"),
            "{e}"
        );
        let src = "attribute_type(n, :t)";
        cond(&c, src, &values(&[(":t", s("N"))])).unwrap();
        let e = cond(&c, src, &values(&[(":t", s("NUMBER"))])).unwrap_err();
        assert!(
            e.contains("Invalid attribute type name found; type: NUMBER"),
            "{e}"
        );
    }

    #[test]
    fn types_are_part_of_the_key() {
        let c = ExprCache::new();
        let src = "begins_with(pk, :p)";
        cond(&c, src, &values(&[(":p", s("a"))])).unwrap();
        let e = cond(&c, src, &values(&[(":p", n("1"))])).unwrap_err();
        assert!(e.contains("Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"), "{e}");
    }

    #[test]
    fn unused_and_undefined_placeholders_are_still_refused() {
        let c = ExprCache::new();
        let src = "pk = :p";
        cond(&c, src, &values(&[(":p", s("a"))])).unwrap();
        let e = cond(&c, src, &values(&[(":p", s("a")), (":q", s("b"))])).unwrap_err();
        assert!(e.contains("unused in expressions: keys: {:q}"), "{e}");
        let e = cond(&c, src, &values(&[(":q", s("b"))])).unwrap_err();
        assert!(e.contains("attribute value: :p"), "{e}");
        // The whole names map is part of the key.
        let names: HashMap<String, String> = [("#k".to_owned(), "pk".to_owned())].into();
        let other: HashMap<String, String> = [("#k".to_owned(), "n".to_owned())].into();
        let v = values(&[(":p", s("a"))]);
        for (m, want) in [(&names, true), (&other, false)] {
            let mut r = Resolver::new(Some(m), Some(&v)).with_cache(&c);
            let got = r.condition("#k = :p", ExprKind::Condition).unwrap();
            assert_eq!(eval(&got, &item()), want);
        }
    }

    #[test]
    fn size_of_a_value_and_ambiguous_values_are_not_cached() {
        let c = ExprCache::new();
        cond(&c, "size(:v) > n", &values(&[(":v", s("abcdefg"))])).unwrap();
        assert_eq!(c.len(), 0);
        let r = cond(&c, "size(:v) > n", &values(&[(":v", s("ab"))])).unwrap();
        assert!(!eval(&r, &item()));
        // Two placeholders with equal values: which leaf is which cannot be told.
        let src = "n = :a OR pk = :b";
        cond(&c, src, &values(&[(":a", s("x")), (":b", s("x"))])).unwrap();
        assert_eq!(c.len(), 0);
        cond(&c, src, &values(&[(":a", n("5")), (":b", s("x"))])).unwrap();
        assert_eq!(c.len(), 1);
        let hit = cond(&c, src, &values(&[(":a", n("4")), (":b", s("a"))])).unwrap();
        assert!(eval(&hit, &item()));
    }

    #[test]
    fn updates_and_projections_are_cached() {
        let c = ExprCache::new();
        for k in 1..4 {
            let v = values(&[(":d", n(&k.to_string()))]);
            let mut r = Resolver::new(None, Some(&v)).with_cache(&c);
            let u = r.update("SET n = n + :d").unwrap();
            r.finish().unwrap();
            let mut it = item();
            apply(&u, &mut it).unwrap();
            assert_eq!(it.get("n"), Some(&n(&(5 + k).to_string())));
            let mut r = Resolver::new(None, None).with_cache(&c);
            let p = r.projection("pk, m.x").unwrap();
            assert_eq!(project(&item(), &p).len(), 2);
        }
        assert_eq!(c.len(), 2);
    }
}
