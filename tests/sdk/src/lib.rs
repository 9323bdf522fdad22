//! Black-box tests of the ferrodyn binary live in `tests/`.
