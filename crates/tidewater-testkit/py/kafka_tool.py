#!/usr/bin/env python3
"""Independent Kafka client for Tidewater's cross-checks, built on confluent-kafka (librdkafka).

Run it with the project's virtualenv (scripts/setup.sh creates <repo>/.venv):

    .venv/bin/python crates/tidewater-testkit/py/kafka_tool.py --bootstrap 127.0.0.1:9092 CMD ...

Subcommands
-----------
produce
    Reads JSON lines from standard input, one record each:
        {"topic": "t", "key": B, "value": B, "headers": H, "partition": 0, "timestamp": 1700000000000}
    Only "topic" is required. Prints one JSON line per record, in input order:
        {"topic": "t", "partition": 0, "offset": 42}
    and exits 1 if any record failed.
consume --topic T [--from-beginning] [--max N] [--timeout S] [--bytes auto|base64|hex]
    Reads from every partition of T (without committing offsets), from the start with
    --from-beginning, else only new records; stops after N records or S seconds, whichever
    comes first, and prints one JSON line per record:
        {"topic": "t", "partition": 0, "offset": 0, "key": B, "value": B, "headers": H,
         "timestamp": 1700000000000, "timestamp_type": "create"}
create-topic --topic T [--partitions N] [--if-not-exists]
list-topics
    Prints one JSON line per topic: {"topic": "t", "partitions": 1}.
topic-configs --topic T
    Prints one JSON line per config of T, as describe_configs reports it (tansu lists the
    configs the topic was created with): {"name": "cleanup.policy", "value": "compact"}.

Bytes (B) in JSON
-----------------
    null                  no key / no value (a Kafka null, distinct from empty bytes)
    "text"                the UTF-8 encoding of the string
    {"base64": "..."}     the decoded bytes (standard alphabet, with padding)
    {"hex": "..."}        the decoded bytes
On output, --bytes auto (the default) writes a string when the bytes are valid UTF-8 and
{"base64": ...} otherwise; --bytes base64 / --bytes hex always use that marker form. Either
way the bytes round-trip exactly.

Headers (H) are a list of [name, B] pairs (order and duplicates preserved); produce also
accepts an object {name: B}.
"""

import argparse
import base64
import json
import sys
import time
import uuid

from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_END,
    TIMESTAMP_CREATE_TIME,
    TIMESTAMP_LOG_APPEND_TIME,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic


def decode_bytes(value, what):
    """JSON bytes form -> bytes or None."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict) and len(value) == 1:
        if "base64" in value:
            return base64.b64decode(value["base64"], validate=True)
        if "hex" in value:
            return bytes.fromhex(value["hex"])
    raise ValueError(f"{what}: expected null, a string, {{\"base64\": ...}} or {{\"hex\": ...}}, got {value!r}")


def encode_bytes(value, mode):
    """bytes or None -> JSON bytes form."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.encode("utf-8")
    if mode == "hex":
        return {"hex": value.hex()}
    if mode == "auto":
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return {"base64": base64.b64encode(value).decode("ascii")}


def decode_headers(headers):
    if headers is None:
        return None
    if isinstance(headers, dict):
        pairs = list(headers.items())
    elif isinstance(headers, list):
        pairs = []
        for pair in headers:
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                raise ValueError(f"header: expected [name, bytes], got {pair!r}")
            pairs.append((pair[0], pair[1]))
    else:
        raise ValueError(f"headers: expected a list of pairs or an object, got {headers!r}")
    return [(name, decode_bytes(value, f"header {name}")) for name, value in pairs]


def emit(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")


def cmd_produce(args):
    producer = Producer(
        {
            "bootstrap.servers": args.bootstrap,
            "acks": "all",
            "linger.ms": 0,
            "message.timeout.ms": int(args.timeout * 1000),
        }
    )
    results = []

    def on_delivery(index):
        def callback(err, msg):
            if err is not None:
                results[index] = {"error": str(err)}
            else:
                results[index] = {
                    "topic": msg.topic(),
                    "partition": msg.partition(),
                    "offset": msg.offset(),
                }

        return callback

    for line_no, line in enumerate(sys.stdin, start=1):
        line = line.strip()
        if not line:
            continue
        record = json.loads(line)
        if not isinstance(record, dict) or not isinstance(record.get("topic"), str):
            raise ValueError(f"line {line_no}: expected an object with a \"topic\" string")
        kwargs = {
            "key": decode_bytes(record.get("key"), f"line {line_no} key"),
            "value": decode_bytes(record.get("value"), f"line {line_no} value"),
            "on_delivery": on_delivery(len(results)),
        }
        headers = decode_headers(record.get("headers"))
        if headers:
            kwargs["headers"] = headers
        if record.get("partition") is not None:
            kwargs["partition"] = int(record["partition"])
        if record.get("timestamp") is not None:
            kwargs["timestamp"] = int(record["timestamp"])
        results.append(None)
        while True:
            try:
                producer.produce(record["topic"], **kwargs)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)

    remaining = producer.flush(args.timeout)
    failed = remaining > 0
    for result in results:
        if result is None:
            result = {"error": "not delivered before the timeout"}
        if "error" in result:
            failed = True
        emit(result)
    return 1 if failed else 0


