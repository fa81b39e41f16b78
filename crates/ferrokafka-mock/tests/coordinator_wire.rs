//! The mock's group and transaction coordinator driven over TCP with raw
//! kafka-protocol requests, as a client would send them.

use std::collections::HashMap;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use ferrokafka_mock::MockCluster;
use indexmap::IndexMap;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic,
};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Every wait in these tests is bounded by this.
const LIMIT: Duration = Duration::from_secs(20);

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// One client connection speaking raw Kafka requests.
struct Conn {
    stream: TcpStream,
    correlation: i32,
}

impl Conn {
    async fn connect(addr: &str) -> Conn {
        let stream = timeout(LIMIT, TcpStream::connect(addr))
            .await
            .expect("connect within the limit")
            .expect("connect");
        Conn {
            stream,
            correlation: 0,
        }
    }

    async fn call<R: Request>(&mut self, request: &R, version: i16) -> R::Response {
        timeout(LIMIT, self.call_unbounded(request, version))
            .await
            .expect("response within the limit")
    }

    async fn call_unbounded<R: Request>(&mut self, request: &R, version: i16) -> R::Response {
        self.correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(s("coordinator-test")));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, R::header_version(version))
            .expect("encode header");
        request.encode(&mut body, version).expect("encode request");
        let mut frame = BytesMut::with_capacity(body.len() + 4);
        frame.put_i32(body.len() as i32);
        frame.extend_from_slice(&body);
        self.stream.write_all(&frame).await.expect("write request");
        let len = self.stream.read_i32().await.expect("read response size");
        assert!((0..64 << 20).contains(&len), "response size {len}");
        let mut buf = vec![0u8; len as usize];
        self.stream
            .read_exact(&mut buf)
            .await
            .expect("read response");
        let mut buf = Bytes::from(buf);
        let rh = ResponseHeader::decode(&mut buf, R::Response::header_version(version))
            .expect("decode response header");
        assert_eq!(rh.correlation_id, self.correlation);
        R::Response::decode(&mut buf, version).expect("decode response")
    }
}

/// A running cluster with connections to each broker by id.
struct Harness {
    cluster: MockCluster,
    addrs: HashMap<i32, String>,
    bootstrap: String,
}

impl Harness {
    async fn new(brokers: usize) -> Harness {
        let cluster = timeout(LIMIT, MockCluster::builder().brokers(brokers).build())
            .await
            .expect("cluster starts within the limit")
            .expect("cluster starts");
        let bootstrap = cluster.bootstrap_servers();
        let first = bootstrap
            .split(',')
            .next()
            .expect("a bootstrap address")
            .to_string();
        let mut conn = Conn::connect(&first).await;
        let md = conn
            .call(&MetadataRequest::default().with_topics(Some(vec![])), 9)
            .await;
        let addrs = md
            .brokers
            .iter()
            .map(|b| (b.node_id.0, format!("{}:{}", b.host.as_str(), b.port)))
            .collect();
        Harness {
            cluster,
            addrs,
            bootstrap,
        }
    }

    async fn any(&self) -> Conn {
        Conn::connect(self.bootstrap.split(',').next().expect("address")).await
    }

    async fn broker(&self, id: i32) -> Conn {
        Conn::connect(&self.addrs[&id]).await
    }

    /// The coordinator of `key` (0 group, 1 transaction) and a connection to it.
    async fn coordinator(&self, key: &str, key_type: i8) -> (i32, Conn) {
        let mut c = self.any().await;
        let r = FindCoordinatorRequest::default()
            .with_key(s(key))
            .with_key_type(key_type);
        let resp = c.call(&r, 3).await;
        assert_eq!(resp.error_code, 0, "FindCoordinator({key})");
        let addr = format!("{}:{}", resp.host.as_str(), resp.port);
        assert_eq!(self.addrs.get(&resp.node_id.0), Some(&addr));
        (resp.node_id.0, Conn::connect(&addr).await)
    }

    async fn create_topic(&self, name: &str, partitions: i32) {
        let mut c = self.any().await;
        let r = CreateTopicsRequest::default()
            .with_topics(vec![CreatableTopic::default()
                .with_name(TopicName(s(name)))
                .with_num_partitions(partitions)
                .with_replication_factor(1)])
            .with_timeout_ms(5000);
        let resp = c.call(&r, 5).await;
        assert_eq!(resp.topics[0].error_code, 0, "CreateTopics({name})");
    }

    /// The leader of `topic`/`partition` and a connection to it.
    async fn leader(&self, topic: &str, partition: i32) -> Conn {
        let mut c = self.any().await;
        let r = MetadataRequest::default().with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(TopicName(s(topic))))
        ]));
        let md = c.call(&r, 9).await;
        let p = md.topics[0]
            .partitions
            .iter()
            .find(|p| p.partition_index == partition)
            .expect("partition in metadata");
        self.broker(p.leader_id.0).await
    }
}

