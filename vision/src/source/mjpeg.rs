//! A streaming parser of `multipart/x-mixed-replace` bodies (MJPEG): bytes in as they
//! arrive, whole parts out. Parts with a `Content-Length` header are cut by length; others at
//! the next boundary.

/// Largest part accepted (a 4K JPEG is a few MB).
pub const MAX_PART_BYTES: usize = 16 * 1024 * 1024;

/// The boundary of a `multipart/x-mixed-replace; boundary=…` content type.
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
            .filter(|b| !b.is_empty())
    })
}

/// The parser.
#[derive(Debug)]
pub struct MultipartParser {
    delimiter: Vec<u8>,
    buffer: Vec<u8>,
}

/// A malformed body.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MultipartError {
    #[error("a part is larger than {MAX_PART_BYTES} bytes")]
    TooLarge,
    #[error("a part's headers are malformed")]
    BadHeaders,
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    (from..=haystack.len() - needle.len()).find(|&i| &haystack[i..i + needle.len()] == needle)
}

impl MultipartParser {
    pub fn new(boundary: &str) -> Self {
        Self {
            delimiter: format!("--{boundary}").into_bytes(),
            buffer: Vec::new(),
        }
    }

    /// Adds bytes as they arrive.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next whole part's body, if the bytes so far hold one.
    pub fn next_part(&mut self) -> Result<Option<Vec<u8>>, MultipartError> {
        let Some(start) = find(&self.buffer, &self.delimiter, 0) else {
            if self.buffer.len() > MAX_PART_BYTES {
                return Err(MultipartError::TooLarge);
            }
            return Ok(None);
        };
        let after_delimiter = start + self.delimiter.len();
        let Some(headers_end) = find(&self.buffer, b"\r\n\r\n", after_delimiter) else {
            if self.buffer.len() - start > 64 * 1024 {
                return Err(MultipartError::BadHeaders);
            }
            return Ok(None);
        };
        let headers = std::str::from_utf8(&self.buffer[after_delimiter..headers_end])
            .map_err(|_| MultipartError::BadHeaders)?;
        let length = headers.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())
                .flatten()
        });
        let body_start = headers_end + 4;
        let body_end = match length {
            Some(n) if n > MAX_PART_BYTES => return Err(MultipartError::TooLarge),
            Some(n) => {
                if self.buffer.len() < body_start + n {
                    return Ok(None);
                }
                body_start + n
            }
            None => match find(&self.buffer, &self.delimiter, body_start) {
                Some(next) => {
                    // The body ends before the CRLF that precedes the next delimiter.
                    let mut end = next;
                    if end >= body_start + 2 && &self.buffer[end - 2..end] == b"\r\n" {
                        end -= 2;
                    }
                    end
                }
                None => {
                    if self.buffer.len() - body_start > MAX_PART_BYTES {
                        return Err(MultipartError::TooLarge);
                    }
                    return Ok(None);
                }
            },
        };
        let body = self.buffer[body_start..body_end].to_vec();
        self.buffer.drain(..body_end);
        Ok(Some(body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_are_read_from_the_content_type() {
        assert_eq!(
            boundary_of("multipart/x-mixed-replace;boundary=ffmpeg").as_deref(),
            Some("ffmpeg")
        );
        assert_eq!(
            boundary_of("multipart/x-mixed-replace; boundary=\"--myboundary\"").as_deref(),
            Some("myboundary")
        );
        assert_eq!(boundary_of("image/jpeg"), None);
    }

    #[test]
    fn parts_with_and_without_length_arrive_whole_in_any_chunking() {
        let body = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: 5\r\n\r\nAAAAA\r\n\
--frame\r\nContent-Type: image/jpeg\r\n\r\nBB\r\nB\r\n--frame\r\nContent-Length: 3\r\n\r\nCCC\r\n";
        for chunk in [1usize, 2, 7, 1000] {
            let mut parser = MultipartParser::new("frame");
            let mut parts = Vec::new();
            for piece in body.chunks(chunk) {
                parser.push(piece);
                while let Some(part) = parser.next_part().unwrap() {
                    parts.push(part);
                }
            }
            assert_eq!(
                parts,
                vec![b"AAAAA".to_vec(), b"BB\r\nB".to_vec(), b"CCC".to_vec()],
                "chunks of {chunk}"
            );
        }
    }

    #[test]
    fn oversized_parts_are_refused() {
        let mut parser = MultipartParser::new("x");
        parser.push(format!("--x\r\nContent-Length: {}\r\n\r\n", MAX_PART_BYTES + 1).as_bytes());
        assert_eq!(parser.next_part(), Err(MultipartError::TooLarge));
    }
}
