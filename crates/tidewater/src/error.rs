//! Why a [`Pipeline`](crate::Pipeline) could not be built or stopped with an error.

use std::time::Duration;

use tidewater_connect::ConnectError;
use tidewater_envelope::EnvelopeError;
use tidewater_kafka::SinkError;
use tidewater_transforms::TransformError;

use crate::delivery::Position;
use crate::offsets::OffsetError;

/// A boxed error of a [`ChangeSource`](tidewater_postgres::ChangeSource) (its
/// associated `Error` type).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Where a record failed, in Kafka Connect's terms (the `__connect.errors.stage`
/// header of dead-letter records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorStage {
    /// A transform (`TRANSFORMATION`).
    Transformation,
    /// The key converter (`KEY_CONVERTER`).
    KeyConverter,
    /// The value converter (`VALUE_CONVERTER`).
    ValueConverter,
    /// The header converter (`HEADER_CONVERTER`).
    HeaderConverter,
}

impl ErrorStage {
    /// Kafka Connect's name of the stage (`TRANSFORMATION`, `KEY_CONVERTER`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorStage::Transformation => "TRANSFORMATION",
            ErrorStage::KeyConverter => "KEY_CONVERTER",
            ErrorStage::ValueConverter => "VALUE_CONVERTER",
            ErrorStage::HeaderConverter => "HEADER_CONVERTER",
        }
    }
}

impl std::fmt::Display for ErrorStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a pipeline could not be built or stopped with an error.
///
/// A pipeline that stops with an error has acknowledged to the source exactly
/// what the sink delivered and written that position to the offset store
/// (when the store itself works), so a restart resumes without loss.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The pipeline's parts or settings do not fit together.
    #[error("pipeline configuration: {what}: {reason}")]
    Config {
        /// The part or setting (for example `max.queue.size`).
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// The source could not be started.
    #[error("starting the source failed: {source}")]
    SourceStart {
        /// The source's error.
        #[source]
        source: BoxError,
    },
    /// The source failed while streaming.
    #[error("the source failed: {source}")]
    Source {
        /// The source's error.
        #[source]
        source: BoxError,
    },
    /// An event could not be turned into records
    /// (`event.processing.failure.handling.mode=fail`).
    #[error("event at position {position} ({table}) could not become a record: {source}")]
    Envelope {
        /// The event's position.
        position: Position,
        /// `schema.table`, or `-` for events of no table.
        table: String,
        /// The envelope builder's error.
        #[source]
        source: Box<EnvelopeError>,
    },
    /// A record failed a transform (`errors.tolerance=none`).
    #[error("record for topic {topic} at position {}: {source}", position_text(*position))]
    Transform {
        /// The record's topic before the transforms.
        topic: String,
        /// The position of the event behind the record (`None` for heartbeats).
        position: Option<Position>,
        /// The transform's error (it names the transform's alias).
        #[source]
        source: Box<TransformError>,
    },
    /// A record's key or value could not be serialized (`errors.tolerance=none`).
    #[error("{stage} failed for topic {topic} at position {}: {source}", position_text(*position))]
    Converter {
        /// `KEY_CONVERTER`, `VALUE_CONVERTER` or `HEADER_CONVERTER`.
        stage: ErrorStage,
        /// The record's topic.
        topic: String,
        /// The position of the event behind the record (`None` for heartbeats).
        position: Option<Position>,
        /// The converter's error.
        #[source]
        source: Box<ConnectError>,
    },
    /// The sink failed and no sink factory was given to replace it, or the
    /// failure cannot be fixed by retrying.
    #[error("the sink failed: {source}")]
    Sink {
        /// The sink's error.
        #[source]
        source: Box<SinkError>,
    },
    /// The sink kept failing for `errors.retry.timeout`.
    #[error(
        "the sink kept failing: {attempts} attempt(s) to replace it within {}ms (errors.retry.timeout); last error: {source}",
        elapsed.as_millis()
    )]
    SinkRetriesExhausted {
        /// Attempts made to build a new sink.
        attempts: u32,
        /// Time spent retrying.
        elapsed: Duration,
        /// The last error.
        #[source]
        source: Box<SinkError>,
    },
    /// The offset store failed.
    #[error("offset store: {0}")]
    Offsets(#[from] Box<OffsetError>),
    /// A task of the pipeline ended abnormally (a panic in user code, for
    /// example in a custom transform or sink).
    #[error("the pipeline's {task} task ended abnormally: {reason}")]
    Task {
        /// Which task (`source`, `convert`, `sink`, `offsets`).
        task: &'static str,
        /// What happened.
        reason: String,
    },
}

fn position_text(position: Option<Position>) -> String {
    position.map_or_else(|| "-".to_owned(), |p| p.to_string())
}

impl From<OffsetError> for PipelineError {
    fn from(error: OffsetError) -> Self {
        PipelineError::Offsets(Box::new(error))
    }
}

impl PipelineError {
    pub(crate) fn config(what: impl Into<String>, reason: impl Into<String>) -> Self {
        PipelineError::Config {
            what: what.into(),
            reason: reason.into(),
        }
    }
}
