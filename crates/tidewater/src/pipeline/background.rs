//! The pipeline's background tasks: the offset writer, the
//! `heartbeat.action.query` runner and the signal listener.

use std::sync::Arc;
use std::time::Duration;

use tidewater_postgres::SourceConfig;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::metrics::{ErrorKind, Metrics};
use crate::offsets::{OffsetError, OffsetStore, SourceOffset};

/// Writes the delivered position every `every` (when it changed), at once
/// when the snapshot's state changed (a finished snapshot must not be
/// redone after a crash), and once more when the sink stage ends. Each
/// stored offset is published on `published`. Failures in between are
/// logged and retried at the next interval; the last write's failure is
/// returned.
pub(super) async fn write_offsets<O: OffsetStore>(
    mut store: O,
    mut positions: watch::Receiver<Option<SourceOffset>>,
    every: Duration,
    mut stored: Option<SourceOffset>,
    published: watch::Sender<Option<SourceOffset>>,
) -> (Option<SourceOffset>, Result<(), OffsetError>) {
    let every = every.max(Duration::from_millis(1));
    let mut ticker = tokio::time::interval_at(Instant::now() + every, every);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let due = tokio::select! {
            _ = ticker.tick() => true,
            changed = positions.changed() => {
                if changed.is_err() {
                    break;
                }
                // A snapshot that started or finished is stored without waiting.
                positions.borrow().as_ref().is_some_and(|current| {
                    stored.as_ref().is_none_or(|s| {
                        std::mem::discriminant(&s.snapshot) != std::mem::discriminant(&current.snapshot)
                    })
                })
            }
        };
        if !due {
            continue;
        }
        let current = positions.borrow().clone();
        if let Some(offset) = current.filter(|c| stored.as_ref() != Some(c)) {
            match store.store(&offset).await {
                Ok(()) => {
                    tracing::debug!(lsn = %offset.lsn, snapshot = ?offset.snapshot, "offset stored");
                    published.send_replace(Some(offset.clone()));
                    stored = Some(offset);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "storing the offset failed; retrying at the next interval")
                }
            }
        }
    }
    let current = positions.borrow().clone();
    let result = match current.filter(|c| stored.as_ref() != Some(c)) {
        Some(offset) => match store.store(&offset).await {
            Ok(()) => {
                published.send_replace(Some(offset.clone()));
                stored = Some(offset);
                Ok(())
            }
            Err(e) => Err(e),
        },
        None => Ok(()),
    };
    (stored, result)
}

/// Runs `heartbeat.action.query` every `every` on its own SQL session,
/// reconnecting after failures (logged and counted as source errors).
pub(super) async fn heartbeat_action(
    config: SourceConfig,
    query: String,
    every: Duration,
    stop: CancellationToken,
    metrics: Arc<Metrics>,
) {
    let mut ticker = tokio::time::interval_at(Instant::now() + every, every);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut client: Option<tokio_postgres::Client> = None;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        if client
            .as_ref()
            .is_none_or(tokio_postgres::Client::is_closed)
        {
            match tidewater_postgres::connect_sql(&config).await {
                Ok(c) => client = Some(c),
                Err(e) => {
                    metrics.add_errors(ErrorKind::Source, 1);
                    tracing::warn!(error = %e, "heartbeat.action.query: cannot connect; retrying at the next heartbeat");
                    continue;
                }
            }
        }
        if let Some(c) = &client
            && let Err(e) = c.batch_execute(&query).await
        {
            metrics.add_errors(ErrorKind::Source, 1);
            tracing::warn!(error = %e, "heartbeat.action.query failed; retrying at the next heartbeat");
            client = None;
        }
    }
}

/// Cancels `token` on Ctrl-C or SIGTERM.
pub(super) async fn on_signal(token: CancellationToken) {
    // A Ctrl-C listener that cannot be installed never fires.
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    () = ctrl_c => tracing::info!("Ctrl-C: shutting down"),
                    _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; Ctrl-C still stops the pipeline");
                ctrl_c.await;
                tracing::info!("Ctrl-C: shutting down");
            }
        }
    }
    #[cfg(not(unix))]
    {
        ctrl_c.await;
        tracing::info!("Ctrl-C: shutting down");
    }
    token.cancel();
}
