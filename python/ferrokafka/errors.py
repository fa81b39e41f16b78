"""kafka-python's exception classes, by the same names and hierarchy.

A program written for kafka-python catches the same exceptions from
ferrokafka: ``KafkaError`` at the root, ``RetriableError`` and
``InvalidMetadataError`` for errors worth retrying, ``KafkaTimeoutError`` for
anything that did not finish within its time limit, ``KafkaConfigurationError``
for settings, and one ``BrokerResponseError`` subclass per Kafka error code
(``UnknownTopicOrPartitionError`` is errno 3), each with ``errno``,
``message`` (Kafka's name for the code), ``description``, ``retriable`` and
``invalid_metadata``. ``for_code(errno)`` returns the class of a code.

Errors that ferrokafka's Rust core raises are mapped by ``_from_core``:
Kafka codes to their broker class, local codes (negative, librdkafka's
numbers) to the nearest kafka-python class.
"""

__all__ = ["for_code", "kafka_errors"]


class KafkaError(Exception):
    """Root of every ferrokafka (and kafka-python) exception."""

    retriable = False
    # Whether the client should refresh metadata after this error.
    invalid_metadata = False

    def __str__(self):
        if not self.args:
            return self.__class__.__name__
        return "{0}: {1}".format(self.__class__.__name__, super().__str__())

    def __eq__(self, other):
        return self.__class__ == other.__class__ and self.args == other.args

    __hash__ = Exception.__hash__


class RetriableError(KafkaError):
    retriable = True


class InvalidMetadataError(RetriableError):
    invalid_metadata = True


class IllegalStateError(KafkaError):
    pass


class IllegalArgumentError(KafkaError):
    pass


class NoBrokersAvailable(KafkaError):
    """No broker answered (kafka-python 2.x's name)."""

    retriable = True
    invalid_metadata = True


class NodeNotReadyError(RetriableError):
    pass


class KafkaProtocolError(KafkaError):
    retriable = True


class CorrelationIdError(KafkaProtocolError):
    retriable = True


class Cancelled(RetriableError):
    pass


class TooManyInFlightRequests(RetriableError):
    pass


class StaleMetadata(InvalidMetadataError):
    pass


class MetadataEmptyBrokerList(RetriableError):
    pass


class UnrecognizedBrokerVersion(KafkaError):
    pass


class CommitFailedError(KafkaError):
    pass


class AuthenticationMethodNotSupported(KafkaError):
    pass


class AuthenticationFailedError(KafkaError):
    pass


class InvalidReceiveError(KafkaProtocolError):
    pass


class KafkaConfigurationError(KafkaError):
    """A setting is unknown, has a bad value, or cannot be honoured."""


class UnrecognizedConfigError(KafkaConfigurationError, ValueError):
    """Keyword arguments the client does not know.

    Both a ``KafkaConfigurationError`` and a ``ValueError`` (kafka-python 3
    raises ``ValueError('Unrecognized configs: ...')``), so either catch works.
    """


class QuotaViolationError(KafkaError):
    pass


class AsyncProducerQueueFull(KafkaError):
    pass


class KafkaConnectionError(InvalidMetadataError):
    """The connection to a broker failed or was closed."""


class ProtocolError(KafkaError):
    pass


class UnsupportedCodecError(KafkaError):
    pass


class KafkaTimeoutError(RetriableError):
    """The operation did not finish within its time limit (max_block_ms,
    a get() or flush() timeout, a request timeout)."""


class NoOffsetForPartitionError(KafkaError):
    pass


class LogTruncationError(KafkaError):
    pass


class UnknownBrokerIdError(KafkaError):
    pass


class TransactionAbortedError(KafkaError):
    pass


class BrokerResponseError(KafkaError):
    """An error code from a broker; subclasses carry their ``errno``."""

    errno = None
    message = None
    description = None

    def __str__(self):
        return "[Error {0}] {1}".format(self.errno, super().__str__())


class AuthorizationError(BrokerResponseError):
    pass


