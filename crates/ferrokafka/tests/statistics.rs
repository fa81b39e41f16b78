//! Statistics in librdkafka's STATISTICS.md layout, checked field by field
//! for known workloads against the mock cluster: a producer's record and
//! request counts, an idempotent producer's `eos`, a group consumer's
//! positions, lag and rebalance count, and the periodic emission to the
//! callback and the stream.

use ferrokafka::consumer::Consumer;
use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::stats::{Statistics, OFFSET_INVALID};
use ferrokafka::ClientConfig;
use ferrokafka_mock::MockCluster;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().expect("an object").keys().cloned().collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// The fields of each object, as librdkafka emits them (the subset this
/// client fills; the fields it leaves out are in STATISTICS.md).
const TOP: &[&str] = &[
    "name",
    "client_id",
    "type",
    "ts",
    "time",
    "age",
    "replyq",
    "msg_cnt",
    "msg_size",
    "msg_max",
    "msg_size_max",
    "simple_cnt",
    "metadata_cache_cnt",
    "brokers",
    "topics",
    "tx",
    "tx_bytes",
    "rx",
    "rx_bytes",
    "txmsgs",
    "txmsg_bytes",
    "rxmsgs",
    "rxmsg_bytes",
];
const BROKER: &[&str] = &[
    "name",
    "nodeid",
    "nodename",
    "source",
    "state",
    "stateage",
    "outbuf_cnt",
    "outbuf_msg_cnt",
    "waitresp_cnt",
    "waitresp_msg_cnt",
    "tx",
    "txbytes",
    "txerrs",
    "txretries",
    "txidle",
    "req_timeouts",
    "rx",
    "rxbytes",
    "rxerrs",
    "rxcorriderrs",
    "rxpartial",
    "rxidle",
    "zbuf_grow",
    "buf_grow",
    "wakeups",
    "connects",
    "disconnects",
    "int_latency",
    "outbuf_latency",
    "rtt",
    "throttle",
    "req",
    "toppars",
];
const WINDOW: &[&str] = &[
    "min",
    "max",
    "avg",
    "sum",
    "stddev",
    "p50",
    "p75",
    "p90",
    "p95",
    "p99",
    "p99_99",
    "outofrange",
    "hdrsize",
    "cnt",
];
const TOPIC: &[&str] = &[
    "topic",
    "age",
    "metadata_age",
    "batchsize",
    "batchcnt",
    "partitions",
];
const PARTITION: &[&str] = &[
    "partition",
    "broker",
    "leader",
    "desired",
    "unknown",
    "msgq_cnt",
    "msgq_bytes",
    "xmit_msgq_cnt",
    "xmit_msgq_bytes",
    "fetchq_cnt",
    "fetchq_size",
    "fetch_state",
    "query_offset",
    "next_offset",
    "app_offset",
    "stored_offset",
    "stored_leader_epoch",
    "commited_offset",
    "committed_offset",
    "committed_leader_epoch",
    "eof_offset",
    "lo_offset",
    "hi_offset",
    "ls_offset",
    "consumer_lag",
    "consumer_lag_stored",
    "leader_epoch",
    "txmsgs",
    "txbytes",
    "rxmsgs",
    "rxbytes",
    "msgs",
    "rx_ver_drops",
    "msgs_inflight",
    "next_ack_seq",
    "next_err_seq",
    "acked_msgid",
];
const CGRP: &[&str] = &[
    "state",
    "stateage",
    "join_state",
    "rebalance_age",
    "rebalance_cnt",
    "rebalance_reason",
    "assignment_size",
];
const EOS: &[&str] = &[
    "idemp_state",
    "idemp_stateage",
    "txn_state",
    "txn_stateage",
    "txn_may_enq",
    "producer_id",
    "producer_epoch",
    "epoch_cnt",
];

