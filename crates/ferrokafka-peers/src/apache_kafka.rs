//! Apache Kafka itself (the reference broker) as child JVMs: one combined
//! broker+controller KRaft node, or a cluster of such nodes, on 127.0.0.1.
//!
//! The jars come from `scripts/peers/apache-kafka/resolve.sh` (Maven
//! artifacts in a cache folder, `FERROKAFKA_KAFKA_LIBS`); the shared broker
//! settings from `scripts/peers/apache-kafka/server.properties`, to which
//! this module appends each node's own lines. It owns what a test should not
//! repeat: free ports, TLS material (a throw-away CA, a server certificate
//! and a client certificate for `ssl.client.auth`, made with `rcgen`, PEM),
//! extra broker properties ([`ApacheKafka::launch_with`]), the SASL users (PLAIN in JAAS, SCRAM written at
//! format time), formatting the storage, readiness, faults by node id
//! (SIGKILL, SIGSTOP/SIGCONT, restart) and running the Java tools bounded in
//! time.
//!
//! A JVM costs seconds and hundreds of MB, so [`ApacheKafka::start`] and
//! [`ApacheKafka::cluster`] hand out one instance per test binary. Statics
//! are never dropped, so a watchdog shell (one per instance, started with
//! it) waits for the test process to end, however it ends, then SIGKILLs
//! every JVM it recorded and removes the instance's folder.

use crate::process::{run_bounded, stop, wait_until};
use crate::{free_ports, missing_peer, python_with, workspace_root};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// How long a node may take from JVM start to an open client listener
/// (measured: about 8.5 s alone on two cores; three at once take longer).
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long `kafka-storage format` may take.
const FORMAT_TIMEOUT: Duration = Duration::from_secs(90);
/// Heap of a broker: the JVM otherwise takes a quarter of the RAM.
const BROKER_HEAP: &str = "-Xmx512m";
/// Lines of a broker log printed when a test fails.
const TAIL_LINES: usize = 60;

/// The SASL users every node knows, as (name, password): PLAIN users in the
/// listeners' JAAS configuration, and SCRAM-SHA-256 and SCRAM-SHA-512
/// credentials written at format time.
pub const USERS: [(&str, &str); 2] = [("alice", "alice-secret"), ("bob", "bob-secret")];

/// The SASL mechanisms the SASL listeners accept. OAUTHBEARER is the
/// broker's unsecured default (unsigned tokens, for tests only).
pub const SASL_MECHANISMS: [&str; 4] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"];

/// A node's client listeners, each `127.0.0.1:PORT`.
#[derive(Debug, Clone)]
pub struct Listeners {
    /// PLAINTEXT (also the inter-broker listener).
    pub plaintext: String,
    /// SASL_PLAINTEXT with [`SASL_MECHANISMS`].
    pub sasl_plaintext: String,
    /// SSL, server authentication only (`ssl.client.auth=none`).
    pub ssl: String,
    /// SASL_SSL with [`SASL_MECHANISMS`].
    pub sasl_ssl: String,
}

struct Node {
    id: i32,
    listeners: Listeners,
    plaintext_port: u16,
    dir: PathBuf,
    props: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

/// Running Apache Kafka nodes (ids 1..=n), combined broker and controller.
pub struct ApacheKafka {
    java: PathBuf,
    libs: PathBuf,
    dir: PathBuf,
    ca_pem: PathBuf,
    client_cert: (PathBuf, PathBuf),
    nodes: Vec<Mutex<Node>>,
    watchdog: Mutex<Option<Child>>,
}

static SINGLE: OnceLock<Option<ApacheKafka>> = OnceLock::new();
static CLUSTER: OnceLock<Option<(usize, ApacheKafka)>> = OnceLock::new();

impl ApacheKafka {
    /// The resolved jars: `FERROKAFKA_KAFKA_LIBS`, else the default cache
    /// folder of the version in `scripts/peers/apache-kafka/pom.xml`.
    /// `None` (after printing the skip) when absent or without Java.
    pub fn libs() -> Option<PathBuf> {
        let libs = match std::env::var_os("FERROKAFKA_KAFKA_LIBS").filter(|p| !p.is_empty()) {
            Some(p) => PathBuf::from(p),
            None => {
                let pom = workspace_root().join("scripts/peers/apache-kafka/pom.xml");
                let text = fs::read_to_string(&pom).unwrap_or_default();
                let version = text
                    .split("<kafka.version>")
                    .nth(1)
                    .and_then(|s| s.split("</kafka.version>").next())
                    .unwrap_or("unknown");
                let home = std::env::var_os("HOME").unwrap_or_default();
                PathBuf::from(home).join(format!(".cache/ferrokafka/apache-kafka-{version}/libs"))
            }
        };
        if !libs.join(".ferrokafka-pom.xml").is_file() {
            return missing_peer(
                "apache-kafka",
                &format!(
                    "{} is not resolved; run scripts/peers/apache-kafka/resolve.sh",
                    libs.display()
                ),
            );
        }
        Self::java()?;
        Some(libs)
    }