fn join_request(
    member_id: &str,
    instance: Option<&str>,
    metadata: &'static [u8],
) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(GroupId(s("grp")))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_member_id(s(member_id))
        .with_group_instance_id(instance.map(s))
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(s("range"))
            .with_metadata(Bytes::from_static(metadata))])
}

#[tokio::test]
async fn find_coordinator_is_deterministic_single_and_batched() {
    let h = Harness::new(3).await;
    let mut c = h.any().await;
    let keys = ["alpha", "beta", "gamma", "delta"];
    let batched = FindCoordinatorRequest::default()
        .with_key_type(0)
        .with_coordinator_keys(keys.iter().map(|k| s(k)).collect());
    let resp = c.call(&batched, 4).await;
    assert_eq!(resp.coordinators.len(), keys.len());
    for (key, coord) in keys.iter().zip(&resp.coordinators) {
        assert_eq!(coord.key.as_str(), *key);
        assert_eq!(coord.error_code, 0);
        assert!(h.addrs.contains_key(&coord.node_id.0));
        for version in [0, 1, 3] {
            let single = FindCoordinatorRequest::default().with_key(s(key));
            let one = c.call(&single, version).await;
            assert_eq!(
                one.node_id, coord.node_id,
                "v{version} agrees with v4 for {key}"
            );
            assert_eq!(one.port, coord.port);
        }
    }
    let bad = FindCoordinatorRequest::default()
        .with_key(s("x"))
        .with_key_type(7);
    assert_eq!(c.call(&bad, 2).await.error_code, E::InvalidRequest.code());
}

