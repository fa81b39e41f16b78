//! A shape check run on a message body before the generic decoder sees it.
//!
//! `kafka-protocol` 0.18 reserves a `Vec` for an array from the count on the
//! wire before reading any element, so a frame of a few bytes declaring two
//! billion elements makes it ask for tens of gigabytes and the process
//! aborts. This module owns the one schema walker shared by the client (every
//! response decoded with that crate) and the mock cluster (every served
//! request): it walks a body by a per-API schema written from the Kafka
//! message specs (field order, the versions each field exists in, classic and
//! flexible encodings) and refuses a body whose array counts exceed the
//! elements actually present. Strings and byte fields need no check: the
//! decoder bounds them by the bytes left. Unknown tagged fields are skipped
//! by their size; tagged fields the decoder reads itself (some hold arrays)
//! are walked like any other field and must fill their declared size.
//!
//! Request schemas live in [`request_schema`], response schemas in
//! [`response_schema`]. Unit tests here round-trip populated responses of
//! every version in `versions::SUPPORTED`; the mock's tests do the same for
//! the requests it serves.

use super::codes;
use crate::error::{Error, Result};
use kafka_protocol::messages::ApiKey;

/// What a field is on the wire (in both the classic and flexible forms).
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub enum K {
    /// Fixed-size scalar(s) of this many bytes.
    Fixed(usize),
    /// (Nullable, compact) string.
    Str,
    /// (Nullable, compact) bytes.
    Bytes,
    /// (Nullable, compact) array of structs.
    Arr(&'static [F]),
    /// (Nullable, compact) array of fixed-size scalars.
    ArrOf(usize),
    /// (Nullable, compact) array of strings.
    ArrStr,
    /// A struct (with its own tagged-field section when flexible).
    Struct(&'static [F]),
    /// A tagged field the decoder reads itself: its tag and its kind. Only
    /// meaningful in flexible versions; walked inside the tagged section.
    Tagged(u32, &'static K),
}

/// A field present in versions `.0..=.1`.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct F(pub i16, pub i16, pub K);

/// "Up to the newest version": the upper bound of an open-ended field.
const ALL: i16 = i16::MAX;
use K::*;

/// Marker schema of bodies without arrays: nothing to bound, not walked.
#[doc(hidden)]
pub const NO_ARRAYS: &[F] = &[];

/// Whether `version` of `key` uses the flexible (compact, tagged) encoding.
/// Request and response bodies switch at the same version; the request
/// header version says where (ApiVersions keeps a v0 response header).
#[doc(hidden)]
pub fn flexible(key: ApiKey, version: i16) -> bool {
    key.request_header_version(version) >= 2
}

/// Walks `body` by `fields` at `version` and returns how many bytes the
/// message takes, or what was wrong and at which byte offset.
#[doc(hidden)]
pub fn walk(
    fields: &[F],
    version: i16,
    flexible: bool,
    body: &[u8],
) -> std::result::Result<usize, String> {
    let mut w = Walker {
        buf: body,
        flexible,
        version,
    };
    match w.fields(fields) {
        Ok(()) => Ok(body.len() - w.buf.len()),
        Err(why) => Err(format!("{why} at byte {}", body.len() - w.buf.len())),
    }
}

/// Whether a request body (after its header) has a believable shape for
/// `key`/`version`: every array count within what the body holds. APIs
/// without a request schema are refused.
#[doc(hidden)]
pub fn check_request(key: ApiKey, version: i16, body: &[u8]) -> bool {
    match request_schema(key) {
        None => false,
        Some(f) if std::ptr::eq(f, NO_ARRAYS) => true,
        Some(f) => walk(f, version, flexible(key, version), body).is_ok(),
    }
}

/// Checks a response body (after its header) before `kafka-protocol`
/// decodes it: a `BadMsg` error naming the API, version, peer and what was
/// wrong when an array count exceeds the bytes present, or when the API has
/// no response schema (add one to [`response_schema`] before decoding a new
/// API with that crate).
pub(crate) fn check_response(key: ApiKey, version: i16, body: &[u8], peer: &str) -> Result<()> {
    let fields = response_schema(key).ok_or_else(|| {
        Error::new(
            codes::BAD_MSG,
            format!(
                "refusing to decode {key:?} v{version} response from {peer}: \
                 no shape schema for this API in protocol/guard.rs"
            ),
        )
    })?;
    if std::ptr::eq(fields, NO_ARRAYS) {
        return Ok(());
    }
    walk(fields, version, flexible(key, version), body)
        .map(|_| ())
        .map_err(|why| {
            Error::new(
                codes::BAD_MSG,
                format!(
                    "malformed {key:?} v{version} response from {peer} ({} bytes): {why}",
                    body.len()
                ),
            )
        })
}

struct Walker<'a> {
    buf: &'a [u8],
    flexible: bool,
    version: i16,
}

type Step = std::result::Result<(), &'static str>;

const TRUNCATED: &str = "body ends inside a field";
const BAD_LENGTH: &str = "length or count out of range";
const TOO_MANY: &str = "array count exceeds the bytes present";

impl Walker<'_> {
    fn skip(&mut self, n: usize) -> Step {
        self.buf = self.buf.get(n..).ok_or(TRUNCATED)?;
        Ok(())
    }
    fn int(&mut self, n: usize) -> std::result::Result<i64, &'static str> {
        let b = self.buf.get(..n).ok_or(TRUNCATED)?;
        let v = b.iter().fold(0i64, |acc, x| (acc << 8) | i64::from(*x));
        self.buf = &self.buf[n..];
        // Classic lengths are signed: -1 is null.
        Ok(match n {
            2 => i64::from(v as u16 as i16),
            4 => i64::from(v as u32 as i32),
            _ => v,
        })
    }
    fn uvarint(&mut self) -> std::result::Result<u64, &'static str> {
        let mut v = 0u64;
        for i in 0..5 {
            let b = *self.buf.first().ok_or(TRUNCATED)?;
            self.buf = &self.buf[1..];
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("unsigned varint longer than 5 bytes")
    }
    /// A length or count: `Ok(None)` for null.
    fn len(&mut self, classic_width: usize) -> std::result::Result<Option<usize>, &'static str> {
        let n = if self.flexible {
            i64::try_from(self.uvarint()?).map_err(|_| BAD_LENGTH)? - 1
        } else {
            self.int(classic_width)?
        };
        if n < 0 {
            return Ok(None);
        }
        Ok(Some(usize::try_from(n).map_err(|_| BAD_LENGTH)?))
    }
    /// A count of elements that each take at least one byte.
    fn count(&mut self) -> std::result::Result<Option<usize>, &'static str> {
        match self.len(4)? {
            Some(n) if n > self.buf.len() => Err(TOO_MANY),
            n => Ok(n),
        }
    }
    fn tagged(&mut self, fields: &[F]) -> Step {
        if !self.flexible {
            return Ok(());
        }
        let n = self.uvarint()?;
        if n > self.buf.len() as u64 {
            return Err(TOO_MANY);
        }
        for _ in 0..n {
            let tag = self.uvarint()?;
            let size = usize::try_from(self.uvarint()?).map_err(|_| BAD_LENGTH)?;
            let known = fields.iter().find_map(|F(lo, hi, kind)| match kind {
                Tagged(t, inner) if u64::from(*t) == tag && (*lo..=*hi).contains(&self.version) => {
                    Some(*inner)
                }
                _ => None,
            });
            match known {
                // The decoder reads a known tag's value from the stream
                // itself, whatever the declared size: walk it the same way
                // and insist the two agree.
                Some(kind) => {
                    let before = self.buf.len();
                    self.one(kind)?;
                    if before - self.buf.len() != size {
                        return Err("tagged field size disagrees with its contents");
                    }
                }
                None => self.skip(size)?,
            }
        }
        Ok(())
    }
    fn one(&mut self, kind: &K) -> Step {
        match *kind {
            Fixed(n) => self.skip(n),
            Str => match self.len(2)? {
                Some(n) => self.skip(n),
                None => Ok(()),
            },
            Bytes => match self.len(4)? {
                Some(n) => self.skip(n),
                None => Ok(()),
            },
            ArrOf(width) => match self.len(4)? {
                Some(n) => self.skip(n.checked_mul(width).ok_or(TOO_MANY)?),
                None => Ok(()),
            },
            ArrStr => {
                for _ in 0..self.count()?.unwrap_or(0) {
                    if let Some(l) = self.len(2)? {
                        self.skip(l)?;
                    }
                }
                Ok(())
            }
            Arr(inner) => {
                for _ in 0..self.count()?.unwrap_or(0) {
                    self.fields(inner)?;
                }
                Ok(())
            }
            Struct(inner) => self.fields(inner),
            // Handled in the tagged section.
            Tagged(..) => Ok(()),
        }
    }
    fn fields(&mut self, fields: &[F]) -> Step {
        for F(lo, hi, kind) in fields {
            if (*lo..=*hi).contains(&self.version) {
                self.one(kind)?;
            }
        }
        self.tagged(fields)
    }
}

// ---------------------------------------------------------------------------
// Request schemas (what the mock cluster serves).
// ---------------------------------------------------------------------------

const PRODUCE_PART: &[F] = &[F(0, ALL, Fixed(4)), F(0, ALL, Bytes)];
const PRODUCE_TOPIC: &[F] = &[
    F(0, 12, Str),
    F(13, ALL, Fixed(16)),
    F(0, ALL, Arr(PRODUCE_PART)),
];
const PRODUCE: &[F] = &[
    F(0, ALL, Str),
    F(0, ALL, Fixed(6)),
    F(0, ALL, Arr(PRODUCE_TOPIC)),
];

