#!/usr/bin/env python3
"""Runs librdkafka's mock cluster as a peer for ferrokafka's interop tests.

The mock cluster is librdkafka's own in-process Kafka cluster. It is reached
through ctypes on the librdkafka shared library that the `confluent-kafka`
wheel bundles, so nothing has to be compiled.

Usage: rdkafka_mock.py [--brokers N] [--topic NAME:PARTITIONS[:RF]]...

The first line printed is `BOOTSTRAP=host:port,...`. Then one command per line
is read from standard input and answered with exactly one line, `OK [data]` or
`ERR message`, so a caller can wait for each command to take effect:

    errors API_KEY CODE[,CODE...]           errors for the next requests of an API
    berrors BROKER API_KEY CODE[:RTT_MS],.. same, on one broker, each with a delay
    clear API_KEY                           forget pushed errors of an API
    down BROKER_ID / up BROKER_ID           take a broker down or bring it back
    rtt BROKER_ID MS                        add a round-trip delay to a broker
    leader TOPIC PARTITION BROKER_ID        move a partition's leader
    follower TOPIC PARTITION BROKER_ID      read-from-follower target
    topic NAME PARTITIONS [RF]              create a topic
    topic_error TOPIC CODE                  make Metadata report an error for a topic
    coordinator group|transaction KEY ID    pin a coordinator
    apiversion API_KEY MIN MAX              narrow the versions served for an API
    track / untrack                         start / stop request tracking
    requests                                `OK broker:api_key ...` of tracked requests
    bootstrap                               `OK host:port,...`
    quit                                    stop

The process exits when standard input closes, so a test that dies never
leaves a cluster behind.
"""

import argparse
import ctypes
import glob
import os
import sys

RD_KAFKA_PRODUCER = 0


def find_librdkafka():
    """Path of the librdkafka shared library bundled with confluent-kafka."""
    explicit = os.environ.get("FERROKAFKA_LIBRDKAFKA")
    if explicit:
        return explicit
    import confluent_kafka  # noqa: F401  (only to locate site-packages)

    site = os.path.dirname(os.path.dirname(confluent_kafka.__file__))
    found = sorted(glob.glob(os.path.join(site, "confluent_kafka.libs", "librdkafka*.so*")))
    if not found:
        raise SystemExit("rdkafka_mock: no librdkafka*.so* in %s/confluent_kafka.libs" % site)
    return found[0]


def load(path):
    lib = ctypes.CDLL(path)
    p = ctypes.c_void_p
    sigs = {
        "rd_kafka_conf_new": (p, []),
        "rd_kafka_conf_set": (ctypes.c_int, [p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]),
        "rd_kafka_new": (p, [ctypes.c_int, p, ctypes.c_char_p, ctypes.c_size_t]),
        "rd_kafka_destroy": (None, [p]),
        "rd_kafka_err2name": (ctypes.c_char_p, [ctypes.c_int]),
        "rd_kafka_mock_cluster_new": (p, [p, ctypes.c_int]),
        "rd_kafka_mock_cluster_destroy": (None, [p]),
        "rd_kafka_mock_cluster_bootstraps": (ctypes.c_char_p, [p]),
        "rd_kafka_mock_topic_create": (ctypes.c_int, [p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]),
        "rd_kafka_mock_topic_set_error": (None, [p, ctypes.c_char_p, ctypes.c_int]),
        "rd_kafka_mock_push_request_errors_array": (None, [p, ctypes.c_int16, ctypes.c_size_t, ctypes.POINTER(ctypes.c_int)]),
        "rd_kafka_mock_clear_request_errors": (None, [p, ctypes.c_int16]),
        "rd_kafka_mock_broker_set_down": (ctypes.c_int, [p, ctypes.c_int32]),
        "rd_kafka_mock_broker_set_up": (ctypes.c_int, [p, ctypes.c_int32]),
        "rd_kafka_mock_broker_set_rtt": (ctypes.c_int, [p, ctypes.c_int32, ctypes.c_int]),
        "rd_kafka_mock_partition_set_leader": (ctypes.c_int, [p, ctypes.c_char_p, ctypes.c_int32, ctypes.c_int32]),
        "rd_kafka_mock_partition_set_follower": (ctypes.c_int, [p, ctypes.c_char_p, ctypes.c_int32, ctypes.c_int32]),
        "rd_kafka_mock_coordinator_set": (ctypes.c_int, [p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int32]),
        "rd_kafka_mock_set_apiversion": (ctypes.c_int, [p, ctypes.c_int16, ctypes.c_int16, ctypes.c_int16]),
        "rd_kafka_mock_start_request_tracking": (None, [p]),
        "rd_kafka_mock_stop_request_tracking": (None, [p]),
        "rd_kafka_mock_get_requests": (ctypes.POINTER(p), [p, ctypes.POINTER(ctypes.c_size_t)]),
        "rd_kafka_mock_request_id": (ctypes.c_int32, [p]),
        "rd_kafka_mock_request_api_key": (ctypes.c_int16, [p]),
        "rd_kafka_mock_request_destroy_array": (None, [ctypes.POINTER(p), ctypes.c_size_t]),
    }
    for name, (restype, argtypes) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    # Variadic (err, rtt) pairs: argtypes stay unset, each argument is typed by hand.
    lib.rd_kafka_mock_broker_push_request_error_rtts.restype = ctypes.c_int
    return lib


