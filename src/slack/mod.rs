//! The Slack adapter: the only code that knows Slack's JSON and Block Kit.
//!
//! - [`http`]: the verified endpoints (`/slack/commands`, `/slack/interactions`, `/slack/events`).
//! - [`commands`]: what a command or a click does, shared by HTTP and Socket Mode.
//! - [`command`]: `/vibe …` text through the CLI's grammar; help generated from it.
//! - [`render`], [`blocks`]: messages from the engines' data, within Block Kit's limits.
//! - [`outbox`]: delivering queued channel messages exactly once, as far as Slack allows.
//! - [`web`]: slack-morphism's Web API client with timeouts and sorted errors.
//! - [`actions`]: typed button actions: role check, one idempotent transition, the message
//!   updated in place, an audit row.
//! - [`modal`]: the `/vibe abtest new` modal and its text form, validated by the engine.
//! - [`notify`]: concluded tests and new alerts handed to the outbox.
//! - [`digest`]: the daily digest and the weekly deep dive, queued for their channel.
//! - [`roles`]: viewer, analyst, approver, admin from config, user groups looked up.
//! - [`socket`]: Socket Mode, feeding the same handlers as HTTP.

pub mod actions;
pub mod answers;
pub mod blocks;
pub mod command;
pub mod commands;
pub mod digest;
pub mod http;
pub mod modal;
pub mod notify;
pub mod outbox;
pub mod render;
pub mod roles;
pub mod socket;
pub mod web;
