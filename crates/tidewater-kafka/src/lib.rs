//! Kafka producer abstraction: the Sink trait, an rskafka producer, in-memory and JSON-lines sinks.
