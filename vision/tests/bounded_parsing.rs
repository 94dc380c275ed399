//! Property tests of the parsers camera bytes go through, fed arbitrary bytes in arbitrary
//! chunkings: the MJPEG multipart parser (and boundary parsing), the H.264 Annex B splitter,
//! and the RTSP guard's checker. None may panic, and none may allocate beyond its caps:
//! a counting global allocator records, on the test's own thread only, the largest single
//! allocation and the peak of live bytes while a parser runs.

mod common;

use common::png_13000_square;
use proptest::{collection::vec, prelude::*};
use vision::alloc_count::{Counting, measure};
use vision::source::{
    h264::AnnexBSplitter,
    mjpeg::{self, MultipartParser, PartLimits, boundary_of},
    rtsp_guard::{self, ResponseChecker},
};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Cuts `bytes` into chunks of the sizes in `sizes`, cycling (each at least 1).
fn chunks<'a>(bytes: &'a [u8], sizes: &'a [usize]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut at = 0;
    let mut k = 0;
    std::iter::from_fn(move || {
        if at >= bytes.len() {
            return None;
        }
        let size = sizes[k % sizes.len()].max(1);
        k += 1;
        let end = (at + size).min(bytes.len());
        let piece = &bytes[at..end];
        at = end;
        Some(piece)
    })
}

const CASES: u32 = 10_000;

/// [`CASES`] cases; failures are reported with their minimal input rather than saved to a
/// regression file (integration tests have no `lib.rs` beside them to save it by).
fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(CASES)
    }
}
const MAX_CHUNK: usize = 700;

/// Arbitrary chunkings: 1 to 15 chunk sizes under [`MAX_CHUNK`] (cycled by [`chunks`]).
fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
    vec(1usize..MAX_CHUNK, 1..16)
}

// ---------------------------------------------------------------------------------------
// MJPEG
// ---------------------------------------------------------------------------------------

const BOUNDARY: &str = "frame";
const LIMITS: PartLimits = PartLimits {
    max_part_bytes: 2048,
    max_header_bytes: 256,
};

/// Pieces that make multipart streams likely: delimiters, line ends, headers, lengths,
/// bytes.
fn multipart_piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"--frame".to_vec()),
        Just(b"--frame\r\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\r\n\r\n".to_vec()),
        Just(b"Content-Type: image/jpeg\r\n".to_vec()),
        (0u64..5000).prop_map(|n| format!("Content-Length: {n}\r\n").into_bytes()),
        any::<u64>().prop_map(|n| format!("content-length:{n}\r\n").into_bytes()),
        Just(b"Content-Length: -1\r\n".to_vec()),
        vec(any::<u8>(), 0..300),
        (1usize..3000).prop_map(|n| vec![b'x'; n]),
    ]
}

fn multipart_stream() -> impl Strategy<Value = Vec<u8>> {
    vec(multipart_piece(), 0..40).prop_map(|pieces| pieces.concat())
}

/// Runs the parser over `bytes` in `sizes` chunks as the HTTP source does (all parts out
/// after each push, stop at the first error); checks its invariants on the way.
fn run_parser(bytes: &[u8], sizes: &[usize]) -> (Vec<Vec<u8>>, Option<mjpeg::MultipartError>) {
    run_parser_keeping(bytes, sizes, true)
}

