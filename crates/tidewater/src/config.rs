//! Connector configuration: Kafka Connect connector JSON with Debezium's keys.