const FETCH_PART: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(9, ALL, Fixed(4)),
    F(0, ALL, Fixed(8)),
    F(12, ALL, Fixed(4)),
    F(5, ALL, Fixed(8)),
    F(0, ALL, Fixed(4)),
];
const FETCH_TOPIC: &[F] = &[
    F(0, 12, Str),
    F(13, ALL, Fixed(16)),
    F(0, ALL, Arr(FETCH_PART)),
];
const FETCH_FORGOTTEN: &[F] = &[F(7, 12, Str), F(13, ALL, Fixed(16)), F(7, ALL, ArrOf(4))];
const FETCH: &[F] = &[
    F(0, 14, Fixed(4)),
    F(0, ALL, Fixed(13)),
    F(7, ALL, Fixed(8)),
    F(0, ALL, Arr(FETCH_TOPIC)),
    F(7, ALL, Arr(FETCH_FORGOTTEN)),
    F(11, ALL, Str),
];

const LIST_OFFSETS_PART: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(4, ALL, Fixed(4)),
    F(0, ALL, Fixed(8)),
];
const LIST_OFFSETS_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(LIST_OFFSETS_PART))];
const LIST_OFFSETS: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(2, ALL, Fixed(1)),
    F(0, ALL, Arr(LIST_OFFSETS_TOPIC)),
    F(10, ALL, Fixed(4)),
];

const METADATA_TOPIC: &[F] = &[F(10, ALL, Fixed(16)), F(0, ALL, Str)];
const METADATA: &[F] = &[
    F(0, ALL, Arr(METADATA_TOPIC)),
    F(4, ALL, Fixed(1)),
    F(8, 10, Fixed(1)),
    F(8, ALL, Fixed(1)),
];

const CREATE_TOPICS_ASSIGN: &[F] = &[F(0, ALL, Fixed(4)), F(0, ALL, ArrOf(4))];
const CREATE_TOPICS_CONFIG: &[F] = &[F(0, ALL, Str), F(0, ALL, Str)];
const CREATE_TOPICS_TOPIC: &[F] = &[
    F(0, ALL, Str),
    F(0, ALL, Fixed(6)),
    F(0, ALL, Arr(CREATE_TOPICS_ASSIGN)),
    F(0, ALL, Arr(CREATE_TOPICS_CONFIG)),
];
const CREATE_TOPICS: &[F] = &[F(0, ALL, Arr(CREATE_TOPICS_TOPIC)), F(0, ALL, Fixed(5))];

const DELETE_TOPICS_STATE: &[F] = &[F(0, ALL, Str), F(0, ALL, Fixed(16))];
const DELETE_TOPICS: &[F] = &[
    F(6, ALL, Arr(DELETE_TOPICS_STATE)),
    F(0, 5, ArrStr),
    F(0, ALL, Fixed(4)),
];

const EPOCH_PART: &[F] = &[F(0, ALL, Fixed(12))];
const EPOCH_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(EPOCH_PART))];
const OFFSET_FOR_LEADER_EPOCH: &[F] = &[F(3, ALL, Fixed(4)), F(0, ALL, Arr(EPOCH_TOPIC))];

const CREATE_PARTITIONS_ASSIGN: &[F] = &[F(0, ALL, ArrOf(4))];
const CREATE_PARTITIONS_TOPIC: &[F] = &[
    F(0, ALL, Str),
    F(0, ALL, Fixed(4)),
    F(0, ALL, Arr(CREATE_PARTITIONS_ASSIGN)),
];
const CREATE_PARTITIONS: &[F] = &[F(0, ALL, Arr(CREATE_PARTITIONS_TOPIC)), F(0, ALL, Fixed(5))];

const FIND_COORDINATOR: &[F] = &[F(0, 3, Str), F(1, ALL, Fixed(1)), F(4, ALL, ArrStr)];

const JOIN_GROUP_PROTOCOL: &[F] = &[F(0, ALL, Str), F(0, ALL, Bytes)];
const JOIN_GROUP: &[F] = &[
    F(0, ALL, Str),
    F(0, ALL, Fixed(4)),
    F(1, ALL, Fixed(4)),
    F(0, ALL, Str),
    F(5, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Arr(JOIN_GROUP_PROTOCOL)),
    F(8, ALL, Str),
];

const SYNC_GROUP_ASSIGNMENT: &[F] = &[F(0, ALL, Str), F(0, ALL, Bytes)];
const SYNC_GROUP: &[F] = &[
    F(0, ALL, Str),
    F(0, ALL, Fixed(4)),
    F(0, ALL, Str),
    F(3, ALL, Str),
    F(5, ALL, Str),
    F(5, ALL, Str),
    F(0, ALL, Arr(SYNC_GROUP_ASSIGNMENT)),
];

const LEAVE_GROUP_MEMBER: &[F] = &[F(0, ALL, Str), F(0, ALL, Str), F(5, ALL, Str)];
const LEAVE_GROUP: &[F] = &[
    F(0, ALL, Str),
    F(0, 2, Str),
    F(3, ALL, Arr(LEAVE_GROUP_MEMBER)),
];

const OFFSET_COMMIT_PART: &[F] = &[F(0, ALL, Fixed(12)), F(6, ALL, Fixed(4)), F(0, ALL, Str)];
const OFFSET_COMMIT_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(OFFSET_COMMIT_PART))];
const OFFSET_COMMIT: &[F] = &[
    F(0, ALL, Str),
    F(1, ALL, Fixed(4)),
    F(1, ALL, Str),
    F(7, ALL, Str),
    F(2, 4, Fixed(8)),
    F(0, ALL, Arr(OFFSET_COMMIT_TOPIC)),
];

const OFFSET_FETCH_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, ArrOf(4))];
const OFFSET_FETCH_GROUP: &[F] = &[
    F(0, ALL, Str),
    F(9, ALL, Str),
    F(9, ALL, Fixed(4)),
    F(0, ALL, Arr(OFFSET_FETCH_TOPIC)),
];
const OFFSET_FETCH: &[F] = &[
    F(0, 7, Str),
    F(0, 7, Arr(OFFSET_FETCH_TOPIC)),
    F(8, ALL, Arr(OFFSET_FETCH_GROUP)),
    F(7, ALL, Fixed(1)),
];

const LIST_GROUPS: &[F] = &[F(4, ALL, ArrStr), F(5, ALL, ArrStr)];
const DESCRIBE_GROUPS: &[F] = &[F(0, ALL, ArrStr), F(3, ALL, Fixed(1))];
const DELETE_GROUPS: &[F] = &[F(0, ALL, ArrStr)];
const OFFSET_DELETE_PART: &[F] = &[F(0, ALL, Fixed(4))];
const OFFSET_DELETE_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(OFFSET_DELETE_PART))];
const OFFSET_DELETE: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(OFFSET_DELETE_TOPIC))];

const ADD_PARTITIONS_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, ArrOf(4))];
const ADD_PARTITIONS_TXN: &[F] = &[
    F(0, ALL, Str),
    F(0, ALL, Fixed(11)),
    F(0, ALL, Arr(ADD_PARTITIONS_TOPIC)),
];
const ADD_PARTITIONS_TO_TXN: &[F] = &[
    F(4, ALL, Arr(ADD_PARTITIONS_TXN)),
    F(0, 3, Str),
    F(0, 3, Fixed(10)),
    F(0, 3, Arr(ADD_PARTITIONS_TOPIC)),
];

const TXN_COMMIT_PART: &[F] = &[F(0, ALL, Fixed(12)), F(2, ALL, Fixed(4)), F(0, ALL, Str)];
const TXN_COMMIT_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(TXN_COMMIT_PART))];
const TXN_OFFSET_COMMIT: &[F] = &[
    F(0, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Fixed(10)),
    F(3, ALL, Fixed(4)),
    F(3, ALL, Str),
    F(3, ALL, Str),
    F(0, ALL, Arr(TXN_COMMIT_TOPIC)),
];

const DESCRIBE_CONFIGS_RESOURCE: &[F] = &[F(0, ALL, Fixed(1)), F(0, ALL, Str), F(0, ALL, ArrStr)];
const DESCRIBE_CONFIGS: &[F] = &[
    F(0, ALL, Arr(DESCRIBE_CONFIGS_RESOURCE)),
    F(0, ALL, Fixed(1)),
    F(3, ALL, Fixed(1)),
];

const DELETE_RECORDS_PART: &[F] = &[F(0, ALL, Fixed(12))];
const DELETE_RECORDS_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(DELETE_RECORDS_PART))];
const DELETE_RECORDS: &[F] = &[F(0, ALL, Arr(DELETE_RECORDS_TOPIC)), F(0, ALL, Fixed(4))];

const INCREMENTAL_ALTER_CONFIG: &[F] = &[F(0, ALL, Str), F(0, ALL, Fixed(1)), F(0, ALL, Str)];
const INCREMENTAL_ALTER_RESOURCE: &[F] = &[
    F(0, ALL, Fixed(1)),
    F(0, ALL, Str),
    F(0, ALL, Arr(INCREMENTAL_ALTER_CONFIG)),
];
const INCREMENTAL_ALTER_CONFIGS: &[F] = &[
    F(0, ALL, Arr(INCREMENTAL_ALTER_RESOURCE)),
    F(0, ALL, Fixed(1)),
];
const ALTER_CONFIG: &[F] = &[F(0, ALL, Str), F(0, ALL, Str)];
const ALTER_CONFIGS_RESOURCE: &[F] = &[
    F(0, ALL, Fixed(1)),
    F(0, ALL, Str),
    F(0, ALL, Arr(ALTER_CONFIG)),
];
const ALTER_CONFIGS: &[F] = &[F(0, ALL, Arr(ALTER_CONFIGS_RESOURCE)), F(0, ALL, Fixed(1))];