# (errno, class name, Kafka's name for the code, extra bases).
_BROKER_ERRORS = (
    (0, 'NoError', 'NO_ERROR', ()),
    (-1, 'UnknownError', 'UNKNOWN', ()),
    (1, 'OffsetOutOfRangeError', 'OFFSET_OUT_OF_RANGE', ()),
    (2, 'CorruptRecordError', 'CORRUPT_MESSAGE', ()),
    (3, 'UnknownTopicOrPartitionError', 'UNKNOWN_TOPIC_OR_PARTITION', ('InvalidMetadataError',)),
    (4, 'InvalidFetchRequestError', 'INVALID_FETCH_SIZE', ()),
    (5, 'LeaderNotAvailableError', 'LEADER_NOT_AVAILABLE', ('InvalidMetadataError',)),
    (6, 'NotLeaderForPartitionError', 'NOT_LEADER_FOR_PARTITION', ('InvalidMetadataError',)),
    (7, 'RequestTimedOutError', 'REQUEST_TIMED_OUT', ('RetriableError',)),
    (8, 'BrokerNotAvailableError', 'BROKER_NOT_AVAILABLE', ()),
    (9, 'ReplicaNotAvailableError', 'REPLICA_NOT_AVAILABLE', ('InvalidMetadataError',)),
    (10, 'MessageSizeTooLargeError', 'MESSAGE_SIZE_TOO_LARGE', ()),
    (11, 'StaleControllerEpochError', 'STALE_CONTROLLER_EPOCH', ()),
    (12, 'OffsetMetadataTooLargeError', 'OFFSET_METADATA_TOO_LARGE', ()),
    (13, 'NetworkExceptionError', 'NETWORK_EXCEPTION', ('InvalidMetadataError',)),
    (14, 'CoordinatorLoadInProgressError', 'COORDINATOR_LOAD_IN_PROGRESS', ('RetriableError',)),
    (15, 'CoordinatorNotAvailableError', 'COORDINATOR_NOT_AVAILABLE', ('RetriableError',)),
    (16, 'NotCoordinatorError', 'NOT_COORDINATOR', ('RetriableError',)),
    (17, 'InvalidTopicError', 'INVALID_TOPIC', ()),
    (18, 'RecordListTooLargeError', 'RECORD_LIST_TOO_LARGE', ()),
    (19, 'NotEnoughReplicasError', 'NOT_ENOUGH_REPLICAS', ('RetriableError',)),
    (20, 'NotEnoughReplicasAfterAppendError', 'NOT_ENOUGH_REPLICAS_AFTER_APPEND', ('RetriableError',)),
    (21, 'InvalidRequiredAcksError', 'INVALID_REQUIRED_ACKS', ()),
    (22, 'IllegalGenerationError', 'ILLEGAL_GENERATION', ()),
    (23, 'InconsistentGroupProtocolError', 'INCONSISTENT_GROUP_PROTOCOL', ()),
    (24, 'InvalidGroupIdError', 'INVALID_GROUP_ID', ()),
    (25, 'UnknownMemberIdError', 'UNKNOWN_MEMBER_ID', ()),
    (26, 'InvalidSessionTimeoutError', 'INVALID_SESSION_TIMEOUT', ()),
    (27, 'RebalanceInProgressError', 'REBALANCE_IN_PROGRESS', ()),
    (28, 'InvalidCommitOffsetSizeError', 'INVALID_COMMIT_OFFSET_SIZE', ()),
    (29, 'TopicAuthorizationFailedError', 'TOPIC_AUTHORIZATION_FAILED', ('AuthorizationError',)),
    (30, 'GroupAuthorizationFailedError', 'GROUP_AUTHORIZATION_FAILED', ('AuthorizationError',)),
    (31, 'ClusterAuthorizationFailedError', 'CLUSTER_AUTHORIZATION_FAILED', ('AuthorizationError',)),
    (32, 'InvalidTimestampError', 'INVALID_TIMESTAMP', ()),
    (33, 'UnsupportedSaslMechanismError', 'UNSUPPORTED_SASL_MECHANISM', ()),
    (34, 'IllegalSaslStateError', 'ILLEGAL_SASL_STATE', ()),
    (35, 'UnsupportedVersionError', 'UNSUPPORTED_VERSION', ()),
    (36, 'TopicAlreadyExistsError', 'TOPIC_ALREADY_EXISTS', ()),
    (37, 'InvalidPartitionsError', 'INVALID_PARTITIONS', ()),
    (38, 'InvalidReplicationFactorError', 'INVALID_REPLICATION_FACTOR', ()),
    (39, 'InvalidReplicationAssignmentError', 'INVALID_REPLICATION_ASSIGNMENT', ()),
    (40, 'InvalidConfigurationError', 'INVALID_CONFIG', ()),
    (41, 'NotControllerError', 'NOT_CONTROLLER', ('RetriableError',)),
    (42, 'InvalidRequestError', 'INVALID_REQUEST', ()),
    (43, 'UnsupportedForMessageFormatError', 'UNSUPPORTED_FOR_MESSAGE_FORMAT', ()),
    (44, 'PolicyViolationError', 'POLICY_VIOLATION', ()),
    (45, 'OutOfOrderSequenceNumberError', 'OUT_OF_ORDER_SEQUENCE_NUMBER', ()),
    (46, 'DuplicateSequenceNumberError', 'DUPLICATE_SEQUENCE_NUMBER', ()),
    (47, 'InvalidProducerEpochError', 'INVALID_PRODUCER_EPOCH', ()),
    (48, 'InvalidTxnStateError', 'INVALID_TXN_STATE', ()),
    (49, 'InvalidProducerIdMappingError', 'INVALID_PRODUCER_ID_MAPPING', ()),
    (50, 'InvalidTransactionTimeoutError', 'INVALID_TRANSACTION_TIMEOUT', ()),
    (51, 'ConcurrentTransactionsError', 'CONCURRENT_TRANSACTIONS', ('RetriableError',)),
    (52, 'TransactionCoordinatorFencedError', 'TRANSACTION_COORDINATOR_FENCED', ()),
    (53, 'TransactionalIdAuthorizationFailedError', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', ('AuthorizationError',)),
    (54, 'SecurityDisabledError', 'SECURITY_DISABLED', ()),
    (55, 'OperationNotAttemptedError', 'OPERATION_NOT_ATTEMPTED', ()),
    (56, 'KafkaStorageError', 'KAFKA_STORAGE_ERROR', ('InvalidMetadataError',)),
    (57, 'LogDirNotFoundError', 'LOG_DIR_NOT_FOUND', ()),
    (58, 'SaslAuthenticationFailedError', 'SASL_AUTHENTICATION_FAILED', ()),
    (59, 'UnknownProducerIdError', 'UNKNOWN_PRODUCER_ID', ()),
    (60, 'ReassignmentInProgressError', 'REASSIGNMENT_IN_PROGRESS', ()),
    (61, 'DelegationTokenAuthDisabledError', 'DELEGATION_TOKEN_AUTH_DISABLED', ()),
    (62, 'DelegationTokenNotFoundError', 'DELEGATION_TOKEN_NOT_FOUND', ()),
    (63, 'DelegationTokenOwnerMismatchError', 'DELEGATION_TOKEN_OWNER_MISMATCH', ()),
    (64, 'DelegationTokenRequestNotAllowedError', 'DELEGATION_TOKEN_REQUEST_NOT_ALLOWED', ()),
    (65, 'DelegationTokenAuthorizationFailedError', 'DELEGATION_TOKEN_AUTHORIZATION_FAILED', ('AuthorizationError',)),
    (66, 'DelegationTokenExpiredError', 'DELEGATION_TOKEN_EXPIRED', ()),
    (67, 'InvalidPrincipalTypeError', 'INVALID_PRINCIPAL_TYPE', ()),
    (68, 'NonEmptyGroupError', 'NON_EMPTY_GROUP', ()),
    (69, 'GroupIdNotFoundError', 'GROUP_ID_NOT_FOUND', ()),
    (70, 'FetchSessionIdNotFoundError', 'FETCH_SESSION_ID_NOT_FOUND', ('RetriableError',)),
    (71, 'InvalidFetchSessionEpochError', 'INVALID_FETCH_SESSION_EPOCH', ('RetriableError',)),
    (72, 'ListenerNotFoundError', 'LISTENER_NOT_FOUND', ('InvalidMetadataError',)),
    (73, 'TopicDeletionDisabledError', 'TOPIC_DELETION_DISABLED', ()),
    (74, 'FencedLeaderEpochError', 'FENCED_LEADER_EPOCH', ('InvalidMetadataError',)),
    (75, 'UnknownLeaderEpochError', 'UNKNOWN_LEADER_EPOCH', ('InvalidMetadataError',)),
    (76, 'UnsupportedCompressionTypeError', 'UNSUPPORTED_COMPRESSION_TYPE', ()),
    (77, 'StaleBrokerEpochError', 'STALE_BROKER_EPOCH', ()),
    (78, 'OffsetNotAvailableError', 'OFFSET_NOT_AVAILABLE', ('RetriableError',)),
    (79, 'MemberIdRequiredError', 'MEMBER_ID_REQUIRED', ()),
    (80, 'PreferredLeaderNotAvailableError', 'PREFERRED_LEADER_NOT_AVAILABLE', ('InvalidMetadataError',)),
    (81, 'GroupMaxSizeReachedError', 'GROUP_MAX_SIZE_REACHED', ()),
    (82, 'FencedInstanceIdError', 'FENCED_INSTANCE_ID', ()),
    (83, 'EligibleLeadersNotAvailableError', 'ELIGIBLE_LEADERS_NOT_AVAILABLE', ('InvalidMetadataError',)),
    (84, 'ElectionNotNeededError', 'ELECTION_NOT_NEEDED', ('InvalidMetadataError',)),
    (85, 'NoReassignmentInProgressError', 'NO_REASSIGNMENT_IN_PROGRESS', ()),
    (86, 'GroupSubscribedToTopicError', 'GROUP_SUBSCRIBED_TO_TOPIC', ()),
    (87, 'InvalidRecordError', 'INVALID_RECORD', ()),
    (88, 'UnstableOffsetCommitError', 'UNSTABLE_OFFSET_COMMIT', ('RetriableError',)),
    (89, 'ThrottlingQuotaExceededError', 'THROTTLING_QUOTA_EXCEEDED', ('RetriableError',)),
    (90, 'ProducerFencedError', 'PRODUCER_FENCED', ()),
    (91, 'ResourceNotFoundError', 'RESOURCE_NOT_FOUND', ()),
    (92, 'DuplicateResourceError', 'DUPLICATE_RESOURCE', ()),
    (93, 'UnacceptableCredentialError', 'UNACCEPTABLE_CREDENTIAL', ()),
    (94, 'InconsistentVoterSetError', 'INCONSISTENT_VOTER_SET', ()),
    (95, 'InvalidUpdateVersionError', 'INVALID_UPDATE_VERSION', ()),
    (96, 'FeatureUpdateFailedError', 'FEATURE_UPDATE_FAILED', ()),
    (97, 'PrincipalDeserializationFailureError', 'PRINCIPAL_DESERIALIZATION_FAILURE', ()),
    (98, 'SnapshotNotFoundError', 'SNAPSHOT_NOT_FOUND', ()),
    (99, 'PositionOutOfRangeError', 'POSITION_OUT_OF_RANGE', ()),
    (100, 'UnknownTopicIdError', 'UNKNOWN_TOPIC_ID', ('InvalidMetadataError',)),
    (101, 'DuplicateBrokerRegistrationError', 'DUPLICATE_BROKER_REGISTRATION', ()),
    (102, 'BrokerIdNotRegisteredError', 'BROKER_ID_NOT_REGISTERED', ()),
    (103, 'InconsistentTopicIdError', 'INCONSISTENT_TOPIC_ID', ('InvalidMetadataError',)),
    (104, 'InconsistentClusterIdError', 'INCONSISTENT_CLUSTER_ID', ()),
    (105, 'TransactionalIdNotFoundError', 'TRANSACTIONAL_ID_NOT_FOUND', ()),
    (106, 'FetchSessionTopicIdError', 'FETCH_SESSION_TOPIC_ID_ERROR', ('RetriableError',)),
    (107, 'IneligibleReplicaError', 'INELIGIBLE_REPLICA', ()),
    (108, 'NewLeaderElectedError', 'NEW_LEADER_ELECTED', ()),
    (109, 'OffsetMovedToTieredStorageError', 'OFFSET_MOVED_TO_TIERED_STORAGE', ()),
    (110, 'FencedMemberEpochError', 'FENCED_MEMBER_EPOCH', ()),
    (111, 'UnreleasedInstanceIdError', 'UNRELEASED_INSTANCE_ID', ()),
    (112, 'UnsupportedAssignorError', 'UNSUPPORTED_ASSIGNOR', ()),
    (113, 'StaleMemberEpochError', 'STALE_MEMBER_EPOCH', ()),
    (114, 'MismatchedEndpointTypeError', 'MISMATCHED_ENDPOINT_TYPE', ()),
    (115, 'UnsupportedEndpointTypeError', 'UNSUPPORTED_ENDPOINT_TYPE', ()),
    (116, 'UnknownControllerIdError', 'UNKNOWN_CONTROLLER_ID', ()),
    (117, 'UnknownSubscriptionIdError', 'UNKNOWN_SUBSCRIPTION_ID', ()),
    (118, 'TelemetryTooLargeError', 'TELEMETRY_TOO_LARGE', ()),
    (119, 'InvalidRegistrationError', 'INVALID_REGISTRATION', ()),
    (120, 'TransactionAbortableError', 'TRANSACTION_ABORTABLE', ()),
    (121, 'InvalidRecordStateError', 'INVALID_RECORD_STATE', ()),
    (122, 'ShareSessionNotFoundError', 'SHARE_SESSION_NOT_FOUND', ('RetriableError',)),
    (123, 'InvalidShareSessionEpochError', 'INVALID_SHARE_SESSION_EPOCH', ('RetriableError',)),
    (124, 'FencedStateEpochError', 'FENCED_STATE_EPOCH', ()),
    (125, 'InvalidVoterKeyError', 'INVALID_VOTER_KEY', ()),
    (126, 'DuplicateVoterError', 'DUPLICATE_VOTER', ()),
    (127, 'VoterNotFoundError', 'VOTER_NOT_FOUND', ()),
)

kafka_errors = {}


def _define(errno, name, message, bases):
    parents = tuple(globals()[b] for b in bases)
    if not any(issubclass(p, BrokerResponseError) for p in parents):
        parents = parents + (BrokerResponseError,)
    attrs = {
        "errno": errno,
        "message": message,
        "description": message.replace("_", " ").lower(),
        "__module__": __name__,
    }
    if any(getattr(p, "retriable", False) for p in parents):
        attrs["retriable"] = True
    cls = type(name, parents, attrs)
    globals()[name] = cls
    __all__.append(name)
    kafka_errors.setdefault(errno, cls)
    return cls


for _row in _BROKER_ERRORS:
    _define(*_row)
del _row

CorruptRecordException = CorruptRecordError  # noqa: F821 (kafka-python's alias)


class IncompatibleBrokerVersion(UnsupportedVersionError):  # noqa: F821
    pass


def for_code(error_code):
    """The BrokerResponseError class of a Kafka error code (a subclass of
    UnknownError carrying the number for a code this version does not know)."""
    cls = kafka_errors.get(error_code)
    if cls is not None:
        return cls
    return type("UnrecognizedBrokerError", (UnknownError,), {"errno": error_code})  # noqa: F821


# Local codes of the Rust core (librdkafka's numbers and names) and the
# kafka-python class that means the same.
_LOCAL = {
    "_TIMED_OUT": KafkaTimeoutError,
    "_MSG_TIMED_OUT": KafkaTimeoutError,
    "_TIMED_OUT_QUEUE": KafkaTimeoutError,
    "_QUEUE_FULL": KafkaTimeoutError,
    "_TRANSPORT": KafkaConnectionError,
    "_ALL_BROKERS_DOWN": NoBrokersAvailable,
    "_RESOLVE": KafkaConnectionError,
    "_INVALID_ARG": KafkaConfigurationError,
    "_NOT_IMPLEMENTED": KafkaConfigurationError,
    "_UNKNOWN_TOPIC": UnknownTopicOrPartitionError,  # noqa: F821
    "_UNKNOWN_PARTITION": UnknownTopicOrPartitionError,  # noqa: F821
    "_STATE": IllegalStateError,
    "_DESTROY": IllegalStateError,
    "_BAD_MSG": KafkaProtocolError,
    "_BAD_COMPRESSION": UnsupportedCodecError,
    "_SSL": KafkaConnectionError,
    "_AUTHENTICATION": AuthenticationFailedError,
    "_LOG_TRUNCATION": LogTruncationError,
    "_AUTO_OFFSET_RESET": NoOffsetForPartitionError,
    "_NO_OFFSET": NoOffsetForPartitionError,
    "_PURGE_QUEUE": Cancelled,
    "_PURGE_INFLIGHT": Cancelled,
    "_FATAL": IllegalStateError,
    "_UNSUPPORTED_FEATURE": UnsupportedVersionError,  # noqa: F821
}


class FerrokafkaError(KafkaError):
    """A local error of the Rust core with no kafka-python equivalent."""


def _from_core(code, name, message, retriable):
    """The exception instance for an error of the Rust core."""
    if code >= -1:
        exc = for_code(code)(message)
    else:
        cls = _LOCAL.get(name, FerrokafkaError)
        exc = cls(message)
    # The core's name and number, for logs and for telling causes apart.
    exc.code_name = name
    exc.code = code
    if retriable and not exc.retriable:
        exc.retriable = True
    return exc
