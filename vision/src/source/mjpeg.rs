//! A streaming parser of `multipart/x-mixed-replace` bodies (MJPEG): bytes in as they
//! arrive, whole parts out. Parts with a `Content-Length` header are cut by length; others at
//! the next boundary.
//!
//! The body comes from a camera, so the parser is linear and bounded whatever it is sent:
//! each search ([`memchr::memmem`]) resumes where the last one stopped instead of rescanning
//! the buffer after every chunk (a part with neither a length nor a next boundary once cost
//! 40 s of a core), and what it holds is capped: a part's headers at
//! [`MAX_PART_HEADER_BYTES`], a part at [`MAX_PART_BYTES`], bytes before a boundary at
//! [`MAX_PART_BYTES`]. Bytes that cannot belong to a part are dropped as they are passed, so
//! the buffer never holds more than [`PartLimits::max_buffered`] after [`MultipartParser::next_part`]
//! (plus the chunk pushed since). After an error the stream is unusable: reconnect.

use memchr::memmem;

use super::framing::{self, BadLength};

/// Largest part accepted (a 4K JPEG is a few MB).
pub const MAX_PART_BYTES: usize = 16 * 1024 * 1024;

/// Largest header block of one part (cameras send two or three short lines).
pub const MAX_PART_HEADER_BYTES: usize = 16 * 1024;

/// Longest boundary accepted (RFC 2046 allows 70 characters).
pub const MAX_BOUNDARY_LEN: usize = 200;

/// The boundary of a `multipart/x-mixed-replace; boundary=…` content type (`None` where
/// there is none, or one longer than [`MAX_BOUNDARY_LEN`]).
pub fn boundary_of(content_type: &str) -> Option<String> {
    content_type.split(';').find_map(|param| {
        let (key, value) = param.split_once('=')?;
        (key.trim().eq_ignore_ascii_case("boundary"))
            .then(|| {
                value
                    .trim()
                    .trim_matches('"')
                    .trim_start_matches("--")
                    .to_owned()
            })
            .filter(|b| !b.is_empty() && b.len() <= MAX_BOUNDARY_LEN)
    })
}

/// The caps a parser works with ([`Default`]: [`MAX_PART_BYTES`], [`MAX_PART_HEADER_BYTES`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartLimits {
    /// Largest part body.
    pub max_part_bytes: usize,
    /// Largest header block of a part (from the boundary to the blank line).
    pub max_header_bytes: usize,
}

impl Default for PartLimits {
    fn default() -> Self {
        Self {
            max_part_bytes: MAX_PART_BYTES,
            max_header_bytes: MAX_PART_HEADER_BYTES,
        }
    }
}

impl PartLimits {
    /// The most bytes a parser with a boundary of `boundary_len` holds between chunks: a
    /// delimiter, the largest headers and their blank line, the largest body, its CRLF, and
    /// the start of the next delimiter (what has arrived of it).
    pub fn max_buffered(&self, boundary_len: usize) -> usize {
        let delimiter = boundary_len + 2;
        delimiter
            .saturating_add(self.max_header_bytes)
            .saturating_add(BLANK_LINE.len())
            .saturating_add(self.max_part_bytes)
            .saturating_add(2)
            .saturating_add(delimiter)
    }
}

/// A malformed or oversized body.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum MultipartError {
    /// A part's `Content-Length` is over the cap.
    #[error(
        "an MJPEG part says Content-Length {length}; hadir accepts parts of at most {limit} bytes"
    )]
    PartTooLarge { length: u64, limit: usize },
    /// A part without `Content-Length` runs on past the cap with no boundary after it.
    #[error(
        "an MJPEG part without Content-Length runs over {limit} bytes with no boundary after it"
    )]
    UnterminatedPart { limit: usize },
    /// A part's headers run on past the cap without the blank line that ends them.
    #[error("an MJPEG part's headers run over {limit} bytes without ending")]
    HeadersTooLarge { limit: usize },
    /// More than the cap of bytes arrived without a boundary.
    #[error("{limit} bytes of the MJPEG stream arrived without a boundary")]
    NoBoundary { limit: usize },
    /// A part's headers cannot be read.
    #[error("an MJPEG part's headers are malformed: {0}")]
    BadHeaders(String),
}