const ACL_CREATION: &[F] = &[
    F(0, ALL, Fixed(1)),
    F(0, ALL, Str),
    F(1, ALL, Fixed(1)),
    F(0, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Fixed(2)),
];
const CREATE_ACLS: &[F] = &[F(0, ALL, Arr(ACL_CREATION))];
const ACL_FILTER: &[F] = &[
    F(0, ALL, Fixed(1)),
    F(0, ALL, Str),
    F(1, ALL, Fixed(1)),
    F(0, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Fixed(2)),
];
const DELETE_ACLS: &[F] = &[F(0, ALL, Arr(ACL_FILTER))];

const LOG_DIR_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, ArrOf(4))];
const DESCRIBE_LOG_DIRS: &[F] = &[F(0, ALL, Arr(LOG_DIR_TOPIC))];

/// The schema of a request body; APIs without arrays map to [`NO_ARRAYS`].
#[doc(hidden)]
pub fn request_schema(key: ApiKey) -> Option<&'static [F]> {
    Some(match key {
        ApiKey::Produce => PRODUCE,
        ApiKey::Fetch => FETCH,
        ApiKey::ListOffsets => LIST_OFFSETS,
        ApiKey::Metadata => METADATA,
        ApiKey::CreateTopics => CREATE_TOPICS,
        ApiKey::DeleteTopics => DELETE_TOPICS,
        ApiKey::OffsetForLeaderEpoch => OFFSET_FOR_LEADER_EPOCH,
        ApiKey::CreatePartitions => CREATE_PARTITIONS,
        ApiKey::FindCoordinator => FIND_COORDINATOR,
        ApiKey::JoinGroup => JOIN_GROUP,
        ApiKey::SyncGroup => SYNC_GROUP,
        ApiKey::LeaveGroup => LEAVE_GROUP,
        ApiKey::OffsetCommit => OFFSET_COMMIT,
        ApiKey::OffsetFetch => OFFSET_FETCH,
        ApiKey::ListGroups => LIST_GROUPS,
        ApiKey::DescribeGroups => DESCRIBE_GROUPS,
        ApiKey::DeleteGroups => DELETE_GROUPS,
        ApiKey::OffsetDelete => OFFSET_DELETE,
        ApiKey::AddPartitionsToTxn => ADD_PARTITIONS_TO_TXN,
        ApiKey::TxnOffsetCommit => TXN_OFFSET_COMMIT,
        ApiKey::DescribeConfigs => DESCRIBE_CONFIGS,
        ApiKey::DeleteRecords => DELETE_RECORDS,
        ApiKey::IncrementalAlterConfigs => INCREMENTAL_ALTER_CONFIGS,
        ApiKey::AlterConfigs => ALTER_CONFIGS,
        ApiKey::CreateAcls => CREATE_ACLS,
        ApiKey::DescribeLogDirs => DESCRIBE_LOG_DIRS,
        ApiKey::DeleteAcls => DELETE_ACLS,
        ApiKey::ApiVersions
        | ApiKey::Heartbeat
        | ApiKey::InitProducerId
        | ApiKey::AddOffsetsToTxn
        | ApiKey::EndTxn
        | ApiKey::DescribeCluster
        | ApiKey::DescribeAcls => NO_ARRAYS,
        // The later admin APIs' schemas live in `admin_shapes`.
        _ => return super::admin_shapes::request_schema(key),
    })
}

// ---------------------------------------------------------------------------
// Response schemas (what the client decodes with `kafka-protocol`).
// ---------------------------------------------------------------------------

const R_PRODUCE_BATCH_ERROR: &[F] = &[F(8, ALL, Fixed(4)), F(8, ALL, Str)];
const R_LEADER_ID_EPOCH: &[F] = &[F(0, ALL, Fixed(8))];
const R_NODE_ENDPOINT: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(0, ALL, Str),
    F(0, ALL, Fixed(4)),
    F(0, ALL, Str),
];
const R_PRODUCE_PART: &[F] = &[
    F(0, ALL, Fixed(22)),
    F(5, ALL, Fixed(8)),
    F(8, ALL, Arr(R_PRODUCE_BATCH_ERROR)),
    F(8, ALL, Str),
    F(10, ALL, Tagged(0, &Struct(R_LEADER_ID_EPOCH))),
];
const R_PRODUCE_TOPIC: &[F] = &[
    F(0, 12, Str),
    F(13, ALL, Fixed(16)),
    F(0, ALL, Arr(R_PRODUCE_PART)),
];
const R_PRODUCE: &[F] = &[
    F(0, ALL, Arr(R_PRODUCE_TOPIC)),
    F(1, ALL, Fixed(4)),
    F(10, ALL, Tagged(0, &Arr(R_NODE_ENDPOINT))),
];

const R_FETCH_ABORTED: &[F] = &[F(0, ALL, Fixed(16))];
const R_FETCH_EPOCH_END: &[F] = &[F(0, ALL, Fixed(12))];
const R_FETCH_PART: &[F] = &[
    F(0, ALL, Fixed(22)),
    F(5, ALL, Fixed(8)),
    F(4, ALL, Arr(R_FETCH_ABORTED)),
    F(11, ALL, Fixed(4)),
    F(0, ALL, Bytes),
    F(12, ALL, Tagged(0, &Struct(R_FETCH_EPOCH_END))),
    F(12, ALL, Tagged(1, &Struct(R_LEADER_ID_EPOCH))),
    F(12, ALL, Tagged(2, &Struct(R_FETCH_EPOCH_END))),
];
const R_FETCH_TOPIC: &[F] = &[
    F(0, 12, Str),
    F(13, ALL, Fixed(16)),
    F(0, ALL, Arr(R_FETCH_PART)),
];
const R_FETCH: &[F] = &[
    F(1, ALL, Fixed(4)),
    F(7, ALL, Fixed(6)),
    F(0, ALL, Arr(R_FETCH_TOPIC)),
    F(16, ALL, Tagged(0, &Arr(R_NODE_ENDPOINT))),
];

const R_LIST_OFFSETS_PART: &[F] = &[
    F(0, ALL, Fixed(6)),
    F(1, ALL, Fixed(16)),
    F(4, ALL, Fixed(4)),
];
const R_LIST_OFFSETS_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(R_LIST_OFFSETS_PART))];
const R_LIST_OFFSETS: &[F] = &[F(2, ALL, Fixed(4)), F(0, ALL, Arr(R_LIST_OFFSETS_TOPIC))];

const R_METADATA_BROKER: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(0, ALL, Str),
    F(0, ALL, Fixed(4)),
    F(1, ALL, Str),
];
const R_METADATA_PART: &[F] = &[
    F(0, ALL, Fixed(10)),
    F(7, ALL, Fixed(4)),
    F(0, ALL, ArrOf(4)),
    F(0, ALL, ArrOf(4)),
    F(5, ALL, ArrOf(4)),
];
const R_METADATA_TOPIC: &[F] = &[
    F(0, ALL, Fixed(2)),
    F(0, ALL, Str),
    F(10, ALL, Fixed(16)),
    F(1, ALL, Fixed(1)),
    F(0, ALL, Arr(R_METADATA_PART)),
    F(8, ALL, Fixed(4)),
];
const R_METADATA: &[F] = &[
    F(3, ALL, Fixed(4)),
    F(0, ALL, Arr(R_METADATA_BROKER)),
    F(2, ALL, Str),
    F(1, ALL, Fixed(4)),
    F(0, ALL, Arr(R_METADATA_TOPIC)),
    F(8, 10, Fixed(4)),
    F(13, ALL, Fixed(2)),
];

const R_PARTITION_ERROR: &[F] = &[F(0, ALL, Fixed(6))];
const R_OFFSET_COMMIT_TOPIC: &[F] = &[
    F(0, 9, Str),
    F(10, ALL, Fixed(16)),
    F(0, ALL, Arr(R_PARTITION_ERROR)),
];
const R_OFFSET_COMMIT: &[F] = &[F(3, ALL, Fixed(4)), F(0, ALL, Arr(R_OFFSET_COMMIT_TOPIC))];

const R_OFFSET_FETCH_PART: &[F] = &[
    F(0, ALL, Fixed(12)),
    F(5, ALL, Fixed(4)),
    F(0, ALL, Str),
    F(0, ALL, Fixed(2)),
];
const R_OFFSET_FETCH_TOPIC: &[F] = &[
    F(0, 9, Str),
    F(10, ALL, Fixed(16)),
    F(0, ALL, Arr(R_OFFSET_FETCH_PART)),
];
const R_OFFSET_FETCH_GROUP: &[F] = &[
    F(0, ALL, Str),
    F(0, ALL, Arr(R_OFFSET_FETCH_TOPIC)),
    F(0, ALL, Fixed(2)),
];
const R_OFFSET_FETCH: &[F] = &[
    F(3, ALL, Fixed(4)),
    F(0, 7, Arr(R_OFFSET_FETCH_TOPIC)),
    F(2, 7, Fixed(2)),
    F(8, ALL, Arr(R_OFFSET_FETCH_GROUP)),
];

const R_EPOCH_END_OFFSET: &[F] = &[
    F(0, ALL, Fixed(6)),
    F(1, ALL, Fixed(4)),
    F(0, ALL, Fixed(8)),
];
const R_EPOCH_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(R_EPOCH_END_OFFSET))];
const R_OFFSET_FOR_LEADER_EPOCH: &[F] = &[F(2, ALL, Fixed(4)), F(0, ALL, Arr(R_EPOCH_TOPIC))];

const R_COORDINATOR: &[F] = &[
    F(0, ALL, Str),
    F(0, ALL, Fixed(4)),
    F(0, ALL, Str),
    F(0, ALL, Fixed(6)),
    F(0, ALL, Str),
];
const R_FIND_COORDINATOR: &[F] = &[
    F(1, ALL, Fixed(4)),
    F(0, 3, Fixed(2)),
    F(1, 3, Str),
    F(0, 3, Fixed(4)),
    F(0, 3, Str),
    F(0, 3, Fixed(4)),
    F(4, ALL, Arr(R_COORDINATOR)),
];

