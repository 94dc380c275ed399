//! The checker the guard passes the camera's bytes through: it follows the RTSP framing in
//! chunks of any size (interleaved data, message heads, bodies) and refuses, as a
//! [`Violation`], what runs over the caps or is neither.

use memchr::memmem;

use super::{MAX_BODY_BYTES, MAX_FRAME_BYTES, MAX_HEAD_BYTES, Violation};
use crate::source::framing::{self, BadLength};

/// Where the checker is in the camera's byte stream.
#[derive(Clone, Copy, Debug)]
enum State {
    /// Between messages.
    Idle,
    /// After a `$`: `have` of the three header bytes (channel, length).
    FrameHeader { have: usize, header: [u8; 3] },
    /// Interleaved data: `left` of `len` bytes to pass on `channel`.
    FramePayload { channel: u8, len: u16, left: u16 },
    /// A message head being gathered (in the head buffer).
    Head,
    /// A message body: `left` bytes to pass.
    Body { left: u64 },
}

/// The RTP packets of one timestamp so far, on one channel.
#[derive(Clone, Copy, Debug, Default)]
struct Run {
    timestamp: u32,
    bytes: usize,
    open: bool,
}

const BLANK_LINE: &[u8] = b"\r\n\r\n";
const RTP_HEADER: usize = 12;

/// Checks what a camera sends over an RTSP connection, as it passes, in chunks of any size.
pub struct ResponseChecker {
    state: State,
    head: Vec<u8>,
    /// The first bytes of the interleaved packet passing (its RTP header).
    rtp: [u8; RTP_HEADER],
    runs: Box<[Run; 256]>,
}

impl Default for ResponseChecker {
    fn default() -> Self {
        Self::new()
    }
}

impl ResponseChecker {
    pub fn new() -> Self {
        Self {
            state: State::Idle,
            head: Vec::new(),
            rtp: [0; RTP_HEADER],
            runs: Box::new([Run::default(); 256]),
        }
    }

