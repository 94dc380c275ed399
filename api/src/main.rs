//! `hadir`: the command line ([`api::cmd`], one file per command). `hadir` alone (or
//! `hadir serve`) runs the server.

/// Allocations from this size up get pages of their own, returned to the system when freed.
/// A camera frame converted for analysis is about 25 MB (1080p as `f32`): glibc's dynamic
/// threshold would otherwise rise to the largest buffer freed, and then every thread's arena
/// keeps such frames resident after use (measured: ~60–75 MB of resident memory per camera).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD_BYTES: libc::c_int = 1 << 20;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any thread is started
    // by this program's own code.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
    }
    api::cmd::main().await
}