#[tokio::test]
async fn group_round_trip_over_tcp() {
    let h = Harness::new(3).await;
    h.create_topic("gt", 2).await;
    let (coord_id, mut a) = h.coordinator("grp", 0).await;

    // A request for the group at another broker is refused.
    let other = *h
        .addrs
        .keys()
        .find(|id| **id != coord_id)
        .expect("another broker");
    let mut wrong = h.broker(other).await;
    let r = wrong.call(&join_request("", None, b"a"), 5).await;
    assert_eq!(r.error_code, E::NotCoordinator.code());

    // KIP-394: the first JoinGroup (v4+) gets an id and MEMBER_ID_REQUIRED.
    let first = a.call(&join_request("", None, b"a"), 5).await;
    assert_eq!(first.error_code, E::MemberIdRequired.code());
    let a_id = first.member_id.as_str().to_string();
    assert!(!a_id.is_empty());
    let joined = a.call(&join_request(&a_id, None, b"a"), 5).await;
    assert_eq!(joined.error_code, 0);
    assert_eq!(joined.generation_id, 1);
    assert_eq!(joined.leader.as_str(), a_id);
    let sync = SyncGroupRequest::default()
        .with_group_id(GroupId(s("grp")))
        .with_generation_id(1)
        .with_member_id(s(&a_id))
        .with_assignments(vec![SyncGroupRequestAssignment::default()
            .with_member_id(s(&a_id))
            .with_assignment(Bytes::from_static(b"all"))]);
    let synced = a.call(&sync, 3).await;
    assert_eq!(
        (synced.error_code, &synced.assignment[..]),
        (0, &b"all"[..])
    );

    // B joins (JoinGroup v3: no KIP-394) and waits until A rejoins.
    let addr = h.addrs[&coord_id].clone();
    let b_join = tokio::spawn(async move {
        let mut b = Conn::connect(&addr).await;
        let r = b.call(&join_request("", None, b"b"), 3).await;
        (b, r)
    });
    let hb = HeartbeatRequest::default()
        .with_group_id(GroupId(s("grp")))
        .with_generation_id(1)
        .with_member_id(s(&a_id));
    let mut saw_rebalance = false;
    for _ in 0..100 {
        if a.call(&hb, 2).await.error_code == E::RebalanceInProgress.code() {
            saw_rebalance = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(saw_rebalance, "A's heartbeat reports the rebalance");
    let a2 = a.call(&join_request(&a_id, None, b"a"), 5).await;
    let (mut b, b2) = timeout(LIMIT, b_join)
        .await
        .expect("B answered")
        .expect("B task");
    assert_eq!((a2.error_code, b2.error_code), (0, 0));
    assert_eq!((a2.generation_id, b2.generation_id), (2, 2));
    assert_eq!(a2.members.len(), 2, "the leader sees both members");
    assert!(b2.members.is_empty());
    let b_id = b2.member_id.as_str().to_string();

    // B's SyncGroup waits for the leader's.
    let b_sync = SyncGroupRequest::default()
        .with_group_id(GroupId(s("grp")))
        .with_generation_id(2)
        .with_member_id(s(&b_id));
    let b_task = tokio::spawn(async move {
        let r = b.call(&b_sync, 5).await;
        (b, r)
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let lead_sync = SyncGroupRequest::default()
        .with_group_id(GroupId(s("grp")))
        .with_generation_id(2)
        .with_member_id(s(&a_id))
        .with_protocol_type(Some(s("consumer")))
        .with_protocol_name(Some(s("range")))
        .with_assignments(vec![
            SyncGroupRequestAssignment::default()
                .with_member_id(s(&a_id))
                .with_assignment(Bytes::from_static(b"p0")),
            SyncGroupRequestAssignment::default()
                .with_member_id(s(&b_id))
                .with_assignment(Bytes::from_static(b"p1")),
        ]);
    let a_synced = a.call(&lead_sync, 5).await;
    let (mut b, b_synced) = timeout(LIMIT, b_task)
        .await
        .expect("B synced")
        .expect("B task");
    assert_eq!(&a_synced.assignment[..], b"p0");
    assert_eq!(&b_synced.assignment[..], b"p1");
    assert_eq!(
        b_synced.protocol_name.as_ref().map(|p| p.as_str()),
        Some("range")
    );

    // Heartbeat errors.
    let stale = hb.clone().with_generation_id(1);
    assert_eq!(
        a.call(&stale, 3).await.error_code,
        E::IllegalGeneration.code()
    );
    let ghost = hb.clone().with_generation_id(2).with_member_id(s("ghost"));
    assert_eq!(
        a.call(&ghost, 3).await.error_code,
        E::UnknownMemberId.code()
    );

    // Commit and read back, in the single-group and batched OffsetFetch forms.
    let commit = OffsetCommitRequest::default()
        .with_group_id(GroupId(s("grp")))
        .with_generation_id_or_member_epoch(2)
        .with_member_id(s(&a_id))
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(TopicName(s("gt")))
            .with_partitions(vec![
                OffsetCommitRequestPartition::default()
                    .with_partition_index(0)
                    .with_committed_offset(17)
                    .with_committed_leader_epoch(0)
                    .with_committed_metadata(Some(s("meta"))),
                OffsetCommitRequestPartition::default()
                    .with_partition_index(9)
                    .with_committed_offset(1),
            ])]);
    let committed = a.call(&commit, 8).await;
    let codes: Vec<i16> = committed.topics[0]
        .partitions
        .iter()
        .map(|p| p.error_code)
        .collect();
    assert_eq!(codes, vec![0, E::UnknownTopicOrPartition.code()]);
    let zombie = commit.clone().with_generation_id_or_member_epoch(1);
    let refused = a.call(&zombie, 8).await;
    assert_eq!(
        refused.topics[0].partitions[0].error_code,
        E::IllegalGeneration.code()
    );

    let fetch = OffsetFetchRequest::default()
        .with_group_id(GroupId(s("grp")))
        .with_topics(Some(vec![OffsetFetchRequestTopic::default()
            .with_name(TopicName(s("gt")))
            .with_partition_indexes(vec![0, 1])]));
    let fetched = b.call(&fetch, 5).await;
    let p: Vec<(i64, i32)> = fetched.topics[0]
        .partitions
        .iter()
        .map(|p| (p.committed_offset, p.committed_leader_epoch))
        .collect();
    assert_eq!(p, vec![(17, 0), (-1, -1)]);
    assert_eq!(
        fetched.topics[0].partitions[0]
            .metadata
            .as_ref()
            .map(|m| m.as_str()),
        Some("meta")
    );
    let all = b
        .call(
            &OffsetFetchRequest::default()
                .with_group_id(GroupId(s("grp")))
                .with_topics(None),
            2,
        )
        .await;
    assert_eq!(
        all.topics.len(),
        1,
        "null topics lists every committed offset"
    );
    let batched =
        OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(s("grp")))
            .with_topics(None)]);
    let batched = b.call(&batched, 8).await;
    assert_eq!(
        batched.groups[0].topics[0].partitions[0].committed_offset,
        17
    );

    // ListGroups and DescribeGroups see the stable group.
    let listed = a.call(&ListGroupsRequest::default(), 4).await;
    let g = listed
        .groups
        .iter()
        .find(|g| g.group_id.as_str() == "grp")
        .expect("group listed");
    assert_eq!(g.group_state.as_str(), "Stable");
    let described = a
        .call(
            &DescribeGroupsRequest::default().with_groups(vec![GroupId(s("grp"))]),
            5,
        )
        .await;
    let d = &described.groups[0];
    assert_eq!(
        (
            d.error_code,
            d.group_state.as_str(),
            d.protocol_data.as_str()
        ),
        (0, "Stable", "range")
    );
    assert_eq!(d.members.len(), 2);

    // LeaveGroup v3 (batch): B leaves, A's heartbeat then sees a rebalance.
    let leave = LeaveGroupRequest::default()
        .with_group_id(GroupId(s("grp")))
        .with_members(vec![MemberIdentity::default().with_member_id(s(&b_id))]);
    let left = a.call(&leave, 3).await;
    assert_eq!(left.members[0].error_code, 0);
    let hb2 = hb.clone().with_generation_id(2);
    assert_eq!(
        a.call(&hb2, 3).await.error_code,
        E::RebalanceInProgress.code()
    );
}