    /// Checks the next bytes; after an error the connection is to be closed.
    pub fn check(&mut self, bytes: &[u8]) -> Result<(), Violation> {
        let mut i = 0;
        while i < bytes.len() {
            match self.state {
                State::Idle => {
                    let b = bytes[i];
                    if b == b'\r' || b == b'\n' {
                        i += 1;
                    } else if b == b'$' {
                        self.state = State::FrameHeader {
                            have: 0,
                            header: [0; 3],
                        };
                        i += 1;
                    } else if b.is_ascii_alphabetic() {
                        self.head.clear();
                        self.state = State::Head;
                    } else {
                        return Err(Violation::Garbage(format!("the byte 0x{b:02x}")));
                    }
                }
                State::FrameHeader {
                    mut have,
                    mut header,
                } => {
                    let n = (3 - have).min(bytes.len() - i);
                    header[have..have + n].copy_from_slice(&bytes[i..i + n]);
                    have += n;
                    i += n;
                    self.state = if have == 3 {
                        let len = u16::from_be_bytes([header[1], header[2]]);
                        if len == 0 {
                            State::Idle
                        } else {
                            State::FramePayload {
                                channel: header[0],
                                len,
                                left: len,
                            }
                        }
                    } else {
                        State::FrameHeader { have, header }
                    };
                }
                State::FramePayload { channel, len, left } => {
                    let n = usize::from(left).min(bytes.len() - i);
                    let seen = usize::from(len - left);
                    if seen < RTP_HEADER {
                        let copy = (RTP_HEADER - seen).min(n);
                        self.rtp[seen..seen + copy].copy_from_slice(&bytes[i..i + copy]);
                    }
                    i += n;
                    // `n` ≤ `left` ≤ u16::MAX.
                    let left = left - n as u16;
                    if left == 0 {
                        self.state = State::Idle;
                        self.count_packet(channel, len)?;
                    } else {
                        self.state = State::FramePayload { channel, len, left };
                    }
                }
                State::Head => {
                    let rest = &bytes[i..];
                    match self.head_end(rest) {
                        Some(end) => {
                            if self.head.len() + end > MAX_HEAD_BYTES {
                                return Err(Violation::HeadTooLarge);
                            }
                            self.head.extend_from_slice(&rest[..end]);
                            i += end;
                            let body = check_head(&self.head)?;
                            self.state = if body == 0 {
                                State::Idle
                            } else {
                                State::Body { left: body }
                            };
                        }
                        None => {
                            if self.head.len() + rest.len() > MAX_HEAD_BYTES {
                                return Err(Violation::HeadTooLarge);
                            }
                            self.head.extend_from_slice(rest);
                            i = bytes.len();
                        }
                    }
                }
                State::Body { left } => {
                    let n = (bytes.len() - i).min(usize::try_from(left).unwrap_or(usize::MAX));
                    i += n;
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        State::Idle
                    } else {
                        State::Body { left }
                    };
                }
            }
        }
        Ok(())
    }

    /// Where in `rest` the head gathered so far ends (just after its blank line), if it does.
    fn head_end(&self, rest: &[u8]) -> Option<usize> {
        // The blank line may straddle the bytes gathered and these.
        let kept = self.head.len().min(BLANK_LINE.len() - 1);
        if kept > 0 {
            let mut joint = [0u8; 6];
            let from_rest = rest.len().min(BLANK_LINE.len() - 1);
            joint[..kept].copy_from_slice(&self.head[self.head.len() - kept..]);
            joint[kept..kept + from_rest].copy_from_slice(&rest[..from_rest]);
            if let Some(at) = memmem::find(&joint[..kept + from_rest], BLANK_LINE)
                && at < kept
            {
                return Some(at + BLANK_LINE.len() - kept);
            }
        }
        // No need to look further than the cap allows.
        let window = rest
            .len()
            .min(MAX_HEAD_BYTES.saturating_sub(self.head.len()));
        memmem::find(&rest[..window], BLANK_LINE).map(|at| at + BLANK_LINE.len())
    }

    /// Counts a whole interleaved packet of `len` bytes on `channel` (even channels carry RTP).
    fn count_packet(&mut self, channel: u8, len: u16) -> Result<(), Violation> {
        if !channel.is_multiple_of(2) || usize::from(len) < RTP_HEADER || self.rtp[0] >> 6 != 2 {
            return Ok(());
        }
        let timestamp = u32::from_be_bytes([self.rtp[4], self.rtp[5], self.rtp[6], self.rtp[7]]);
        let marker = self.rtp[1] & 0x80 != 0;
        let run = &mut self.runs[usize::from(channel)];
        if run.open && run.timestamp == timestamp {
            run.bytes += usize::from(len);
        } else {
            *run = Run {
                timestamp,
                bytes: usize::from(len),
                open: true,
            };
        }
        if run.bytes > MAX_FRAME_BYTES {
            return Err(Violation::FrameTooLarge);
        }
        if marker {
            run.open = false;
        }
        Ok(())
    }
}

