//! The integration tests, one binary (as ripgrep's): the crate is linked once, not once per
//! file. Each module is a part of the program seen from outside:
//!
//! - `arrival_order`: the same articles in any files and order give the same stories;
//! - `articles`: reading an article's page, politely and safely, and its main text;
//! - `article_queue`: the pages read beside ingest, and the stories told from them;
//! - `cli`: the `storybot` binary as a user runs it, on a fresh folder and the shipped config;
//! - `digest_payload`: Discord payloads within every limit, valid against Discord's OpenAPI;
//! - `discord_bot`: the real serenity/poise client against the fake Discord;
//! - `feeds`: feeds through the real fetcher from a real HTTP server, and feed fixtures;
//! - `fleet`: several processes on one store: shards, one leader, shared delivery, status;
//! - `hardening`: the faults an outside audit found, each kept as a test of its class;
//! - `hardening_surfaces`: the second audit's, on the web server, the store and the config;
//! - `layers`: the imports of every module point down the layers of ARCHITECTURE.md;
//! - `llm`: key points from a language model, against a fake OpenAI-compatible server;
//! - `llm_queue`: the queue that asks for them beside ingest, its cap and its backoff;
//! - `outlets_table`: the shipped ratings table is exactly what the derivation gives;
//! - `store_and_search`: SQLite (and Postgres) store, import, search, determinism;
//! - `story_view`: one view of a story on every surface (written key points everywhere);
//! - `subscriptions`: subscriptions delivered exactly once, across kills and DST;
//! - `subscription_options`: forum posts, threads, role pings, filters, blindspot alerts,
//!   the daily limit and `/subscription edit`;
//! - `web`: the story pages, operators' pages and JSON over HTTP, and in a real browser.

mod common;

#[path = "suite/arrival_order.rs"]
mod arrival_order;
#[path = "suite/article_queue.rs"]
mod article_queue;
#[path = "suite/articles.rs"]
mod articles;
#[path = "suite/cli.rs"]
mod cli;
#[path = "suite/digest_payload.rs"]
mod digest_payload;
#[path = "suite/discord_bot.rs"]
mod discord_bot;
#[path = "suite/feeds.rs"]
mod feeds;
#[path = "suite/fleet.rs"]
mod fleet;
#[path = "suite/hardening.rs"]
mod hardening;
#[path = "suite/hardening_surfaces.rs"]
mod hardening_surfaces;
#[path = "suite/layers.rs"]
mod layers;
#[path = "suite/llm.rs"]
mod llm;
#[path = "suite/llm_queue.rs"]
mod llm_queue;
#[path = "suite/outlets_table.rs"]
mod outlets_table;
#[path = "suite/store_and_search.rs"]
mod store_and_search;
#[path = "suite/story_view.rs"]
mod story_view;
#[path = "suite/subscription_options.rs"]
mod subscription_options;
#[path = "suite/subscriptions.rs"]
mod subscriptions;
#[path = "suite/web.rs"]
mod web;
