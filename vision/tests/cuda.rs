//! Asking for CUDA from a library without it (the PyPI `onnxruntime` wheel is CPU-only) is a
//! clear error, not a panic and not a silent fall-back to the CPU. (Its own test binary: the
//! library is loaded once per process.)

use vision::models::runtime::{Provider, Runtime, default_library_path};

#[test]
fn cuda_from_a_cpu_only_library_is_a_clear_error() {
    let error = Runtime::load_for(&default_library_path(), Provider::Cuda { device: 0 })
        .expect_err("the cached library is the CPU-only build")
        .to_string();
    assert!(
        error.contains("CUDA") && error.contains("onnxruntime-gpu"),
        "{error}"
    );
}