    fn java() -> Option<PathBuf> {
        let java = std::env::var_os("JAVA_HOME")
            .map(|h| PathBuf::from(h).join("bin/java"))
            .filter(|p| p.is_file())
            .or_else(|| crate::find_on_path("java"));
        match java {
            Some(j) => Some(j),
            None => missing_peer("apache-kafka", "no java on PATH (Java 17 or newer)"),
        }
    }

    /// The single node shared by every test of this binary, started on
    /// first use. `None` (after printing the skip) when Java or the jars
    /// are missing and peers are not required.
    pub fn start() -> Option<&'static ApacheKafka> {
        SINGLE.get_or_init(|| Self::launch(1)).as_ref()
    }

    /// The `n`-node cluster shared by every test of this binary (replication
    /// factor `n`, `min.insync.replicas=2`, node N in `broker.rack=rack-N`
    /// with the rack-aware replica selector of KIP-392), started on first
    /// use. Every
    /// caller in one binary must ask for the same `n`.
    pub fn cluster(n: usize) -> Option<&'static ApacheKafka> {
        let (size, kafka) = CLUSTER
            .get_or_init(|| Self::launch(n).map(|k| (n, k)))
            .as_ref()?;
        assert_eq!(*size, n, "this binary's cluster has {size} nodes");
        Some(kafka)
    }

    /// Starts `n` fresh nodes owned by the caller (stopped on drop). Prefer
    /// [`start`](Self::start) and [`cluster`](Self::cluster).
    pub fn launch(n: usize) -> Option<ApacheKafka> {
        Self::launch_with(n, &[])
    }

    /// [`launch`](Self::launch) with `extra` broker properties appended to
    /// every node's file after the harness's own lines (later keys win),
    /// e.g. `("listener.name.ssl.ssl.client.auth", "required")` or
    /// `("connections.max.reauth.ms", "3000")`. Hold the instance in the
    /// test binary's own static: it is a JVM per node.
    pub fn launch_with(n: usize, extra: &[(&str, &str)]) -> Option<ApacheKafka> {
        assert!(n >= 1, "at least one node");
        let libs = Self::libs()?;
        let java = Self::java()?;
        static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "ferrokafka-apache-kafka-{}-{seq}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create the cluster folder");
        let (ca_pem, keystore) = write_tls(&dir);
        let client_cert = (dir.join("client.pem"), dir.join("client-key.pem"));
        let watchdog = start_watchdog(&dir);

        // Every port of the cluster at once, so that no two repeat: a
        // controller's port and each node's four listeners.
        let mut ports = free_ports(5 * n).into_iter();
        let controller_ports: Vec<u16> = ports.by_ref().take(n).collect();
        let voters = controller_ports
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{}@127.0.0.1:{p}", i + 1))
            .collect::<Vec<_>>()
            .join(",");
        let template = fs::read_to_string(
            workspace_root().join("scripts/peers/apache-kafka/server.properties"),
        )
        .expect("read scripts/peers/apache-kafka/server.properties");
        let mut nodes = Vec::new();
        for (i, cport) in controller_ports.iter().enumerate() {
            let id = i as i32 + 1;
            let node_dir = dir.join(format!("node-{id}"));
            fs::create_dir_all(node_dir.join("data")).expect("create a node folder");
            let mut next = || ports.next().expect("five ports per node");
            let own = [next(), next(), next(), next()];
            let listeners = Listeners {
                plaintext: format!("127.0.0.1:{}", own[0]),
                sasl_plaintext: format!("127.0.0.1:{}", own[1]),
                ssl: format!("127.0.0.1:{}", own[2]),
                sasl_ssl: format!("127.0.0.1:{}", own[3]),
            };
            let props = node_dir.join("server.properties");
            let mut text = node_properties(
                &template,
                id,
                n,
                *cport,
                &voters,
                &listeners,
                &node_dir.join("data"),
                &keystore,
                &ca_pem,
            );
            text.push_str("# extra lines of ApacheKafka::launch_with\n");
            for (k, v) in extra {
                text.push_str(&format!("{k}={v}\n"));
            }
            fs::write(&props, text).expect("write server.properties");
            nodes.push(Node {
                id,
                listeners,
                plaintext_port: own[0],
                log: node_dir.join("broker.log"),
                dir: node_dir,
                props,
                child: None,
            });
        }
        let kafka = ApacheKafka {
            java,
            libs,
            dir,
            ca_pem,
            client_cert,
            nodes: nodes.into_iter().map(Mutex::new).collect(),
            watchdog: Mutex::new(Some(watchdog)),
        };
        let started = Instant::now();
        kafka.format(n == 1);
        let formatted = started.elapsed();
        for node in &kafka.nodes {
            kafka.spawn(&mut lock(node));
        }
        for node in &kafka.nodes {
            kafka.await_ready(&mut lock(node));
        }
        eprintln!(
            "apache-kafka: {n} node(s) formatted in {:.1} s, all ready {:.1} s after start",
            formatted.as_secs_f64(),
            started.elapsed().as_secs_f64()
        );
        Some(kafka)
    }

    /// Formats every node's storage at once (each `format` is a JVM of a few
    /// seconds), with the SCRAM users of [`USERS`] in the bootstrap metadata.
    /// The cluster id is made here rather than by `StorageTool random-uuid`
    /// (one JVM less).
    fn format(&self, standalone: bool) {
        let cluster_id = random_cluster_id();
        let mut children = Vec::new();
        for node in &self.nodes {
            let node = lock(node);
            let mut cmd = self.java_command("kafka.tools.StorageTool");
            cmd.args(["format", "-t", &cluster_id, "-c"])
                .arg(&node.props);
            if standalone {
                cmd.arg("--standalone");
            }
            for (user, password) in USERS {
                for mechanism in ["SCRAM-SHA-256", "SCRAM-SHA-512"] {
                    cmd.arg("--add-scram")
                        .arg(format!("{mechanism}=[name={user},password={password}]"));
                }
            }
            let out = File::create(node.dir.join("format.log")).expect("format.log");
            cmd.stdout(out.try_clone().expect("dup format.log"))
                .stderr(out)
                .stdin(Stdio::null());
            children.push((
                node.dir.join("format.log"),
                cmd.spawn().expect("start kafka-storage format"),
            ));
        }
        let deadline = Instant::now() + FORMAT_TIMEOUT;
        for (log, mut child) in children {
            let status = wait_until(&mut child, deadline);
            if status.is_none() {
                stop(&mut child, Duration::ZERO);
            }
            assert!(
                status.is_some_and(|s| s.success()),
                "kafka-storage format failed ({status:?}):\n{}",
                tail(&log, TAIL_LINES)
            );
        }
    }

    fn spawn(&self, node: &mut MutexGuard<'_, Node>) {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)
            .expect("open broker.log");
        let mut cmd = Command::new(&self.java);
        cmd.args([BROKER_HEAP, "-Xms128m", "-Djava.awt.headless=true"])
            .arg(log4j_option("log4j2.yaml"))
            .arg("-cp")
            .arg(classpath(&self.libs))
            .arg("kafka.Kafka")
            .arg(&node.props)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup broker.log"))
            .stderr(log);
        let child = cmd.spawn().expect("start the broker JVM");
        // The watchdog kills what the pid file names when the tests end.
        fs::write(node.dir.join("pid"), child.id().to_string()).expect("write pid file");
        node.child = Some(child);
    }

    fn await_ready(&self, node: &mut MutexGuard<'_, Node>) {
        let deadline = Instant::now() + START_TIMEOUT;
        let started = Instant::now();
        loop {
            // The client listeners open only once the broker has caught up
            // with the metadata log: an accepted connection means ready.
            if TcpStream::connect(("127.0.0.1", node.plaintext_port)).is_ok() {
                eprintln!(
                    "apache-kafka node {} ready in {:.1} s ({})",
                    node.id,
                    started.elapsed().as_secs_f64(),
                    node.listeners.plaintext
                );
                return;
            }
            let child = node.child.as_mut().expect("a started node");
            if let Some(status) = wait_until(child, Instant::now() + Duration::from_millis(100)) {
                panic!(
                    "apache-kafka node {} exited ({status}) while starting:\n{}",
                    node.id,
                    tail(&node.log, TAIL_LINES)
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "apache-kafka node {} did not open {} within {START_TIMEOUT:?}:\n{}",
                    node.id,
                    node.listeners.plaintext,
                    tail(&node.log, TAIL_LINES)
                );
            }
        }
    }

    /// Node ids, `1..=n`.
    pub fn ids(&self) -> Vec<i32> {
        (1..=self.nodes.len() as i32).collect()
    }

    fn node(&self, id: i32) -> MutexGuard<'_, Node> {
        let i = usize::try_from(id - 1)
            .ok()
            .filter(|i| *i < self.nodes.len())
            .unwrap_or_else(|| panic!("no node {id}; ids are 1..={}", self.nodes.len()));
        lock(&self.nodes[i])
    }

    /// The PLAINTEXT bootstrap list of every node, comma-separated.
    pub fn bootstrap(&self) -> String {
        self.ids()
            .into_iter()
            .map(|id| self.listeners(id).plaintext)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The client listeners of node `id`.
    pub fn listeners(&self, id: i32) -> Listeners {
        self.node(id).listeners.clone()
    }

    /// The PEM file of the CA that signed every node's certificate (SAN
    /// `IP:127.0.0.1` and `DNS:localhost`).
    pub fn ca_pem(&self) -> &Path {
        &self.ca_pem
    }

    /// A client certificate (PEM, CN and SAN `DNS:ferrokafka-client`) and
    /// its PKCS#8 key (PEM), as files, signed by the [`ca_pem`](Self::ca_pem)
    /// CA that every node trusts: for a listener with `ssl.client.auth`.
    pub fn client_cert_pem(&self) -> (&Path, &Path) {
        (&self.client_cert.0, &self.client_cert.1)
    }

    /// The log file of node `id` (stdout and stderr of every start).
    pub fn log_path(&self, id: i32) -> PathBuf {
        self.node(id).log.clone()
    }

    /// The last `lines` lines of node `id`'s log.
    pub fn log_tail(&self, id: i32, lines: usize) -> String {
        tail(&self.log_path(id), lines)
    }

    /// A guard that prints every node's log tail if the test panics while
    /// it is alive: `let _logs = kafka.logs_on_failure();`.
    pub fn logs_on_failure(&self) -> LogsOnFailure<'_> {
        LogsOnFailure(self)
    }

    /// The broker JVM's process id, `None` while node `id` is killed.
    pub fn pid(&self, id: i32) -> Option<u32> {
        self.node(id).child.as_ref().map(Child::id)
    }

    /// SIGKILLs node `id` (a frozen node too) and reaps it.
    pub fn kill(&self, id: i32) {
        let mut node = self.node(id);
        if let Some(mut child) = node.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            let _ = fs::remove_file(node.dir.join("pid"));
        }
    }

    /// Freezes node `id` with SIGSTOP: its sockets stay open, it answers
    /// nothing until [`thaw`](Self::thaw).
    pub fn freeze(&self, id: i32) {
        self.signal(id, "-STOP");
    }

    /// Resumes a frozen node with SIGCONT.
    pub fn thaw(&self, id: i32) {
        self.signal(id, "-CONT");
    }

    fn signal(&self, id: i32, signal: &str) {
        let pid = self
            .pid(id)
            .unwrap_or_else(|| panic!("node {id} is not running"));
        let out = run_bounded(
            Command::new("kill").args([signal, &pid.to_string()]),
            Duration::from_secs(10),
        );
        assert!(out.status.success(), "kill {signal} {pid} failed");
    }

    /// (Re)starts node `id` on its ports and data (SIGKILLing it first if it
    /// runs) and waits until it accepts clients.
    pub fn restart(&self, id: i32) {
        self.kill(id);
        let mut node = self.node(id);
        self.spawn(&mut node);
        self.await_ready(&mut node);
    }

    /// A `java -cp "LIBS/*" <class>` command for a Java tool: small heap,
    /// quick start (client compiler only), warnings to stderr.
    pub fn java_command(&self, class: &str) -> Command {
        let mut cmd = Command::new(&self.java);
        cmd.args([
            "-Xmx256m",
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            "-Djava.awt.headless=true",
        ])
        .arg(log4j_option("log4j2-tools.yaml"))
        .arg("-cp")
        .arg(classpath(&self.libs))
        .arg(class);
        cmd
    }

    /// Runs a Java tool to completion, killed and reported after `timeout`.
    pub fn java_output(&self, class: &str, args: &[&str], timeout: Duration) -> Output {
        run_bounded(self.java_command(class).args(args), timeout)
    }

    /// Writes a Java client configuration file for `listener`
    /// (`SASL_PLAINTEXT`, `SSL`, `SASL_SSL`) with `mechanism` (for the SASL
    /// ones) as the first user of [`USERS`]; returns its path.
    pub fn client_properties(&self, listener: &str, mechanism: Option<&str>) -> PathBuf {
        let (user, password) = USERS[0];
        let mut text = format!("security.protocol={listener}\n");
        if listener.contains("SSL") {
            text.push_str(&format!(
                "ssl.truststore.type=PEM\nssl.truststore.location={}\n",
                self.ca_pem.display()
            ));
        }
        if let Some(m) = mechanism {
            let jaas = match m {
                "PLAIN" => format!(
                    "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"{user}\" password=\"{password}\";"
                ),
                "OAUTHBEARER" => "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub=\"alice\";".to_string(),
                _ => format!(
                    "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"{user}\" password=\"{password}\";"
                ),
            };
            text.push_str(&format!("sasl.mechanism={m}\nsasl.jaas.config={jaas}\n"));
        }
        let path = self.dir.join(format!(
            "client-{}-{}.properties",
            listener.to_lowercase(),
            mechanism.unwrap_or("none").to_lowercase()
        ));
        fs::write(&path, text).expect("write client properties");
        path
    }

    /// Creates `name` with `partitions` and replication factor `rf` and the
    /// topic `configs` (librdkafka's admin client through the peers'
    /// Python), then waits until every partition has a leader. Panics on
    /// failure, with the first node's log tail.
    pub fn create_topic(&self, name: &str, partitions: i32, rf: i32, configs: &[(&str, &str)]) {
        let py = python_with(&["confluent_kafka"])
            .expect("ApacheKafka::create_topic needs the peers' Python with confluent_kafka");
        const SCRIPT: &str = r#"
import sys, time, json
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka import KafkaException
bootstrap, name, parts, rf, configs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5])
admin = AdminClient({"bootstrap.servers": bootstrap})
deadline = time.time() + 60
while True:
    try:
        admin.create_topics([NewTopic(name, parts, rf, config=configs)])[name].result(20)
        break
    except KafkaException as e:
        err = e.args[0]
        if err.name() == "TOPIC_ALREADY_EXISTS":
            break
        if time.time() > deadline or not err.retriable() and err.name() != "INVALID_REPLICATION_FACTOR":
            raise
        time.sleep(0.5)
