#!/usr/bin/env python3
"""Reads a whole topic with confluent-kafka (librdkafka) for the fault tests.

    read_topic.py --bootstrap HOST:PORT --topic T [--timeout S]

Takes every partition's high watermark first, then reads each partition from its
beginning at least up to that watermark and on until nothing new arrived for --idle
seconds (tansu can report a watermark short of its last batch), without committing
consumer group offsets, and prints one compact JSON line per record, in partition and
offset order:

    {"p": 0, "o": 17, "ts": 1700000000000, "tt": "create",
     "k": "<key as text>", "v": "<value as text>" | null, "h": [["name", "text"], ...]}

Keys, values and header values must be UTF-8 (the fault tests use JSON converters).
Exits 1 when a partition cannot be read up to its watermark within the timeout.
"""

import argparse
import json
import sys
import time
import uuid

from confluent_kafka import (
    OFFSET_BEGINNING,
    TIMESTAMP_CREATE_TIME,
    TIMESTAMP_LOG_APPEND_TIME,
    Consumer,
    KafkaError,
    KafkaException,
    TopicPartition,
)


def text(raw):
    return None if raw is None else raw.decode("utf-8")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--idle", type=float, default=3.0)
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout

    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": f"tidewater-faults-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
            "auto.offset.reset": "earliest",
            "fetch.max.bytes": 52428800,
            "max.partition.fetch.bytes": 10485760,
        }
    )
    try:
        while True:
            left = max(0.5, deadline - time.monotonic())
            metadata = consumer.list_topics(topic=args.topic, timeout=left)
            info = metadata.topics.get(args.topic)
            if info is not None and info.error is None and info.partitions:
                partitions = sorted(info.partitions)
                break
            if time.monotonic() >= deadline:
                sys.exit(f"topic {args.topic}: no partitions before the timeout")
            time.sleep(0.2)

        ends = {}
        for p in partitions:
            low, high = consumer.get_watermark_offsets(
                TopicPartition(args.topic, p), timeout=max(0.5, deadline - time.monotonic())
            )
            if high > 0:
                ends[p] = high
        # Buffered per partition, printed in partition order at the end.
        out = {p: [] for p in partitions}
        remaining = dict(ends)
        consumer.assign([TopicPartition(args.topic, p, OFFSET_BEGINNING) for p in partitions])
        last_news = time.monotonic()
        while remaining or time.monotonic() - last_news < args.idle:
            left = deadline - time.monotonic()
            if left <= 0:
                got = {p: len(out[p]) for p in partitions}
                sys.exit(f"topic {args.topic}: timed out; read {got}, watermarks {ends}")
            for msg in consumer.consume(num_messages=1000, timeout=min(left, 0.5)):
                if msg.error() is not None:
                    if msg.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    raise KafkaException(msg.error())
                p = msg.partition()
                last_news = time.monotonic()
                ts_type, ts = msg.timestamp()
                out[p].append(
                    json.dumps(
                        {
                            "p": p,
                            "o": msg.offset(),
                            "ts": ts if ts_type != 0 else None,
                            "tt": {
                                TIMESTAMP_CREATE_TIME: "create",
                                TIMESTAMP_LOG_APPEND_TIME: "log_append",
                            }.get(ts_type),
                            "k": text(msg.key()),
                            "v": text(msg.value()),
                            "h": [[n, text(v)] for n, v in (msg.headers() or [])],
                        },
                        separators=(",", ":"),
                    )
                )
                if p in remaining and msg.offset() + 1 >= remaining[p]:
                    del remaining[p]
        for p in sorted(out):
            for line in out[p]:
                sys.stdout.write(line + "\n")
        sys.stdout.flush()
    finally:
        consumer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
