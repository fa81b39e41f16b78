//! Errors: one [`Error`] type carrying an [`ErrorCode`].
//!
//! This module owns the code table — every Kafka protocol error code and every
//! client-local code (librdkafka's `_`-prefixed codes, with librdkafka's
//! negative numbers) with its name, a one-line description and whether it is
//! retriable — and the [`Error`] value that every fallible ferrokafka call
//! returns. Deciding *when* an error is fatal or requires a transaction abort
//! is left to the producer, consumer and transaction state machines; they say
//! so with `Error::fatal` and `Error::txn_abortable`.
//!
//! # Classes of errors and what to do
//!
//! - **Retriable** ([`Error::is_retriable`]): a transient condition (leader
//!   election, broker restart, timeout, full queue). The client retries
//!   internally where it can (within `retries` and `message.timeout.ms`); an
//!   application seeing one may retry the operation.
//! - **Fatal** ([`Error::is_fatal`]): the client instance can no longer
//!   guarantee its contract (for example an idempotent producer's sequence
//!   went out of order, or a newer producer fenced this one). Every further
//!   operation fails; close the client and create a new one.
//! - **Transaction requires abort** ([`Error::txn_requires_abort`]): the
//!   current transaction cannot commit; call `abort_transaction` and start a
//!   new one. The client stays usable.
//! - **Configuration** ([`ErrorCode::InvalidArg`], made by `Error::config`):
//!   a property name or value was rejected; the message names the property,
//!   the value given and what is allowed. Fix the configuration.
//! - Everything else is a permanent failure of that one operation (for example
//!   an authorization failure or an unknown topic): retrying does not help
//!   until something outside the client changes.

use std::fmt;

