//! Produce requests carrying batches for several partitions, sent to one broker.
//!
//! [`PartitionClient::produce`](super::partition::PartitionClient::produce) sends one
//! partition per request, over a connection of its own. A producer writing to many
//! partitions led by the same broker can instead gather the batches that are ready into one
//! request, as the Java client does, with [`BrokerProducer::produce`]: the broker handles
//! one request instead of one per partition, and one connection carries them all.
//!
//! Batches are given already encoded ([`EncodedBatch`]), so a caller holding its records in
//! its own buffers can write them straight into the batch format; [`encode_record_batch`]
//! encodes [`Record`]s (with any compression) for callers that do not.
//!
//! Requests are sent once: retrying, and finding a partition's leader again after
//! `NotLeaderOrFollower`, is the caller's part ([`Client::partition_leaders`](super::Client::partition_leaders)).

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;

use crate::{
    client::{
        error::{Error, RequestContext, Result},
        partition::{Compression, build_record_batch},
    },
    connection::{BrokerConnection, BrokerConnector, MetadataLookupMode},
    messenger::RequestError,
    protocol::{
        messages::{
            ProduceRecords, ProduceRequest, ProduceRequestPartitionData, ProduceRequestTopicData,
        },
        primitives::{Int16, Int32, NullableString, String_},
        traits::WriteType,
    },
    record::Record,
};

/// One partition's records, encoded as record batches in message format v2 (the bytes of a
/// produce request's `records` field, without the length prefix).
#[derive(Debug, Clone)]
pub struct EncodedBatch {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The encoded record batch(es).
    pub data: Bytes,
}

/// What a broker answered to [`BrokerProducer::produce`].
#[derive(Debug)]
#[non_exhaustive]
pub struct ProduceOutcome {
    /// Per batch, in the order given: the offset the broker gave the batch's first record,
    /// or the error it reported for that partition.
    pub results: Vec<Result<i64>>,
    /// How long the broker asked the client to wait before the next request (quotas).
    pub throttle: Option<Duration>,
}

/// Encodes `records` (at least one) as one record batch, compressed with `compression`.
pub fn encode_record_batch(records: Vec<Record>, compression: Compression) -> Result<Bytes> {
    if records.is_empty() {
        return Err(Error::InvalidResponse(
            "a record batch needs at least one record".to_owned(),
        ));
    }
    let batch = build_record_batch(records, compression);
    let mut buf = Vec::new();
    batch
        .write(&mut buf)
        .map_err(|e| Error::Request(RequestError::WriteError(e.into())))?;
    Ok(Bytes::from(buf))
}

/// A connection to one broker for produce requests spanning several partitions.
#[derive(Debug)]
pub struct BrokerProducer {
    broker_id: i32,
    connection: BrokerConnection,
}

impl BrokerProducer {
    pub(super) async fn connect(brokers: &BrokerConnector, broker_id: i32) -> Result<Self> {
        match brokers.connect(broker_id).await? {
            Some(connection) => Ok(Self {
                broker_id,
                connection,
            }),
            None => Err(Error::InvalidResponse(format!(
                "broker {broker_id} is not in the cluster's metadata"
            ))),
        }
    }

    /// The broker this producer is connected to.
    pub fn broker_id(&self) -> i32 {
        self.broker_id
    }

    /// Sends `batches` in one produce request and waits for the broker's answer.
    ///
    /// `acks` is 1 (the leader) or -1 (all in-sync replicas); 0 is refused, since the
    /// broker would send no answer. An `Err` means the request as a whole failed (the
    /// connection, or an answer that could not be read): none of the batches is known to be
    /// written. Per-partition errors are in [`ProduceOutcome::results`].
    pub async fn produce(
        &self,
        batches: &[EncodedBatch],
        acks: i16,
        timeout_ms: i32,
    ) -> Result<ProduceOutcome> {
        if acks == 0 {
            return Err(Error::InvalidResponse(
                "acks=0 produce requests get no answer and are not supported here".to_owned(),
            ));
        }
        let mut topic_data: Vec<ProduceRequestTopicData> = Vec::new();
        for batch in batches {
            let data = ProduceRequestPartitionData {
                index: Int32(batch.partition),
                records: ProduceRecords::Encoded(batch.data.clone()),
            };
            match topic_data.iter_mut().find(|t| t.name.0 == batch.topic) {
                Some(topic) => topic.partition_data.push(data),
                None => topic_data.push(ProduceRequestTopicData {
                    name: String_(batch.topic.clone()),
                    partition_data: vec![data],
                }),
            }
        }
        let request = ProduceRequest {
            transactional_id: NullableString(None),
            acks: Int16(acks),
            timeout_ms: Int32(timeout_ms),
            topic_data,
        };
        let response = self.connection.request(request).await?;

        let results = batches
            .iter()
            .map(|batch| {
                let answer = response
                    .responses
                    .iter()
                    .filter(|t| t.name.0 == batch.topic)
                    .flat_map(|t| t.partition_responses.iter())
                    .find(|p| p.index.0 == batch.partition);
                match answer {
                    None => Err(Error::InvalidResponse(format!(
                        "no answer for topic \"{}\" partition {} in the produce response",
                        batch.topic, batch.partition
                    ))),
                    Some(p) => match p.error {
                        Some(e) => Err(Error::ServerError {
                            protocol_error: e,
                            error_message: None,
                            request: RequestContext::Partition(
                                batch.topic.clone(),
                                batch.partition,
                            ),
                            response: None,
                            is_virtual: false,
                        }),
                        None => Ok(p.base_offset.0),
                    },
                }
            })
            .collect();
        let throttle = response
            .throttle_time_ms
            .and_then(|t| u64::try_from(t.0).ok())
            .filter(|&t| t > 0)
            .map(Duration::from_millis);
        Ok(ProduceOutcome { results, throttle })
    }
}

/// The leader of each partition of `topic` (`-1` where there is none), from a metadata
/// request made now (no cached answer).
pub(super) async fn partition_leaders(
    brokers: &BrokerConnector,
    topic: &str,
) -> Result<BTreeMap<i32, i32>> {
    let (response, _gen) = brokers
        .request_metadata(
            &MetadataLookupMode::ArbitraryBroker,
            Some(vec![topic.to_owned()]),
        )
        .await?;
    let found = response
        .topics
        .into_iter()
        .find(|t| t.name.0 == topic)
        .ok_or_else(|| {
            Error::InvalidResponse(format!("no metadata for topic \"{topic}\" in the response"))
        })?;
    if let Some(e) = found.error {
        return Err(Error::ServerError {
            protocol_error: e,
            error_message: None,
            request: RequestContext::Topic(topic.to_owned()),
            response: None,
            is_virtual: false,
        });
    }
    Ok(found
        .partitions
        .into_iter()
        .map(|p| (p.partition_index.0, p.leader_id.0))
        .collect())
}