#[tokio::test]
async fn simple_commit_for_assign_only_consumer() {
    let h = Harness::new(1).await;
    h.create_topic("st", 1).await;
    let (_, mut c) = h.coordinator("simple", 0).await;
    let commit = OffsetCommitRequest::default()
        .with_group_id(GroupId(s("simple")))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(TopicName(s("st")))
            .with_partitions(vec![OffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(5)])]);
    let r = c.call(&commit, 2).await;
    assert_eq!(r.topics[0].partitions[0].error_code, 0);
    let fetch = OffsetFetchRequest::default()
        .with_group_id(GroupId(s("simple")))
        .with_topics(Some(vec![OffsetFetchRequestTopic::default()
            .with_name(TopicName(s("st")))
            .with_partition_indexes(vec![0])]));
    assert_eq!(
        c.call(&fetch, 1).await.topics[0].partitions[0].committed_offset,
        5
    );
}

#[tokio::test]
async fn static_member_rejoin_fences_old_member_id() {
    let h = Harness::new(1).await;
    let (_, mut c) = h.coordinator("grp", 0).await;
    let first = c.call(&join_request("", Some("inst-1"), b"m"), 5).await;
    assert_eq!(first.error_code, 0);
    let old_id = first.member_id.as_str().to_string();
    let sync = SyncGroupRequest::default()
        .with_group_id(GroupId(s("grp")))
        .with_generation_id(first.generation_id)
        .with_member_id(s(&old_id))
        .with_group_instance_id(Some(s("inst-1")));
    assert_eq!(c.call(&sync, 3).await.error_code, 0);
    let again = c.call(&join_request("", Some("inst-1"), b"m"), 5).await;
    assert_eq!(again.error_code, 0);
    assert_eq!(again.generation_id, first.generation_id, "no rebalance");
    assert_ne!(again.member_id, first.member_id);
    let hb = HeartbeatRequest::default()
        .with_group_id(GroupId(s("grp")))
        .with_generation_id(first.generation_id)
        .with_member_id(s(&old_id))
        .with_group_instance_id(Some(s("inst-1")));
    assert_eq!(c.call(&hb, 3).await.error_code, E::FencedInstanceId.code());
}

fn txn_batch(pid: i64, epoch: i16, sequence: i32, values: &[&'static str]) -> Bytes {
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Record {
            transactional: true,
            control: false,
            partition_leader_epoch: 0,
            producer_id: pid,
            producer_epoch: epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: sequence + i as i32,
            timestamp: 1_700_000_000_000,
            key: None,
            value: Some(Bytes::from_static(v.as_bytes())),
            headers: IndexMap::new(),
            delete_horizon: false,
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut buf, &records, &options).expect("encode batch");
    buf.freeze()
}

async fn produce(conn: &mut Conn, txn_id: &str, topic: &str, batch: Bytes) -> i16 {
    let r = ProduceRequest::default()
        .with_transactional_id(Some(TransactionalId(s(txn_id))))
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(s(topic)))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(batch))])]);
    conn.call(&r, 8).await.responses[0].partition_responses[0].error_code
}

/// (last stable offset, values visible to read_committed, aborted producer ids).
async fn read_committed(conn: &mut Conn, topic: &str) -> (i64, Vec<String>, Vec<i64>) {
    let r = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_min_bytes(0)
        .with_max_bytes(1 << 20)
        .with_isolation_level(1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(s(topic)))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(0)
                .with_partition_max_bytes(1 << 20)])]);
    let resp = conn.call(&r, 11).await;
    let p = &resp.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    let aborted: Vec<(i64, i64)> = p
        .aborted_transactions
        .iter()
        .flatten()
        .map(|a| (a.producer_id.0, a.first_offset))
        .collect();
    let mut values = Vec::new();
    let mut data = p.records.clone().unwrap_or_default();
    while data.has_remaining() {
        let set = RecordBatchDecoder::decode(&mut data).expect("decode fetched batch");
        for rec in set.records {
            let dropped = aborted
                .iter()
                .any(|(pid, first)| *pid == rec.producer_id && rec.offset >= *first);
            if rec.control || rec.offset >= p.last_stable_offset || dropped {
                continue;
            }
            let v = rec
                .value
                .map(|v| String::from_utf8_lossy(&v).into_owned())
                .unwrap_or_default();
            values.push(v);
        }
    }
    (
        p.last_stable_offset,
        values,
        aborted.iter().map(|a| a.0).collect(),
    )
}