/// Checks every object's field set in `json` against the tables above.
fn check_layout(json: &Value, extra_top: &[&str]) {
    let mut top = set(TOP);
    top.extend(set(extra_top));
    assert_eq!(keys(json), top, "top-level fields");
    for (name, b) in json["brokers"].as_object().unwrap() {
        assert_eq!(keys(b), set(BROKER), "broker {name}");
        for w in ["int_latency", "outbuf_latency", "rtt", "throttle"] {
            assert_eq!(keys(&b[w]), set(WINDOW), "broker {name} {w}");
        }
        for tp in b["toppars"].as_object().unwrap().values() {
            assert_eq!(keys(tp), set(&["topic", "partition"]));
        }
    }
    for (name, t) in json["topics"].as_object().unwrap() {
        assert_eq!(keys(t), set(TOPIC), "topic {name}");
        for w in ["batchsize", "batchcnt"] {
            assert_eq!(keys(&t[w]), set(WINDOW), "topic {name} {w}");
        }
        for (p, v) in t["partitions"].as_object().unwrap() {
            assert_eq!(keys(v), set(PARTITION), "topic {name} partition {p}");
        }
    }
    if let Some(g) = json.get("cgrp") {
        assert_eq!(keys(g), set(CGRP));
    }
    if let Some(e) = json.get("eos") {
        assert_eq!(keys(e), set(EOS));
    }
}

fn cluster(topic: &str, partitions: i32) -> MockCluster {
    MockCluster::builder()
        .brokers(1)
        .topic(topic, partitions, 1)
        .build_blocking()
        .unwrap()
}

/// The one learned (non-bootstrap) broker entry.
fn learned(s: &Statistics) -> &ferrokafka::stats::BrokerStatistics {
    let mut it = s.brokers.values().filter(|b| b.nodeid >= 0);
    let b = it.next().expect("a learned broker");
    assert!(it.next().is_none(), "one broker");
    b
}

#[test]
fn a_producers_statistics_count_its_known_workload() {
    let cluster = cluster("ps", 2);
    let broker_id = cluster.broker_ids()[0];
    let p = Producer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("linger.ms", "50"),
    )
    .unwrap();
    // Record sizes count 16 bytes of framing per record besides the value
    // (librdkafka's txmsg_bytes include framing too).
    const FRAMING: u64 = 16;
    let mut value_bytes = 0u64;
    for i in 0..15 {
        let v = format!("value-{i:02}");
        value_bytes += v.len() as u64 + FRAMING;
        let _d = p
            .send(ProducerRecord::new("ps").partition(i % 3 / 2).value(v))
            .unwrap();
    }
    p.flush(Duration::from_secs(10)).unwrap();
    let s = p.stats();
    let json = serde_json::to_value(&s).unwrap();
    check_layout(&json, &[]);

    assert_eq!(json["type"], "producer");
    assert_eq!(s.client_id, "ferrokafka", "the default client.id");
    assert!(s.name.starts_with("ferrokafka#producer-"), "{}", s.name);
    assert_eq!((s.txmsgs, s.txmsg_bytes), (15, value_bytes));
    assert_eq!((s.msg_cnt, s.msg_size), (0, 0), "everything was delivered");
    assert_eq!(s.msg_max, 100_000);
    assert_eq!(s.msg_size_max, 1_048_576 * 1024);
    assert_eq!(s.metadata_cache_cnt, 1);

    // 15 records: i % 3 / 2 puts 10 on partition 0 and 5 on partition 1.
    let t = &s.topics["ps"];
    for (part, n) in [("0", 10), ("1", 5)] {
        let ps = &t.partitions[part];
        assert_eq!((ps.txmsgs, ps.msgs), (n, n), "partition {part}");
        assert_eq!((ps.msgq_cnt, ps.msgs_inflight), (0, 0));
        assert_eq!(ps.leader, broker_id);
        assert!(ps.desired);
        assert_eq!(ps.fetch_state, "none");
        assert_eq!(ps.committed_offset, OFFSET_INVALID);
    }
    assert_eq!(
        t.partitions["0"].txbytes + t.partitions["1"].txbytes,
        value_bytes
    );
    assert_eq!(t.batchcnt.sum, 15, "every record went in a batch");
    assert!(t.batchcnt.cnt >= 2, "one batch per partition at least");
    assert!(t.batchsize.min > 0 && t.batchsize.max >= t.batchsize.min);

    let b = learned(&s);
    assert_eq!(b.state, "UP");
    assert_eq!(b.source, "learned");
    assert_eq!(b.name, format!("{}/{broker_id}", b.nodename));
    // One ProduceRequest carries every ready partition of the broker.
    assert!(b.req["Produce"] >= 1, "{:?}", b.req);
    assert_eq!(
        b.tx,
        b.req.values().sum::<u64>(),
        "every request counted by API"
    );
    assert_eq!(b.rx, b.tx, "every request was answered");
    assert_eq!((b.waitresp_cnt, b.outbuf_cnt), (0, 0));
    assert_eq!((b.txerrs, b.rxerrs, b.req_timeouts), (0, 0, 0));
    assert!(b.connects >= 1);
    assert_eq!(b.rtt.cnt, b.rx);
    assert!(b.rtt.max >= b.rtt.min && b.rtt.p99 >= b.rtt.p50);
    assert_eq!(b.outbuf_latency.cnt, b.tx);
    assert_eq!(b.int_latency.cnt, t.batchcnt.cnt, "one sample per batch");
    assert_eq!(b.throttle.cnt, 0);
    assert_eq!(
        b.toppars.keys().cloned().collect::<Vec<_>>(),
        ["ps-0", "ps-1"]
    );
    assert!(b.txbytes > value_bytes && b.rxbytes > 0);
    let boot: Vec<_> = s.brokers.values().filter(|b| b.nodeid < 0).collect();
    assert_eq!(boot.len(), 1);
    assert_eq!(boot[0].source, "configured");
    assert!(boot[0].name.ends_with("/bootstrap"));
    let sum = |f: fn(&ferrokafka::stats::BrokerStatistics) -> u64| -> u64 {
        s.brokers.values().map(f).sum()
    };
    assert_eq!(s.tx, sum(|b| b.tx));
    assert_eq!(s.tx_bytes, sum(|b| b.txbytes));
    assert_eq!(s.rx, sum(|b| b.rx));
    assert!(s.eos.is_none(), "not idempotent");
    assert!(s.cgrp.is_none());
    // A snapshot does not roll the windows; two in a row agree.
    assert_eq!(p.stats().topics["ps"].batchcnt, t.batchcnt);
    p.close(Duration::from_secs(5)).unwrap();
}