while True:
    md = admin.list_topics(name, timeout=10).topics.get(name)
    if md is not None and md.error is None and len(md.partitions) == parts \
            and all(p.leader >= 0 for p in md.partitions.values()):
        break
    if time.time() > deadline:
        raise SystemExit("topic %s has no leader for every partition: %r" % (name, md))
    time.sleep(0.2)
"#;
        let configs = format!(
            "{{{}}}",
            configs
                .iter()
                .map(|(k, v)| format!("\"{k}\":\"{v}\""))
                .collect::<Vec<_>>()
                .join(",")
        );
        let out = py.run_timeout(
            SCRIPT,
            &[
                &self.bootstrap(),
                name,
                &partitions.to_string(),
                &rf.to_string(),
                &configs,
            ],
            Duration::from_secs(90),
        );
        assert!(
            out.status.success(),
            "creating topic {name} on Apache Kafka failed:\n{}\n--- node 1 log\n{}",
            String::from_utf8_lossy(&out.stderr),
            tail(&lock(&self.nodes[0]).log, TAIL_LINES)
        );
    }
}

impl Drop for ApacheKafka {
    fn drop(&mut self) {
        for node in &self.nodes {
            let mut node = lock(node);
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        if let Some(mut w) = lock(&self.watchdog).take() {
            stop(&mut w, Duration::ZERO);
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Prints every node's log tail when dropped during a panic.
pub struct LogsOnFailure<'a>(&'a ApacheKafka);

impl Drop for LogsOnFailure<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for id in self.0.ids() {
                let path = self.0.log_path(id);
                eprintln!(
                    "--- apache-kafka node {id} log ({}), last {TAIL_LINES} lines:\n{}",
                    path.display(),
                    tail(&path, TAIL_LINES)
                );
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn classpath(libs: &Path) -> String {
    format!("{}/*", libs.display())
}

fn log4j_option(file: &str) -> String {
    format!(
        "-Dlog4j2.configurationFile={}",
        workspace_root()
            .join("scripts/peers/apache-kafka")
            .join(file)
            .display()
    )
}

/// The per-node lines appended to the shared template.
#[allow(clippy::too_many_arguments)]
fn node_properties(
    template: &str,
    id: i32,
    n: usize,
    controller_port: u16,
    voters: &str,
    l: &Listeners,
    data: &Path,
    keystore: &Path,
    ca_pem: &Path,
) -> String {
    let mut p = template.to_string();
    let mut line = |k: &str, v: &str| {
        p.push_str(k);
        p.push('=');
        p.push_str(v);
        p.push('\n');
    };
    line("\n# appended by ferrokafka-peers for node", &id.to_string());
    line("node.id", &id.to_string());
    line(
        "listeners",
        &format!(
            "PLAINTEXT://{},CONTROLLER://127.0.0.1:{controller_port},SASL_PLAINTEXT://{},SSL://{},SASL_SSL://{}",
            l.plaintext, l.sasl_plaintext, l.ssl, l.sasl_ssl
        ),
    );
    line(
        "advertised.listeners",
        &format!(
            "PLAINTEXT://{},SASL_PLAINTEXT://{},SSL://{},SASL_SSL://{}",
            l.plaintext, l.sasl_plaintext, l.ssl, l.sasl_ssl
        ),
    );
    line("log.dirs", &data.display().to_string());
    if n == 1 {
        // A dynamic quorum of one, formatted with --standalone.
        line(
            "controller.quorum.bootstrap.servers",
            &format!("127.0.0.1:{controller_port}"),
        );
    } else {
        // A static quorum: every node a voter, formatted without flags.
        line("controller.quorum.voters", voters);
    }
    let rf = n.min(3).to_string();
    let min_isr = if n >= 3 { "2" } else { "1" };
    for prefix in [
        "offsets.topic",
        "transaction.state.log",
        "share.coordinator.state.topic",
    ] {
        line(&format!("{prefix}.replication.factor"), &rf);
    }
    line("transaction.state.log.min.isr", min_isr);
    line("share.coordinator.state.topic.min.isr", min_isr);
    line("default.replication.factor", &rf);
    line("min.insync.replicas", min_isr);
    if n > 1 {
        // Faults are noticed within seconds, not the defaults' 9 s / 30 s.
        line("broker.session.timeout.ms", "4000");
        line("broker.heartbeat.interval.ms", "1000");
        line("replica.lag.time.max.ms", "5000");
        // Fetch from the closest replica (KIP-392): node N is in rack-N.
        line("broker.rack", &format!("rack-{id}"));
        line(
            "replica.selector.class",
            "org.apache.kafka.common.replica.RackAwareReplicaSelector",
        );
    }
    line("ssl.keystore.location", &keystore.display().to_string());
    line("ssl.truststore.location", &ca_pem.display().to_string());
    let users: String = USERS
        .iter()
        .map(|(u, pw)| format!(" user_{u}=\"{pw}\""))
        .collect();
    for listener in ["sasl_plaintext", "sasl_ssl"] {
        line(
            &format!("listener.name.{listener}.plain.sasl.jaas.config"),
            &format!("org.apache.kafka.common.security.plain.PlainLoginModule required{users};"),
        );
    }
    p
}

/// Writes `ca.pem`, `keystore.pem` (the server's PKCS#8 key, its
/// certificate and the CA's) and a client certificate (`client.pem`,
/// `client-key.pem`) into `dir`; returns (ca.pem, keystore.pem).
fn write_tls(dir: &Path) -> (PathBuf, PathBuf) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType,
    };
    // ECDSA P-256 keys: accepted by the JDK's PEM keystore (Ed25519 is not).
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "ferrokafka test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = ca_params.self_signed(&ca_key).expect("self-sign the CA");
    let key = KeyPair::generate().expect("server key");
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    params
        .subject_alt_names
        .push(SanType::IpAddress(std::net::IpAddr::V4(
            std::net::Ipv4Addr::LOCALHOST,
        )));
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let cert = params
        .signed_by(&key, &ca, &ca_key)
        .expect("sign the server");
    let client_key = KeyPair::generate().expect("client key");
    let mut client =
        CertificateParams::new(vec!["ferrokafka-client".to_string()]).expect("client params");
    client
        .distinguished_name
        .push(DnType::CommonName, "ferrokafka-client");
    let client = client
        .signed_by(&client_key, &ca, &ca_key)
        .expect("sign the client");
    fs::write(dir.join("client.pem"), client.pem()).expect("write client.pem");
    fs::write(dir.join("client-key.pem"), client_key.serialize_pem())
        .expect("write client-key.pem");
    let ca_pem = dir.join("ca.pem");
    let keystore = dir.join("keystore.pem");
    fs::write(&ca_pem, ca.pem()).expect("write ca.pem");
    fs::write(
        &keystore,
        format!("{}{}{}", key.serialize_pem(), cert.pem(), ca.pem()),
    )
    .expect("write keystore.pem");
    (ca_pem, keystore)
}

/// A shell that outlives the test process by a second: once that process
/// is gone it SIGKILLs the JVMs named by `dir/node-*/pid` and removes `dir`.
fn start_watchdog(dir: &Path) -> Child {
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
         for f in '{dir}'/node-*/pid; do [ -f \"$f\" ] && kill -9 \"$(cat \"$f\")\" 2>/dev/null; done; \
         sleep 1; rm -rf '{dir}'",
        pid = std::process::id(),
        dir = dir.display()
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the apache-kafka watchdog")
}

/// A Kafka cluster id: 16 random bytes in unpadded URL-safe base64 (what
/// `kafka-storage random-uuid` prints).
fn random_cluster_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut bytes = Vec::with_capacity(16);
    for half in 0..2u64 {
        // RandomState is seeded from the OS; the time and pid make two
        // instances in one process differ too.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(half);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.write_u32(std::process::id());
        bytes.extend_from_slice(&h.finish().to_le_bytes());
    }
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = String::with_capacity(22);
    for b in bytes {
        bits = (bits << 8) | u32::from(b);
        n += 8;
        while n >= 6 {
            n -= 6;
            out.push(ALPHABET[((bits >> n) & 63) as usize] as char);
        }
    }
    if n > 0 {
        out.push(ALPHABET[((bits << (6 - n)) & 63) as usize] as char);
    }
    // An id starting with '-' reads as an option to kafka-storage's
    // argument parser ("--cluster-id: expected one argument", one start in
    // 64); Kafka's own random ids avoid a leading '-' too.
    if out.starts_with('-') {
        out.replace_range(..1, "A");
    }
    out
}

/// The last `lines` lines of a file (read from its last 64 KiB).
fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut f) = File::open(path) else {
        return format!("({} not readable)", path.display());
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn cluster_ids_are_22_url_safe_base64_characters_and_differ() {
        for _ in 0..2000 {
            assert!(!super::random_cluster_id().starts_with('-'));
        }
        let (a, b) = (super::random_cluster_id(), super::random_cluster_id());
        assert_eq!(a.len(), 22, "{a}");
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_ne!(a, b);
    }
}
