//! Kafka Connect data model (schemas, values, structs, logical types), ConnectRecord and the JSON converter.