#[tokio::test]
async fn transaction_commit_and_abort_with_read_committed() {
    let h = Harness::new(3).await;
    h.create_topic("tt", 1).await;
    let (_, mut coord) = h.coordinator("txn-1", 1).await;
    let init = InitProducerIdRequest::default()
        .with_transactional_id(Some(TransactionalId(s("txn-1"))))
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let ids = coord.call(&init, 4).await;
    assert_eq!(ids.error_code, 0);
    let (pid, epoch) = (ids.producer_id, ids.producer_epoch);
    let mut leader = h.leader("tt", 0).await;

    let add = AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(TransactionalId(s("txn-1")))
        .with_v3_and_below_producer_id(pid)
        .with_v3_and_below_producer_epoch(epoch)
        .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
            .with_name(TopicName(s("tt")))
            .with_partitions(vec![0])]);
    let added = coord.call(&add, 3).await;
    assert_eq!(
        added.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code,
        0
    );
    assert_eq!(
        produce(
            &mut leader,
            "txn-1",
            "tt",
            txn_batch(pid.0, epoch, 0, &["c1", "c2"])
        )
        .await,
        0
    );

    // Offsets sent to the transaction stay invisible until commit.
    let add_offsets = AddOffsetsToTxnRequest::default()
        .with_transactional_id(TransactionalId(s("txn-1")))
        .with_producer_id(pid)
        .with_producer_epoch(epoch)
        .with_group_id(GroupId(s("txn-group")));
    assert_eq!(coord.call(&add_offsets, 3).await.error_code, 0);
    let (_, mut gcoord) = h.coordinator("txn-group", 0).await;
    let toc = TxnOffsetCommitRequest::default()
        .with_transactional_id(TransactionalId(s("txn-1")))
        .with_group_id(GroupId(s("txn-group")))
        .with_producer_id(pid)
        .with_producer_epoch(epoch)
        .with_generation_id(-1)
        .with_topics(vec![TxnOffsetCommitRequestTopic::default()
            .with_name(TopicName(s("tt")))
            .with_partitions(vec![TxnOffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(2)])]);
    assert_eq!(
        gcoord.call(&toc, 3).await.topics[0].partitions[0].error_code,
        0
    );
    let stable_fetch = OffsetFetchRequest::default()
        .with_group_id(GroupId(s("txn-group")))
        .with_require_stable(true)
        .with_topics(Some(vec![OffsetFetchRequestTopic::default()
            .with_name(TopicName(s("tt")))
            .with_partition_indexes(vec![0])]));
    let pending = gcoord.call(&stable_fetch, 7).await;
    assert_eq!(
        pending.topics[0].partitions[0].error_code,
        E::UnstableOffsetCommit.code()
    );

    let (lso, values, _) = read_committed(&mut leader, "tt").await;
    assert_eq!((lso, values.len()), (0, 0), "nothing visible before commit");

    let end = EndTxnRequest::default()
        .with_transactional_id(TransactionalId(s("txn-1")))
        .with_producer_id(pid)
        .with_producer_epoch(epoch)
        .with_committed(true);
    assert_eq!(coord.call(&end, 3).await.error_code, 0);
    let (lso, values, _) = read_committed(&mut leader, "tt").await;
    assert_eq!(values, vec!["c1", "c2"]);
    assert_eq!(lso, 3, "two records and the commit marker");
    let visible = gcoord.call(&stable_fetch, 7).await;
    assert_eq!(visible.topics[0].partitions[0].committed_offset, 2);

    // A second transaction is aborted: its records never become visible.
    assert_eq!(
        coord.call(&add, 3).await.results_by_topic_v3_and_below[0].results_by_partition[0]
            .partition_error_code,
        0
    );
    assert_eq!(
        produce(
            &mut leader,
            "txn-1",
            "tt",
            txn_batch(pid.0, epoch, 2, &["a1"])
        )
        .await,
        0
    );
    let abort = end.clone().with_committed(false);
    assert_eq!(coord.call(&abort, 3).await.error_code, 0);
    let (lso, values, aborted) = read_committed(&mut leader, "tt").await;
    assert_eq!(values, vec!["c1", "c2"]);
    assert_eq!(lso, 5);
    assert_eq!(aborted, vec![pid.0]);

    // A new producer with the same transactional.id fences the old one.
    let ids2 = coord.call(&init, 4).await;
    assert_eq!((ids2.producer_id, ids2.producer_epoch), (pid, epoch + 1));
    assert_eq!(
        coord.call(&add, 3).await.results_by_topic_v3_and_below[0].results_by_partition[0]
            .partition_error_code,
        E::ProducerFenced.code()
    );
    assert_eq!(
        coord.call(&end, 3).await.error_code,
        E::ProducerFenced.code()
    );
}