/// Builds [`ErrorCode`] and its lookup functions from one table:
/// `Variant = number, "NAME", retriable, "description";`.
/// Numbers in `-200..=-100` are client-local codes, all others are Kafka's.
macro_rules! error_codes {
    ($($variant:ident = $code:literal, $name:literal, $retriable:literal, $desc:literal;)*) => {
        /// What went wrong: a Kafka protocol error code or a client-local code.
        ///
        /// Kafka codes keep Kafka's numbers ([`ErrorCode::kafka_code`]); local
        /// codes (names starting with `_`) use librdkafka's negative numbers
        /// from -199 to -101 so logs and statistics line up with librdkafka's.
        /// A Kafka code this version does not know is kept as
        /// [`ErrorCode::Unknown`] with its number.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $(
                #[doc = $desc]
                $variant,
            )*
            /// A Kafka error code this version of ferrokafka does not know; the
            /// number is kept as the broker sent it.
            Unknown(i16),
        }

        /// Every known code, in table order.
        const ALL_CODES: &[ErrorCode] = &[$(ErrorCode::$variant,)*];

        impl ErrorCode {
            fn entry(self) -> (i32, &'static str, bool, &'static str) {
                match self {
                    $(ErrorCode::$variant => ($code, $name, $retriable, $desc),)*
                    ErrorCode::Unknown(n) => (
                        i32::from(n),
                        "UNKNOWN",
                        false,
                        "An error code this client version does not know.",
                    ),
                }
            }

            /// The code with number `code`, Kafka or local; `None` when the
            /// number is not in the table.
            pub fn from_code(code: i32) -> Option<ErrorCode> {
                match code {
                    $($code => Some(ErrorCode::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    UnknownServerError = -1, "UNKNOWN_SERVER_ERROR", false, "The broker hit an unexpected internal error while handling the request.";
    NoError = 0, "NO_ERROR", false, "Success: no error.";
    OffsetOutOfRange = 1, "OFFSET_OUT_OF_RANGE", false, "The requested offset lies outside the range the partition currently holds.";
    CorruptMessage = 2, "CORRUPT_MESSAGE", true, "A record failed its checksum, has an invalid size or is otherwise malformed.";
    UnknownTopicOrPartition = 3, "UNKNOWN_TOPIC_OR_PARTITION", true, "The broker does not host this topic or partition.";
    InvalidFetchSize = 4, "INVALID_FETCH_SIZE", false, "The fetch size in the request is not valid.";
    LeaderNotAvailable = 5, "LEADER_NOT_AVAILABLE", true, "The partition has no leader right now, typically during a leader election.";
    NotLeaderOrFollower = 6, "NOT_LEADER_OR_FOLLOWER", true, "The broker is not the leader (or not a replica) of the partition: metadata is stale.";
    RequestTimedOut = 7, "REQUEST_TIMED_OUT", true, "The broker timed out while handling the request.";
    BrokerNotAvailable = 8, "BROKER_NOT_AVAILABLE", false, "The broker is not available.";
    ReplicaNotAvailable = 9, "REPLICA_NOT_AVAILABLE", true, "A replica needed for the request is not available.";
    MsgSizeTooLarge = 10, "MESSAGE_TOO_LARGE", false, "A message or batch is larger than the broker or topic accepts.";
    StaleControllerEpoch = 11, "STALE_CONTROLLER_EPOCH", false, "The request carried an outdated controller epoch.";
    OffsetMetadataTooLarge = 12, "OFFSET_METADATA_TOO_LARGE", false, "The metadata string attached to a committed offset is too long.";
    NetworkException = 13, "NETWORK_EXCEPTION", true, "The broker's connection closed before a response arrived.";
    CoordinatorLoadInProgress = 14, "COORDINATOR_LOAD_IN_PROGRESS", true, "The coordinator is still loading its state.";
    CoordinatorNotAvailable = 15, "COORDINATOR_NOT_AVAILABLE", true, "No coordinator is available for the group or transaction.";
    NotCoordinator = 16, "NOT_COORDINATOR", true, "The broker is not the coordinator for this group or transaction.";
    InvalidTopic = 17, "INVALID_TOPIC_EXCEPTION", false, "The topic name is not valid or the topic cannot be used for this operation.";
    RecordListTooLarge = 18, "RECORD_LIST_TOO_LARGE", false, "A batch is larger than the broker's log segment size.";
    NotEnoughReplicas = 19, "NOT_ENOUGH_REPLICAS", true, "Rejected: fewer in-sync replicas than min.insync.replicas.";
    NotEnoughReplicasAfterAppend = 20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND", true, "Written, but to fewer in-sync replicas than required.";
    InvalidRequiredAcks = 21, "INVALID_REQUIRED_ACKS", false, "The produce request carried an acks value the broker does not accept.";
    IllegalGeneration = 22, "ILLEGAL_GENERATION", false, "The group generation in the request is not current.";
    InconsistentGroupProtocol = 23, "INCONSISTENT_GROUP_PROTOCOL", false, "The member's protocols do not match those of the group.";
    InvalidGroupId = 24, "INVALID_GROUP_ID", false, "The group id is not valid.";
    UnknownMemberId = 25, "UNKNOWN_MEMBER_ID", false, "The coordinator does not know this group member.";
    InvalidSessionTimeout = 26, "INVALID_SESSION_TIMEOUT", false, "The session timeout is outside the range the broker allows.";
    RebalanceInProgress = 27, "REBALANCE_IN_PROGRESS", false, "The group is rebalancing; the member has to rejoin.";
    InvalidCommitOffsetSize = 28, "INVALID_COMMIT_OFFSET_SIZE", false, "The offset commit is too large.";
    TopicAuthorizationFailed = 29, "TOPIC_AUTHORIZATION_FAILED", false, "Not authorized to access the topic.";
    GroupAuthorizationFailed = 30, "GROUP_AUTHORIZATION_FAILED", false, "Not authorized to access the group.";
    ClusterAuthorizationFailed = 31, "CLUSTER_AUTHORIZATION_FAILED", false, "Not authorized for this cluster operation.";
    InvalidTimestamp = 32, "INVALID_TIMESTAMP", false, "A record timestamp is outside the range the broker accepts.";
    UnsupportedSaslMechanism = 33, "UNSUPPORTED_SASL_MECHANISM", false, "The broker does not offer the requested SASL mechanism.";
    IllegalSaslState = 34, "ILLEGAL_SASL_STATE", false, "The request is not valid in the current SASL state.";
    UnsupportedVersion = 35, "UNSUPPORTED_VERSION", false, "The broker does not support this API version.";
    TopicAlreadyExists = 36, "TOPIC_ALREADY_EXISTS", false, "A topic with this name exists already.";
    InvalidPartitions = 37, "INVALID_PARTITIONS", false, "The partition count is not valid.";
    InvalidReplicationFactor = 38, "INVALID_REPLICATION_FACTOR", false, "The replication factor is not valid for this cluster.";
    InvalidReplicaAssignment = 39, "INVALID_REPLICA_ASSIGNMENT", false, "The replica assignment is not valid.";
    InvalidConfig = 40, "INVALID_CONFIG", false, "A configuration value sent to the broker is not valid.";
    NotController = 41, "NOT_CONTROLLER", true, "The broker is not the cluster controller.";
    InvalidRequest = 42, "INVALID_REQUEST", false, "The broker considers the request malformed or incompatible.";
    UnsupportedForMessageFormat = 43, "UNSUPPORTED_FOR_MESSAGE_FORMAT", false, "The topic's message format does not support this request.";
    PolicyViolation = 44, "POLICY_VIOLATION", false, "The request violates a broker-side policy.";
    OutOfOrderSequenceNumber = 45, "OUT_OF_ORDER_SEQUENCE_NUMBER", false, "The broker saw an idempotent producer sequence number out of order.";
    DuplicateSequenceNumber = 46, "DUPLICATE_SEQUENCE_NUMBER", false, "The broker saw an idempotent producer sequence number twice.";
    InvalidProducerEpoch = 47, "INVALID_PRODUCER_EPOCH", false, "The producer epoch is older than the broker's.";
    InvalidTxnState = 48, "INVALID_TXN_STATE", false, "The transactional operation is not allowed in the current transaction state.";
    InvalidProducerIdMapping = 49, "INVALID_PRODUCER_ID_MAPPING", false, "The producer id is not the one assigned to this transactional id.";
    InvalidTransactionTimeout = 50, "INVALID_TRANSACTION_TIMEOUT", false, "The transaction timeout exceeds the broker's transaction.max.timeout.ms.";
    ConcurrentTransactions = 51, "CONCURRENT_TRANSACTIONS", true, "Another operation on the same transaction is still in progress.";
    TransactionCoordinatorFenced = 52, "TRANSACTION_COORDINATOR_FENCED", false, "The transaction coordinator that sent this is no longer current.";
    TransactionalIdAuthorizationFailed = 53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", false, "Not authorized to use this transactional id.";
    SecurityDisabled = 54, "SECURITY_DISABLED", false, "Security features are disabled on the broker.";
    OperationNotAttempted = 55, "OPERATION_NOT_ATTEMPTED", false, "The broker skipped this operation because another in the same request failed.";
    KafkaStorageError = 56, "KAFKA_STORAGE_ERROR", true, "The broker hit a disk error on the partition's log.";
    LogDirNotFound = 57, "LOG_DIR_NOT_FOUND", false, "The requested log directory does not exist on the broker.";
    SaslAuthenticationFailed = 58, "SASL_AUTHENTICATION_FAILED", false, "SASL authentication failed.";
    UnknownProducerId = 59, "UNKNOWN_PRODUCER_ID", false, "The broker has no state for this producer id (for example, its records expired).";
    ReassignmentInProgress = 60, "REASSIGNMENT_IN_PROGRESS", false, "A partition reassignment is in progress.";
    DelegationTokenAuthDisabled = 61, "DELEGATION_TOKEN_AUTH_DISABLED", false, "Delegation tokens are not enabled on the broker.";
    DelegationTokenNotFound = 62, "DELEGATION_TOKEN_NOT_FOUND", false, "The delegation token does not exist.";
    DelegationTokenOwnerMismatch = 63, "DELEGATION_TOKEN_OWNER_MISMATCH", false, "The principal is not the owner or renewer of the token.";
    DelegationTokenRequestNotAllowed = 64, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED", false, "Delegation token requests are not allowed on this kind of connection.";
    DelegationTokenAuthorizationFailed = 65, "DELEGATION_TOKEN_AUTHORIZATION_FAILED", false, "Not authorized for this delegation token operation.";
    DelegationTokenExpired = 66, "DELEGATION_TOKEN_EXPIRED", false, "The delegation token has expired.";
    InvalidPrincipalType = 67, "INVALID_PRINCIPAL_TYPE", false, "The principal type is not supported.";
    NonEmptyGroup = 68, "NON_EMPTY_GROUP", false, "The group still has members.";
    GroupIdNotFound = 69, "GROUP_ID_NOT_FOUND", false, "The group does not exist.";
    FetchSessionIdNotFound = 70, "FETCH_SESSION_ID_NOT_FOUND", true, "The broker does not know the fetch session.";
    InvalidFetchSessionEpoch = 71, "INVALID_FETCH_SESSION_EPOCH", true, "The fetch session epoch does not match the broker's.";
    ListenerNotFound = 72, "LISTENER_NOT_FOUND", true, "The partition leader has no listener matching the one the metadata came from.";
    TopicDeletionDisabled = 73, "TOPIC_DELETION_DISABLED", false, "Topic deletion is disabled on the broker.";
    FencedLeaderEpoch = 74, "FENCED_LEADER_EPOCH", true, "The request's leader epoch is older than the broker's.";
    UnknownLeaderEpoch = 75, "UNKNOWN_LEADER_EPOCH", true, "The request's leader epoch is newer than the broker knows.";
    UnsupportedCompressionType = 76, "UNSUPPORTED_COMPRESSION_TYPE", false, "The client cannot handle the compression type of the partition.";
    StaleBrokerEpoch = 77, "STALE_BROKER_EPOCH", false, "The broker epoch has changed.";
    OffsetNotAvailable = 78, "OFFSET_NOT_AVAILABLE", true, "The new leader has not caught up yet, so offsets cannot be served.";
    MemberIdRequired = 79, "MEMBER_ID_REQUIRED", false, "The member has to rejoin with the member id the coordinator assigned.";
    PreferredLeaderNotAvailable = 80, "PREFERRED_LEADER_NOT_AVAILABLE", true, "The preferred leader is not available.";
    GroupMaxSizeReached = 81, "GROUP_MAX_SIZE_REACHED", false, "The group has reached its maximum number of members.";
    FencedInstanceId = 82, "FENCED_INSTANCE_ID", false, "Another member registered with the same group.instance.id.";
    EligibleLeadersNotAvailable = 83, "ELIGIBLE_LEADERS_NOT_AVAILABLE", true, "No eligible leader is available for the partition.";
    ElectionNotNeeded = 84, "ELECTION_NOT_NEEDED", true, "The partition does not need a leader election.";
    NoReassignmentInProgress = 85, "NO_REASSIGNMENT_IN_PROGRESS", false, "No partition reassignment is in progress.";
    GroupSubscribedToTopic = 86, "GROUP_SUBSCRIBED_TO_TOPIC", false, "Offsets cannot be deleted while the group is subscribed to the topic.";
    InvalidRecord = 87, "INVALID_RECORD", false, "The broker rejected a record as invalid.";
    UnstableOffsetCommit = 88, "UNSTABLE_OFFSET_COMMIT", true, "Pending transactional offsets have to be resolved first.";
    ThrottlingQuotaExceeded = 89, "THROTTLING_QUOTA_EXCEEDED", true, "The request exceeded a throttling quota.";
    ProducerFenced = 90, "PRODUCER_FENCED", false, "A newer producer with the same transactional id has fenced this one.";
    ResourceNotFound = 91, "RESOURCE_NOT_FOUND", false, "The request names a resource that does not exist.";
    DuplicateResource = 92, "DUPLICATE_RESOURCE", false, "The request names the same resource twice.";
    UnacceptableCredential = 93, "UNACCEPTABLE_CREDENTIAL", false, "The credential does not meet the broker's criteria.";
    InconsistentVoterSet = 94, "INCONSISTENT_VOTER_SET", false, "The sender or receiver is not one of the expected voters.";
    InvalidUpdateVersion = 95, "INVALID_UPDATE_VERSION", false, "The update version is not valid.";
    FeatureUpdateFailed = 96, "FEATURE_UPDATE_FAILED", false, "The finalized features could not be updated.";
    PrincipalDeserializationFailure = 97, "PRINCIPAL_DESERIALIZATION_FAILURE", false, "The broker could not deserialize the forwarded principal.";
    SnapshotNotFound = 98, "SNAPSHOT_NOT_FOUND", false, "The requested snapshot does not exist.";
    PositionOutOfRange = 99, "POSITION_OUT_OF_RANGE", false, "The requested snapshot position is out of range.";
    UnknownTopicId = 100, "UNKNOWN_TOPIC_ID", true, "The broker does not host a topic with this id.";
    DuplicateBrokerRegistration = 101, "DUPLICATE_BROKER_REGISTRATION", false, "The broker id is already registered.";
    BrokerIdNotRegistered = 102, "BROKER_ID_NOT_REGISTERED", false, "The broker id is not registered.";
    InconsistentTopicId = 103, "INCONSISTENT_TOPIC_ID", true, "The topic id in the request does not match the log's.";
    InconsistentClusterId = 104, "INCONSISTENT_CLUSTER_ID", false, "The cluster id in the request does not match the broker's.";
    TransactionalIdNotFound = 105, "TRANSACTIONAL_ID_NOT_FOUND", false, "The transactional id does not exist.";
    FetchSessionTopicIdError = 106, "FETCH_SESSION_TOPIC_ID_ERROR", true, "The fetch session used topic ids inconsistently.";
    IneligibleReplica = 107, "INELIGIBLE_REPLICA", false, "The proposed ISR has an ineligible replica.";
    NewLeaderElected = 108, "NEW_LEADER_ELECTED", false, "The partition state was updated but the leader changed.";
    OffsetMovedToTieredStorage = 109, "OFFSET_MOVED_TO_TIERED_STORAGE", false, "The requested offset now lives in tiered storage.";
    FencedMemberEpoch = 110, "FENCED_MEMBER_EPOCH", false, "The coordinator fenced the member epoch; the member has to rejoin.";
    UnreleasedInstanceId = 111, "UNRELEASED_INSTANCE_ID", false, "Another member still holds this instance id.";
    UnsupportedAssignor = 112, "UNSUPPORTED_ASSIGNOR", false, "The group does not support the assignor or its version.";
    StaleMemberEpoch = 113, "STALE_MEMBER_EPOCH", false, "The member epoch is stale; retry after the next heartbeat.";
    MismatchedEndpointType = 114, "MISMATCHED_ENDPOINT_TYPE", false, "The request reached an endpoint of the wrong type.";
    UnsupportedEndpointType = 115, "UNSUPPORTED_ENDPOINT_TYPE", false, "The endpoint type is not supported.";
    UnknownControllerId = 116, "UNKNOWN_CONTROLLER_ID", false, "The controller id is not known.";
    UnknownSubscriptionId = 117, "UNKNOWN_SUBSCRIPTION_ID", false, "The telemetry subscription id is unknown or outdated.";
    TelemetryTooLarge = 118, "TELEMETRY_TOO_LARGE", false, "The pushed telemetry exceeds the broker's limit.";
    InvalidRegistration = 119, "INVALID_REGISTRATION", false, "The controller considers the broker registration invalid.";
    TransactionAbortable = 120, "TRANSACTION_ABORTABLE", false, "The transaction failed; abort it to keep using the transactional id.";
    InvalidRecordState = 121, "INVALID_RECORD_STATE", false, "The record's state does not allow the acknowledgement.";
    ShareSessionNotFound = 122, "SHARE_SESSION_NOT_FOUND", true, "The broker does not know the share session.";
    InvalidShareSessionEpoch = 123, "INVALID_SHARE_SESSION_EPOCH", true, "The share session epoch is not valid.";
    FencedStateEpoch = 124, "FENCED_STATE_EPOCH", false, "The share-group state epoch does not match.";
    InvalidVoterKey = 125, "INVALID_VOTER_KEY", false, "The voter key does not match the receiving replica.";
    DuplicateVoter = 126, "DUPLICATE_VOTER", false, "The voter is already in the voter set.";
    VoterNotFound = 127, "VOTER_NOT_FOUND", false, "The voter is not in the voter set.";
    InvalidRegularExpression = 128, "INVALID_REGULAR_EXPRESSION", false, "The regular expression is not valid.";
    RebootstrapRequired = 129, "REBOOTSTRAP_REQUIRED", false, "Client metadata is stale; the client has to re-bootstrap.";
    StreamsInvalidTopology = 130, "STREAMS_INVALID_TOPOLOGY", false, "The streams topology is not valid.";
    StreamsInvalidTopologyEpoch = 131, "STREAMS_INVALID_TOPOLOGY_EPOCH", false, "The streams topology epoch is not valid.";
    StreamsTopologyFenced = 132, "STREAMS_TOPOLOGY_FENCED", false, "The streams topology epoch is outdated.";
    ShareSessionLimitReached = 133, "SHARE_SESSION_LIMIT_REACHED", true, "The broker's limit of share sessions is reached.";
    BadMsg = -199, "_BAD_MSG", false, "A received message or response could not be decoded.";
    BadCompression = -198, "_BAD_COMPRESSION", false, "Unknown compression codec or corrupt compressed data.";
    Destroy = -197, "_DESTROY", false, "The client is shutting down.";
    Fail = -196, "_FAIL", false, "Generic local failure.";
    Transport = -195, "_TRANSPORT", true, "The connection to a broker failed or was closed.";
    CritSysResource = -194, "_CRIT_SYS_RESOURCE", false, "A critical system resource (thread, memory, file descriptor) could not be obtained.";
    Resolve = -193, "_RESOLVE", true, "A broker host name could not be resolved.";
    MsgTimedOut = -192, "_MSG_TIMED_OUT", false, "The message was not delivered within message.timeout.ms.";
    PartitionEof = -191, "_PARTITION_EOF", false, "The consumer reached the end of the partition (not an error).";
    UnknownPartition = -190, "_UNKNOWN_PARTITION", false, "The partition does not exist in the cluster.";
    Fs = -189, "_FS", false, "A file or file system operation failed.";
    UnknownTopic = -188, "_UNKNOWN_TOPIC", false, "The topic does not exist in the cluster.";
    AllBrokersDown = -187, "_ALL_BROKERS_DOWN", true, "No broker connection is up.";
    InvalidArg = -186, "_INVALID_ARG", false, "An argument or configuration value is not valid.";
    TimedOut = -185, "_TIMED_OUT", true, "The operation did not complete in time.";
    QueueFull = -184, "_QUEUE_FULL", true, "The producer queue is full (queue.buffering.max.messages or .kbytes).";
    IsrInsuff = -183, "_ISR_INSUFF", true, "Fewer in-sync replicas than the acks setting requires.";
    NodeUpdate = -182, "_NODE_UPDATE", false, "A broker's address changed.";
    Ssl = -181, "_SSL", false, "A TLS error occurred.";
    WaitCoord = -180, "_WAIT_COORD", true, "Waiting for the coordinator to become available.";
    UnknownGroup = -179, "_UNKNOWN_GROUP", false, "The consumer group is not known.";
    InProgress = -178, "_IN_PROGRESS", false, "The operation is in progress.";
    PrevInProgress = -177, "_PREV_IN_PROGRESS", true, "A previous operation is still in progress; wait for it.";
    ExistingSubscription = -176, "_EXISTING_SUBSCRIPTION", false, "The operation conflicts with an existing subscription.";
    AssignPartitions = -175, "_ASSIGN_PARTITIONS", false, "Rebalance event: partitions were assigned.";
    RevokePartitions = -174, "_REVOKE_PARTITIONS", false, "Rebalance event: partitions were revoked.";
    Conflict = -173, "_CONFLICT", false, "Conflicting use of an API or resource.";
    State = -172, "_STATE", false, "The operation is not allowed in the current state.";
    UnknownProtocol = -171, "_UNKNOWN_PROTOCOL", false, "Unknown protocol.";
    NotImplemented = -170, "_NOT_IMPLEMENTED", false, "The feature is not implemented.";
    Authentication = -169, "_AUTHENTICATION", false, "Authentication with the broker failed.";
    NoOffset = -168, "_NO_OFFSET", false, "No stored offset is available.";
    Outdated = -167, "_OUTDATED", false, "The object or state is outdated.";
    TimedOutQueue = -166, "_TIMED_OUT_QUEUE", false, "The message timed out while still in the local queue.";
    UnsupportedFeature = -165, "_UNSUPPORTED_FEATURE", false, "The broker does not support a feature the operation needs.";
    WaitCache = -164, "_WAIT_CACHE", true, "Waiting for a metadata cache update.";
    Intr = -163, "_INTR", false, "The operation was interrupted.";
    KeySerialization = -162, "_KEY_SERIALIZATION", false, "The key could not be serialized.";
    ValueSerialization = -161, "_VALUE_SERIALIZATION", false, "The value could not be serialized.";
    KeyDeserialization = -160, "_KEY_DESERIALIZATION", false, "The key could not be deserialized.";
    ValueDeserialization = -159, "_VALUE_DESERIALIZATION", false, "The value could not be deserialized.";
    Partial = -158, "_PARTIAL", false, "Only part of the response or result is available.";
    ReadOnly = -157, "_READ_ONLY", false, "A read-only object cannot be modified.";
    NoEnt = -156, "_NOENT", false, "No such entry.";
    Underflow = -155, "_UNDERFLOW", false, "A read ran past the end of the buffer.";
    InvalidType = -154, "_INVALID_TYPE", false, "A value has the wrong type.";
    Retry = -153, "_RETRY", true, "The operation should be retried.";
    PurgeQueue = -152, "_PURGE_QUEUE", false, "The message was purged from the local queue.";
    PurgeInflight = -151, "_PURGE_INFLIGHT", false, "The message was purged while in flight to the broker.";
    Fatal = -150, "_FATAL", false, "A fatal error occurred; the client cannot continue and must be recreated.";
    Inconsistent = -149, "_INCONSISTENT", false, "Inconsistent state was detected.";
    GaplessGuarantee = -148, "_GAPLESS_GUARANTEE", false, "Continuing would break gap-less ordering.";
    MaxPollExceeded = -147, "_MAX_POLL_EXCEEDED", false, "The application did not poll within max.poll.interval.ms.";
    UnknownBroker = -146, "_UNKNOWN_BROKER", false, "The broker is not known.";
    NotConfigured = -145, "_NOT_CONFIGURED", false, "The functionality is not configured.";
    Fenced = -144, "_FENCED", false, "This client instance has been fenced.";
    Application = -143, "_APPLICATION", false, "An error raised by the application.";
    AssignmentLost = -142, "_ASSIGNMENT_LOST", false, "The consumer lost its partition assignment.";
    Noop = -141, "_NOOP", false, "Nothing was done.";
    AutoOffsetReset = -140, "_AUTO_OFFSET_RESET", false, "No offset to reset to, and auto.offset.reset is 'error'.";
    LogTruncation = -139, "_LOG_TRUNCATION", false, "Log truncation was detected on the partition.";
    InvalidDifferentRecord = -138, "_INVALID_DIFFERENT_RECORD", false, "A different record in the same batch was invalid, so this one was rejected too.";
    DestroyBroker = -137, "_DESTROY_BROKER", false, "A broker is being removed while the client keeps running.";
}

/// Local codes occupy librdkafka's range, which Kafka never uses.
const LOCAL_RANGE: std::ops::RangeInclusive<i32> = -200..=-100;

impl ErrorCode {
    /// The code for a Kafka protocol error number as read from a response.
    ///
    /// Numbers Kafka has not assigned (or that this version does not know)
    /// become [`ErrorCode::Unknown`] carrying the number; a local code's
    /// number is never produced from the wire.
    pub fn from_kafka(code: i16) -> ErrorCode {
        let wide = i32::from(code);
        match ErrorCode::from_code(wide) {
            Some(known) if !LOCAL_RANGE.contains(&wide) => known,
            _ => ErrorCode::Unknown(code),
        }
    }

    /// The numeric code: Kafka's number, or librdkafka's negative number for a
    /// local code.
    pub fn code(self) -> i32 {
        self.entry().0
    }

    /// The number on the wire for a Kafka code; `None` for a local code.
    pub fn kafka_code(self) -> Option<i16> {
        if let ErrorCode::Unknown(n) = self {
            return Some(n);
        }
        let code = self.code();
        if LOCAL_RANGE.contains(&code) {
            None
        } else {
            i16::try_from(code).ok()
        }
    }

    /// Whether the code is client-local (librdkafka's `_`-prefixed codes).
    pub fn is_local(self) -> bool {
        self.kafka_code().is_none()
    }

    /// The code's name as Kafka spells it (`NOT_LEADER_OR_FOLLOWER`) or, for
    /// local codes, as librdkafka does (`_MSG_TIMED_OUT`).
    pub fn name(self) -> &'static str {
        self.entry().1
    }

    /// A one-line description of the code.
    pub fn description(self) -> &'static str {
        self.entry().3
    }

    /// Whether the condition is transient, so that retrying the same
    /// operation may succeed. For Kafka codes this follows Kafka's
    /// `RetriableException` classes.
    pub fn is_retriable(self) -> bool {
        self.entry().2
    }

    /// Every known code in table order (for listings and tests).
    pub fn all() -> impl Iterator<Item = ErrorCode> {
        ALL_CODES.iter().copied()
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorCode::Unknown(n) => write!(f, "UNKNOWN_ERROR_CODE({n})"),
            _ => f.write_str(self.name()),
        }
    }
}

/// The error type of every fallible ferrokafka operation.
///
/// One pointer wide, so `Result<T>` stays small on hot paths. Query its class
/// with [`is_retriable`](Error::is_retriable), [`is_fatal`](Error::is_fatal)
/// and [`txn_requires_abort`](Error::txn_requires_abort); see the
/// [module docs](self) for what each class means and what to do.
#[derive(Clone)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Clone)]
struct Inner {
    code: ErrorCode,
    message: String,
    fatal: bool,
    txn_requires_abort: bool,
    retriable: bool,
}

impl Error {
    /// An error with `code` and a human-readable `message`; retriable when the
    /// code is, neither fatal nor requiring a transaction abort. Public for
    /// callbacks (an OAUTHBEARER token provider) and bindings, which return
    /// errors of their own; fatal, configuration and broker-code errors are
    /// the client's own to raise.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                code,
                message: message.into(),
                fatal: false,
                txn_requires_abort: false,
                retriable: code.is_retriable(),
            }),
        }
    }

    /// A fatal error: the client instance cannot continue (for example an
    /// idempotent producer that lost its sequence guarantees). Never
    /// retriable.
    pub(crate) fn fatal(code: ErrorCode, message: impl Into<String>) -> Self {
        let mut e = Error::new(code, message);
        e.inner.fatal = true;
        e.inner.retriable = false;
        e
    }

    /// An error that leaves the current transaction unable to commit; the
    /// application must abort it. Not retriable.
    pub fn txn_abortable(code: ErrorCode, message: impl Into<String>) -> Self {
        let mut e = Error::new(code, message);
        e.inner.txn_requires_abort = true;
        e.inner.retriable = false;
        e
    }

    /// A configuration error ([`ErrorCode::InvalidArg`]) naming the property,
    /// the value given and what is allowed.
    pub(crate) fn config(property: &str, value: &str, allowed: impl fmt::Display) -> Self {
        Error::new(
            ErrorCode::InvalidArg,
            format!("invalid value \"{value}\" for configuration property \"{property}\": allowed: {allowed}"),
        )
    }

    /// An error for a Kafka error number found in a response; `context` says
    /// which request or partition it came from. The message is the context
    /// followed by the code's description.
    pub(crate) fn from_kafka(code: i16, context: impl fmt::Display) -> Self {
        let code = ErrorCode::from_kafka(code);
        let context = context.to_string();
        let message = if context.is_empty() {
            code.description().to_string()
        } else {
            format!("{context}: {}", code.description())
        };
        Error::new(code, message)
    }

    /// The same error (code and classes) with another message.
    #[must_use]
    pub(crate) fn with_message(mut self, message: impl Into<String>) -> Self {
        self.inner.message = message.into();
        self
    }

    /// Overrides whether the error is retriable (by default the code decides).
    #[must_use]
    pub(crate) fn with_retriable(mut self, retriable: bool) -> Self {
        self.inner.retriable = retriable;
        self
    }

    /// The error's code.
    pub fn code(&self) -> ErrorCode {
        self.inner.code
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// Whether retrying the operation may succeed.
    pub fn is_retriable(&self) -> bool {
        self.inner.retriable
    }

    /// Whether the client instance is unusable: close it and create a new one.
    pub fn is_fatal(&self) -> bool {
        self.inner.fatal
    }

    /// Whether the current transaction must be aborted.
    pub fn txn_requires_abort(&self) -> bool {
        self.inner.txn_requires_abort
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("code", &self.inner.code)
            .field("message", &self.inner.message)
            .field("fatal", &self.inner.fatal)
            .field("txn_requires_abort", &self.inner.txn_requires_abort)
            .field("retriable", &self.inner.retriable)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.inner.code, self.inner.message)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    /// I/O errors come from sockets and files; a timeout keeps its class,
    /// everything else is a transport failure.
    fn from(e: std::io::Error) -> Self {
        let code = match e.kind() {
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => ErrorCode::TimedOut,
            _ => ErrorCode::Transport,
        };
        Error::new(code, e.to_string())
    }
}

