//! Wire protocol: framing, request/response headers and API version
//! negotiation.
//!
//! Message bodies for the ~70 Kafka APIs come from the `kafka-protocol`
//! crate; this module owns what surrounds them: the size-prefixed frame with
//! its bounded reader ([`frame`]), header versions derived from each API's
//! flexible versions, the ApiVersions exchange (KIP-35, KIP-511) and the
//! per-API version table ([`versions`]), and the one guarded decode path
//! of every `kafka-protocol` response ([`decode`], with the shape guard of
//! `ferrokafka-wire`), and request bodies in chunks so Produce references
//! its record batches instead of copying them ([`body`]). Record
//! batches inside Produce and Fetch bodies belong to `record`; sockets and
//! pipelining to `net`.

pub(crate) mod body;
pub(crate) mod consumer_protocol;
pub(crate) mod decode;
pub(crate) mod frame;
pub(crate) mod guard;
pub(crate) mod versions;

pub(crate) use decode::{decode, decode_as, decode_embedded};
pub(crate) use kafka_protocol::messages::ApiKey;
pub(crate) use versions::ApiVersionTable;

/// Error codes this layer raises, named in one place.
pub(crate) mod codes {
    use crate::error::ErrorCode;

    /// A connection could not be made or broke.
    pub(crate) const TRANSPORT: ErrorCode = ErrorCode::Transport;
    /// A host name did not resolve.
    pub(crate) const RESOLVE: ErrorCode = ErrorCode::Resolve;
    /// A frame or response could not be decoded.
    pub(crate) const BAD_MSG: ErrorCode = ErrorCode::BadMsg;
    /// A request got no answer within its timeout.
    pub(crate) const TIMED_OUT: ErrorCode = ErrorCode::TimedOut;
    /// No version of an API both sides speak.
    pub(crate) const UNSUPPORTED_VERSION: ErrorCode = ErrorCode::UnsupportedVersion;
    /// A topic is not known to the cluster.
    pub(crate) const UNKNOWN_TOPIC: ErrorCode = ErrorCode::UnknownTopic;
    /// No broker could be reached.
    pub(crate) const ALL_BROKERS_DOWN: ErrorCode = ErrorCode::AllBrokersDown;
    /// The client was closed while the operation was pending.
    pub(crate) const DESTROY: ErrorCode = ErrorCode::Destroy;

    /// The [`ErrorCode`] for a Kafka protocol error code.
    pub(crate) fn from_kafka(code: i16) -> ErrorCode {
        ErrorCode::from_kafka(code)
    }
}

/// Kafka's UNSUPPORTED_VERSION error code.
pub(crate) const KAFKA_UNSUPPORTED_VERSION: i16 = 35;

/// Kafka's UNKNOWN_TOPIC_OR_PARTITION error code.
pub(crate) const KAFKA_UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;

/// The Kafka name of a protocol error code, for messages.
pub(crate) fn kafka_error_name(code: i16) -> String {
    format!("{} ({code})", crate::ErrorCode::from_kafka(code).name())
}

/// A request message from the `kafka-protocol` crate with its API key and
/// response type. (That crate ties its own `Request` trait to its broker
/// feature; this one needs only the client side.)
pub trait ApiRequest: kafka_protocol::protocol::Encodable {
    /// The API this request belongs to.
    const KEY: ApiKey;
    /// The response message.
    type Response: kafka_protocol::protocol::Decodable;
    /// The throttle time a response reports (KIP-219), 0 for APIs without one.
    fn throttle_time_ms(resp: &Self::Response) -> i32;
    /// The request's body at `version`, as the connection writes it.
    fn encode_body(&self, version: i16) -> crate::error::Result<body::Body> {
        body::encode_whole(self, Self::KEY, version)
    }
}

macro_rules! api_requests {
    ($($key:ident: $req:ident => $resp:ident $([$none:ident])?),* $(,)?) => {
        $(
            impl ApiRequest for kafka_protocol::messages::$req {
                const KEY: ApiKey = ApiKey::$key;
                type Response = kafka_protocol::messages::$resp;
                fn throttle_time_ms(resp: &Self::Response) -> i32 {
                    api_requests!(@throttle resp $($none)?)
                }
            }
        )*
    };
    (@throttle $r:ident) => { $r.throttle_time_ms };
    (@throttle $r:ident unthrottled) => {{ let _ = $r; 0 }};
}