/// Checks a whole message head; returns the length of its body.
fn check_head(head: &[u8]) -> Result<u64, Violation> {
    let (first_line, headers) = match memchr::memchr(b'\n', head) {
        Some(at) => (&head[..at], &head[at + 1..]),
        None => (head, &[][..]),
    };
    let first_line = first_line.strip_suffix(b"\r").unwrap_or(first_line);
    let is_response = first_line.starts_with(b"RTSP/");
    let is_request = memmem::find(first_line, b" RTSP/").is_some();
    if !(is_response || is_request) {
        let shown: String = String::from_utf8_lossy(first_line)
            .chars()
            .take(40)
            .flat_map(char::escape_default)
            .collect();
        return Err(Violation::Garbage(format!("{shown:?}")));
    }
    let length = framing::content_length(headers)
        .map_err(|bad| {
            Violation::BadLength(match bad {
                BadLength::NotALength(shown) => format!("{shown:?}"),
                BadLength::TwoValues => "two different values".into(),
            })
        })?
        .unwrap_or(0);
    if length > MAX_BODY_BYTES as u64 {
        return Err(Violation::BodyTooLarge(length));
    }
    Ok(length)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_in_chunks(bytes: &[u8], chunk: usize) -> Result<(), Violation> {
        let mut checker = ResponseChecker::new();
        for piece in bytes.chunks(chunk) {
            checker.check(piece)?;
        }
        Ok(())
    }

    fn rtp(channel: u8, timestamp: u32, marker: bool, payload: usize) -> Vec<u8> {
        let len = (RTP_HEADER + payload) as u16;
        let mut packet = vec![b'$', channel];
        packet.extend_from_slice(&len.to_be_bytes());
        packet.extend_from_slice(&[0x80, if marker { 0xE0 } else { 0x60 }, 0, 1]);
        packet.extend_from_slice(&timestamp.to_be_bytes());
        packet.extend_from_slice(&[0, 0, 0, 1]);
        packet.resize(packet.len() + payload, 0xAB);
        packet
    }

    #[test]
    fn responses_requests_and_interleaved_data_pass_in_any_chunking() {
        let mut stream = b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 5\r\n\r\nv=0\r\n".to_vec();
        stream.extend(rtp(0, 90_000, false, 1000));
        stream.extend(rtp(0, 90_000, true, 10));
        stream.extend(b"\r\n$\x01\x00\x04abcd");
        stream.extend(b"GET_PARAMETER rtsp://127.0.0.1/x RTSP/1.0\r\nCSeq: 7\r\n\r\n");
        stream.extend(b"RTSP/1.0 200 OK\r\ncontent-length:0\r\n\r\n");
        for chunk in [1, 2, 3, 4, 7, 100, 10_000] {
            assert_eq!(check_in_chunks(&stream, chunk), Ok(()), "chunks of {chunk}");
        }
    }

    #[test]
    fn oversized_and_malformed_messages_are_refused() {
        let huge = b"RTSP/1.0 200 OK\r\nContent-Length: 2000000000\r\n\r\n";
        assert_eq!(
            check_in_chunks(huge, 5),
            Err(Violation::BodyTooLarge(2_000_000_000))
        );
        let mut endless = b"RTSP/1.0 200 OK\r\n".to_vec();
        while endless.len() <= MAX_HEAD_BYTES {
            endless.extend(b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        for chunk in [1, 1000, 100_000] {
            assert_eq!(
                check_in_chunks(&endless, chunk),
                Err(Violation::HeadTooLarge),
                "chunks of {chunk}"
            );
        }
        for bad in ["-1", "12x", "", "99999999999999999999999"] {
            let head = format!("RTSP/1.0 200 OK\r\nContent-Length: {bad}\r\n\r\n");
            assert!(
                matches!(
                    check_in_chunks(head.as_bytes(), 3),
                    Err(Violation::BadLength(_))
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            check_in_chunks(b"\x00\x01garbage", 10),
            Err(Violation::Garbage(_))
        ));
        assert!(matches!(
            check_in_chunks(b"HTTP/1.1 200 OK\r\n\r\n", 10),
            Err(Violation::Garbage(_))
        ));
    }

    #[test]
    fn a_frame_of_endless_rtp_packets_is_refused() {
        let mut checker = ResponseChecker::new();
        let packet = rtp(0, 1234, false, 60_000);
        let mut sent = 0;
        let result = loop {
            if let Err(violation) = checker.check(&packet) {
                break violation;
            }
            sent += packet.len();
            assert!(sent <= MAX_FRAME_BYTES, "refused by the cap");
        };
        assert_eq!(result, Violation::FrameTooLarge);
        // The same packets with a marker (a frame each) pass for ever.
        let mut checker = ResponseChecker::new();
        let packet = rtp(0, 1234, true, 60_000);
        for _ in 0..(2 * MAX_FRAME_BYTES / 60_000) {
            assert_eq!(checker.check(&packet), Ok(()));
        }
    }
}
