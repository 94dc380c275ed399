//! A real Video4Linux2 webcam: the kernel's virtual test webcam (vivid) in a small virtual
//! machine (`tests/webcam/vivid_vm.sh`), read by `hadir camera check 0`, then by `hadir serve`
//! with the webcam as a camera. The frames that come back must be vivid's colour bars, in the
//! right colours (YUYV converted with the right matrix) at the size asked for, and the camera
//! ONLINE with its snapshot served.

use std::path::Path;

/// vivid's default pattern: 75 % colour bars, left to right.
const BARS: [(&str, [u8; 3]); 8] = [
    ("grey", [191, 191, 191]),
    ("yellow", [191, 191, 0]),
    ("cyan", [0, 191, 191]),
    ("green", [0, 191, 0]),
    ("magenta", [191, 0, 191]),
    ("red", [191, 0, 0]),
    ("blue", [0, 0, 191]),
    ("black", [0, 0, 0]),
];

#[test]
fn a_v4l2_webcam_is_read_in_a_virtual_machine() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/webcam/vivid_vm.sh");
    let out = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(script)
        .arg(env!("CARGO_BIN_EXE_hadir"))
        .arg(out.path())
        .status()
        .expect("tests/webcam/vivid_vm.sh runs");
    let console = std::fs::read_to_string(out.path().join("console.txt")).unwrap_or_default();
    let shown: String = console
        .lines()
        .filter(|line| line.len() < 60 || line.contains(' '))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(status.success(), "the VM's console:\n{shown}");
    assert!(shown.contains("frame 3: 1920×1080"), "{shown}");

    let frame = image::open(Path::new(&out.path().join("frame.png")))
        .expect("the frame the VM printed")
        .to_rgb8();
    assert_eq!(frame.dimensions(), (1920, 1080), "the size hadir asks for");
    assert_colour_bars(&frame, 12);

    // The server's camera task on the webcam: ONLINE, frames in, the snapshot served.
    let status = console
        .lines()
        .find_map(|line| line.strip_prefix("VIVID-VM-CAMERA: "))
        .unwrap_or_else(|| panic!("no camera status in the VM's console:\n{shown}"));
    let status: serde_json::Value = serde_json::from_str(status).expect("GraphQL JSON");
    assert_eq!(status["data"]["camera"]["status"], "ONLINE", "{status}");
    assert!(
        status["data"]["camera"]["lastFrameAt"].is_string(),
        "{status}"
    );
    let snapshot = image::open(Path::new(&out.path().join("snapshot.jpg")))
        .unwrap_or_else(|e| panic!("the snapshot the VM printed: {e}\n{shown}"))
        .to_rgb8();
    assert_eq!(snapshot.dimensions(), (1920, 1080));
    assert_colour_bars(&snapshot, 24);
}

/// The 8 bars, each sampled at its middle below vivid's text, within `tolerance` per channel
/// (JPEG needs more).
fn assert_colour_bars(frame: &image::RgbImage, tolerance: u8) {
    let bar_width = frame.width() / BARS.len() as u32;
    for (index, (name, expected)) in BARS.iter().enumerate() {
        let x = index as u32 * bar_width + bar_width / 2;
        let got = frame.get_pixel(x, 800).0;
        let off = got
            .iter()
            .zip(expected)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap_or(0);
        assert!(
            off <= tolerance,
            "bar {index} should be {name} {expected:?}, the frame has {got:?}"
        );
    }
}
