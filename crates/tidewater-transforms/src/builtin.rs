//! The built-in classes, under their Debezium and Kafka Connect names.

use crate::cast::Cast;
use crate::extract_field::ExtractField;
use crate::filter::Filter;
use crate::flatten::Flatten;
use crate::headers::{DropHeaders, HeaderFrom, InsertHeader};
use crate::hoist_field::HoistField;
use crate::insert_field::InsertField;
use crate::mask_field::MaskField;
use crate::outbox::EventRouter;
use crate::predicates::{HasHeaderKey, RecordIsTombstone, TopicNameMatches};
use crate::registry::Registry;
use crate::replace_field::ReplaceField;
use crate::routers::{ByLogicalTableRouter, RegexRouter, TimestampRouter};
use crate::set_schema_metadata::SetSchemaMetadata;
use crate::timestamp_converter::TimestampConverter;
use crate::unwrap::ExtractNewRecordState;
use crate::util::Side;
use crate::value_to_key::ValueToKey;

const KAFKA: &str = "org.apache.kafka.connect.transforms";
const DEBEZIUM: &str = "io.debezium.transforms";
const KAFKA_PREDICATES: &str = "org.apache.kafka.connect.transforms.predicates";

/// Registers `<KAFKA>.<name>$Key` and `$Value` for a transform built with
/// `from_options(side, opts)`.
macro_rules! key_value {
    ($r:expr, $name:literal, $t:ty) => {
        for side in [Side::Key, Side::Value] {
            $r.register_transform(&format!("{KAFKA}.{}{}", $name, side.suffix()), move |o| {
                Ok(Box::new(<$t>::from_options(side, o)?))
            });
        }
    };
}

/// Registers a transform built with `from_options(opts)`.
macro_rules! single {
    ($r:expr, $class:expr, $t:ty) => {
        $r.register_transform(&$class, |o| Ok(Box::new(<$t>::from_options(o)?)));
    };
}

pub(crate) fn register_all(r: &mut Registry) {
    single!(
        r,
        format!("{DEBEZIUM}.ExtractNewRecordState"),
        ExtractNewRecordState
    );
    single!(
        r,
        format!("{DEBEZIUM}.ByLogicalTableRouter"),
        ByLogicalTableRouter
    );
    single!(r, format!("{DEBEZIUM}.outbox.EventRouter"), EventRouter);
    for scripting in ["Filter", "ContentBasedRouter"] {
        r.register_transform(&format!("{DEBEZIUM}.{scripting}"), |o| {
            Err(o.error(
                "type",
                Some(o.class()),
                "needs a JVM scripting engine (Groovy/JavaScript); use org.apache.kafka.connect.transforms.Filter with a predicate, or a custom Transform",
            ))
        });
    }

    single!(r, format!("{KAFKA}.RegexRouter"), RegexRouter);
    single!(r, format!("{KAFKA}.TimestampRouter"), TimestampRouter);
    single!(r, format!("{KAFKA}.Filter"), Filter);
    single!(r, format!("{KAFKA}.ValueToKey"), ValueToKey);
    single!(r, format!("{KAFKA}.InsertHeader"), InsertHeader);
    single!(r, format!("{KAFKA}.DropHeaders"), DropHeaders);
    key_value!(r, "InsertField", InsertField);
    key_value!(r, "ReplaceField", ReplaceField);
    key_value!(r, "MaskField", MaskField);
    key_value!(r, "ExtractField", ExtractField);
    key_value!(r, "HoistField", HoistField);
    key_value!(r, "Flatten", Flatten);
    key_value!(r, "Cast", Cast);
    key_value!(r, "TimestampConverter", TimestampConverter);
    key_value!(r, "SetSchemaMetadata", SetSchemaMetadata);
    key_value!(r, "HeaderFrom", HeaderFrom);

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
