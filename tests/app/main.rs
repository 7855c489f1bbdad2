//! Integration tests: the real store on SQLite, or on PostgreSQL when VIBE_TEST_DATABASE_URL
//! names a server (each test then gets a database of its own), and the real binary.

mod analytics;
mod api;
mod cli;
mod digests;
mod edge;
mod experiments;
mod fake_slack;
mod fake_socket;
mod helpers;
mod import;
mod layers;
mod local_days;
mod manifest;
mod replicas;
mod scheduler;
mod slack;
mod slack_app;
mod slack_interactive;
mod store;
