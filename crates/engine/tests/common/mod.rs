//! The backend the engine tests run on: the memory backend, or a fresh schema on the
//! PostgreSQL database named by FERRODYN_TEST_POSTGRES when FERRODYN_TEST_ENGINE_BACKEND is
//! `postgres` (e.g. `FERRODYN_TEST_ENGINE_BACKEND=postgres
//! FERRODYN_TEST_POSTGRES=$(scripts/postgres-up) cargo test -p ferrodyn-engine`), or a fresh
//! durable fjall database in a temporary directory when it is `fjall`.
#![allow(dead_code, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use ferrodyn_storage::memory::MemoryBackend;
use ferrodyn_storage::Backend;

pub fn backend() -> Arc<dyn Backend> {
    backend_with_lanes(1)
}

/// [`backend`], with `lanes` commit lanes where the backend can have several (postgres).
pub fn backend_with_lanes(lanes: usize) -> Arc<dyn Backend> {
    match std::env::var("FERRODYN_TEST_ENGINE_BACKEND").as_deref() {
        Ok("postgres") => {
            let url = std::env::var("FERRODYN_TEST_POSTGRES")
                .expect("FERRODYN_TEST_ENGINE_BACKEND=postgres needs FERRODYN_TEST_POSTGRES");
            Arc::new(
                ferrodyn_storage_postgres::PostgresBackend::connect_in_fresh_schema(
                    &url,
                    ferrodyn_storage_postgres::Options {
                        commit_lanes: lanes,
                        ..ferrodyn_storage_postgres::Options::default()
                    },
                )
                .expect("PostgreSQL test database"),
            )
        }
        Ok("fjall") => {
            // A fresh durable database per engine (left in the system temporary directory).
            let dir = tempfile::tempdir().expect("temporary directory");
            let backend = ferrodyn_storage_fjall::FjallBackend::open(dir.path(), 8 << 20)
                .expect("fjall database");
            std::mem::forget(dir);
            Arc::new(backend)
        }
        Ok("memory") | Err(_) => Arc::new(MemoryBackend::new()),
        Ok(other) => {
            panic!("FERRODYN_TEST_ENGINE_BACKEND={other}: expected memory, fjall or postgres")
        }
    }
}
