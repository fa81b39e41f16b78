//! The schema walker: a body walked field by field by a per-API schema,
//! every array count checked against the bytes left before any element.

use kafka_protocol::messages::ApiKey;

/// What a field is on the wire (in both the classic and flexible forms).
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
#[derive(Debug, Clone, Copy)]
pub struct F(pub i16, pub i16, pub K);

/// "Up to the newest version": the upper bound of an open-ended field.
pub const ALL: i16 = i16::MAX;
use K::*;

/// Marker schema of bodies without arrays: nothing to bound, not walked.
pub const NO_ARRAYS: &[F] = &[];

/// Whether `version` of `key` uses the flexible (compact, tagged) encoding.
/// Request and response bodies switch at the same version; the request
/// header version says where (ApiVersions keeps a v0 response header).
pub fn flexible(key: ApiKey, version: i16) -> bool {
    key.request_header_version(version) >= 2
}

/// Walks `body` by `fields` at `version` and returns how many bytes the
/// message takes, or what was wrong and at which byte offset.
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

/// Walks only `fields` (no tagged-field section after them) and returns
/// how many bytes they take: where the field after them starts.
pub fn walk_fields(
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
    for F(lo, hi, kind) in fields {
        if (*lo..=*hi).contains(&version) {
            w.one(kind)
                .map_err(|why| format!("{why} at byte {}", body.len() - w.buf.len()))?;
        }
    }
    Ok(body.len() - w.buf.len())
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
