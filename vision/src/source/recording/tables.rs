//! The checks made of an MP4 track's sample tables when it is opened: what would make the
//! `mp4` crate panic or overflow when a sample is read (tables that do not cover every sample,
//! empty chunks, offsets past the file's end), and samples over
//! [`h264::MAX_ACCESS_UNIT_BYTES`].

use crate::source::h264;

/// Why a track's tables are refused.
pub(super) enum TableError {
    Malformed(String),
    TooLarge(String),
}

/// Checks a track's sample tables for what would make the `mp4` crate panic or overflow when
/// a sample is read, and sample sizes against [`h264::MAX_ACCESS_UNIT_BYTES`]; returns how
/// many samples the track has.
pub(super) fn check_tables(track: &mp4::Mp4Track, file_size: u64) -> Result<u32, TableError> {
    let malformed = |reason: String| TableError::Malformed(reason);
    let limit = h264::MAX_ACCESS_UNIT_BYTES as u64;
    if !track.trafs.is_empty() {
        // Fragmented: every fragment needs its run of samples, the count must add up, and the
        // crate computes times as sample × default duration in 32 bits.
        let mut count = 0u32;
        for traf in &track.trafs {
            let Some(trun) = &traf.trun else {
                return Err(malformed("a fragment has no sample run (trun)".into()));
            };
            count = count
                .checked_add(trun.sample_count)
                .ok_or_else(|| malformed("the fragments' sample counts overflow".into()))?;
            if let Some(&size) = trun.sample_sizes.iter().max()
                && u64::from(size) > limit
            {
                return Err(TableError::TooLarge(format!(
                    "a sample of {size} bytes; hadir accepts at most {limit}"
                )));
            }
        }
        if (count as usize) < track.trafs.len() {
            return Err(malformed("fewer samples than fragments".into()));
        }
        if u64::from(count) * u64::from(track.default_sample_duration) > u64::from(u32::MAX) {
            return Err(malformed("the fragments' duration overflows".into()));
        }
        return Ok(count);
    }
    let stbl = &track.trak.mdia.minf.stbl;
    let count = stbl.stsz.sample_count;
    let largest = if stbl.stsz.sample_size > 0 {
        stbl.stsz.sample_size
    } else {
        stbl.stsz.sample_sizes.iter().copied().max().unwrap_or(0)
    };
    if u64::from(largest) > limit {
        return Err(TableError::TooLarge(format!(
            "a sample of {largest} bytes; hadir accepts at most {limit}"
        )));
    }
    if u64::from(largest) > file_size {
        return Err(malformed(format!(
            "a sample of {largest} bytes in a file of {file_size}"
        )));
    }
    let mut timed = 0u64;
    let mut duration = 0u64;
    for entry in &stbl.stts.entries {
        timed = timed.saturating_add(u64::from(entry.sample_count));
        duration = u64::from(entry.sample_count)
            .checked_mul(u64::from(entry.sample_delta))
            .and_then(|d| duration.checked_add(d))
            .ok_or_else(|| malformed("the time table (stts) overflows".into()))?;
    }
    if timed < u64::from(count) {
        return Err(malformed(format!(
            "the time table (stts) covers {timed} of {count} samples"
        )));
    }
    if count > 0 && stbl.stsc.entries.is_empty() {
        return Err(malformed("no sample-to-chunk table (stsc)".into()));
    }
    for entry in &stbl.stsc.entries {
        if entry.first_chunk == 0 || entry.samples_per_chunk == 0 {
            return Err(malformed(
                "the sample-to-chunk table (stsc) has an empty or zeroth chunk".into(),
            ));
        }
        // The crate adds the sizes of a chunk's samples in 32 bits.
        if u64::from(entry.samples_per_chunk) * u64::from(largest) > u64::from(u32::MAX) {
            return Err(malformed(
                "a chunk (stsc) holds more bytes than 32 bits count".into(),
            ));
        }
    }
    if stbl.stco.is_none()
        && stbl
            .co64
            .as_ref()
            .is_none_or(|co64| co64.entries.iter().any(|&offset| offset > file_size))
        && count > 0
    {
        return Err(malformed(
            "no chunk offsets (stco/co64), or one past the file's end".into(),
        ));
    }
    Ok(count)
}
