//! vibe: a Slack-native analytics, optimization and experimentation bot for social-media
//! marketing teams.
//!
//! Layers, from the inside out (each depends only on the ones before it):
//! - [`domain`], [`stats`] and the pure parts of [`analytics`] and [`experiments`]: the core.
//!   No IO, no clock.
//! - [`store`]: sqlx over SQLite or PostgreSQL; the only place that writes SQL.
//! - [`app`]: the command grammar and typed handlers both adapters share.
//! - [`import`], [`demo`]: turn files and generated data into domain records for the store.
//! - [`slack`], [`api`], [`server`]: the Slack adapter, the ingestion API and the HTTP server
//!   that carries both (`vibe serve`).
//! - [`cli`]: the command-line adapter: the application's answers as text or JSON.

pub mod analytics;
pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod demo;
pub mod domain;
pub mod experiments;
pub mod format;
pub mod health;
pub mod heavy;
pub mod import;
pub mod memory;
pub mod metrics;
pub mod scheduler;
pub mod server;
pub mod slack;
pub mod stats;
pub mod store;
