//! `org.apache.kafka.connect.transforms.Filter`: drops every record it is
//! applied to. Meant to be used with a predicate.

use tidewater_connect::ConnectRecord;

use crate::config::TransformOptions;
use crate::error::Result;
use crate::traits::Transform;

/// Drops every record (use with `transforms.<alias>.predicate`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter;

impl Filter {
    /// No options.
    pub fn from_options(_opts: &mut TransformOptions) -> Result<Filter> {
        Ok(Filter)
    }
}

impl Transform for Filter {
    fn apply(&self, _record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        Ok(None)
    }
}