const R_JOIN_GROUP_MEMBER: &[F] = &[F(0, ALL, Str), F(5, ALL, Str), F(0, ALL, Bytes)];
const R_JOIN_GROUP: &[F] = &[
    F(2, ALL, Fixed(4)),
    F(0, ALL, Fixed(6)),
    F(7, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Str),
    F(9, ALL, Fixed(1)),
    F(0, ALL, Str),
    F(0, ALL, Arr(R_JOIN_GROUP_MEMBER)),
];

const R_LEAVE_GROUP_MEMBER: &[F] = &[F(0, ALL, Str), F(0, ALL, Str), F(0, ALL, Fixed(2))];
const R_LEAVE_GROUP: &[F] = &[
    F(1, ALL, Fixed(4)),
    F(0, ALL, Fixed(2)),
    F(3, ALL, Arr(R_LEAVE_GROUP_MEMBER)),
];

const R_SYNC_GROUP: &[F] = &[
    F(1, ALL, Fixed(4)),
    F(0, ALL, Fixed(2)),
    F(5, ALL, Str),
    F(5, ALL, Str),
    F(0, ALL, Bytes),
];

const R_DESCRIBED_MEMBER: &[F] = &[
    F(0, ALL, Str),
    F(4, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Bytes),
    F(0, ALL, Bytes),
];
const R_DESCRIBED_GROUP: &[F] = &[
    F(0, ALL, Fixed(2)),
    F(6, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Arr(R_DESCRIBED_MEMBER)),
    F(3, ALL, Fixed(4)),
];
const R_DESCRIBE_GROUPS: &[F] = &[F(1, ALL, Fixed(4)), F(0, ALL, Arr(R_DESCRIBED_GROUP))];

const R_LISTED_GROUP: &[F] = &[
    F(0, ALL, Str),
    F(0, ALL, Str),
    F(4, ALL, Str),
    F(5, ALL, Str),
];
const R_LIST_GROUPS: &[F] = &[
    F(1, ALL, Fixed(4)),
    F(0, ALL, Fixed(2)),
    F(0, ALL, Arr(R_LISTED_GROUP)),
];

const R_DELETABLE_GROUP: &[F] = &[F(0, ALL, Str), F(0, ALL, Fixed(2))];
const R_DELETE_GROUPS: &[F] = &[F(0, ALL, Fixed(4)), F(0, ALL, Arr(R_DELETABLE_GROUP))];

const R_ADD_PARTITIONS_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(R_PARTITION_ERROR))];
const R_ADD_PARTITIONS_TXN: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(R_ADD_PARTITIONS_TOPIC))];
const R_ADD_PARTITIONS_TO_TXN: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(4, ALL, Fixed(2)),
    F(4, ALL, Arr(R_ADD_PARTITIONS_TXN)),
    F(0, 3, Arr(R_ADD_PARTITIONS_TOPIC)),
];

const R_TXN_OFFSET_COMMIT_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(R_PARTITION_ERROR))];
const R_TXN_OFFSET_COMMIT: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(0, ALL, Arr(R_TXN_OFFSET_COMMIT_TOPIC)),
];

const R_CREATABLE_TOPIC_CONFIG: &[F] = &[F(0, ALL, Str), F(0, ALL, Str), F(0, ALL, Fixed(3))];
const R_CREATABLE_TOPIC: &[F] = &[
    F(0, ALL, Str),
    F(7, ALL, Fixed(16)),
    F(0, ALL, Fixed(2)),
    F(1, ALL, Str),
    F(5, ALL, Fixed(6)),
    F(5, ALL, Arr(R_CREATABLE_TOPIC_CONFIG)),
    F(5, ALL, Tagged(0, &Fixed(2))),
];
const R_CREATE_TOPICS: &[F] = &[F(2, ALL, Fixed(4)), F(0, ALL, Arr(R_CREATABLE_TOPIC))];

const R_DELETABLE_TOPIC: &[F] = &[
    F(0, ALL, Str),
    F(6, ALL, Fixed(16)),
    F(0, ALL, Fixed(2)),
    F(5, ALL, Str),
];
const R_DELETE_TOPICS: &[F] = &[F(1, ALL, Fixed(4)), F(0, ALL, Arr(R_DELETABLE_TOPIC))];

const R_DELETE_RECORDS_PART: &[F] = &[F(0, ALL, Fixed(14))];
const R_DELETE_RECORDS_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(R_DELETE_RECORDS_PART))];
const R_DELETE_RECORDS: &[F] = &[F(0, ALL, Fixed(4)), F(0, ALL, Arr(R_DELETE_RECORDS_TOPIC))];

const R_CREATE_PARTITIONS_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Fixed(2)), F(0, ALL, Str)];
const R_CREATE_PARTITIONS: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(0, ALL, Arr(R_CREATE_PARTITIONS_TOPIC)),
];

const R_CONFIG_SYNONYM: &[F] = &[F(0, ALL, Str), F(0, ALL, Str), F(0, ALL, Fixed(1))];
const R_CONFIG_ENTRY: &[F] = &[
    F(0, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Fixed(1)),
    F(1, ALL, Fixed(1)),
    F(0, 0, Fixed(1)),
    F(0, ALL, Fixed(1)),
    F(1, ALL, Arr(R_CONFIG_SYNONYM)),
    F(3, ALL, Fixed(1)),
    F(3, ALL, Str),
];
const R_DESCRIBE_CONFIGS_RESULT: &[F] = &[
    F(0, ALL, Fixed(2)),
    F(0, ALL, Str),
    F(0, ALL, Fixed(1)),
    F(0, ALL, Str),
    F(0, ALL, Arr(R_CONFIG_ENTRY)),
];
const R_DESCRIBE_CONFIGS: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(0, ALL, Arr(R_DESCRIBE_CONFIGS_RESULT)),
];

const R_SASL_HANDSHAKE: &[F] = &[F(0, ALL, Fixed(2)), F(0, ALL, ArrStr)];

const R_API_VERSION: &[F] = &[F(0, ALL, Fixed(6))];
const R_SUPPORTED_FEATURE: &[F] = &[F(0, ALL, Str), F(0, ALL, Fixed(4))];
const R_API_VERSIONS: &[F] = &[
    F(0, ALL, Fixed(2)),
    F(0, ALL, Arr(R_API_VERSION)),
    F(1, ALL, Fixed(4)),
    F(3, ALL, Tagged(0, &Arr(R_SUPPORTED_FEATURE))),
    F(3, ALL, Tagged(1, &Fixed(8))),
    F(3, ALL, Tagged(2, &Arr(R_SUPPORTED_FEATURE))),
    F(3, ALL, Tagged(3, &Fixed(1))),
];

const R_ACL_DESCRIPTION: &[F] = &[F(0, ALL, Str), F(0, ALL, Str), F(0, ALL, Fixed(2))];
const R_ACL_RESOURCE: &[F] = &[
    F(0, ALL, Fixed(1)),
    F(0, ALL, Str),
    F(1, ALL, Fixed(1)),
    F(0, ALL, Arr(R_ACL_DESCRIPTION)),
];
const R_DESCRIBE_ACLS: &[F] = &[
    F(0, ALL, Fixed(6)),
    F(0, ALL, Str),
    F(0, ALL, Arr(R_ACL_RESOURCE)),
];

const R_ERROR_AND_MESSAGE: &[F] = &[F(0, ALL, Fixed(2)), F(0, ALL, Str)];
const R_CREATE_ACLS: &[F] = &[F(0, ALL, Fixed(4)), F(0, ALL, Arr(R_ERROR_AND_MESSAGE))];

const R_MATCHING_ACL: &[F] = &[
    F(0, ALL, Fixed(2)),
    F(0, ALL, Str),
    F(0, ALL, Fixed(1)),
    F(0, ALL, Str),
    F(1, ALL, Fixed(1)),
    F(0, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Fixed(2)),
];
const R_DELETE_ACLS_FILTER: &[F] = &[
    F(0, ALL, Fixed(2)),
    F(0, ALL, Str),
    F(0, ALL, Arr(R_MATCHING_ACL)),
];
const R_DELETE_ACLS: &[F] = &[F(0, ALL, Fixed(4)), F(0, ALL, Arr(R_DELETE_ACLS_FILTER))];

const R_ALTER_CONFIGS_RESOURCE: &[F] = &[
    F(0, ALL, Fixed(2)),
    F(0, ALL, Str),
    F(0, ALL, Fixed(1)),
    F(0, ALL, Str),
];
const R_ALTER_CONFIGS: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(0, ALL, Arr(R_ALTER_CONFIGS_RESOURCE)),
];

const R_LOG_DIR_PART: &[F] = &[F(0, ALL, Fixed(21))];
const R_LOG_DIR_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(R_LOG_DIR_PART))];
const R_LOG_DIR: &[F] = &[
    F(0, ALL, Fixed(2)),
    F(0, ALL, Str),
    F(0, ALL, Arr(R_LOG_DIR_TOPIC)),
    F(4, ALL, Fixed(16)),
];
const R_DESCRIBE_LOG_DIRS: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(3, ALL, Fixed(2)),
    F(0, ALL, Arr(R_LOG_DIR)),
];

const R_ELECTION_PART: &[F] = &[F(0, ALL, Fixed(6)), F(0, ALL, Str)];
const R_ELECTION_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(R_ELECTION_PART))];
const R_ELECT_LEADERS: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(1, ALL, Fixed(2)),
    F(0, ALL, Arr(R_ELECTION_TOPIC)),
];

const R_REASSIGNABLE_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(R_ELECTION_PART))];
const R_ALTER_PARTITION_REASSIGNMENTS: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(1, ALL, Fixed(1)),
    F(0, ALL, Fixed(2)),
    F(0, ALL, Str),
    F(0, ALL, Arr(R_REASSIGNABLE_TOPIC)),
];

