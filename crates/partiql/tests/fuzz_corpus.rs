//! The fuzz corpus of the `partiql` target, replayed as a regression test.
#![allow(clippy::unwrap_used)]

#[test]
fn fuzz_corpus_replays_without_panics() {
    let corpus = include_str!("fuzz_corpus.jsonl");
    let mut n = 0;
    for line in corpus.lines() {
        let src: String = serde_json::from_str(line).unwrap();
        let _ = ferrodyn_partiql::parse(&src);
        n += 1;
    }
    assert!(n > 1000, "{n} inputs");
}