#[tokio::test]
async fn reinit_aborts_the_open_transaction() {
    let h = Harness::new(1).await;
    h.create_topic("rt", 1).await;
    let (_, mut coord) = h.coordinator("txn-2", 1).await;
    let init = InitProducerIdRequest::default()
        .with_transactional_id(Some(TransactionalId(s("txn-2"))))
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let ids = coord.call(&init, 3).await;
    let (pid, epoch) = (ids.producer_id, ids.producer_epoch);
    let add = AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(TransactionalId(s("txn-2")))
        .with_v3_and_below_producer_id(pid)
        .with_v3_and_below_producer_epoch(epoch)
        .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
            .with_name(TopicName(s("rt")))
            .with_partitions(vec![0])]);
    coord.call(&add, 1).await;
    let mut leader = h.leader("rt", 0).await;
    assert_eq!(
        produce(
            &mut leader,
            "txn-2",
            "rt",
            txn_batch(pid.0, epoch, 0, &["zombie"])
        )
        .await,
        0
    );
    let ids2 = coord.call(&init, 3).await;
    assert_eq!(ids2.producer_epoch, epoch + 1);
    let (lso, values, aborted) = read_committed(&mut leader, "rt").await;
    assert!(values.is_empty(), "the zombie's records are aborted");
    assert_eq!(lso, 2);
    assert_eq!(aborted, vec![pid.0]);
    // The old epoch can no longer write to the partition.
    let code = produce(
        &mut leader,
        "txn-2",
        "rt",
        txn_batch(pid.0, epoch, 1, &["late"]),
    )
    .await;
    assert!(
        code == E::InvalidProducerEpoch.code() || code == E::ProducerFenced.code(),
        "got {code}"
    );
}

#[tokio::test]
async fn idempotent_init_producer_id_allocates_distinct_ids() {
    let h = Harness::new(1).await;
    let mut c = h.any().await;
    let init = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_transaction_timeout_ms(-1)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let a = c.call(&init, 4).await;
    let b = c.call(&init, 2).await;
    assert_eq!((a.error_code, b.error_code), (0, 0));
    assert_ne!(a.producer_id, b.producer_id);
    let bump = init
        .clone()
        .with_producer_id(a.producer_id)
        .with_producer_epoch(a.producer_epoch);
    let bumped = c.call(&bump, 4).await;
    assert_eq!(
        (bumped.producer_id, bumped.producer_epoch),
        (a.producer_id, a.producer_epoch + 1)
    );
}

#[tokio::test]
async fn transaction_timeout_aborts_and_fences_with_an_abortable_error() {
    let h = Harness::new(1).await;
    h.create_topic("xt", 1).await;
    let (_, mut coord) = h.coordinator("txn-3", 1).await;
    let init = InitProducerIdRequest::default()
        .with_transactional_id(Some(TransactionalId(s("txn-3"))))
        .with_transaction_timeout_ms(200)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let ids = coord.call(&init, 3).await;
    let (pid, epoch) = (ids.producer_id, ids.producer_epoch);
    let add = AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(TransactionalId(s("txn-3")))
        .with_v3_and_below_producer_id(pid)
        .with_v3_and_below_producer_epoch(epoch)
        .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
            .with_name(TopicName(s("xt")))
            .with_partitions(vec![0])]);
    coord.call(&add, 3).await;
    let mut leader = h.leader("xt", 0).await;
    assert_eq!(
        produce(
            &mut leader,
            "txn-3",
            "xt",
            txn_batch(pid.0, epoch, 0, &["slow"])
        )
        .await,
        0
    );
    // The cluster's own tick aborts the transaction; no client request needed.
    let mut lso = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        lso = read_committed(&mut leader, "xt").await.0;
        if lso == 2 {
            break;
        }
    }
    assert_eq!(
        lso, 2,
        "the timed-out transaction's abort marker moved the LSO"
    );
    let (_, values, aborted) = read_committed(&mut leader, "xt").await;
    assert!(values.is_empty());
    assert_eq!(aborted, vec![pid.0]);
    let end = EndTxnRequest::default()
        .with_transactional_id(TransactionalId(s("txn-3")))
        .with_producer_id(pid)
        .with_producer_epoch(epoch)
        .with_committed(true);
    assert_eq!(
        coord.call(&end, 3).await.error_code,
        E::InvalidProducerEpoch.code(),
        "abortable, not fatal: the producer may recover"
    );
    // KIP-360: the producer recovers by naming its old id and epoch.
    let recover = init
        .clone()
        .with_producer_id(pid)
        .with_producer_epoch(epoch);
    let recovered = coord.call(&recover, 3).await;
    assert_eq!(recovered.error_code, 0);
    assert_eq!(
        (recovered.producer_id, recovered.producer_epoch),
        (pid, epoch + 1)
    );
}

