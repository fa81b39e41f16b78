//! Bounded decoders for the Metadata and FindCoordinator responses, into
//! the cluster layer's own types (here rather than in `protocol`, which
//! knows nothing of the layers above it).
//!
//! The client decodes these from any broker (or any peer on a bootstrap
//! port) before it trusts it, so they are read with checked lengths only:
//! every array count is checked against the bytes left before anything is
//! allocated. (The `kafka-protocol` crate's 0.18 decoders reserve capacity
//! straight from a count on the wire, so a few garbage bytes can make them
//! request gigabytes and abort.) Requests are still encoded with that crate.

use super::{BrokerMetadata, Metadata, PartitionMetadata, TopicId, TopicMetadata};
use crate::error::{Error, ErrorCode, Result};
use crate::protocol::codes;
use crate::protocol::frame::Reader;

fn error_of(code: i16) -> Option<ErrorCode> {
    (code != 0).then(|| ErrorCode::from_kafka(code))
}

/// Decodes a Metadata response body (v0..=12) into [`Metadata`], brokers
/// and topics sorted. `orig_broker_*` are left for the caller.
pub(crate) fn decode_metadata(body: &[u8], version: i16) -> Result<Metadata> {
    if !(0..=12).contains(&version) {
        return Err(Error::new(
            codes::BAD_MSG,
            format!("Metadata v{version} responses are not decoded"),
        ));
    }
    let flex = version >= 9;
    let mut r = Reader::new(body);
    if version >= 3 {
        r.i32()?; // throttle_time_ms
    }
    // node_id, host (>= 1 byte), port: at least 9 bytes each
    let n = r.count(flex, 9)?;
    let mut brokers = Vec::with_capacity(n);
    for _ in 0..n {
        let id = r.i32()?;
        let host = r.string(flex)?.to_string();
        let port = r.i32()?;
        let rack = if version >= 1 {
            r.nullable_string(flex)?.map(str::to_string)
        } else {
            None
        };
        if flex {
            r.skip_tagged_fields()?;
        }
        match u16::try_from(port) {
            Ok(port) => brokers.push(BrokerMetadata {
                id,
                host,
                port,
                rack,
            }),
            Err(_) => {
                tracing::warn!(target: "ferrokafka::metadata", broker = id, port, "ignoring broker with invalid port")
            }
        }
    }
    let cluster_id = if version >= 2 {
        r.nullable_string(flex)?.map(str::to_string)
    } else {
        None
    };
    let controller_id = if version >= 1 { r.i32()? } else { -1 };
    // error_code, name, partitions count: at least 5 bytes each
    let n = r.count(flex, 5)?;
    let mut topics = Vec::with_capacity(n);
    for _ in 0..n {
        let error = r.i16()?;
        let name = r.nullable_string(flex)?.map(str::to_string);
        let topic_id = if version >= 10 {
            TopicId::from_bytes(r.uuid()?)
        } else {
            None
        };
        let is_internal = if version >= 1 { r.bool()? } else { false };
        // error, index, leader, replicas, isr: at least 12 bytes each
        let np = r.count(flex, 12)?;
        let mut partitions = Vec::with_capacity(np);
        for _ in 0..np {
            let perr = r.i16()?;
            let id = r.i32()?;
            let leader = r.i32()?;
            let leader_epoch = if version >= 7 { r.i32()? } else { -1 };
            let replicas = r.i32_array(flex)?;
            let isr = r.i32_array(flex)?;
            let offline_replicas = if version >= 5 {
                r.i32_array(flex)?
            } else {
                Vec::new()
            };
            if flex {
                r.skip_tagged_fields()?;
            }
            partitions.push(PartitionMetadata {
                id,
                leader: (leader >= 0).then_some(leader),
                leader_epoch: (leader_epoch >= 0).then_some(leader_epoch),
                replicas,
                isr,
                offline_replicas,
                error: error_of(perr),
            });
        }
        // i32::MIN: not asked for (or not computed).
        let authorized_operations = if version >= 8 {
            Some(r.i32()?).filter(|&bits| bits != i32::MIN)
        } else {
            None
        };
        if flex {
            r.skip_tagged_fields()?;
        }
        partitions.sort_by_key(|p| p.id);
        if let Some(name) = name {
            topics.push(TopicMetadata {
                name,
                error: error_of(error),
                is_internal,
                topic_id,
                partitions,
                authorized_operations,
            });
        }
    }
    if (8..=10).contains(&version) {
        r.i32()?; // cluster_authorized_operations
    }
    if flex {
        r.skip_tagged_fields()?;
    }
    brokers.sort_by_key(|b| b.id);
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Metadata {
        brokers,
        topics,
        cluster_id,
        controller_id: (controller_id >= 0).then_some(controller_id),
        orig_broker_id: -1,
        orig_broker_name: String::new(),
    })
}

