//! What vision's integration tests share (`mod common;` in each that uses it): hostile images.

/// A PNG that says 13000×13000 RGB (a header and the start of its pixel data, as a 492 KB
/// PNG of that size begins): decoding it whole would take 507 MB, and more as floats.
pub fn png_13000_square() -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&13000u32.to_be_bytes());
    ihdr.extend_from_slice(&13000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    // zlib header, then a stored deflate block of 4000 zero bytes (not the last block).
    let mut idat = vec![0x78, 0x01, 0x00];
    idat.extend_from_slice(&4000u16.to_le_bytes());
    idat.extend_from_slice(&(!4000u16).to_le_bytes());
    idat.resize(idat.len() + 4000, 0);
    png_chunk(&mut out, b"IDAT", &idat);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// Appends a PNG chunk: its length, kind, data and CRC.
fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// The CRC-32 (IEEE) PNG chunks end with.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