#[tokio::test]
async fn session_timeout_expires_a_silent_member() {
    let h = Harness::new(1).await;
    let (_, mut c) = h.coordinator("grp", 0).await;
    let join = join_request("", None, b"m").with_session_timeout_ms(300);
    let first = c.call(&join, 3).await;
    assert_eq!(first.error_code, 0);
    let describe = DescribeGroupsRequest::default().with_groups(vec![GroupId(s("grp"))]);
    assert_eq!(c.call(&describe, 3).await.groups[0].members.len(), 1);
    let mut state = String::new();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let d = c.call(&describe, 3).await;
        state = d.groups[0].group_state.as_str().to_string();
        if state == "Empty" {
            assert!(d.groups[0].members.is_empty());
            break;
        }
    }
    assert_eq!(
        state, "Empty",
        "the member expired after its session timeout"
    );
    let hb = HeartbeatRequest::default()
        .with_group_id(GroupId(s("grp")))
        .with_generation_id(first.generation_id)
        .with_member_id(first.member_id.clone());
    assert_eq!(c.call(&hb, 3).await.error_code, E::UnknownMemberId.code());
}

#[tokio::test]
async fn coordinator_moves_when_its_broker_goes_down() {
    let h = Harness::new(3).await;
    let (before, _) = h.coordinator("moving", 0).await;
    h.cluster.broker_down(before).expect("broker down");
    let survivor = *h
        .addrs
        .keys()
        .find(|id| **id != before)
        .expect("another broker");
    let mut c = h.broker(survivor).await;
    let r = FindCoordinatorRequest::default().with_key(s("moving"));
    let after = c.call(&r, 2).await;
    assert_eq!(after.error_code, 0);
    assert_ne!(
        after.node_id.0, before,
        "a down broker is not named coordinator"
    );
    for id in h.cluster.broker_ids() {
        if id != survivor {
            h.cluster.broker_down(id).expect("broker down");
        }
    }
    let only = c.call(&r, 2).await;
    assert_eq!(
        only.node_id.0, survivor,
        "the last broker up coordinates everything"
    );
}

/// JoinGroup metadata of a consumer subscribed to `topics` (version-prefixed
/// ConsumerProtocolSubscription v1).
fn subscription(topics: &[&str]) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(1);
    ConsumerProtocolSubscription::default()
        .with_topics(topics.iter().map(|t| s(t)).collect())
        .encode(&mut buf, 1)
        .expect("encode subscription");
    buf.freeze()
}

#[tokio::test]
async fn delete_groups_and_offset_delete() {
    let h = Harness::new(1).await;
    h.create_topic("dt", 1).await;
    h.create_topic("ot", 1).await;
    let (_, mut c) = h.coordinator("dg", 0).await;
    let join = join_request("", None, b"")
        .with_group_id(GroupId(s("dg")))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(s("range"))
            .with_metadata(subscription(&["dt"]))]);
    let joined = c.call(&join, 3).await;
    assert_eq!(joined.error_code, 0);
    let member = joined.member_id.clone();
    let commit = OffsetCommitRequest::default()
        .with_group_id(GroupId(s("dg")))
        .with_generation_id_or_member_epoch(joined.generation_id)
        .with_member_id(member.clone())
        .with_topics(
            ["dt", "ot"]
                .iter()
                .map(|t| {
                    OffsetCommitRequestTopic::default()
                        .with_name(TopicName(s(t)))
                        .with_partitions(vec![OffsetCommitRequestPartition::default()
                            .with_partition_index(0)
                            .with_committed_offset(3)])
                })
                .collect(),
        );
    let sync = SyncGroupRequest::default()
        .with_group_id(GroupId(s("dg")))
        .with_generation_id(joined.generation_id)
        .with_member_id(member.clone());
    assert_eq!(c.call(&sync, 3).await.error_code, 0);
    let committed = c.call(&commit, 7).await;
    assert!(committed
        .topics
        .iter()
        .all(|t| t.partitions[0].error_code == 0));

    let delete_offsets = OffsetDeleteRequest::default()
        .with_group_id(GroupId(s("dg")))
        .with_topics(
            ["dt", "ot"]
                .iter()
                .map(|t| {
                    OffsetDeleteRequestTopic::default()
                        .with_name(TopicName(s(t)))
                        .with_partitions(vec![
                            OffsetDeleteRequestPartition::default().with_partition_index(0)
                        ])
                })
                .collect(),
        );
    let deleted = c.call(&delete_offsets, 0).await;
    assert_eq!(deleted.error_code, 0);
    let codes: Vec<(String, i16)> = deleted
        .topics
        .iter()
        .map(|t| (t.name.as_str().to_string(), t.partitions[0].error_code))
        .collect();
    assert_eq!(
        codes,
        vec![
            ("dt".to_string(), E::GroupSubscribedToTopic.code()),
            ("ot".to_string(), 0)
        ]
    );
    let fetch = OffsetFetchRequest::default()
        .with_group_id(GroupId(s("dg")))
        .with_topics(None);
    let left: Vec<String> = c
        .call(&fetch, 3)
        .await
        .topics
        .iter()
        .map(|t| t.name.as_str().to_string())
        .collect();
    assert_eq!(
        left,
        vec!["dt"],
        "only the unsubscribed topic's offset went"
    );

    let delete = DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s("dg"))]);
    assert_eq!(
        c.call(&delete, 2).await.results[0].error_code,
        E::NonEmptyGroup.code()
    );
    let leave = LeaveGroupRequest::default()
        .with_group_id(GroupId(s("dg")))
        .with_member_id(member);
    assert_eq!(c.call(&leave, 1).await.error_code, 0);
    assert_eq!(c.call(&delete, 2).await.results[0].error_code, 0);
    assert_eq!(
        c.call(&delete, 0).await.results[0].error_code,
        E::GroupIdNotFound.code()
    );
}

