//! The built-in classes, under their Debezium and Kafka Connect names.

use crate::filter::Filter;
use crate::predicates::{HasHeaderKey, RecordIsTombstone, TopicNameMatches};
use crate::registry::Registry;
use crate::routers::{ByLogicalTableRouter, RegexRouter, TimestampRouter};
use crate::unwrap::ExtractNewRecordState;

const KAFKA: &str = "org.apache.kafka.connect.transforms";
const DEBEZIUM: &str = "io.debezium.transforms";
const KAFKA_PREDICATES: &str = "org.apache.kafka.connect.transforms.predicates";

pub(crate) fn register_all(r: &mut Registry) {
    r.register_transform(&format!("{KAFKA}.Filter"), |o| {
        Ok(Box::new(Filter::from_options(o)?))
    });

    r.register_transform(&format!("{KAFKA}.RegexRouter"), |o| {
        Ok(Box::new(RegexRouter::from_options(o)?))
    });
    r.register_transform(&format!("{KAFKA}.TimestampRouter"), |o| {
        Ok(Box::new(TimestampRouter::from_options(o)?))
    });
    r.register_transform(&format!("{DEBEZIUM}.ExtractNewRecordState"), |o| {
        Ok(Box::new(ExtractNewRecordState::from_options(o)?))
    });
    r.register_transform(&format!("{DEBEZIUM}.ByLogicalTableRouter"), |o| {
        Ok(Box::new(ByLogicalTableRouter::from_options(o)?))
    });
    for scripting in ["Filter", "ContentBasedRouter"] {
        r.register_transform(&format!("{DEBEZIUM}.{scripting}"), |o| {
            Err(o.error(
                "type",
                Some(o.class()),
                "needs a JVM scripting engine (Groovy/JavaScript); use org.apache.kafka.connect.transforms.Filter with a predicate, or a custom Transform",
            ))
        });
    }

    r.register_predicate(&format!("{KAFKA_PREDICATES}.TopicNameMatches"), |o| {
        Ok(Box::new(TopicNameMatches::from_options(o)?))
    });
    r.register_predicate(&format!("{KAFKA_PREDICATES}.HasHeaderKey"), |o| {
        Ok(Box::new(HasHeaderKey::from_options(o)?))
    });
    r.register_predicate(&format!("{KAFKA_PREDICATES}.RecordIsTombstone"), |o| {
        Ok(Box::new(RecordIsTombstone::from_options(o)?))
    });
}