const R_ONGOING_PART: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(0, ALL, ArrOf(4)),
    F(0, ALL, ArrOf(4)),
    F(0, ALL, ArrOf(4)),
];
const R_ONGOING_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(R_ONGOING_PART))];
const R_LIST_PARTITION_REASSIGNMENTS: &[F] = &[
    F(0, ALL, Fixed(6)),
    F(0, ALL, Str),
    F(0, ALL, Arr(R_ONGOING_TOPIC)),
];

const R_OFFSET_DELETE_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(R_PARTITION_ERROR))];
const R_OFFSET_DELETE: &[F] = &[F(0, ALL, Fixed(6)), F(0, ALL, Arr(R_OFFSET_DELETE_TOPIC))];

const R_QUOTA_ENTITY: &[F] = &[F(0, ALL, Str), F(0, ALL, Str)];
const R_QUOTA_VALUE: &[F] = &[F(0, ALL, Str), F(0, ALL, Fixed(8))];
const R_QUOTA_ENTRY: &[F] = &[
    F(0, ALL, Arr(R_QUOTA_ENTITY)),
    F(0, ALL, Arr(R_QUOTA_VALUE)),
];
const R_DESCRIBE_CLIENT_QUOTAS: &[F] = &[
    F(0, ALL, Fixed(6)),
    F(0, ALL, Str),
    F(0, ALL, Arr(R_QUOTA_ENTRY)),
];
const R_ALTERED_QUOTA: &[F] = &[
    F(0, ALL, Fixed(2)),
    F(0, ALL, Str),
    F(0, ALL, Arr(R_QUOTA_ENTITY)),
];
const R_ALTER_CLIENT_QUOTAS: &[F] = &[F(0, ALL, Fixed(4)), F(0, ALL, Arr(R_ALTERED_QUOTA))];

const R_SCRAM_CREDENTIAL: &[F] = &[F(0, ALL, Fixed(5))];
const R_SCRAM_USER: &[F] = &[
    F(0, ALL, Str),
    F(0, ALL, Fixed(2)),
    F(0, ALL, Str),
    F(0, ALL, Arr(R_SCRAM_CREDENTIAL)),
];
const R_DESCRIBE_USER_SCRAM_CREDENTIALS: &[F] = &[
    F(0, ALL, Fixed(6)),
    F(0, ALL, Str),
    F(0, ALL, Arr(R_SCRAM_USER)),
];
const R_ALTERED_SCRAM_USER: &[F] = &[F(0, ALL, Str), F(0, ALL, Fixed(2)), F(0, ALL, Str)];
const R_ALTER_USER_SCRAM_CREDENTIALS: &[F] =
    &[F(0, ALL, Fixed(4)), F(0, ALL, Arr(R_ALTERED_SCRAM_USER))];

const R_CLUSTER_BROKER: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(0, ALL, Str),
    F(0, ALL, Fixed(4)),
    F(0, ALL, Str),
    F(2, ALL, Fixed(1)),
];
const R_DESCRIBE_CLUSTER: &[F] = &[
    F(0, ALL, Fixed(6)),
    F(0, ALL, Str),
    F(1, ALL, Fixed(1)),
    F(0, ALL, Str),
    F(0, ALL, Fixed(4)),
    F(0, ALL, Arr(R_CLUSTER_BROKER)),
    F(0, ALL, Fixed(4)),
];

const R_PRODUCER_STATE: &[F] = &[F(0, ALL, Fixed(36))];
const R_PRODUCERS_PART: &[F] = &[
    F(0, ALL, Fixed(6)),
    F(0, ALL, Str),
    F(0, ALL, Arr(R_PRODUCER_STATE)),
];
const R_PRODUCERS_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(R_PRODUCERS_PART))];
const R_DESCRIBE_PRODUCERS: &[F] = &[F(0, ALL, Fixed(4)), F(0, ALL, Arr(R_PRODUCERS_TOPIC))];

const R_TXN_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, ArrOf(4))];
const R_TXN_STATE: &[F] = &[
    F(0, ALL, Fixed(2)),
    F(0, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Fixed(22)),
    F(0, ALL, Arr(R_TXN_TOPIC)),
];
const R_DESCRIBE_TRANSACTIONS: &[F] = &[F(0, ALL, Fixed(4)), F(0, ALL, Arr(R_TXN_STATE))];

const R_LISTED_TXN: &[F] = &[F(0, ALL, Str), F(0, ALL, Fixed(8)), F(0, ALL, Str)];
const R_LIST_TRANSACTIONS: &[F] = &[
    F(0, ALL, Fixed(6)),
    F(0, ALL, ArrStr),
    F(0, ALL, Arr(R_LISTED_TXN)),
];

/// A consumer-protocol topic and its partitions (owned partitions of a
/// subscription, assigned partitions of an assignment).
const CONSUMER_TOPIC_PARTITIONS: &[F] = &[F(0, ALL, Str), F(0, ALL, ArrOf(4))];
/// ConsumerProtocolSubscription v0-3 (never flexible).
const CONSUMER_SUBSCRIPTION: &[F] = &[
    F(0, ALL, ArrStr),
    F(0, ALL, Bytes),
    F(1, ALL, Arr(CONSUMER_TOPIC_PARTITIONS)),
    F(2, ALL, Fixed(4)),
    F(3, ALL, Str),
];
/// ConsumerProtocolAssignment v0-3 (never flexible).
const CONSUMER_ASSIGNMENT: &[F] = &[F(0, ALL, Arr(CONSUMER_TOPIC_PARTITIONS)), F(0, ALL, Bytes)];

/// The messages embedded as opaque bytes inside group requests and
/// responses: the consumer protocol's subscription (JoinGroup metadata) and
/// assignment (SyncGroup). They come from other group members through the
/// broker, so they are as untrusted as any response and are walked before
/// `kafka-protocol` decodes them.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embedded {
    /// `ConsumerProtocolSubscription`.
    ConsumerSubscription,
    /// `ConsumerProtocolAssignment`.
    ConsumerAssignment,
}

/// Walks an embedded message's body (after its version prefix) at
/// `version`: what was wrong and where when an array count exceeds the
/// bytes present. Newer versions only append fields, so a body of a newer
/// version is walked at the newest known one.
#[doc(hidden)]
pub fn check_embedded(
    which: Embedded,
    version: i16,
    body: &[u8],
) -> std::result::Result<(), String> {
    walk(consumer_schema(which), version, false, body).map(|_| ())
}

/// The schema of an embedded message.
#[doc(hidden)]
pub fn consumer_schema(which: Embedded) -> &'static [F] {
    match which {
        Embedded::ConsumerSubscription => CONSUMER_SUBSCRIPTION,
        Embedded::ConsumerAssignment => CONSUMER_ASSIGNMENT,
    }
}