#[test]
fn an_idempotent_producer_reports_eos() {
    let cluster = cluster("pe", 1);
    let p = Producer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("enable.idempotence", "true"),
    )
    .unwrap();
    for i in 0..4 {
        let _d = p
            .send(ProducerRecord::new("pe").value(format!("v{i}")))
            .unwrap();
    }
    p.flush(Duration::from_secs(10)).unwrap();
    let s = p.stats();
    check_layout(&serde_json::to_value(&s).unwrap(), &["eos"]);
    let eos = s.eos.as_ref().expect("eos with enable.idempotence");
    assert_eq!(eos.idemp_state, "Assigned");
    assert!(eos.producer_id >= 0);
    assert_eq!(eos.producer_epoch, 0);
    assert_eq!(eos.epoch_cnt, 1);
    assert!(eos.txn_may_enq);
    let ps = &s.topics["pe"].partitions["0"];
    assert_eq!(ps.txmsgs, 4);
    assert_eq!(ps.next_ack_seq, 4, "sequences 0..=3 acknowledged");
    let init: u64 = s
        .brokers
        .values()
        .map(|b| b.req.get("InitProducerId").copied().unwrap_or(0))
        .sum();
    assert_eq!(init, 1, "one InitProducerId, to whichever broker");
    p.close(Duration::from_secs(5)).unwrap();
}

#[test]
fn the_interval_emits_to_the_callback_and_the_stream_with_rolling_windows() {
    let cluster = cluster("pi", 1);
    let p = Producer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("statistics.interval.ms", "100"),
    )
    .unwrap();
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let s2 = seen.clone();
    p.set_stats_callback(move |s| {
        s2.lock().unwrap().push(serde_json::to_string(s).unwrap());
    });
    let mut stream = p.stats_stream();
    let _d = p.send(ProducerRecord::new("pi").value("x")).unwrap();
    p.flush(Duration::from_secs(10)).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The first emission after the delivery carries the batch; the
    // window then starts again, so a later one has none.
    let (with_batch, later) = rt.block_on(async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let mut with_batch = None;
        while with_batch.is_none() {
            let s = tokio::time::timeout_at(deadline, stream.next())
                .await
                .expect("an emission within 10 s")
                .expect("the stream is open");
            if s.txmsgs == 1 {
                with_batch = Some(s);
            }
        }
        let later = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap()
            .unwrap();
        (with_batch.unwrap(), later)
    });
    let first_cnt = with_batch.topics["pi"].batchcnt.cnt;
    assert!(first_cnt <= 1);
    assert_eq!(later.topics["pi"].batchcnt.cnt, 0, "rolled at the emission");
    assert_eq!(later.txmsgs, 1, "counters do not roll");
    assert!(later.ts > with_batch.ts);
    // On demand, the counters are all there.
    assert_eq!(p.stats().txmsgs, 1);
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.lock().unwrap().len() < 2 {
        assert!(Instant::now() < deadline, "the callback was not called");
        std::thread::sleep(Duration::from_millis(20));
    }
    let line: Value = serde_json::from_str(&seen.lock().unwrap()[0]).unwrap();
    check_layout(&line, &[]);
    p.close(Duration::from_secs(5)).unwrap();
}

