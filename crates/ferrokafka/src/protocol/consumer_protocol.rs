//! The consumer protocol's embedded messages: ConsumerProtocolSubscription
//! (a member's JoinGroup metadata) and ConsumerProtocolAssignment (its
//! share of the SyncGroup plan), each a big-endian version followed by the
//! body, as Java and librdkafka encode them.
//!
//! They sit here, below both the consumer (which writes and reads its own)
//! and the admin client (which reads the members' assignments a group
//! description carries). Other members' bytes reach us through the
//! coordinator, so decoding walks them with their shape schema first
//! ([`decode_embedded`]).

use super::decode_embedded;
use super::guard::Embedded;
use crate::error::{Error, ErrorCode, Result};
use crate::TopicPartition;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as AssignedTp;
use kafka_protocol::messages::consumer_protocol_subscription::TopicPartition as OwnedTp;
use kafka_protocol::messages::TopicName;
use kafka_protocol::messages::{ConsumerProtocolAssignment, ConsumerProtocolSubscription};
use kafka_protocol::protocol::{Encodable, StrBytes};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The highest subscription version we write and read; newer versions only
/// append fields, which are ignored.
const SUBSCRIPTION_VERSION: i16 = 3;
const ASSIGNMENT_VERSION: i16 = 3;

/// A member's subscription, as its embedded message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemberSubscription {
    /// The topics it subscribes to.
    pub topics: Vec<String>,
    /// The partitions it owns (v1+; cooperative rebalancing).
    pub owned: Vec<TopicPartition>,
    /// The generation it owns them in (v2+), -1 when not sent.
    pub generation: i32,
    /// Its `client.rack` (v3+).
    pub rack: Option<String>,
}

/// Encodes our subscription (topics sorted, owned partitions grouped by
/// topic).
pub(crate) fn encode_subscription(
    topics: &[String],
    owned: &[TopicPartition],
    generation: i32,
    rack: Option<&str>,
) -> Result<Vec<u8>> {
    let mut m = ConsumerProtocolSubscription::default();
    let mut t: Vec<String> = topics.to_vec();
    t.sort();
    t.dedup();
    m.topics = t.into_iter().map(StrBytes::from_string).collect();
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in owned {
        by_topic.entry(tp.topic()).or_default().push(tp.partition());
    }
    m.owned_partitions = by_topic
        .into_iter()
        .map(|(topic, partitions)| {
            let mut x = OwnedTp::default();
            x.topic = TopicName(StrBytes::from_string(topic.to_string()));
            x.partitions = partitions;
            x
        })
        .collect();
    m.generation_id = generation;
    m.rack_id = rack.map(|r| StrBytes::from_string(r.to_string()));
    let mut buf = BytesMut::new();
    buf.put_i16(SUBSCRIPTION_VERSION);
    m.encode(&mut buf, SUBSCRIPTION_VERSION)
        .map_err(|e| Error::new(ErrorCode::Fail, format!("encode subscription: {e}")))?;
    Ok(buf.to_vec())
}

fn bad(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorCode::BadMsg,
        format!("undecodable consumer protocol {what}: {e}"),
    )
}

/// Decodes a member's subscription from its JoinGroup metadata.
pub(crate) fn decode_subscription(data: &[u8]) -> Result<MemberSubscription> {
    let mut b = Bytes::copy_from_slice(data);
    if b.remaining() < 2 {
        return Err(bad("subscription", "shorter than its version"));
    }
    let v = b.get_i16();
    if v < 0 {
        return Err(bad("subscription", format!("version {v}")));
    }
    let v_read = v.min(SUBSCRIPTION_VERSION);
    let m: ConsumerProtocolSubscription =
        decode_embedded(Embedded::ConsumerSubscription, v_read, b)
            .map_err(|why| bad("subscription", why))?;
    let mut owned = Vec::new();
    for t in &m.owned_partitions {
        let topic: Arc<str> = Arc::from(t.topic.as_str());
        for p in &t.partitions {
            owned.push(TopicPartition::new(topic.clone(), *p));
        }
    }
    Ok(MemberSubscription {
        topics: m.topics.iter().map(|t| t.to_string()).collect(),
        owned,
        generation: if v >= 2 { m.generation_id } else { -1 },
        rack: m.rack_id.map(|r| r.to_string()),
    })
}

/// Encodes one member's assignment.
pub(crate) fn encode_assignment(parts: &[TopicPartition]) -> Result<Vec<u8>> {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in parts {
        by_topic.entry(tp.topic()).or_default().push(tp.partition());
    }
    let mut m = ConsumerProtocolAssignment::default();
    m.assigned_partitions = by_topic
        .into_iter()
        .map(|(topic, partitions)| {
            let mut x = AssignedTp::default();
            x.topic = TopicName(StrBytes::from_string(topic.to_string()));
            x.partitions = partitions;
            x
        })
        .collect();
    let mut buf = BytesMut::new();
    buf.put_i16(ASSIGNMENT_VERSION);
    m.encode(&mut buf, ASSIGNMENT_VERSION)
        .map_err(|e| Error::new(ErrorCode::Fail, format!("encode assignment: {e}")))?;
    Ok(buf.to_vec())
}