/// [`run_parser`], keeping the parts or not (to measure the parser alone).
fn run_parser_keeping(
    bytes: &[u8],
    sizes: &[usize],
    keep: bool,
) -> (Vec<Vec<u8>>, Option<mjpeg::MultipartError>) {
    let mut parser = MultipartParser::with_limits(BOUNDARY, LIMITS);
    let cap = LIMITS.max_buffered(BOUNDARY.len());
    let mut parts = Vec::new();
    for piece in chunks(bytes, sizes) {
        parser.push(piece);
        loop {
            match parser.next_part() {
                Ok(Some(part)) => {
                    assert!(part.len() <= LIMITS.max_part_bytes, "a part over the cap");
                    if keep {
                        parts.push(part);
                    }
                }
                Ok(None) => break,
                Err(error) => return (parts, Some(error)),
            }
        }
        assert!(parser.buffered() <= cap, "{} buffered", parser.buffered());
    }
    (parts, None)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mjpeg_parser_is_bounded_on_arbitrary_bytes(
        bytes in multipart_stream(),
        sizes in chunk_sizes(),
    ) {
        let (_, allocated) = measure(|| run_parser_keeping(&bytes, &sizes, false));
        let cap = LIMITS.max_buffered(BOUNDARY.len());
        // The buffer (at most the cap plus one chunk) is the largest thing it allocates.
        prop_assert!(allocated.largest <= cap + MAX_CHUNK, "{allocated:?}");
        // Live at once: the buffer, one part copied out, an error's message.
        prop_assert!(
            allocated.peak <= cap + MAX_CHUNK + LIMITS.max_part_bytes + 256,
            "{allocated:?}"
        );
    }

    #[test]
    fn mjpeg_parts_do_not_depend_on_chunking(
        bytes in multipart_stream(),
        sizes in chunk_sizes(),
    ) {
        let whole = run_parser(&bytes, &[bytes.len().max(1)]);
        let chunked = run_parser(&bytes, &sizes);
        // The same parts, and the same error if any, whatever the chunking.
        prop_assert_eq!(whole, chunked);
    }

    #[test]
    fn mjpeg_well_formed_streams_give_back_their_parts(
        bodies in vec((vec(any::<u8>(), 0..1500), any::<bool>()), 0..12),
        sizes in chunk_sizes(),
    ) {
        // Bodies without a delimiter in them (one without a length ends at the next one).
        let bodies: Vec<(Vec<u8>, bool)> = bodies
            .into_iter()
            .map(|(body, with_length)| {
                let cleaned: Vec<u8> = body.into_iter().map(|b| if b == b'-' { b'_' } else { b }).collect();
                (cleaned, with_length)
            })
            .collect();
        let mut stream = Vec::new();
        for (body, with_length) in &bodies {
            stream.extend_from_slice(b"--frame\r\nContent-Type: image/jpeg\r\n");
            if *with_length {
                stream.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
            }
            stream.extend_from_slice(b"\r\n");
            stream.extend_from_slice(body);
            stream.extend_from_slice(b"\r\n");
        }
        stream.extend_from_slice(b"--frame\r\n");
        let (parts, error) = run_parser(&stream, &sizes);
        prop_assert!(error.is_none(), "{error:?}");
        let expected: Vec<Vec<u8>> = bodies.into_iter().map(|(body, _)| body).collect();
        prop_assert_eq!(parts, expected);
    }

    #[test]
    fn boundaries_are_parsed_from_any_content_type(text in ".{0,400}") {
        let ((), allocated) = measure(|| {
            if let Some(boundary) = boundary_of(&text) {
                assert!(!boundary.is_empty() && boundary.len() <= mjpeg::MAX_BOUNDARY_LEN);
            }
        });
        prop_assert!(allocated.largest <= 4 * 400 + 64, "{allocated:?}");
    }
}

// ---------------------------------------------------------------------------------------
// H.264
// ---------------------------------------------------------------------------------------

const NAL_LIMIT: usize = 1024;

fn annex_b_piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(vec![0, 0, 1]),
        Just(vec![0, 0, 0, 1]),
        Just(vec![0, 0]),
        Just(vec![0]),
        vec(any::<u8>(), 0..200),
        (1usize..1500).prop_map(|n| vec![0x65; n]),
    ]
}

fn annex_b_stream() -> impl Strategy<Value = Vec<u8>> {
    vec(annex_b_piece(), 0..40).prop_map(|pieces| pieces.concat())
}

/// Splits `bytes` in `sizes` chunks; the NAL units, or the error.
fn run_splitter(bytes: &[u8], sizes: &[usize]) -> Result<Vec<Vec<u8>>, ()> {
    run_splitter_keeping(bytes, sizes, true)
}