#[test]
fn a_group_consumers_statistics_show_positions_lag_and_rebalances() {
    let cluster = cluster("cs", 1);
    let broker_id = cluster.broker_ids()[0];
    {
        let p = Producer::new(
            &ClientConfig::new().set("bootstrap.servers", cluster.bootstrap_servers()),
        )
        .unwrap();
        for i in 0..10 {
            let _d = p
                .send(ProducerRecord::new("cs").value(format!("record-{i}")))
                .unwrap();
        }
        p.flush(Duration::from_secs(10)).unwrap();
    }
    let c = Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("group.id", "g-stats")
            .set("client.id", "stats-test")
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .set("heartbeat.interval.ms", "100"),
    )
    .unwrap();
    c.subscribe(&["cs"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut got = Vec::new();
    while got.len() < 4 {
        assert!(Instant::now() < deadline, "4 records within 30 s");
        if let Some(Ok(m)) = c.poll(Duration::from_millis(200)) {
            got.push(m);
        }
    }
    // Commit after the 3rd record; the 4th is consumed (and stored) only.
    c.commit_message_blocking(&got[2]).unwrap();
    let s = c.stats();
    let json = serde_json::to_value(&s).unwrap();
    check_layout(&json, &["cgrp"]);
    assert_eq!(json["type"], "consumer");
    assert_eq!(s.client_id, "stats-test");
    let ps = &s.topics["cs"].partitions["0"];
    assert_eq!(ps.fetch_state, "active");
    assert!(ps.desired);
    assert_eq!(ps.leader, broker_id);
    assert_eq!(ps.app_offset, 4);
    assert_eq!(
        ps.stored_offset, 4,
        "enable.auto.offset.store stores each record"
    );
    assert_eq!(ps.committed_offset, 3);
    assert_eq!(ps.commited_offset, 3);
    assert_eq!((ps.lo_offset, ps.hi_offset, ps.ls_offset), (0, 10, 10));
    assert_eq!(ps.consumer_lag, 6, "10 records, 4 consumed");
    assert_eq!(ps.consumer_lag_stored, 6);
    assert!(ps.next_offset >= 4 && ps.next_offset <= 10);
    assert!(ps.rxmsgs >= 4);
    assert_eq!(ps.fetchq_cnt, ps.rxmsgs - 4, "prefetched, not yet polled");
    assert_eq!(ps.msgs, ps.rxmsgs);
    assert_eq!(s.rxmsgs, ps.rxmsgs);
    assert_eq!(ps.txmsgs, 0);
    let g = s.cgrp.as_ref().expect("cgrp with group.id");
    assert_eq!(g.state, "up");
    assert_eq!(g.join_state, "steady");
    assert_eq!(g.rebalance_cnt, 1, "one assignment");
    assert_eq!(g.rebalance_reason, "assign");
    assert_eq!(g.assignment_size, 1);
    let b = learned(&s);
    assert!(b.req["Fetch"] >= 1 && b.req["JoinGroup"] >= 1 && b.req["OffsetCommit"] == 1);
    assert_eq!(b.toppars.keys().cloned().collect::<Vec<_>>(), ["cs-0"]);
    assert_eq!(b.state, "UP");
    // Consuming the rest brings the lag to 0.
    while got.len() < 10 {
        assert!(Instant::now() < deadline, "10 records within 30 s");
        if let Some(Ok(m)) = c.poll(Duration::from_millis(200)) {
            got.push(m);
        }
    }
    let ps = c.stats().topics["cs"].partitions["0"].clone();
    assert_eq!((ps.app_offset, ps.consumer_lag), (10, 0));
    c.close_blocking(Duration::from_secs(10)).unwrap();
}
