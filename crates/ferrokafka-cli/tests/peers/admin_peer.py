"""A third-party admin client checks what `ferrokafka admin` did to a
cluster, then makes its own changes for ferrokafka to check.

Usage: python admin_peer.py BOOTSTRAP verify|act confluent|kafka-python
Prints `PASS admin_peer <phase>` and exits 0 only when every check passed.

verify expects: topic `ix` with 3 partitions of 2 replicas, topic configs
retention.ms=4321 and segment.ms=99999, partition ix:0 starting at offset 2
(records deleted), group `gx` with committed offset 4 on ix:0, one ACL
(User:alice may READ the topics prefixed `ix`).
act makes: topic `py` (2 partitions, cleanup.policy=compact) grown to 4,
retention.ms=777 on `ix`, records of ix:0 deleted before offset 3, group
`gx` deleted, an ACL letting User:py WRITE topic `py`.
"""
import sys

BOOT, PHASE, CLIENT = sys.argv[1], sys.argv[2], sys.argv[3]
T = 15


def fail(msg):
    print(f"FAIL ({CLIENT} {PHASE}): {msg}", file=sys.stderr)
    sys.exit(1)


def expect(what, got, want):
    if got != want:
        fail(f"{what}: got {got!r}, expected {want!r}")


def confluent():
    from confluent_kafka import TopicPartition, TopicCollection, ConsumerGroupTopicPartitions
    from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry,
                                       ConfigResource, NewPartitions, NewTopic, OffsetSpec,
                                       ResourceType)
    a = AdminClient({"bootstrap.servers": BOOT})
    if PHASE == "verify":
        d = a.describe_topics(TopicCollection(["ix"]))["ix"].result(timeout=T)
        expect("ix partitions", len(d.partitions), 3)
        expect("ix replicas", [len(p.replicas) for p in d.partitions], [2, 2, 2])
        r = ConfigResource(ResourceType.TOPIC, "ix")
        c = a.describe_configs([r])[r].result(timeout=T)
        expect("retention.ms", c["retention.ms"].value, "4321")
        expect("segment.ms", c["segment.ms"].value, "99999")
        o = a.list_offsets({TopicPartition("ix", 0): OffsetSpec.earliest()})
        expect("ix:0 earliest", [f.result(timeout=T).offset for f in o.values()], [2])
        f = a.list_consumer_group_offsets([ConsumerGroupTopicPartitions("gx")])
        got = [(tp.topic, tp.partition, tp.offset)
               for g in f.values() for tp in g.result(timeout=T).topic_partitions]
        expect("gx offsets", got, [("ix", 0, 4)])
        from confluent_kafka.admin import (AclBindingFilter, AclOperation, AclPermissionType,
                                           ResourcePatternType)
        acls = a.describe_acls(AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY,
                                                None, None, AclOperation.ANY,
                                                AclPermissionType.ANY)).result(timeout=T)
        expect("acls", [(b.principal, b.name, b.resource_pattern_type.name, b.operation.name,
                         b.permission_type.name) for b in acls],
               [("User:alice", "ix", "PREFIXED", "READ", "ALLOW")])
    else:
        from confluent_kafka.admin import (AclBinding, AclOperation, AclPermissionType,
                                           ResourcePatternType)
        for f in a.create_acls([AclBinding(ResourceType.TOPIC, "py", ResourcePatternType.LITERAL,
                                           "User:py", "*", AclOperation.WRITE,
                                           AclPermissionType.ALLOW)]).values():
            f.result(timeout=T)
        f = a.create_topics([NewTopic("py", num_partitions=2, replication_factor=1,
                                      config={"cleanup.policy": "compact"})])
        f["py"].result(timeout=T)
        a.create_partitions([NewPartitions("py", 4)])["py"].result(timeout=T)
        r = ConfigResource(ResourceType.TOPIC, "ix", incremental_configs=[
            ConfigEntry("retention.ms", "777", incremental_operation=AlterConfigOpType.SET)])
        a.incremental_alter_configs([r])[r].result(timeout=T)
        for f in a.delete_records([TopicPartition("ix", 0, 3)]).values():
            f.result(timeout=T)
        for f in a.delete_consumer_groups(["gx"]).values():
            f.result(timeout=T)


def kafka_python():
    from kafka import TopicPartition
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient
    a = KafkaAdminClient(bootstrap_servers=BOOT.split(","), request_timeout_ms=T * 1000)
    if PHASE == "verify":
        d = a.describe_topics(["ix"])[0]
        expect("ix error", d["error_code"], 0)
        expect("ix replicas", sorted(len(p["replica_nodes"]) for p in d["partitions"]), [2, 2, 2])
        c = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "ix")],
                               config_filter="all")["topic"]["ix"]
        expect("retention.ms", c["retention.ms"]["value"], "4321")
        expect("segment.ms", c["segment.ms"]["value"], "99999")
        o = a.list_partition_offsets({TopicPartition("ix", 0): -2})
        expect("ix:0 earliest", o[TopicPartition("ix", 0)].offset, 2)
        g = a.list_group_offsets({"gx": None})["gx"]
        expect("gx offsets", {(tp.topic, tp.partition): om.offset for tp, om in g.items()},
               {("ix", 0): 4})
        from kafka.admin import (ACLFilter, ACLOperation, ACLPermissionType,
                                 ACLResourcePatternType, ResourcePatternFilter, ResourceType)
        acls, err = a.describe_acls(ACLFilter(None, None, ACLOperation.ANY, ACLPermissionType.ANY,
                                              ResourcePatternFilter(ResourceType.ANY, None,
                                                                    ACLResourcePatternType.ANY)))
        expect("acls", [(b.principal, b.resource_pattern.resource_name,
                         b.resource_pattern.pattern_type.name, b.operation.name,
                         b.permission_type.name) for b in acls],
               [("User:alice", "ix", "PREFIXED", "READ", "ALLOW")])
    else:
        from kafka.admin import (ACL, ACLOperation, ACLPermissionType, ResourcePattern,
                                 ResourceType)
        r = a.create_acls([ACL("User:py", "*", ACLOperation.WRITE, ACLPermissionType.ALLOW,
                               ResourcePattern(ResourceType.TOPIC, "py"))])
        if r.get("failed"):
            fail(f"create_acls: {r}")
        a.create_topics({"py": {"num_partitions": 2, "replication_factor": 1,
                                "configs": {"cleanup.policy": "compact"}}})
        a.create_partitions({"py": 4})
        # kafka-python 3 sends IncrementalAlterConfigs when the broker has it.
        r = a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "ix",
                                            configs={"retention.ms": "777"})])
        expect("alter_configs", r, {"topic": {"ix": "OK"}})
        a.delete_records({TopicPartition("ix", 0): 3})
        expect("delete_groups", a.delete_groups(["gx"]), {"gx": "OK"})


if CLIENT == "confluent":
    confluent()
else:
    kafka_python()
print(f"PASS admin_peer {PHASE}")