/// Decodes our assignment from the SyncGroup answer (empty: nothing).
pub(crate) fn decode_assignment(data: &[u8]) -> Result<Vec<TopicPartition>> {
    if data.is_empty() {
        return Ok(Vec::new());
    }
    let mut b = Bytes::copy_from_slice(data);
    if b.remaining() < 2 {
        return Err(bad("assignment", "shorter than its version"));
    }
    let v = b.get_i16();
    if v < 0 {
        return Err(bad("assignment", format!("version {v}")));
    }
    let v_read = v.min(ASSIGNMENT_VERSION);
    let m: ConsumerProtocolAssignment = decode_embedded(Embedded::ConsumerAssignment, v_read, b)
        .map_err(|why| bad("assignment", why))?;
    let mut out = Vec::new();
    for t in &m.assigned_partitions {
        let topic: Arc<str> = Arc::from(t.topic.as_str());
        for p in &t.partitions {
            out.push(TopicPartition::new(topic.clone(), *p));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrokafka_wire as guard;

    #[test]
    fn protocol_messages_round_trip() {
        let owned = vec![TopicPartition::new("t", 1), TopicPartition::new("t", 3)];
        let enc = encode_subscription(&["t".into(), "a".into()], &owned, 4, Some("r")).unwrap();
        let s = decode_subscription(&enc).unwrap();
        assert_eq!(s.topics, vec!["a", "t"]);
        assert_eq!(s.owned, owned);
        assert_eq!(s.generation, 4);
        assert_eq!(s.rack.as_deref(), Some("r"));
        let a = encode_assignment(&owned).unwrap();
        assert_eq!(decode_assignment(&a).unwrap(), owned);
        assert!(decode_assignment(&[]).unwrap().is_empty());
        assert!(decode_assignment(&[0]).is_err());
        assert!(decode_subscription(&[0, 0, 0, 0, 0, 9]).is_err());
    }

    /// A member's metadata comes from another client through the broker: a
    /// lying count in it is an error naming the message, never a
    /// multi-gigabyte reservation.
    #[test]
    fn lying_counts_in_embedded_messages_are_refused() {
        for v in 0..=3i16 {
            let mut lie = v.to_be_bytes().to_vec();
            lie.extend_from_slice(&i32::MAX.to_be_bytes());
            lie.extend_from_slice(b"ab");
            let e = decode_subscription(&lie).unwrap_err();
            assert!(e.message().contains("subscription"), "{e}");
            let e = decode_assignment(&lie).unwrap_err();
            assert!(e.message().contains("assignment"), "{e}");
            // One topic whose partition count lies.
            let mut lie = v.to_be_bytes().to_vec();
            lie.extend_from_slice(&1i32.to_be_bytes());
            lie.extend_from_slice(&1i16.to_be_bytes());
            lie.push(b't');
            lie.extend_from_slice(&(i32::MAX / 4).to_be_bytes());
            assert!(decode_assignment(&lie).is_err());
        }
    }

    /// The embedded schemas match what the encoder writes at every version.
    #[test]
    fn embedded_schemas_walk_what_the_encoder_writes() {
        let mut sub = ConsumerProtocolSubscription::default();
        sub.topics = vec![
            StrBytes::from_static_str("a"),
            StrBytes::from_static_str("b"),
        ];
        sub.user_data = Some(Bytes::from_static(b"ud"));
        let mut owned = OwnedTp::default();
        owned.topic = TopicName(StrBytes::from_static_str("a"));
        owned.partitions = vec![1, 2];
        sub.owned_partitions = vec![owned];
        sub.generation_id = 4;
        sub.rack_id = Some(StrBytes::from_static_str("r"));
        let mut asg = ConsumerProtocolAssignment::default();
        let mut tp = AssignedTp::default();
        tp.topic = TopicName(StrBytes::from_static_str("a"));
        tp.partitions = vec![0, 3];
        asg.assigned_partitions = vec![tp];
        asg.user_data = Some(Bytes::from_static(b"x"));
        for v in 0..=3i16 {
            let mut buf = BytesMut::new();
            sub.encode(&mut buf, v).unwrap();
            let n = guard::walk(
                guard::consumer_schema(Embedded::ConsumerSubscription),
                v,
                false,
                &buf,
            )
            .unwrap();
            assert_eq!(n, buf.len(), "subscription v{v}");
            let mut buf = BytesMut::new();
            asg.encode(&mut buf, v).unwrap();
            let n = guard::walk(
                guard::consumer_schema(Embedded::ConsumerAssignment),
                v,
                false,
                &buf,
            )
            .unwrap();
            assert_eq!(n, buf.len(), "assignment v{v}");
        }
    }
}
