//! The multipart parser's tests: boundaries, chunking, skipped garbage and the caps.

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
    let long = format!("multipart/x-mixed-replace;boundary={}", "b".repeat(201));
    assert_eq!(
        boundary_of(&long),
        None,
        "over {MAX_BOUNDARY_LEN} characters"
    );
}

fn parse_all(parser: &mut MultipartParser, body: &[u8], chunk: usize) -> Vec<Vec<u8>> {
    let mut parts = Vec::new();
    for piece in body.chunks(chunk) {
        parser.push(piece);
        while let Some(part) = parser.next_part().unwrap() {
            parts.push(part);
        }
    }
    parts
}

#[test]
fn parts_with_and_without_length_arrive_whole_in_any_chunking() {
    let body = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: 5\r\n\r\nAAAAA\r\n\
--frame\r\nContent-Type: image/jpeg\r\n\r\nBB\r\nB\r\n--frame\r\nContent-Length: 3\r\n\r\nCCC\r\n";
    for chunk in [1usize, 2, 7, 1000] {
        let mut parser = MultipartParser::new("frame");
        assert_eq!(
            parse_all(&mut parser, body, chunk),
            vec![b"AAAAA".to_vec(), b"BB\r\nB".to_vec(), b"CCC".to_vec()],
            "chunks of {chunk}"
        );
    }
}

#[test]
fn a_preamble_and_garbage_between_parts_are_skipped() {
    let body = b"preamble text\r\n--x\r\n\r\nONE\r\nnoise --y --x\r\nContent-Length: 3\r\n\r\nTWOjunk--x\r\n\r\n";
    for chunk in [1usize, 3, 1000] {
        let mut parser = MultipartParser::new("x");
        assert_eq!(
            parse_all(&mut parser, body, chunk),
            vec![b"ONE\r\nnoise --y ".to_vec(), b"TWO".to_vec()],
            "chunks of {chunk}"
        );
    }
}

#[test]
fn oversized_parts_are_refused() {
    let mut parser = MultipartParser::new("x");
    parser.push(format!("--x\r\nContent-Length: {}\r\n\r\n", MAX_PART_BYTES + 1).as_bytes());
    assert_eq!(
        parser.next_part(),
        Err(MultipartError::PartTooLarge {
            length: MAX_PART_BYTES as u64 + 1,
            limit: MAX_PART_BYTES
        })
    );
}

#[test]
fn bad_lengths_are_refused() {
    for headers in [
        "Content-Length: -5",
        "Content-Length: 99999999999999999999999",
        "Content-Length: 12abc",
        "Content-Length:",
        "Content-Length: 3\r\nContent-Length: 4",
    ] {
        let mut parser = MultipartParser::new("x");
        parser.push(format!("--x\r\n{headers}\r\n\r\nabc").as_bytes());
        let error = parser.next_part().unwrap_err();
        assert!(
            matches!(error, MultipartError::BadHeaders(_)),
            "{headers}: {error}"
        );
    }
}

#[test]
fn the_caps_hold_with_small_limits() {
    let limits = PartLimits {
        max_part_bytes: 100,
        max_header_bytes: 20,
    };
    let mut parser = MultipartParser::with_limits("x", limits);
    parser.push(b"--x\r\n");
    parser.push(&[b'h'; 22]);
    assert_eq!(
        parser.next_part(),
        Err(MultipartError::HeadersTooLarge { limit: 20 })
    );
    let mut parser = MultipartParser::with_limits("x", limits);
    parser.push(b"--x\r\n\r\n");
    parser.push(&[b'b'; 105]);
    assert_eq!(
        parser.next_part(),
        Err(MultipartError::UnterminatedPart { limit: 100 })
    );
    let mut parser = MultipartParser::with_limits("x", limits);
    // Two bytes are kept (a delimiter may straddle chunks), the rest is skipped: 9, then
    // 11 a push, is 97 after nine pushes and 108 after ten.
    for _ in 0..9 {
        parser.push(&[b'g'; 11]);
        assert_eq!(parser.next_part(), Ok(None));
        assert!(parser.buffered() <= 2, "garbage is not kept");
    }
    parser.push(&[b'g'; 11]);
    assert_eq!(
        parser.next_part(),
        Err(MultipartError::NoBoundary { limit: 100 })
    );
}