/// Where the parser is in the body.
#[derive(Clone, Copy, Debug)]
enum State {
    /// Looking for the delimiter that opens a part.
    Delimiter,
    /// Looking for the blank line that ends the headers, which start at `start` (just after
    /// the delimiter).
    Headers { start: usize },
    /// A body from `start`, of `length` bytes where the headers said so.
    Body { start: usize, length: Option<usize> },
}

/// The parser.
pub struct MultipartParser {
    finder: memmem::Finder<'static>,
    delimiter_len: usize,
    limits: PartLimits,
    buffer: Vec<u8>,
    /// Bytes at the front of `buffer` that are done with (dropped at the next push).
    consumed: usize,
    state: State,
    /// Where the current search continues (an index into `buffer`, never below `consumed`).
    scan_from: usize,
    /// Bytes passed over without a delimiter since the last part.
    skipped: usize,
}

impl std::fmt::Debug for MultipartParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultipartParser")
            .field("delimiter_len", &self.delimiter_len)
            .field("buffered", &self.buffered())
            .field("state", &self.state)
            .finish()
    }
}

const BLANK_LINE: &[u8] = b"\r\n\r\n";

impl MultipartParser {
    /// A parser for parts separated by `--boundary`, with the default caps.
    pub fn new(boundary: &str) -> Self {
        Self::with_limits(boundary, PartLimits::default())
    }

    /// A parser with caps of its own.
    pub fn with_limits(boundary: &str, limits: PartLimits) -> Self {
        let delimiter = format!("--{boundary}").into_bytes();
        Self {
            delimiter_len: delimiter.len(),
            finder: memmem::Finder::new(&delimiter).into_owned(),
            limits,
            buffer: Vec::new(),
            consumed: 0,
            state: State::Delimiter,
            scan_from: 0,
            skipped: 0,
        }
    }

    /// Bytes held that are not yet part of a returned part.
    pub fn buffered(&self) -> usize {
        self.buffer.len() - self.consumed
    }

