//! What the parsers of camera bytes share ([`mjpeg`](super::mjpeg), [`h264`](super::h264),
//! [`rtsp_guard`](super::rtsp_guard), the snapshot reader of [`http`](super::http)): a buffer
//! grown within its cap, and the `Content-Length` of a block of header lines.

/// Appends `bytes` to `buffer`, growing it by doubling but never past `cap` (or what these
/// bytes need): no allocation beyond what the caller's limits allow.
pub(super) fn extend_within(buffer: &mut Vec<u8>, bytes: &[u8], cap: usize) {
    let needed = buffer.len() + bytes.len();
    if needed > buffer.capacity() {
        let target = needed.max((buffer.capacity() * 2).min(cap));
        buffer.reserve_exact(target - buffer.len());
    }
    buffer.extend_from_slice(bytes);
}

/// Why a header block's `Content-Length` cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum BadLength {
    /// A value that is not a length (ASCII digits fitting a `u64`): its first 40 characters.
    NotALength(String),
    /// Two `Content-Length` headers with different values.
    TwoValues,
}

/// The `Content-Length` of a block of header lines (`Name: value`, each ended by LF or CRLF;
/// names in any case), if it has one. The same value twice is that value.
pub(super) fn content_length(headers: &[u8]) -> Result<Option<u64>, BadLength> {
    let mut length = None;
    for line in headers.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        if !line[..colon]
            .trim_ascii()
            .eq_ignore_ascii_case(b"content-length")
        {
            continue;
        }
        let value = line[colon + 1..].trim_ascii();
        let parsed = std::str::from_utf8(value)
            .ok()
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| {
                BadLength::NotALength(String::from_utf8_lossy(value).chars().take(40).collect())
            })?;
        if length.is_some_and(|previous| previous != parsed) {
            return Err(BadLength::TwoValues);
        }
        length = Some(parsed);
    }
    Ok(length)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_lengths_are_read_strictly() {
        assert_eq!(content_length(b"Content-Type: image/jpeg\r\n"), Ok(None));
        assert_eq!(
            content_length(b"content-length:12\r\nContent-Length: 12\r\n"),
            Ok(Some(12))
        );
        assert_eq!(
            content_length(b"Content-Length: 3\r\nContent-Length: 4"),
            Err(BadLength::TwoValues)
        );
        for bad in ["-5", "12abc", "", "99999999999999999999999"] {
            assert_eq!(
                content_length(format!("Content-Length: {bad}\r\n").as_bytes()),
                Err(BadLength::NotALength(bad.into())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_buffer_grows_by_doubling_within_its_cap() {
        let mut buffer = Vec::new();
        extend_within(&mut buffer, &[1; 10], 100);
        assert_eq!(buffer.capacity(), 10);
        extend_within(&mut buffer, &[2; 5], 100);
        assert_eq!(buffer.capacity(), 20);
        extend_within(&mut buffer, &[3; 70], 100);
        assert_eq!(
            buffer.capacity(),
            85,
            "what the bytes need, past a doubling"
        );
        extend_within(&mut buffer, &[4; 10], 100);
        assert_eq!(buffer.capacity(), 100, "doubling stops at the cap");
        extend_within(&mut buffer, &[5; 10], 100);
        assert_eq!(
            (buffer.len(), buffer.capacity()),
            (105, 105),
            "or what is needed"
        );
    }
}
