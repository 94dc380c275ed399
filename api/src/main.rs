//! `hadir`: the command line ([`api::cmd`], one file per command). `hadir` alone (or
//! `hadir serve`) runs the server.

/// Rust's allocations (the frames and their conversions among them) come from mimalloc.
///
/// A camera's sampled frame is a few MB at each step (1080p: 3 MB of YUV, 6 MB of RGB, the
/// analysis copy), allocated and freed every second per camera on whichever worker thread is
/// free. glibc's malloc either keeps such frames resident in every thread's arena (its
/// dynamic mmap threshold rises to the largest buffer freed: ~60–75 MB per camera, measured)
/// or, with a low threshold, maps and unmaps them each time: a page fault per 4 KB page and a
/// cleared page, about a fifth of the server's CPU at 32 cameras (`perf`). mimalloc reuses
/// freed pages across threads and returns unused ones to the system ([`PURGE_DELAY_MS`]):
/// `cargo bench -p api --bench capacity` measured 47–50 → 38 ms of CPU per camera-second at
/// 32 cameras, and 14.3 MB resident per camera (glibc: 14.5).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its place in `mi_option_e`, mimalloc.h, v3: the crate
/// names no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// mimalloc's default purge delay (v3), by which [`MI_OPTION_PURGE_DELAY`] is recognised.
const MIMALLOC_DEFAULT_PURGE_DELAY_MS: std::ffi::c_long = 1_000;

/// Unused pages go back to the system at once: at the default second, every camera's freed
/// frames of the last second stay resident (25.9 against 20.6 MB per camera at 40 cameras,
/// the same CPU within the bench's noise). `MIMALLOC_PURGE_DELAY` in the environment wins.
const PURGE_DELAY_MS: std::ffi::c_long = 0;

/// Sets mimalloc's purge delay to [`PURGE_DELAY_MS`], unless the environment set one, or the
/// option at [`MI_OPTION_PURGE_DELAY`] does not hold mimalloc's default (another version).
fn tune_allocator() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: reading and setting an allocator option; mimalloc allows it at any time.
    unsafe {
        if libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) == MIMALLOC_DEFAULT_PURGE_DELAY_MS
        {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS);
        }
    }
}

/// Allocations from this size up by the C and C++ libraries (ONNX Runtime, openh264), which
/// still use glibc's malloc, get pages of their own, returned to the system when freed:
/// otherwise glibc's dynamic threshold rises to the largest buffer freed and every thread's
/// arena keeps such buffers resident after use.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD_BYTES: libc::c_int = 1 << 20;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tune_allocator();
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any thread is started
    // by this program's own code.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
    }
    api::cmd::main().await
}