/// Odd but decodable requests get Kafka errors, and the coordinator keeps
/// serving afterwards.
#[tokio::test]
async fn odd_requests_get_errors_not_hangs() {
    let h = Harness::new(1).await;
    let (_, mut c) = h.coordinator("grp", 0).await;
    let bad_session = join_request("", None, b"m").with_session_timeout_ms(-5);
    assert_eq!(
        c.call(&bad_session, 5).await.error_code,
        E::InvalidSessionTimeout.code()
    );
    let no_protocols = join_request("", None, b"m").with_protocols(vec![]);
    assert_eq!(
        c.call(&no_protocols, 5).await.error_code,
        E::InconsistentGroupProtocol.code()
    );
    let empty_group = join_request("", None, b"m").with_group_id(GroupId(s("")));
    // The empty group id hashes to some broker; with one broker it is this one.
    assert_eq!(
        c.call(&empty_group, 2).await.error_code,
        E::InvalidGroupId.code()
    );
    let sync_unknown = SyncGroupRequest::default()
        .with_group_id(GroupId(s("nope")))
        .with_generation_id(i32::MAX)
        .with_member_id(s("ghost"));
    assert_eq!(
        c.call(&sync_unknown, 3).await.error_code,
        E::UnknownMemberId.code()
    );
    let leave = LeaveGroupRequest::default()
        .with_group_id(GroupId(s("grp")))
        .with_members(vec![
            MemberIdentity::default().with_member_id(s("")),
            MemberIdentity::default()
                .with_member_id(s(""))
                .with_group_instance_id(Some(s("never-joined"))),
        ]);
    let left = c.call(&leave, 4).await;
    assert!(left
        .members
        .iter()
        .all(|m| m.error_code == E::UnknownMemberId.code()));
    let commit = OffsetCommitRequest::default()
        .with_group_id(GroupId(s("grp")))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(TopicName(s("no-such-topic")))
            .with_partitions(vec![OffsetCommitRequestPartition::default()
                .with_partition_index(-3)
                .with_committed_offset(i64::MIN)])]);
    assert_eq!(
        c.call(&commit, 2).await.topics[0].partitions[0].error_code,
        E::UnknownTopicOrPartition.code()
    );
    let end = EndTxnRequest::default()
        .with_transactional_id(TransactionalId(s("never-initialised")))
        .with_producer_id(ProducerId(i64::MAX))
        .with_producer_epoch(i16::MIN)
        .with_committed(true);
    let (_, mut tc) = h.coordinator("never-initialised", 1).await;
    assert_eq!(
        tc.call(&end, 3).await.error_code,
        E::InvalidProducerIdMapping.code()
    );
    let bad_timeout = InitProducerIdRequest::default()
        .with_transactional_id(Some(TransactionalId(s("never-initialised"))))
        .with_transaction_timeout_ms(i32::MAX);
    assert_eq!(
        tc.call(&bad_timeout, 2).await.error_code,
        E::InvalidTransactionTimeout.code()
    );
    // Still serving: a normal join completes.
    let ok = c.call(&join_request("", None, b"m"), 3).await;
    assert_eq!((ok.error_code, ok.generation_id), (0, 1));
}