def wait_for_partitions(client, topic, deadline):
    """Partition ids of topic, waiting for its metadata to appear."""
    while True:
        metadata = client.list_topics(topic=topic, timeout=max(0.5, deadline - time.monotonic()))
        info = metadata.topics.get(topic)
        if info is not None and info.error is None and info.partitions:
            return sorted(info.partitions)
        if time.monotonic() >= deadline:
            reason = info.error if info is not None else "absent from metadata"
            raise SystemExit(f"topic {topic}: no partitions before the timeout ({reason})")
        time.sleep(0.2)


def cmd_consume(args):
    deadline = time.monotonic() + args.timeout
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": f"tidewater-kafka-tool-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
            "auto.offset.reset": "earliest" if args.from_beginning else "latest",
        }
    )
    try:
        partitions = wait_for_partitions(consumer, args.topic, deadline)
        start = OFFSET_BEGINNING if args.from_beginning else OFFSET_END
        consumer.assign([TopicPartition(args.topic, p, start) for p in partitions])
        count = 0
        while args.max is None or count < args.max:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            want = 500 if args.max is None else min(500, args.max - count)
            for msg in consumer.consume(num_messages=want, timeout=min(left, 0.5)):
                if msg.error() is not None:
                    if msg.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    raise KafkaException(msg.error())
                ts_type, ts = msg.timestamp()
                emit(
                    {
                        "topic": msg.topic(),
                        "partition": msg.partition(),
                        "offset": msg.offset(),
                        "key": encode_bytes(msg.key(), args.bytes),
                        "value": encode_bytes(msg.value(), args.bytes),
                        "headers": [
                            [name, encode_bytes(value, args.bytes)]
                            for name, value in (msg.headers() or [])
                        ],
                        "timestamp": ts if ts_type != 0 else None,
                        "timestamp_type": {
                            TIMESTAMP_CREATE_TIME: "create",
                            TIMESTAMP_LOG_APPEND_TIME: "log_append",
                        }.get(ts_type),
                    }
                )
                count += 1
        sys.stdout.flush()
    finally:
        consumer.close()
    return 0


def cmd_create_topic(args):
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    futures = admin.create_topics(
        [NewTopic(args.topic, num_partitions=args.partitions, replication_factor=1)],
        operation_timeout=args.timeout,
        request_timeout=args.timeout,
    )
    for topic, future in futures.items():
        try:
            future.result(timeout=args.timeout)
        except KafkaException as e:
            error = e.args[0] if e.args else None
            if (
                args.if_not_exists
                and isinstance(error, KafkaError)
                and error.code() == KafkaError.TOPIC_ALREADY_EXISTS
            ):
                continue
            raise SystemExit(f"creating topic {topic} failed: {e}")
    return 0


def cmd_list_topics(args):
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    metadata = admin.list_topics(timeout=args.timeout)
    for name in sorted(metadata.topics):
        emit({"topic": name, "partitions": len(metadata.topics[name].partitions)})
    return 0


def cmd_topic_configs(args):
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    resource = ConfigResource(ConfigResource.Type.TOPIC, args.topic)
    entries = admin.describe_configs([resource])[resource].result(args.timeout)
    for name in sorted(entries):
        emit({"name": name, "value": entries[name].value})
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", required=True, help="bootstrap servers, e.g. 127.0.0.1:9092")
    sub = parser.add_subparsers(dest="command", required=True)

    produce = sub.add_parser("produce", help="produce JSON-lines records from stdin")
    produce.add_argument("--timeout", type=float, default=30.0, help="delivery timeout (s)")
    produce.set_defaults(run=cmd_produce)

    consume = sub.add_parser("consume", help="print records of a topic as JSON lines")
    consume.add_argument("--topic", required=True)
    consume.add_argument("--from-beginning", action="store_true")
    consume.add_argument("--max", type=int, default=None, help="stop after this many records")
    consume.add_argument("--timeout", type=float, default=10.0, help="stop after this many seconds")
    consume.add_argument("--bytes", choices=["auto", "base64", "hex"], default="auto")
    consume.set_defaults(run=cmd_consume)

    create = sub.add_parser("create-topic", help="create a topic")
    create.add_argument("--topic", required=True)
    create.add_argument("--partitions", type=int, default=1)
    create.add_argument("--if-not-exists", action="store_true")
    create.add_argument("--timeout", type=float, default=30.0)
    create.set_defaults(run=cmd_create_topic)

    list_topics = sub.add_parser("list-topics", help="list topics as JSON lines")
    list_topics.add_argument("--timeout", type=float, default=10.0)
    list_topics.set_defaults(run=cmd_list_topics)

    topic_configs = sub.add_parser(
        "topic-configs", help="print a topic's configs (describe_configs) as JSON lines"
    )
    topic_configs.add_argument("--topic", required=True)
    topic_configs.add_argument("--timeout", type=float, default=10.0)
    topic_configs.set_defaults(run=cmd_topic_configs)

    args = parser.parse_args()
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