/// One coordinator from a FindCoordinator response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Coordinator {
    /// Kafka error code (0: none).
    pub error: i16,
    /// The broker's error message, if any.
    pub message: Option<String>,
    /// The coordinator broker.
    pub broker: BrokerMetadata,
}

/// Decodes a FindCoordinator response body (v0..=4): the first (v4: the
/// only requested) coordinator.
pub(crate) fn decode_find_coordinator(body: &[u8], version: i16) -> Result<Coordinator> {
    if !(0..=4).contains(&version) {
        return Err(Error::new(
            codes::BAD_MSG,
            format!("FindCoordinator v{version} responses are not decoded"),
        ));
    }
    let flex = version >= 3;
    let mut r = Reader::new(body);
    if version >= 1 {
        r.i32()?; // throttle_time_ms
    }
    let port_of = |port: i32| {
        u16::try_from(port).map_err(|_| {
            Error::new(
                codes::BAD_MSG,
                format!("coordinator has invalid port {port}"),
            )
        })
    };
    if version >= 4 {
        let n = r.count(true, 12)?;
        if n == 0 {
            return Err(Error::new(
                codes::BAD_MSG,
                "FindCoordinator response lists no coordinator",
            ));
        }
        r.string(true)?; // key
        let id = r.i32()?;
        let host = r.string(true)?.to_string();
        let port = r.i32()?;
        let error = r.i16()?;
        let message = r.nullable_string(true)?.map(str::to_string);
        return Ok(Coordinator {
            error,
            message,
            broker: BrokerMetadata {
                id,
                host,
                port: if error == 0 { port_of(port)? } else { 0 },
                rack: None,
            },
        });
    }
    let error = r.i16()?;
    let message = if version >= 1 {
        r.nullable_string(flex)?.map(str::to_string)
    } else {
        None
    };
    let id = r.i32()?;
    let host = r.string(flex)?.to_string();
    let port = r.i32()?;
    Ok(Coordinator {
        error,
        message,
        broker: BrokerMetadata {
            id,
            host,
            port: if error == 0 { port_of(port)? } else { 0 },
            rack: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use kafka_protocol::messages::find_coordinator_response::Coordinator as KpCoordinator;
    use kafka_protocol::messages::metadata_response::{
        MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
    };
    use kafka_protocol::messages::{
        BrokerId, FindCoordinatorResponse, MetadataResponse, TopicName,
    };
    use kafka_protocol::protocol::{Encodable, StrBytes};
    use proptest::prelude::*;

    /// The sample answer, with what version `v` can carry.
    fn sample(v: i16) -> MetadataResponse {
        let mut m = MetadataResponse::default()
            .with_brokers(vec![
                MetadataResponseBroker::default()
                    .with_node_id(BrokerId(2))
                    .with_host(StrBytes::from_static_str("b2"))
                    .with_port(9093)
                    .with_rack(Some(StrBytes::from_static_str("rack-a"))),
                MetadataResponseBroker::default()
                    .with_node_id(BrokerId(1))
                    .with_host(StrBytes::from_static_str("b1"))
                    .with_port(9092),
            ])
            .with_cluster_id(Some(StrBytes::from_static_str("cid")))
            .with_controller_id(BrokerId(1))
            .with_topics(vec![
                MetadataResponseTopic::default()
                    .with_name(Some(TopicName(StrBytes::from_static_str("t"))))
                    .with_partitions(vec![
                        MetadataResponsePartition::default()
                            .with_partition_index(1)
                            .with_leader_id(BrokerId(2))
                            .with_leader_epoch(7)
                            .with_replica_nodes(vec![BrokerId(2), BrokerId(1)])
                            .with_isr_nodes(vec![BrokerId(2)]),
                        MetadataResponsePartition::default()
                            .with_partition_index(0)
                            .with_leader_id(BrokerId(-1))
                            .with_error_code(5),
                    ]),
                MetadataResponseTopic::default()
                    .with_name(Some(TopicName(StrBytes::from_static_str("missing"))))
                    .with_error_code(3),
            ]);
        let t = &mut m.topics[0];
        if v >= 10 {
            t.topic_id = uuid::Uuid::from_bytes([7; 16]);
        }
        if v >= 8 {
            t.topic_authorized_operations = 1 << 3;
        }
        m
    }

    fn encode<T: Encodable>(m: &T, v: i16) -> Vec<u8> {
        let mut b = BytesMut::new();
        m.encode(&mut b, v).unwrap();
        b.to_vec()
    }

    #[test]
    fn metadata_decodes_every_version_like_the_codec_crate_encodes_it() {
        for v in 0..=12 {
            let md = decode_metadata(&encode(&sample(v), v), v).unwrap();
            let ids: Vec<i32> = md.brokers.iter().map(|b| b.id).collect();
            assert_eq!(ids, vec![1, 2], "v{v}");
            assert_eq!(md.brokers[1].port, 9093);
            assert_eq!(md.brokers[1].rack.as_deref(), (v >= 1).then_some("rack-a"));
            assert_eq!(md.cluster_id.as_deref(), (v >= 2).then_some("cid"));
            assert_eq!(md.controller_id, (v >= 1).then_some(1));
            assert_eq!(md.topics.len(), 2);
            let missing = &md.topics[0];
            assert_eq!(missing.name, "missing");
            assert_eq!(missing.error, Some(ErrorCode::UnknownTopicOrPartition));
            let t = &md.topics[1];
            assert_eq!(t.partitions[0].id, 0);
            assert_eq!(t.partitions[0].leader, None);
            assert_eq!(t.partitions[0].error, Some(ErrorCode::from_kafka(5)));
            assert_eq!(t.partitions[1].leader, Some(2));
            assert_eq!(t.partitions[1].leader_epoch, (v >= 7).then_some(7));
            assert_eq!(t.partitions[1].replicas, vec![2, 1]);
            assert_eq!(t.partitions[1].isr, vec![2]);
            assert_eq!(t.topic_id, (v >= 10).then_some(TopicId([7; 16])), "v{v}");
            assert_eq!(t.authorized_operations, (v >= 8).then_some(1 << 3), "v{v}");
            // Not asked for: Kafka's INT32_MIN, read as none.
            assert_eq!(missing.authorized_operations, None, "v{v}");
        }
    }

    #[test]
    fn find_coordinator_decodes_every_version() {
        for v in 0..=4 {
            let resp = if v >= 4 {
                FindCoordinatorResponse::default().with_coordinators(vec![KpCoordinator::default()
                    .with_key(StrBytes::from_static_str("g"))
                    .with_node_id(BrokerId(3))
                    .with_host(StrBytes::from_static_str("h3"))
                    .with_port(9094)])
            } else {
                FindCoordinatorResponse::default()
                    .with_node_id(BrokerId(3))
                    .with_host(StrBytes::from_static_str("h3"))
                    .with_port(9094)
            };
            let c = decode_find_coordinator(&encode(&resp, v), v).unwrap();
            assert_eq!(
                (c.error, c.broker.id, c.broker.host.as_str(), c.broker.port),
                (0, 3, "h3", 9094),
                "v{v}"
            );
        }
        let resp = FindCoordinatorResponse::default()
            .with_error_code(15)
            .with_error_message(Some(StrBytes::from_static_str("not yet")))
            .with_port(-1);
        let c = decode_find_coordinator(&encode(&resp, 2), 2).unwrap();
        assert_eq!(c.error, 15);
        assert_eq!(c.message.as_deref(), Some("not yet"));
    }

    #[test]
    fn garbage_is_an_error_without_large_allocations() {
        for v in 0..=12 {
            // A broker count of 2^31-1 (or 2^32-2 compact) in a tiny body.
            let mut body = Vec::new();
            if v >= 3 {
                body.extend_from_slice(&[0, 0, 0, 0]);
            }
            if v >= 9 {
                body.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
            } else {
                body.extend_from_slice(&[0x7f, 0xff, 0xff, 0xff]);
            }
            body.extend_from_slice(&[0; 8]);
            let err = decode_metadata(&body, v).unwrap_err();
            assert!(err.message().contains("cannot fit"), "v{v}: {err}");
        }
        assert!(decode_find_coordinator(&[0xff; 3], 4).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..256), v in 0i16..=12) {
            let _ = decode_metadata(&body, v);
            let _ = decode_find_coordinator(&body, v.min(4));
        }

        #[test]
        fn truncations_of_a_valid_response_fail_cleanly(cut in 0usize..200, v in 0i16..=12) {
            let full = encode(&sample(v), v);
            let cut = cut.min(full.len().saturating_sub(1));
            prop_assert!(decode_metadata(&full[..cut], v).is_err());
        }
    }
}
