//! The parser never panics, whatever it is given.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use proptest::prelude::*;

const WORDS: &[&str] = &[
    "SELECT",
    "INSERT",
    "INTO",
    "VALUE",
    "UPDATE",
    "SET",
    "REMOVE",
    "DELETE",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "BETWEEN",
    "IS",
    "MISSING",
    "ORDER",
    "BY",
    "DESC",
    "RETURNING",
    "ALL",
    "OLD",
    "NEW",
    "*",
    "\"t\"",
    "pk",
    "a.b",
    "[1]",
    "?",
    "'s'",
    "1.5",
    "-",
    "{",
    "}",
    "[",
    "]",
    "<<",
    ">>",
    "(",
    ")",
    ",",
    ":",
    "=",
    "<>",
    "<=",
    ">",
    "begins_with",
    "size",
    "list_append",
    "set_add",
    "TRUE",
    "NULL",
    ".",
    "'",
    "\"",
];

proptest! {
    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
        let _ = ferrodyn_partiql::parse(&s);
    }

    #[test]
    fn token_soup_never_panics(words in proptest::collection::vec(0..WORDS.len(), 0..60)) {
        let text: Vec<&str> = words.iter().map(|i| WORDS[*i]).collect();
        let _ = ferrodyn_partiql::parse(&text.join(" "));
    }
}