class Cluster:
    def __init__(self, lib, brokers):
        self.lib = lib
        errstr = ctypes.create_string_buffer(512)
        conf = lib.rd_kafka_conf_new()
        # The handle only hosts the cluster; keep its own logging quiet.
        lib.rd_kafka_conf_set(conf, b"log_level", b"3", errstr, 512)
        self.rk = lib.rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, 512)
        if not self.rk:
            raise SystemExit("rdkafka_mock: rd_kafka_new failed: %s" % errstr.value.decode())
        self.mc = lib.rd_kafka_mock_cluster_new(self.rk, brokers)
        if not self.mc:
            raise SystemExit("rdkafka_mock: rd_kafka_mock_cluster_new(%d) failed" % brokers)

    def bootstrap(self):
        return self.lib.rd_kafka_mock_cluster_bootstraps(self.mc).decode()

    def check(self, err):
        if err:
            raise ValueError(self.lib.rd_kafka_err2name(err).decode())

    def topic(self, name, partitions, rf):
        self.check(self.lib.rd_kafka_mock_topic_create(self.mc, name.encode(), partitions, rf))

    def close(self):
        self.lib.rd_kafka_mock_cluster_destroy(self.mc)
        self.lib.rd_kafka_destroy(self.rk)

    def command(self, words):
        """Applies one command; returns the text after `OK`."""
        lib, mc = self.lib, self.mc
        op, a = words[0], words[1:]
        if op == "errors":
            codes = [int(c) for c in a[1].split(",")]
            arr = (ctypes.c_int * len(codes))(*codes)
            lib.rd_kafka_mock_push_request_errors_array(mc, int(a[0]), len(codes), arr)
        elif op == "berrors":
            pairs = []
            for item in a[2].split(","):
                code, _, rtt = item.partition(":")
                pairs += [ctypes.c_int(int(code)), ctypes.c_int(int(rtt or 0))]
            self.check(lib.rd_kafka_mock_broker_push_request_error_rtts(
                ctypes.c_void_p(mc), ctypes.c_int32(int(a[0])), ctypes.c_int16(int(a[1])),
                ctypes.c_size_t(len(pairs) // 2), *pairs))
        elif op == "clear":
            lib.rd_kafka_mock_clear_request_errors(mc, int(a[0]))
        elif op == "down":
            self.check(lib.rd_kafka_mock_broker_set_down(mc, int(a[0])))
        elif op == "up":
            self.check(lib.rd_kafka_mock_broker_set_up(mc, int(a[0])))
        elif op == "rtt":
            self.check(lib.rd_kafka_mock_broker_set_rtt(mc, int(a[0]), int(a[1])))
        elif op == "leader":
            self.check(lib.rd_kafka_mock_partition_set_leader(mc, a[0].encode(), int(a[1]), int(a[2])))
        elif op == "follower":
            self.check(lib.rd_kafka_mock_partition_set_follower(mc, a[0].encode(), int(a[1]), int(a[2])))
        elif op == "topic":
            self.topic(a[0], int(a[1]), int(a[2]) if len(a) > 2 else 1)
        elif op == "topic_error":
            lib.rd_kafka_mock_topic_set_error(mc, a[0].encode(), int(a[1]))
        elif op == "coordinator":
            self.check(lib.rd_kafka_mock_coordinator_set(mc, a[0].encode(), a[1].encode(), int(a[2])))
        elif op == "apiversion":
            self.check(lib.rd_kafka_mock_set_apiversion(mc, int(a[0]), int(a[1]), int(a[2])))
        elif op == "track":
            lib.rd_kafka_mock_start_request_tracking(mc)
        elif op == "untrack":
            lib.rd_kafka_mock_stop_request_tracking(mc)
        elif op == "requests":
            cnt = ctypes.c_size_t(0)
            reqs = lib.rd_kafka_mock_get_requests(mc, ctypes.byref(cnt))
            out = ["%d:%d" % (lib.rd_kafka_mock_request_id(reqs[i]), lib.rd_kafka_mock_request_api_key(reqs[i]))
                   for i in range(cnt.value)]
            if cnt.value:
                lib.rd_kafka_mock_request_destroy_array(reqs, cnt)
            return " ".join(out)
        elif op == "bootstrap":
            return self.bootstrap()
        else:
            raise ValueError("unknown command %r" % op)
        return ""


def parse_topic(spec):
    parts = spec.split(":")
    if not 1 <= len(parts) <= 3 or not parts[0]:
        raise SystemExit("rdkafka_mock: --topic wants NAME:PARTITIONS[:RF], got %r" % spec)
    partitions = int(parts[1]) if len(parts) > 1 else 1
    rf = int(parts[2]) if len(parts) > 2 else 1
    return parts[0], partitions, rf


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--brokers", type=int, default=3)
    ap.add_argument("--topic", action="append", default=[], type=parse_topic,
                    help="NAME:PARTITIONS[:RF], repeatable")
    args = ap.parse_args()

    cluster = Cluster(load(find_librdkafka()), args.brokers)
    for name, partitions, rf in args.topic:
        cluster.topic(name, partitions, rf)
    print("BOOTSTRAP=%s" % cluster.bootstrap(), flush=True)

    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            print("OK", flush=True)
            break
        try:
            data = cluster.command(words)
            print(("OK " + data) if data else "OK", flush=True)
        except (ValueError, IndexError) as e:
            print("ERR %s: %s" % (words[0], e), flush=True)
    cluster.close()


if __name__ == "__main__":
    main()
