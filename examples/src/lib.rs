//! Shared code for the Tidewater examples: a throwaway PostgreSQL database
//! ([`demo`]), a sink that prints records as indented JSON ([`pretty`]), a few
//! command-line options ([`args`]) and the rendering of decoded pgoutput
//! messages as JSON ([`dump`]).

use tokio_util::sync::CancellationToken;

pub mod args;
pub mod demo;
pub mod dump;
pub mod pretty;

/// The text of an error and of its sources that its text does not already
/// include, joined with `": "`.
pub fn error_text(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    text
}

/// A token cancelled on the first Ctrl-C (SIGINT) or SIGTERM, for a pipeline's
/// [`shutdown_token`](tidewater::PipelineBuilder::shutdown_token) and the
/// program's own waits. Installed at the start of `main`, it also keeps a
/// signal arriving early (while a throwaway database starts, or while Kafka
/// is being connected to) from killing the program before it can clean up.
/// Must be called within a Tokio runtime.
pub fn stop_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        // Registered here, before this returns, so that no signal is missed.
        let signals = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        );
        tokio::spawn(async move {
            match signals {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
            eprintln!("stopping (signal received)");
            cancel.cancel();
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("stopping (signal received)");
        cancel.cancel();
    });
    token
}

/// The root README's Rust examples, compiled and run as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
