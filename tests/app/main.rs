//! Integration tests: the real store on SQLite, or on PostgreSQL when VIBE_TEST_DATABASE_URL
//! names a server (each test then gets a database of its own), and the real binary.

mod analytics;
mod cli;
mod experiments;
mod helpers;
mod import;
mod store;
