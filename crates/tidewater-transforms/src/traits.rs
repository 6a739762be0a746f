//! The two traits every transform and predicate implements.

use tidewater_connect::ConnectRecord;

use crate::error::Result;

/// A single message transform: one record in, zero or one record out.
///
/// `Ok(None)` drops the record (a filter, or a Debezium tombstone that
/// `ExtractNewRecordState` is told to drop). An error stops the pipeline
/// for this record; a transform never panics on a record.
///
/// Implement it for your own type and put it in a
/// [`TransformChain`](crate::TransformChain) next to the built-in ones.
///
/// ```
/// use std::sync::Arc;
/// use tidewater_connect::ConnectRecord;
/// use tidewater_transforms::{Result, Transform, TransformChain};
///
/// /// Upper-cases the topic name.
/// struct Shout;
/// impl Transform for Shout {
///     fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
///         record.topic = Arc::from(record.topic.to_uppercase());
///         Ok(Some(record))
///     }
/// }
///
/// let chain = TransformChain::new().with("shout", Shout);
/// let out = chain.apply(ConnectRecord::new(Arc::from("orders"), None, None, None, None))?;
/// assert_eq!(out.map(|r| r.topic), Some(Arc::from("ORDERS")));
/// # Ok::<(), tidewater_transforms::TransformError>(())
/// ```
pub trait Transform: Send + Sync {
    /// Transforms one record.
    fn apply(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>>;

    /// Transforms the record in `slot` where it lies, leaving `None` there
    /// when the record is dropped (an empty slot stays empty). This is what
    /// [`TransformChain`](crate::TransformChain) calls: a record is large
    /// enough that moving it in and out of every transform shows in the
    /// chain's time.
    ///
    /// The default moves the record through [`apply`](Self::apply), so
    /// implementing `apply` alone is enough; a transform that rewrites parts
    /// of a record can implement this too, with the same behaviour. After an
    /// error the slot's content is unspecified (the record is lost, as when
    /// `apply` fails).
    fn apply_in_place(&self, slot: &mut Option<ConnectRecord>) -> Result<()> {
        if let Some(record) = slot.take() {
            *slot = self.apply(record)?;
        }
        Ok(())
    }
}

/// A condition on a record that decides whether a transform applies
/// (`transforms.<alias>.predicate`, possibly negated).
pub trait Predicate: Send + Sync {
    /// Whether the record matches.
    fn test(&self, record: &ConnectRecord) -> bool;
}

impl<T: Transform + ?Sized> Transform for Box<T> {
    fn apply(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        (**self).apply(record)
    }

    fn apply_in_place(&self, slot: &mut Option<ConnectRecord>) -> Result<()> {
        (**self).apply_in_place(slot)
    }
}

impl<T: Transform + ?Sized> Transform for std::sync::Arc<T> {
    fn apply(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        (**self).apply(record)
    }

    fn apply_in_place(&self, slot: &mut Option<ConnectRecord>) -> Result<()> {
        (**self).apply_in_place(slot)
    }
}

impl<T: Predicate + ?Sized> Predicate for Box<T> {
    fn test(&self, record: &ConnectRecord) -> bool {
        (**self).test(record)
    }
}

impl<T: Predicate + ?Sized> Predicate for std::sync::Arc<T> {
    fn test(&self, record: &ConnectRecord) -> bool {
        (**self).test(record)
    }
}
