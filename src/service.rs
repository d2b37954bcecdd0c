//! What every long-running process starts, written once for `storybot run` (the bot, in
//! [`crate::discord`]) and `storybot ingest` (in [`crate::cli`]): the leader's lock (taken at
//! once on SQLite, where a second service process is refused; campaigned for on Postgres),
//! this process's row in the process table with its heartbeat, and the leader's work while
//! this process leads: feed ingest when feeds are configured (and the reading of the articles'
//! pages beside it, unless `[articles]` is off), written key points when a
//! model is, and what the front end adds (the bot's subscription matching). The front end
//! starts its own workers beside these ([`Service::workers`]) and stops them all with
//! [`Service::shutdown`], in the order they were started.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::app::App;
use crate::config::Shards;
use crate::fleet::leader::{self, Campaign};
use crate::fleet::{FleetError, Member};
use crate::ingest::poll::Poller;
use crate::workers::Workers;

/// Why a service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Fleet(#[from] FleetError),
    #[error("cannot use the language model ([llm])")]
    Llm(#[from] crate::llm::LlmError),
    #[error("cannot set up the feed fetcher")]
    Feeds(#[source] crate::ingest::feeds::FeedError),
}

/// Leader's work a front end adds, started each time this process becomes the leader; it is
/// given the signal that fires after every ingest cycle.
pub type LeaderWork = Arc<dyn Fn(&mut Workers, Arc<Notify>) + Send + Sync>;

/// What a service process runs on.
pub struct Plan {
    /// The command, as the process table shows it (`run`, `ingest`).
    pub role: &'static str,
    /// The gateway shards this process holds, for the process table.
    pub shards: Option<Shards>,
    /// Work the leader does beside ingest and written key points.
    pub lead: Option<LeaderWork>,
}

/// A started service: its workers, and this process in the process table.
pub struct Service {
    workers: Workers,
    pub member: Arc<Member>,
}

impl Service {
    /// Takes (or campaigns for) the leader's lock, joins the process table and starts the
    /// heartbeat and the leadership loop. Fails before anything runs when another service
    /// holds a SQLite store, or the model or feed settings cannot work.
    pub async fn start(app: &App, plan: Plan) -> Result<Service, ServiceError> {
        let poller = if app.settings.feeds.is_empty() {
            None
        } else {
            let p = Poller::new(app.settings.clone(), app.outlets.clone(), app.store.clone())
                .map_err(ServiceError::Feeds)?;
            Some(p)
        };
        // Fails at start-up (a missing API key, say), not once leading.
        crate::llm_queue::check(app)?;
        let mut campaign = Campaign::new(&app.store);
        let lock = leader::take_or_refuse(&app.store, &mut campaign).await?;
        let member = Member::join(&app.store, plan.role, plan.shards).await?;
        let mut workers = Workers::new();
        let m = member.clone();
        workers.spawn("process table", move |stop| m.clone().heartbeat(stop));
        let lead = {
            let (app, extra) = (app.clone(), plan.lead);
            move || leader_work(&app, poller.clone(), extra.clone())
        };
        leader::spawn(
            &mut workers,
            member.clone(),
            &app.store,
            (campaign, lock),
            lead,
        );
        Ok(Service { workers, member })
    }

    /// Where the front end starts its own workers; they stop after these, in order.
    pub fn workers(&mut self) -> &mut Workers {
        &mut self.workers
    }

    /// Stops every worker (work under way finishes), the leader's last.
    pub async fn shutdown(self) {
        self.workers.shutdown().await;
    }
}

/// The leader's work: feed ingest (with its article pages), written key points, and the
/// front end's own.
fn leader_work(app: &App, poller: Option<Poller>, extra: Option<LeaderWork>) -> Workers {
    let mut workers = Workers::new();
    let ingested = Arc::new(Notify::new());
    let reads_feeds = poller.is_some();
    if let Some(poller) = poller {
        let (app, ingested) = (app.clone(), ingested.clone());
        workers.spawn("feed ingest", move |stop| {
            let (app, poller, ingested) = (app.clone(), poller.clone(), ingested.clone());
            async move {
                crate::ingest::poll::run(&poller, &app, stop, |r| {
                    app.count_cycle(r);
                    ingested.notify_one();
                })
                .await;
            }
        });
    }
    if reads_feeds {
        if let Err(e) = crate::page_queue::spawn(&mut workers, app) {
            tracing::error!(error = %crate::error::Chain(&e), "cannot start reading article pages");
        }
    }
    if let Err(e) = crate::llm_queue::spawn(&mut workers, app) {
        tracing::error!(error = %crate::error::Chain(&e), "cannot start the written key points");
    }
    if let Some(extra) = extra {
        extra(&mut workers, ingested);
    }
    workers
}