/// [`run_splitter`], keeping the NAL units or not (to measure the splitter alone).
fn run_splitter_keeping(bytes: &[u8], sizes: &[usize], keep: bool) -> Result<Vec<Vec<u8>>, ()> {
    let mut splitter = AnnexBSplitter::new(NAL_LIMIT);
    let mut units = Vec::new();
    for piece in chunks(bytes, sizes) {
        splitter.push(piece);
        while let Some(nal) = splitter.next_nal().map_err(|_| ())? {
            assert!(nal.len() <= NAL_LIMIT);
            assert!(nal.starts_with(&[0, 0, 1]) || nal.starts_with(&[0, 0, 0, 1]));
            if keep {
                units.push(nal.to_vec());
            }
        }
        assert!(
            splitter.buffered() <= NAL_LIMIT + 3,
            "{} buffered",
            splitter.buffered()
        );
    }
    if let Some(nal) = splitter.finish().map_err(|_| ())?
        && keep
    {
        units.push(nal.to_vec());
    }
    Ok(units)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn h264_splitter_is_bounded_on_arbitrary_bytes(
        bytes in annex_b_stream(),
        sizes in chunk_sizes(),
    ) {
        let (_, allocated) = measure(|| run_splitter_keeping(&bytes, &sizes, false));
        // Its buffer, at most the cap plus a start code plus one chunk, is all it allocates.
        prop_assert!(allocated.largest <= NAL_LIMIT + 4 + MAX_CHUNK, "{allocated:?}");
        prop_assert!(allocated.peak <= NAL_LIMIT + 4 + MAX_CHUNK, "{allocated:?}");
    }

    #[test]
    fn h264_split_does_not_depend_on_chunking_and_loses_nothing(
        bytes in annex_b_stream(),
        sizes in chunk_sizes(),
    ) {
        let whole = run_splitter(&bytes, &[bytes.len().max(1)]);
        let chunked = run_splitter(&bytes, &sizes);
        if let (Ok(whole), Ok(chunked)) = (&whole, &chunked) {
            prop_assert_eq!(whole, chunked);
            // From the first start code on, every byte is in a NAL unit but maybe a last,
            // empty start code.
            if let Some(first) = bytes.windows(3).position(|w| w == [0, 0, 1]) {
                let begin = if first > 0 && bytes[first - 1] == 0 { first - 1 } else { first };
                let joined = whole.concat();
                let rest = &bytes[begin..];
                prop_assert!(rest.starts_with(&joined));
                prop_assert!(rest.len() - joined.len() <= 4, "{} bytes lost", rest.len() - joined.len());
            } else {
                prop_assert!(whole.is_empty());
            }
        } else {
            // A NAL unit over the cap is refused whatever the chunking.
            prop_assert!(whole.is_err() && chunked.is_err(), "{whole:?} / {chunked:?}");
        }
    }

    #[test]
    fn h264_decoder_takes_arbitrary_nal_units_without_panicking(
        bytes in annex_b_stream(),
    ) {
        let mut decoder = openh264::decoder::Decoder::new().unwrap();
        if let Ok(units) = run_splitter(&bytes, &[bytes.len().max(1)]) {
            for nal in units {
                if let Ok(Some(yuv)) = decoder.decode(&nal) {
                    // A picture from fuzz is possible in principle: converting it must hold.
                    let _ = vision::source::h264::to_rgb(&yuv);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// RTSP
// ---------------------------------------------------------------------------------------

fn rtsp_piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"RTSP/1.0 200 OK\r\n".to_vec()),
        Just(b"GET_PARAMETER rtsp://127.0.0.1/a RTSP/1.0\r\n".to_vec()),
        Just(b"CSeq: 2\r\n".to_vec()),
        (0u64..400_000).prop_map(|n| format!("Content-Length: {n}\r\n").into_bytes()),
        Just(b"\r\n".to_vec()),
        Just(b"\r\n\r\n".to_vec()),
        (any::<u8>(), vec(any::<u8>(), 0..300)).prop_map(|(channel, payload)| {
            let mut frame = vec![b'$', channel];
            frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
            frame.extend_from_slice(&payload);
            frame
        }),
        vec(any::<u8>(), 0..100),
    ]
}

fn rtsp_stream() -> impl Strategy<Value = Vec<u8>> {
    vec(rtsp_piece(), 0..40).prop_map(|pieces| pieces.concat())
}

fn run_checker(bytes: &[u8], sizes: &[usize]) -> Result<(), rtsp_guard::Violation> {
    let mut checker = ResponseChecker::new();
    for piece in chunks(bytes, sizes) {
        checker.check(piece)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn rtsp_checker_is_bounded_and_does_not_depend_on_chunking(
        bytes in rtsp_stream(),
        sizes in chunk_sizes(),
    ) {
        let (chunked, allocated) = measure(|| run_checker(&bytes, &sizes));
        // The head buffer (at most MAX_HEAD_BYTES, grown by doubling) and the checker itself.
        prop_assert!(allocated.largest <= 2 * rtsp_guard::MAX_HEAD_BYTES, "{allocated:?}");
        prop_assert!(allocated.peak <= 3 * rtsp_guard::MAX_HEAD_BYTES, "{allocated:?}");
        let whole = run_checker(&bytes, &[bytes.len().max(1)]);
        prop_assert_eq!(whole, chunked);
    }
}

// ---------------------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------------------

#[test]
fn a_13000_square_png_is_refused_with_bounded_memory() {
    let png = png_13000_square();
    let (result, allocated) = measure(|| vision::bounds::decode_image(&png));
    let error = result.unwrap_err();
    assert!(error.to_string().contains("13000×13000"), "{error}");
    // The decoder's header buffers only, nowhere near the 507 MB of the pixels.
    assert!(allocated.peak < 4 * 1024 * 1024, "{allocated:?}");
}

#[test]
fn the_capped_conversion_never_copies_a_large_frame_to_floats() {
    let frame = image::RgbImage::from_pixel(4000, 2200, image::Rgb([1, 2, 3]));
    let (scaled, allocated) = measure(|| {
        vision::frame::RgbF32::from_rgb8_capped(&frame, vision::frame::MAX_ANALYSIS_PIXELS)
    });
    let full_float = 4000 * 2200 * 3 * 4;
    assert!(scaled.scale > 1.0);
    assert!(allocated.largest < full_float, "{allocated:?}");
    assert!(
        allocated.largest <= vision::frame::MAX_ANALYSIS_PIXELS * 12,
        "{allocated:?}"
    );
}