    /// Adds bytes as they arrive. Call [`MultipartParser::next_part`] until it returns
    /// `Ok(None)` after each push: that is what keeps the buffer within its cap.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.consumed > 0 {
            // What is left is at most the chunk that completed the last part (parts are
            // taken out after every push), so this stays linear overall.
            self.buffer.drain(..self.consumed);
            self.scan_from -= self.consumed;
            self.state = match self.state {
                State::Delimiter => State::Delimiter,
                State::Headers { start } => State::Headers {
                    start: start - self.consumed,
                },
                State::Body { start, length } => State::Body {
                    start: start - self.consumed,
                    length,
                },
            };
            self.consumed = 0;
        }
        let cap = self.limits.max_buffered(self.delimiter_len - 2);
        framing::extend_within(&mut self.buffer, bytes, cap);
    }

    /// Drops what cannot start a delimiter: all but the last `delimiter_len - 1` bytes.
    fn skip_to_tail(&mut self) {
        let keep_from = self
            .buffer
            .len()
            .saturating_sub(self.delimiter_len - 1)
            .max(self.scan_from);
        self.skipped += keep_from - self.consumed;
        self.consumed = keep_from;
        self.scan_from = keep_from;
    }

    /// The next whole part's body, if the bytes so far hold one.
    pub fn next_part(&mut self) -> Result<Option<Vec<u8>>, MultipartError> {
        loop {
            match self.state {
                State::Delimiter => match self.finder.find(&self.buffer[self.scan_from..]) {
                    Some(found) => {
                        let at = self.scan_from + found;
                        self.skipped += at - self.consumed;
                        if self.skipped > self.limits.max_part_bytes {
                            return Err(MultipartError::NoBoundary {
                                limit: self.limits.max_part_bytes,
                            });
                        }
                        self.consumed = at;
                        let start = at + self.delimiter_len;
                        self.state = State::Headers { start };
                        self.scan_from = start;
                    }
                    None => {
                        self.skip_to_tail();
                        if self.skipped > self.limits.max_part_bytes {
                            return Err(MultipartError::NoBoundary {
                                limit: self.limits.max_part_bytes,
                            });
                        }
                        return Ok(None);
                    }
                },
                State::Headers { start } => {
                    match memmem::find(&self.buffer[self.scan_from..], BLANK_LINE) {
                        Some(found) => {
                            let end = self.scan_from + found;
                            if end - start > self.limits.max_header_bytes {
                                return Err(MultipartError::HeadersTooLarge {
                                    limit: self.limits.max_header_bytes,
                                });
                            }
                            let length = content_length(&self.buffer[start..end])?;
                            if let Some(length) = length
                                && length > self.limits.max_part_bytes as u64
                            {
                                return Err(MultipartError::PartTooLarge {
                                    length,
                                    limit: self.limits.max_part_bytes,
                                });
                            }
                            let body = end + BLANK_LINE.len();
                            self.state = State::Body {
                                start: body,
                                // At most `max_part_bytes` here, so it fits a usize.
                                length: length.map(|n| n as usize),
                            };
                            self.scan_from = body;
                        }
                        None => {
                            // Up to three bytes of the blank line may have arrived already.
                            if self.buffer.len() - start
                                > self.limits.max_header_bytes + BLANK_LINE.len() - 1
                            {
                                return Err(MultipartError::HeadersTooLarge {
                                    limit: self.limits.max_header_bytes,
                                });
                            }
                            // The blank line may straddle this chunk and the next.
                            self.scan_from = self
                                .buffer
                                .len()
                                .saturating_sub(BLANK_LINE.len() - 1)
                                .max(start);
                            return Ok(None);
                        }
                    }
                }
                State::Body {
                    start,
                    length: Some(length),
                } => {
                    if self.buffer.len() - start < length {
                        return Ok(None);
                    }
                    let end = start + length;
                    return Ok(Some(self.take(start, end, end)));
                }
                State::Body {
                    start,
                    length: None,
                } => match self.finder.find(&self.buffer[self.scan_from..]) {
                    Some(found) => {
                        let next = self.scan_from + found;
                        // The body ends before the CRLF that precedes the next delimiter.
                        let mut end = next;
                        if end >= start + 2 && &self.buffer[end - 2..end] == b"\r\n" {
                            end -= 2;
                        }
                        if end - start > self.limits.max_part_bytes {
                            return Err(MultipartError::UnterminatedPart {
                                limit: self.limits.max_part_bytes,
                            });
                        }
                        return Ok(Some(self.take(start, end, next)));
                    }
                    None => {
                        // The CRLF and the start of the next delimiter may have arrived.
                        if self.buffer.len() - start
                            > self.limits.max_part_bytes + 2 + self.delimiter_len - 1
                        {
                            return Err(MultipartError::UnterminatedPart {
                                limit: self.limits.max_part_bytes,
                            });
                        }
                        self.scan_from = self
                            .buffer
                            .len()
                            .saturating_sub(self.delimiter_len - 1)
                            .max(start);
                        return Ok(None);
                    }
                },
            }
        }
    }

    /// The body `start..end`, and the parser on to look for a delimiter from `resume`.
    fn take(&mut self, start: usize, end: usize, resume: usize) -> Vec<u8> {
        let body = self.buffer[start..end].to_vec();
        self.consumed = resume;
        self.scan_from = resume;
        self.skipped = 0;
        self.state = State::Delimiter;
        body
    }
}

/// The `Content-Length` of a part's header block, if it has one.
fn content_length(headers: &[u8]) -> Result<Option<u64>, MultipartError> {
    framing::content_length(headers).map_err(|bad| {
        MultipartError::BadHeaders(match bad {
            BadLength::NotALength(shown) => format!("Content-Length {shown:?} is not a length"),
            BadLength::TwoValues => "two different Content-Length headers".into(),
        })
    })
}

#[cfg(test)]
mod tests;