/// Produce references its record batches instead of copying them into
/// the request ([`body`]).
impl ApiRequest for kafka_protocol::messages::ProduceRequest {
    const KEY: ApiKey = ApiKey::Produce;
    type Response = kafka_protocol::messages::ProduceResponse;
    fn throttle_time_ms(resp: &Self::Response) -> i32 {
        resp.throttle_time_ms
    }
    fn encode_body(&self, version: i16) -> crate::error::Result<body::Body> {
        body::encode_produce(self, version)
    }
}

api_requests! {
    Fetch: FetchRequest => FetchResponse,
    ListOffsets: ListOffsetsRequest => ListOffsetsResponse,
    Metadata: MetadataRequest => MetadataResponse,
    OffsetCommit: OffsetCommitRequest => OffsetCommitResponse,
    OffsetFetch: OffsetFetchRequest => OffsetFetchResponse,
    FindCoordinator: FindCoordinatorRequest => FindCoordinatorResponse,
    JoinGroup: JoinGroupRequest => JoinGroupResponse,
    Heartbeat: HeartbeatRequest => HeartbeatResponse,
    LeaveGroup: LeaveGroupRequest => LeaveGroupResponse,
    SyncGroup: SyncGroupRequest => SyncGroupResponse,
    DescribeGroups: DescribeGroupsRequest => DescribeGroupsResponse,
    ListGroups: ListGroupsRequest => ListGroupsResponse,
    SaslHandshake: SaslHandshakeRequest => SaslHandshakeResponse [unthrottled],
    ApiVersions: ApiVersionsRequest => ApiVersionsResponse,
    CreateTopics: CreateTopicsRequest => CreateTopicsResponse,
    DeleteTopics: DeleteTopicsRequest => DeleteTopicsResponse,
    DeleteRecords: DeleteRecordsRequest => DeleteRecordsResponse,
    InitProducerId: InitProducerIdRequest => InitProducerIdResponse,
    OffsetForLeaderEpoch: OffsetForLeaderEpochRequest => OffsetForLeaderEpochResponse,
    AddPartitionsToTxn: AddPartitionsToTxnRequest => AddPartitionsToTxnResponse,
    AddOffsetsToTxn: AddOffsetsToTxnRequest => AddOffsetsToTxnResponse,
    EndTxn: EndTxnRequest => EndTxnResponse,
    TxnOffsetCommit: TxnOffsetCommitRequest => TxnOffsetCommitResponse,
    DescribeAcls: DescribeAclsRequest => DescribeAclsResponse,
    CreateAcls: CreateAclsRequest => CreateAclsResponse,
    DeleteAcls: DeleteAclsRequest => DeleteAclsResponse,
    DescribeConfigs: DescribeConfigsRequest => DescribeConfigsResponse,
    AlterConfigs: AlterConfigsRequest => AlterConfigsResponse,
    DescribeLogDirs: DescribeLogDirsRequest => DescribeLogDirsResponse,
    SaslAuthenticate: SaslAuthenticateRequest => SaslAuthenticateResponse [unthrottled],
    CreatePartitions: CreatePartitionsRequest => CreatePartitionsResponse,
    DeleteGroups: DeleteGroupsRequest => DeleteGroupsResponse,
    ElectLeaders: ElectLeadersRequest => ElectLeadersResponse,
    IncrementalAlterConfigs: IncrementalAlterConfigsRequest => IncrementalAlterConfigsResponse,
    AlterPartitionReassignments: AlterPartitionReassignmentsRequest => AlterPartitionReassignmentsResponse,
    ListPartitionReassignments: ListPartitionReassignmentsRequest => ListPartitionReassignmentsResponse,
    OffsetDelete: OffsetDeleteRequest => OffsetDeleteResponse,
    DescribeClientQuotas: DescribeClientQuotasRequest => DescribeClientQuotasResponse,
    AlterClientQuotas: AlterClientQuotasRequest => AlterClientQuotasResponse,
    DescribeUserScramCredentials: DescribeUserScramCredentialsRequest => DescribeUserScramCredentialsResponse,
    AlterUserScramCredentials: AlterUserScramCredentialsRequest => AlterUserScramCredentialsResponse,
    DescribeCluster: DescribeClusterRequest => DescribeClusterResponse,
    DescribeProducers: DescribeProducersRequest => DescribeProducersResponse,
    DescribeTransactions: DescribeTransactionsRequest => DescribeTransactionsResponse,
    ListTransactions: ListTransactionsRequest => ListTransactionsResponse,
    UpdateFeatures: UpdateFeaturesRequest => UpdateFeaturesResponse,
    WriteTxnMarkers: WriteTxnMarkersRequest => WriteTxnMarkersResponse [unthrottled],
}
