//! A real Video4Linux2 webcam: the kernel's virtual test webcam (vivid) in a small virtual
//! machine (`tests/webcam/vivid_vm.sh`), read by `hadir camera check 0` through the same
//! source the camera tasks open. The frame that comes back must be vivid's colour bars, in the
//! right colours (YUYV converted with the right matrix) at the size asked for.

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
    let bar_width = frame.width() / BARS.len() as u32;
    for (index, (name, expected)) in BARS.iter().enumerate() {
        // Below the text vivid writes at the top left.
        let x = index as u32 * bar_width + bar_width / 2;
        let got = frame.get_pixel(x, 800).0;
        let off = got
            .iter()
            .zip(expected)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap_or(0);
        assert!(
            off <= 12,
            "bar {index} should be {name} {expected:?}, the frame has {got:?}"
        );
    }
}