/// Result with ferrokafka's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn kafka_codes_round_trip() {
        let mut kafka = 0;
        for code in ErrorCode::all() {
            if let Some(n) = code.kafka_code() {
                kafka += 1;
                assert_eq!(ErrorCode::from_kafka(n), code, "{code:?}");
                assert!(!code.is_local());
            } else {
                assert!(code.name().starts_with('_'), "{code:?}");
                assert!(LOCAL_RANGE.contains(&code.code()));
            }
            assert_eq!(ErrorCode::from_code(code.code()), Some(code));
        }
        // -1, 0 and 1..=133.
        assert_eq!(kafka, 135);
    }

    #[test]
    fn every_wire_number_maps_without_loss() {
        for n in i16::MIN..=i16::MAX {
            let code = ErrorCode::from_kafka(n);
            assert_eq!(code.kafka_code(), Some(n));
            assert_eq!(code.code(), i32::from(n));
        }
        assert_eq!(ErrorCode::from_kafka(-150), ErrorCode::Unknown(-150));
        assert_eq!(
            ErrorCode::from_kafka(9999).to_string(),
            "UNKNOWN_ERROR_CODE(9999)"
        );
    }

    #[test]
    fn names_and_numbers_are_unique() {
        let mut names = HashSet::new();
        let mut numbers = HashSet::new();
        for code in ErrorCode::all() {
            assert!(names.insert(code.name()), "duplicate name {}", code.name());
            assert!(
                numbers.insert(code.code()),
                "duplicate number {}",
                code.code()
            );
            assert!(!code.description().is_empty());
            assert_eq!(code.to_string(), code.name());
        }
    }

    #[test]
    fn retriable_classification() {
        for c in [
            ErrorCode::NotLeaderOrFollower,
            ErrorCode::LeaderNotAvailable,
            ErrorCode::RequestTimedOut,
            ErrorCode::NotEnoughReplicas,
            ErrorCode::CoordinatorLoadInProgress,
            ErrorCode::UnknownTopicOrPartition,
            ErrorCode::ConcurrentTransactions,
            ErrorCode::Transport,
            ErrorCode::QueueFull,
        ] {
            assert!(c.is_retriable(), "{c:?}");
        }
        for c in [
            ErrorCode::MsgSizeTooLarge,
            ErrorCode::TopicAuthorizationFailed,
            ErrorCode::OutOfOrderSequenceNumber,
            ErrorCode::ProducerFenced,
            ErrorCode::UnknownServerError,
            ErrorCode::MsgTimedOut,
            ErrorCode::InvalidArg,
            ErrorCode::Unknown(500),
        ] {
            assert!(!c.is_retriable(), "{c:?}");
        }
    }

    #[test]
    fn well_known_numbers() {
        assert_eq!(ErrorCode::MsgSizeTooLarge.kafka_code(), Some(10));
        assert_eq!(ErrorCode::MsgSizeTooLarge.name(), "MESSAGE_TOO_LARGE");
        assert_eq!(ErrorCode::MsgTimedOut.code(), -192);
        assert_eq!(ErrorCode::QueueFull.code(), -184);
        assert_eq!(ErrorCode::Fatal.code(), -150);
        assert_eq!(ErrorCode::PurgeQueue.code(), -152);
        assert_eq!(ErrorCode::UnknownServerError.kafka_code(), Some(-1));
    }

    #[test]
    fn error_classes_and_display() {
        let e = Error::from_kafka(6, "produce t[0]");
        assert_eq!(e.code(), ErrorCode::NotLeaderOrFollower);
        assert!(e.is_retriable() && !e.is_fatal() && !e.txn_requires_abort());
        assert!(e
            .to_string()
            .starts_with("NOT_LEADER_OR_FOLLOWER: produce t[0]: "));

        let f = Error::fatal(ErrorCode::OutOfOrderSequenceNumber, "sequence gap");
        assert!(f.is_fatal() && !f.is_retriable());

        let t = Error::txn_abortable(ErrorCode::TransactionAbortable, "abort");
        assert!(t.txn_requires_abort() && !t.is_fatal());

        let r = Error::new(ErrorCode::MsgTimedOut, "x").with_retriable(true);
        assert!(r.is_retriable());

        let c = Error::config("acks", "2", "all, -1, 0, 1");
        assert_eq!(c.code(), ErrorCode::InvalidArg);
        for part in ["acks", "\"2\"", "all, -1, 0, 1"] {
            assert!(c.message().contains(part), "{c}");
        }
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }
}