/// The schema of a response body; APIs without arrays map to
/// [`NO_ARRAYS`]. Every API the client decodes with `kafka-protocol` must be
/// here: [`check_response`] refuses the others.
#[doc(hidden)]
pub fn response_schema(key: ApiKey) -> Option<&'static [F]> {
    Some(match key {
        ApiKey::Produce => R_PRODUCE,
        ApiKey::Fetch => R_FETCH,
        ApiKey::ListOffsets => R_LIST_OFFSETS,
        ApiKey::Metadata => R_METADATA,
        ApiKey::OffsetCommit => R_OFFSET_COMMIT,
        ApiKey::OffsetFetch => R_OFFSET_FETCH,
        ApiKey::OffsetForLeaderEpoch => R_OFFSET_FOR_LEADER_EPOCH,
        ApiKey::FindCoordinator => R_FIND_COORDINATOR,
        ApiKey::JoinGroup => R_JOIN_GROUP,
        ApiKey::LeaveGroup => R_LEAVE_GROUP,
        ApiKey::SyncGroup => R_SYNC_GROUP,
        ApiKey::DescribeGroups => R_DESCRIBE_GROUPS,
        ApiKey::ListGroups => R_LIST_GROUPS,
        ApiKey::DeleteGroups => R_DELETE_GROUPS,
        ApiKey::AddPartitionsToTxn => R_ADD_PARTITIONS_TO_TXN,
        ApiKey::TxnOffsetCommit => R_TXN_OFFSET_COMMIT,
        ApiKey::CreateTopics => R_CREATE_TOPICS,
        ApiKey::DeleteTopics => R_DELETE_TOPICS,
        ApiKey::DeleteRecords => R_DELETE_RECORDS,
        ApiKey::CreatePartitions => R_CREATE_PARTITIONS,
        ApiKey::DescribeConfigs => R_DESCRIBE_CONFIGS,
        ApiKey::SaslHandshake => R_SASL_HANDSHAKE,
        ApiKey::ApiVersions => R_API_VERSIONS,
        ApiKey::DescribeAcls => R_DESCRIBE_ACLS,
        ApiKey::CreateAcls => R_CREATE_ACLS,
        ApiKey::DeleteAcls => R_DELETE_ACLS,
        ApiKey::AlterConfigs => R_ALTER_CONFIGS,
        ApiKey::IncrementalAlterConfigs => R_ALTER_CONFIGS,
        ApiKey::DescribeLogDirs => R_DESCRIBE_LOG_DIRS,
        ApiKey::ElectLeaders => R_ELECT_LEADERS,
        ApiKey::AlterPartitionReassignments => R_ALTER_PARTITION_REASSIGNMENTS,
        ApiKey::ListPartitionReassignments => R_LIST_PARTITION_REASSIGNMENTS,
        ApiKey::OffsetDelete => R_OFFSET_DELETE,
        ApiKey::DescribeClientQuotas => R_DESCRIBE_CLIENT_QUOTAS,
        ApiKey::AlterClientQuotas => R_ALTER_CLIENT_QUOTAS,
        ApiKey::DescribeUserScramCredentials => R_DESCRIBE_USER_SCRAM_CREDENTIALS,
        ApiKey::AlterUserScramCredentials => R_ALTER_USER_SCRAM_CREDENTIALS,
        ApiKey::DescribeCluster => R_DESCRIBE_CLUSTER,
        ApiKey::DescribeProducers => R_DESCRIBE_PRODUCERS,
        ApiKey::DescribeTransactions => R_DESCRIBE_TRANSACTIONS,
        ApiKey::ListTransactions => R_LIST_TRANSACTIONS,
        // Bodies without arrays (strings and bytes are bounded by the
        // decoder itself).
        ApiKey::Heartbeat
        | ApiKey::InitProducerId
        | ApiKey::AddOffsetsToTxn
        | ApiKey::EndTxn
        | ApiKey::SaslAuthenticate => NO_ARRAYS,
        // The later admin APIs' schemas live in `admin_shapes`.
        _ => return super::admin_shapes::response_schema(key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::versions::SUPPORTED;
    use bytes::Bytes as B;
    use kafka_protocol::messages::*;
    use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
    use proptest::prelude::*;

    fn s(x: &'static str) -> StrBytes {
        StrBytes::from_static_str(x)
    }
    fn t(x: &'static str) -> TopicName {
        TopicName(s(x))
    }
    fn enc<M: Encodable>(m: M, v: i16) -> Vec<u8> {
        let mut b = bytes::BytesMut::new();
        m.encode(&mut b, v)
            .unwrap_or_else(|e| panic!("{} v{v}: {e}", std::any::type_name::<M>()));
        b.to_vec()
    }

    /// A response of `key` encoded at `v` with every array (and every
    /// tagged field the decoder knows) holding something.
    fn populated(key: ApiKey, v: i16) -> Option<Vec<u8>> {
        Some(match key {
            ApiKey::Produce => {
                use produce_response::*;
                let part = PartitionProduceResponse::default()
                    .with_index(1)
                    .with_record_errors(vec![
                        BatchIndexAndErrorMessage::default()
                            .with_batch_index_error_message(Some(s("bad")));
                        2
                    ])
                    .with_error_message(Some(s("e")));
                let part = if v >= 10 {
                    part.with_current_leader(
                        LeaderIdAndEpoch::default().with_leader_id(BrokerId(3)),
                    )
                } else {
                    part
                };
                let r =
                    ProduceResponse::default()
                        .with_responses(vec![TopicProduceResponse::default()
                            .with_name(t("a"))
                            .with_partition_responses(vec![part.clone(), part])]);
                let r = if v >= 10 {
                    r.with_node_endpoints(vec![NodeEndpoint::default()
                        .with_node_id(BrokerId(3))
                        .with_host(s("h"))
                        .with_rack(Some(s("r")))])
                } else {
                    r
                };
                enc(r, v)
            }
            ApiKey::Fetch => {
                use fetch_response::*;
                let part = PartitionData::default()
                    .with_aborted_transactions(Some(vec![AbortedTransaction::default(); 2]))
                    .with_records(Some(B::from_static(b"records")));
                let part = if v >= 12 {
                    part.with_diverging_epoch(EpochEndOffset::default().with_epoch(4))
                        .with_current_leader(
                            LeaderIdAndEpoch::default().with_leader_id(BrokerId(2)),
                        )
                        .with_snapshot_id(SnapshotId::default().with_epoch(7))
                } else {
                    part
                };
                enc(
                    FetchResponse::default()
                        .with_responses(vec![FetchableTopicResponse::default()
                            .with_topic(t("a"))
                            .with_partitions(vec![part.clone(), part.with_records(None)])]),
                    v,
                )
            }
            ApiKey::ListOffsets => {
                use list_offsets_response::*;
                enc(
                    ListOffsetsResponse::default().with_topics(vec![
                        ListOffsetsTopicResponse::default()
                            .with_name(t("a"))
                            .with_partitions(vec![ListOffsetsPartitionResponse::default(); 3]),
                    ]),
                    v,
                )
            }
            ApiKey::Metadata => {
                use metadata_response::*;
                enc(
                    MetadataResponse::default()
                        .with_brokers(vec![MetadataResponseBroker::default()
                            .with_host(s("h"))
                            .with_rack(Some(s("r")))])
                        .with_cluster_id(Some(s("c")))
                        .with_topics(vec![MetadataResponseTopic::default()
                            .with_name(Some(t("a")))
                            .with_partitions(vec![MetadataResponsePartition::default()
                                .with_replica_nodes(vec![BrokerId(1), BrokerId(2)])
                                .with_isr_nodes(vec![BrokerId(1)])
                                .with_offline_replicas(vec![BrokerId(2)])])]),
                    v,
                )
            }
            ApiKey::OffsetCommit => {
                use offset_commit_response::*;
                enc(
                    OffsetCommitResponse::default().with_topics(vec![
                        OffsetCommitResponseTopic::default()
                            .with_name(t("a"))
                            .with_partitions(vec![OffsetCommitResponsePartition::default(); 2]),
                    ]),
                    v,
                )
            }
            ApiKey::OffsetFetch => {
                use offset_fetch_response::*;
                let r = if v >= 8 {
                    OffsetFetchResponse::default().with_groups(vec![
                        OffsetFetchResponseGroup::default()
                            .with_group_id(GroupId(s("g")))
                            .with_topics(vec![OffsetFetchResponseTopics::default()
                                .with_name(t("a"))
                                .with_partitions(vec![OffsetFetchResponsePartitions::default()
                                    .with_metadata(Some(s("m")))])]),
                    ])
                } else {
                    OffsetFetchResponse::default().with_topics(vec![
                        OffsetFetchResponseTopic::default()
                            .with_name(t("a"))
                            .with_partitions(vec![
                                OffsetFetchResponsePartition::default()
                                    .with_metadata(Some(s("m")));
                                2
                            ]),
                    ])
                };
                enc(r, v)
            }
            ApiKey::OffsetForLeaderEpoch => {
                use offset_for_leader_epoch_response::*;
                enc(
                    OffsetForLeaderEpochResponse::default().with_topics(vec![
                        OffsetForLeaderTopicResult::default()
                            .with_topic(t("a"))
                            .with_partitions(vec![EpochEndOffset::default(); 2]),
                    ]),
                    v,
                )
            }
            ApiKey::FindCoordinator => {
                use find_coordinator_response::*;
                enc(
                    if v >= 4 {
                        FindCoordinatorResponse::default().with_coordinators(vec![
                            Coordinator::default()
                                .with_key(s("g"))
                                .with_host(s("h"))
                                .with_error_message(Some(s("e"))),
                        ])
                    } else {
                        FindCoordinatorResponse::default().with_host(s("h"))
                    },
                    v,
                )
            }
            ApiKey::JoinGroup => {
                use join_group_response::*;
                enc(
                    JoinGroupResponse::default()
                        .with_protocol_name(Some(s("range")))
                        .with_leader(s("l"))
                        .with_member_id(s("m"))
                        .with_members(vec![
                            JoinGroupResponseMember::default()
                                .with_member_id(s("m"))
                                .with_metadata(B::from_static(b"md"));
                            2
                        ]),
                    v,
                )
            }
            ApiKey::LeaveGroup => {
                use leave_group_response::*;
                enc(
                    if v >= 3 {
                        LeaveGroupResponse::default().with_members(vec![
                            MemberResponse::default()
                                .with_member_id(s("m"));
                            2
                        ])
                    } else {
                        LeaveGroupResponse::default()
                    },
                    v,
                )
            }
            ApiKey::SyncGroup => enc(
                SyncGroupResponse::default().with_assignment(B::from_static(b"as")),
                v,
            ),
            ApiKey::DescribeGroups => {
                use describe_groups_response::*;
                enc(
                    DescribeGroupsResponse::default().with_groups(vec![DescribedGroup::default()
                        .with_group_id(GroupId(s("g")))
                        .with_members(vec![
                            DescribedGroupMember::default()
                                .with_member_id(s("m"))
                                .with_member_assignment(B::from_static(b"a"));
                            2
                        ])]),
                    v,
                )
            }
            ApiKey::ListGroups => {
                use list_groups_response::*;
                enc(
                    ListGroupsResponse::default().with_groups(vec![
                        ListedGroup::default()
                            .with_group_id(GroupId(s(
                                "g"
                            )));
                        2
                    ]),
                    v,
                )
            }
            ApiKey::DeleteGroups => {
                use delete_groups_response::*;
                enc(
                    DeleteGroupsResponse::default().with_results(vec![
                        DeletableGroupResult::default().with_group_id(GroupId(s("g"))),
                    ]),
                    v,
                )
            }
            ApiKey::AddPartitionsToTxn => {
                use add_partitions_to_txn_response::*;
                let topics = vec![AddPartitionsToTxnTopicResult::default()
                    .with_name(t("a"))
                    .with_results_by_partition(vec![
                        AddPartitionsToTxnPartitionResult::default();
                        2
                    ])];
                enc(
                    if v >= 4 {
                        AddPartitionsToTxnResponse::default().with_results_by_transaction(vec![
                            AddPartitionsToTxnResult::default().with_topic_results(topics),
                        ])
                    } else {
                        AddPartitionsToTxnResponse::default()
                            .with_results_by_topic_v3_and_below(topics)
                    },
                    v,
                )
            }
            ApiKey::TxnOffsetCommit => {
                use txn_offset_commit_response::*;
                enc(
                    TxnOffsetCommitResponse::default().with_topics(vec![
                        TxnOffsetCommitResponseTopic::default()
                            .with_name(t("a"))
                            .with_partitions(vec![TxnOffsetCommitResponsePartition::default(); 2]),
                    ]),
                    v,
                )
            }
            ApiKey::CreateTopics => {
                use create_topics_response::*;
                let topic = CreatableTopicResult::default()
                    .with_name(t("a"))
                    .with_error_message(Some(s("e")));
                let topic = if v >= 5 {
                    topic
                        .with_configs(Some(vec![CreatableTopicConfigs::default()
                            .with_name(s("k"))
                            .with_value(Some(s("v")))]))
                        .with_topic_config_error_code(3)
                } else {
                    topic
                };
                enc(
                    CreateTopicsResponse::default().with_topics(vec![topic.clone(), topic]),
                    v,
                )
            }
            ApiKey::DeleteTopics => {
                use delete_topics_response::*;
                enc(
                    DeleteTopicsResponse::default().with_responses(
                        vec![DeletableTopicResult::default().with_name(Some(t("a"))); 2],
                    ),
                    v,
                )
            }
            ApiKey::DeleteRecords => {
                use delete_records_response::*;
                enc(
                    DeleteRecordsResponse::default().with_topics(vec![
                        DeleteRecordsTopicResult::default()
                            .with_name(t("a"))
                            .with_partitions(vec![DeleteRecordsPartitionResult::default(); 2]),
                    ]),
                    v,
                )
            }
            ApiKey::CreatePartitions => {
                use create_partitions_response::*;
                enc(
                    CreatePartitionsResponse::default().with_results(vec![
                        CreatePartitionsTopicResult::default()
                            .with_name(t("a"))
                            .with_error_message(Some(s("e")));
                        2
                    ]),
                    v,
                )
            }
            ApiKey::DescribeConfigs => {
                use describe_configs_response::*;
                enc(
                    DescribeConfigsResponse::default().with_results(vec![
                        DescribeConfigsResult::default()
                            .with_resource_name(s("a"))
                            .with_configs(vec![DescribeConfigsResourceResult::default()
                                .with_name(s("k"))
                                .with_value(Some(s("v")))
                                .with_synonyms(vec![
                                    DescribeConfigsSynonym::default()
                                        .with_name(s("k"));
                                    2
                                ])
                                .with_documentation(if v >= 3 { Some(s("doc")) } else { None })]),
                    ]),
                    v,
                )
            }
            ApiKey::SaslHandshake => enc(
                SaslHandshakeResponse::default()
                    .with_mechanisms(vec![s("PLAIN"), s("SCRAM-SHA-256")]),
                v,
            ),
            ApiKey::ApiVersions => {
                use api_versions_response::*;
                let r = ApiVersionsResponse::default().with_api_keys(vec![
                    ApiVersion::default()
                        .with_max_version(3);
                    2
                ]);
                enc(
                    if v >= 3 {
                        r.with_supported_features(vec![
                            SupportedFeatureKey::default().with_name(s("f"))
                        ])
                        .with_finalized_features_epoch(9)
                        .with_finalized_features(vec![
                            FinalizedFeatureKey::default().with_name(s("f"))
                        ])
                        .with_zk_migration_ready(true)
                    } else {
                        r
                    },
                    v,
                )
            }
            ApiKey::DescribeAcls => {
                use describe_acls_response::*;
                let acl = AclDescription::default()
                    .with_principal(s("User:a"))
                    .with_host(s("*"));
                enc(
                    DescribeAclsResponse::default()
                        .with_error_message(Some(s("e")))
                        .with_resources(vec![DescribeAclsResource::default()
                            .with_resource_name(s("t"))
                            .with_acls(vec![acl; 2])]),
                    v,
                )
            }
            ApiKey::CreateAcls => {
                use create_acls_response::*;
                enc(
                    CreateAclsResponse::default().with_results(vec![
                        AclCreationResult::default()
                            .with_error_message(Some(
                                s("e")
                            ));
                        2
                    ]),
                    v,
                )
            }
            ApiKey::DeleteAcls => {
                use delete_acls_response::*;
                enc(
                    DeleteAclsResponse::default().with_filter_results(vec![
                        DeleteAclsFilterResult::default().with_matching_acls(vec![
                                DeleteAclsMatchingAcl::default()
                                    .with_resource_name(s("t"))
                                    .with_principal(s("User:a"))
                                    .with_host(s("*"));
                                2
                            ]),
                    ]),
                    v,
                )
            }
            ApiKey::AlterConfigs => {
                use alter_configs_response::*;
                enc(
                    AlterConfigsResponse::default().with_responses(vec![
                        AlterConfigsResourceResponse::default().with_resource_name(s("t"));
                        2
                    ]),
                    v,
                )
            }
            ApiKey::IncrementalAlterConfigs => {
                use incremental_alter_configs_response::*;
                enc(
                    IncrementalAlterConfigsResponse::default().with_responses(vec![
                        AlterConfigsResourceResponse::default().with_resource_name(s("t"));
                        2
                    ]),
                    v,
                )
            }
            ApiKey::DescribeLogDirs => {
                use describe_log_dirs_response::*;
                enc(
                    DescribeLogDirsResponse::default().with_results(vec![
                        DescribeLogDirsResult::default()
                            .with_log_dir(s("/d"))
                            .with_topics(vec![DescribeLogDirsTopic::default()
                                .with_name(t("a"))
                                .with_partitions(vec![DescribeLogDirsPartition::default(); 2])]),
                    ]),
                    v,
                )
            }
            ApiKey::ElectLeaders => {
                use elect_leaders_response::*;
                enc(
                    ElectLeadersResponse::default().with_replica_election_results(vec![
                        ReplicaElectionResult::default()
                            .with_topic(t("a"))
                            .with_partition_result(vec![
                                PartitionResult::default()
                                    .with_error_message(Some(s("e")));
                                2
                            ]),
                    ]),
                    v,
                )
            }
            ApiKey::AlterPartitionReassignments => {
                use alter_partition_reassignments_response::*;
                enc(
                    AlterPartitionReassignmentsResponse::default().with_responses(vec![
                        ReassignableTopicResponse::default()
                            .with_name(t("a"))
                            .with_partitions(vec![ReassignablePartitionResponse::default(); 2]),
                    ]),
                    v,
                )
            }
            ApiKey::ListPartitionReassignments => {
                use list_partition_reassignments_response::*;
                enc(
                    ListPartitionReassignmentsResponse::default().with_topics(vec![
                        OngoingTopicReassignment::default()
                            .with_name(t("a"))
                            .with_partitions(vec![OngoingPartitionReassignment::default()
                                .with_replicas(vec![BrokerId(1), BrokerId(2)])
                                .with_adding_replicas(vec![BrokerId(3)])
                                .with_removing_replicas(vec![BrokerId(1)])]),
                    ]),
                    v,
                )
            }
            ApiKey::OffsetDelete => {
                use offset_delete_response::*;
                enc(
                    OffsetDeleteResponse::default().with_topics(vec![
                        OffsetDeleteResponseTopic::default()
                            .with_name(t("a"))
                            .with_partitions(vec![OffsetDeleteResponsePartition::default(); 2]),
                    ]),
                    v,
                )
            }
            ApiKey::DescribeClientQuotas => {
                use describe_client_quotas_response::*;
                enc(
                    DescribeClientQuotasResponse::default().with_entries(Some(vec![
                        EntryData::default()
                            .with_entity(vec![EntityData::default()
                                .with_entity_type(s("user"))
                                .with_entity_name(Some(s("a")))])
                            .with_values(vec![
                                ValueData::default().with_key(s("k")).with_value(1.5);
                                2
                            ]),
                    ])),
                    v,
                )
            }
            ApiKey::AlterClientQuotas => {
                use alter_client_quotas_response::*;
                enc(
                    AlterClientQuotasResponse::default().with_entries(vec![EntryData::default()
                        .with_entity(vec![EntityData::default().with_entity_type(s("user")); 2])]),
                    v,
                )
            }
            ApiKey::DescribeUserScramCredentials => {
                use describe_user_scram_credentials_response::*;
                enc(
                    DescribeUserScramCredentialsResponse::default().with_results(vec![
                        DescribeUserScramCredentialsResult::default()
                            .with_user(s("u"))
                            .with_credential_infos(vec![CredentialInfo::default(); 2]),
                    ]),
                    v,
                )
            }
            ApiKey::AlterUserScramCredentials => {
                use alter_user_scram_credentials_response::*;
                enc(
                    AlterUserScramCredentialsResponse::default().with_results(vec![
                        AlterUserScramCredentialsResult::default().with_user(s("u"));
                        2
                    ]),
                    v,
                )
            }
            ApiKey::DescribeCluster => {
                use describe_cluster_response::*;
                enc(
                    DescribeClusterResponse::default()
                        .with_cluster_id(s("c"))
                        .with_brokers(vec![
                            DescribeClusterBroker::default()
                                .with_host(s("h"))
                                .with_rack(Some(s("r")));
                            2
                        ]),
                    v,
                )
            }
            ApiKey::DescribeProducers => {
                use describe_producers_response::*;
                enc(
                    DescribeProducersResponse::default().with_topics(vec![TopicResponse::default(
                    )
                    .with_name(t("a"))
                    .with_partitions(vec![PartitionResponse::default()
                        .with_active_producers(vec![ProducerState::default(); 2])])]),
                    v,
                )
            }
            ApiKey::DescribeTransactions => {
                use describe_transactions_response::*;
                enc(
                    DescribeTransactionsResponse::default().with_transaction_states(vec![
                        TransactionState::default()
                            .with_transactional_id(TransactionalId(s("tx")))
                            .with_transaction_state(s("Ongoing"))
                            .with_topics(vec![TopicData::default()
                                .with_topic(t("a"))
                                .with_partitions(vec![0, 1])]),
                    ]),
                    v,
                )
            }
            ApiKey::ListTransactions => {
                use list_transactions_response::*;
                enc(
                    ListTransactionsResponse::default()
                        .with_unknown_state_filters(vec![s("Weird")])
                        .with_transaction_states(vec![
                            TransactionState::default()
                                .with_transactional_id(TransactionalId(s("tx")))
                                .with_transaction_state(s("Ongoing"));
                            2
                        ]),
                    v,
                )
            }
            // The later admin APIs (see `admin_shapes`).
            _ => return super::super::admin_shapes::populated_response(key, v),
        })
    }

    /// Every `(key, version)` we speak whose response has arrays.
    fn walked_versions() -> Vec<(ApiKey, i16)> {
        SUPPORTED
            .iter()
            .filter(|(k, _, _)| response_schema(*k).is_some_and(|f| !std::ptr::eq(f, NO_ARRAYS)))
            .flat_map(|&(k, lo, hi)| (lo..=hi).map(move |v| (k, v)))
            .collect()
    }

    #[test]
    fn every_response_schema_matches_the_encoder_at_every_supported_version() {
        let mut walked = 0;
        for (key, v) in walked_versions() {
            let body =
                populated(key, v).unwrap_or_else(|| panic!("{key:?}: add a populated response"));
            let used = walk(response_schema(key).unwrap(), v, flexible(key, v), &body)
                .unwrap_or_else(|e| panic!("{key:?} v{v}: walker refused a valid body: {e}"));
            assert_eq!(used, body.len(), "{key:?} v{v}: walker stopped early");
            check_response(key, v, &body, "test").unwrap();
            walked += 1;
        }
        assert!(walked > 100, "only {walked} versions walked");
    }

    /// The seeds of the `any_response` fuzz target: a populated response of
    /// every walked API and version, prefixed as the target reads them (the
    /// API's index in `SUPPORTED`, the version's offset in its range).
    /// Written with `FERROKAFKA_BLESS=1`; otherwise only checked to exist.
    #[test]
    fn any_response_fuzz_seeds_exist() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/any_responses");
        if std::env::var("FERROKAFKA_BLESS").is_ok_and(|v| v == "1") {
            std::fs::create_dir_all(&dir).unwrap();
            for (key, v) in walked_versions() {
                let i = SUPPORTED.iter().position(|e| e.0 == key).unwrap();
                let (_, lo, _) = SUPPORTED[i];
                let mut seed = vec![i as u8, (v - lo) as u8];
                seed.extend(populated(key, v).unwrap());
                std::fs::write(dir.join(format!("{key:?}-v{v}.bin")), seed).unwrap();
            }
        }
        let n = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        assert!(
            n > 100,
            "{} holds {n} seeds; run with FERROKAFKA_BLESS=1",
            dir.display()
        );
    }

    #[test]
    fn every_api_we_speak_has_a_response_schema() {
        for &(key, _, _) in SUPPORTED {
            assert!(
                response_schema(key).is_some(),
                "{key:?} is in versions::SUPPORTED but has no response schema"
            );
        }
        let err = check_response(ApiKey::Vote, 0, &[], "peer:1").unwrap_err();
        assert_eq!(err.code(), codes::BAD_MSG);
        assert!(err.message().contains("no shape schema"), "{err}");
        assert!(err.message().contains("peer:1"), "{err}");
    }

    /// Every offset in `body` where a classic (4-byte) or compact (varint)
    /// array count of the top-level or a nested array starts, found by
    /// walking with a recording walker.
    fn lie_at_every_count(key: ApiKey, v: i16, body: &[u8]) -> usize {
        let flex = flexible(key, v);
        let mut lies = 0;
        // Try every offset: where the body holds a count the walker must
        // refuse the lie; elsewhere the result is whatever, never a panic.
        for at in 0..body.len() {
            let mut m = body[..at].to_vec();
            if flex {
                m.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x07]);
            } else {
                m.extend_from_slice(&0x7fff_ffffu32.to_be_bytes());
            }
            m.extend_from_slice(&body[at..]);
            if check_response(key, v, &m, "t").is_ok() {
                // Accepted: then it must decode without a huge reservation;
                // the decoder is only safe to run on accepted bodies.
                let _ = decode_any(key, v, &m);
            } else {
                lies += 1;
            }
        }
        lies
    }

    fn decode_any(key: ApiKey, v: i16, body: &[u8]) -> bool {
        let mut b = B::copy_from_slice(body);
        macro_rules! d {
            ($t:ty) => {
                <$t>::decode(&mut b, v).is_ok()
            };
        }
        match key {
            ApiKey::Produce => d!(ProduceResponse),
            ApiKey::Fetch => d!(FetchResponse),
            ApiKey::ListOffsets => d!(ListOffsetsResponse),
            ApiKey::Metadata => d!(MetadataResponse),
            ApiKey::OffsetCommit => d!(OffsetCommitResponse),
            ApiKey::OffsetFetch => d!(OffsetFetchResponse),
            ApiKey::OffsetForLeaderEpoch => d!(OffsetForLeaderEpochResponse),
            ApiKey::FindCoordinator => d!(FindCoordinatorResponse),
            ApiKey::JoinGroup => d!(JoinGroupResponse),
            ApiKey::LeaveGroup => d!(LeaveGroupResponse),
            ApiKey::SyncGroup => d!(SyncGroupResponse),
            ApiKey::DescribeGroups => d!(DescribeGroupsResponse),
            ApiKey::ListGroups => d!(ListGroupsResponse),
            ApiKey::DeleteGroups => d!(DeleteGroupsResponse),
            ApiKey::AddPartitionsToTxn => d!(AddPartitionsToTxnResponse),
            ApiKey::TxnOffsetCommit => d!(TxnOffsetCommitResponse),
            ApiKey::CreateTopics => d!(CreateTopicsResponse),
            ApiKey::DeleteTopics => d!(DeleteTopicsResponse),
            ApiKey::DeleteRecords => d!(DeleteRecordsResponse),
            ApiKey::CreatePartitions => d!(CreatePartitionsResponse),
            ApiKey::DescribeConfigs => d!(DescribeConfigsResponse),
            ApiKey::SaslHandshake => d!(SaslHandshakeResponse),
            ApiKey::ApiVersions => d!(ApiVersionsResponse),
            ApiKey::DescribeAcls => d!(DescribeAclsResponse),
            ApiKey::CreateAcls => d!(CreateAclsResponse),
            ApiKey::DeleteAcls => d!(DeleteAclsResponse),
            ApiKey::AlterConfigs => d!(AlterConfigsResponse),
            ApiKey::IncrementalAlterConfigs => d!(IncrementalAlterConfigsResponse),
            ApiKey::DescribeLogDirs => d!(DescribeLogDirsResponse),
            ApiKey::ElectLeaders => d!(ElectLeadersResponse),
            ApiKey::AlterPartitionReassignments => d!(AlterPartitionReassignmentsResponse),
            ApiKey::ListPartitionReassignments => d!(ListPartitionReassignmentsResponse),
            ApiKey::OffsetDelete => d!(OffsetDeleteResponse),
            ApiKey::DescribeClientQuotas => d!(DescribeClientQuotasResponse),
            ApiKey::AlterClientQuotas => d!(AlterClientQuotasResponse),
            ApiKey::DescribeUserScramCredentials => d!(DescribeUserScramCredentialsResponse),
            ApiKey::AlterUserScramCredentials => d!(AlterUserScramCredentialsResponse),
            ApiKey::DescribeCluster => d!(DescribeClusterResponse),
            ApiKey::DescribeProducers => d!(DescribeProducersResponse),
            ApiKey::DescribeTransactions => d!(DescribeTransactionsResponse),
            ApiKey::ListTransactions => d!(ListTransactionsResponse),
            // The later admin APIs (see `admin_shapes`).
            other => super::super::admin_shapes::decode_response(other, v, body)
                .unwrap_or_else(|| panic!("{other:?}: add it to decode_any")),
        }
    }

    #[test]
    fn lying_array_counts_in_every_response_are_refused() {
        for (key, v) in walked_versions() {
            let body = populated(key, v).unwrap();
            // A body that is nothing but a lying top-level count.
            let lie: &[u8] = if flexible(key, v) {
                &[0xff, 0xff, 0xff, 0xff, 0x0f]
            } else {
                &[0x7f, 0xff, 0xff, 0xff]
            };
            let first_array = response_schema(key)
                .unwrap()
                .iter()
                .position(|F(lo, hi, k)| {
                    (*lo..=*hi).contains(&v) && matches!(k, Arr(_) | ArrOf(_) | ArrStr)
                });
            let Some(first_array) = first_array else {
                // No top-level array at this version (SyncGroup, FindCoordinator
                // before v4): nothing can lie about a count.
                continue;
            };
            // Keep the fields before the first array, replace the rest.
            let mut w = Walker {
                buf: &body,
                flexible: flexible(key, v),
                version: v,
            };
            for F(lo, hi, k) in &response_schema(key).unwrap()[..first_array] {
                if (*lo..=*hi).contains(&v) {
                    w.one(k).unwrap();
                }
            }
            let prefix = body.len() - w.buf.len();
            let mut m = body[..prefix].to_vec();
            m.extend_from_slice(lie);
            let err = check_response(key, v, &m, "peer:9092").unwrap_err();
            assert_eq!(err.code(), codes::BAD_MSG, "{key:?} v{v}");
            assert!(
                err.message().contains("array count exceeds"),
                "{key:?} v{v}: {err}"
            );
            // A lie spliced in at every offset (so also into nested
            // arrays) is refused somewhere and never crashes the decoder
            // when accepted.
            assert!(lie_at_every_count(key, v, &body) > 0, "{key:?} v{v}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        #[test]
        fn mutated_responses_never_panic_through_guard_and_decode(
            pick in any::<prop::sample::Index>(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            cut in any::<prop::sample::Index>(),
        ) {
            let all = walked_versions();
            let (key, v) = all[pick.index(all.len())];
            let mut body = populated(key, v).unwrap();
            for (at, byte) in &edits {
                let i = at.index(body.len());
                body[i] = *byte;
            }
            body.truncate(cut.index(body.len() + 1));
            if check_response(key, v, &body, "fuzz").is_ok() {
                let _ = decode_any(key, v, &body);
            }
        }
    }
}
