//! The limit in the W1 benchmark: a bare axum server that answers every POST to
//! /slack/commands with a fixed JSON body (the same bytes vibe answers `/vibe help` with),
//! without verifying, parsing or deciding anything.
//!
//! cargo run --release --example axum_hello -- ADDR REPLY.json

use axum::body::Bytes;
use axum::http::header;
use axum::routing::post;
use axum::Router;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:3901".into());
    let reply: &'static str = match args.next() {
        Some(path) => Box::leak(std::fs::read_to_string(path)?.into_boxed_str()),
        None => "{\"text\":\"hello\"}",
    };
    let app =
        Router::new().route(
            "/slack/commands",
            post(move |_body: Bytes| async move {
                ([(header::CONTENT_TYPE, "application/json")], reply)
            }),
        );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}
