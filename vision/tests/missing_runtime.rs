//! A missing ONNX Runtime library is a clear error that says how to fetch it, never a panic.
//! (Its own test binary: the library is loaded once per process.)

use vision::models::runtime::Runtime;

#[test]
fn a_missing_library_is_a_clear_error() {
    let error = Runtime::load(std::path::Path::new("/nonexistent/libonnxruntime.so"))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("/nonexistent/libonnxruntime.so")
            && error.contains("does not exist")
            && error.contains("fetch.py"),
        "{error}"
    );
}
