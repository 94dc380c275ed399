//! Local webcams through Video4Linux2 (Linux): `"0"` is `/dev/video0`.
//!
//! The device is opened, asked for its formats and set to Motion-JPEG where it offers it
//! (USB webcams give their full resolution only that way), else to YUYV 4:2:2; the size asked
//! for is [`WEBCAM_SIZE`], which the driver rounds to the nearest it has. Frames arrive in
//! [`WEBCAM_BUFFERS`] memory-mapped buffers read by a capture thread of the source's own; a
//! frame is converted to RGB only when it is due at the sampling interval, and only when the
//! previous one has been taken (the rest are handed straight back to the driver). Unplugging
//! the camera, a device in use by another program, a node that captures no video (the
//! metadata node UVC cameras expose beside the video one) and formats hadir cannot read are
//! each a clear error naming the device.

use std::{
    ffi::CString,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use image::RgbImage;

use super::{Frame, FrameSource, SourceError};

/// The frame size asked of a webcam; the driver picks the nearest it offers.
pub const WEBCAM_SIZE: (u32, u32) = (1920, 1080);
/// Memory-mapped capture buffers asked of the driver.
pub const WEBCAM_BUFFERS: u32 = 4;
/// How often the capture thread looks whether the source was dropped while no frame comes.
const STOP_POLL: Duration = Duration::from_millis(200);

/// The device path a webcam stream URL names: `"0"` → `/dev/video0`, `/dev/video2` as is.
pub fn device_path(stream_url: &str) -> Option<PathBuf> {
    let text = stream_url.trim();
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit()) {
        return Some(PathBuf::from(format!("/dev/video{text}")));
    }
    text.starts_with("/dev/video").then(|| PathBuf::from(text))
}

/// The pixel formats hadir reads from webcams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelFormat {
    /// Motion-JPEG: each buffer a JPEG (Huffman tables may be left out, as the format allows).
    Mjpeg,
    /// YUYV 4:2:2, 2 bytes a pixel.
    Yuyv,
}

impl PixelFormat {
    fn fourcc(self) -> u32 {
        match self {
            Self::Mjpeg => sys::PIX_FMT_MJPEG,
            Self::Yuyv => sys::PIX_FMT_YUYV,
        }
    }
}

/// A four-character code as text (`MJPG`, `YUYV`, …).
fn fourcc_text(code: u32) -> String {
    code.to_le_bytes()
        .iter()
        .map(|&b| if b.is_ascii_graphic() { b as char } else { '?' })
        .collect()
}

/// One captured buffer converted to RGB.
pub fn to_rgb(
    format: PixelFormat,
    width: u32,
    height: u32,
    bytes_per_line: u32,
    data: &[u8],
) -> Result<RgbImage, String> {
    match format {
        PixelFormat::Mjpeg => crate::bounds::decode_image(data)
            .map_err(|e| format!("a Motion-JPEG frame does not decode: {e}")),
        PixelFormat::Yuyv => yuyv_to_rgb(width, height, bytes_per_line, data),
    }
}

/// YUYV 4:2:2 (BT.601, limited range, as webcams send it) to RGB.
pub fn yuyv_to_rgb(
    width: u32,
    height: u32,
    bytes_per_line: u32,
    data: &[u8],
) -> Result<RgbImage, String> {
    let stride = (bytes_per_line.max(width * 2)) as usize;
    let needed = stride * (height as usize).saturating_sub(1) + width as usize * 2;
    if data.len() < needed {
        return Err(format!(
            "a YUYV frame of {width}×{height} needs {needed} bytes, the camera gave {}",
            data.len()
        ));
    }
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    let convert = |y: u8, u: i32, v: i32, out: &mut [u8]| {
        let c = (i32::from(y) - 16) * 298;
        let clamp = |x: i32| ((x + 128) >> 8).clamp(0, 255) as u8;
        out[0] = clamp(c + 409 * v);
        out[1] = clamp(c - 100 * u - 208 * v);
        out[2] = clamp(c + 516 * u);
    };
    for (row, out_row) in rgb.chunks_exact_mut(width as usize * 3).enumerate() {
        let line = &data[row * stride..row * stride + width as usize * 2];
        for (pair, out) in line.chunks_exact(4).zip(out_row.chunks_mut(6)) {
            let (u, v) = (i32::from(pair[1]) - 128, i32::from(pair[3]) - 128);
            convert(pair[0], u, v, &mut out[..3]);
            if out.len() == 6 {
                convert(pair[2], u, v, &mut out[3..]);
            }
        }
    }
    RgbImage::from_raw(width, height, rgb).ok_or_else(|| "a frame has the wrong size".to_owned())
}

/// A webcam being captured.
pub struct WebcamSource {
    frames: tokio::sync::mpsc::Receiver<Result<Frame, SourceError>>,
    stop: Arc<AtomicBool>,
    capture_thread: Option<std::thread::JoinHandle<()>>,
    frame_timeout: Duration,
    /// What the device was set to: `MJPG 1280×720`.
    pub description: String,
}

impl WebcamSource {
    /// Opens the device, sets its format and starts capturing.
    pub fn open(
        device: &Path,
        sample_interval: Duration,
        frame_timeout: Duration,
    ) -> Result<Self, SourceError> {
        let mut capture = Capture::open(device)?;
        let description = format!(
            "{} {}×{}",
            fourcc_text(capture.format.fourcc()),
            capture.width,
            capture.height
        );
        let (sender, frames) = tokio::sync::mpsc::channel(1);
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let capture_thread = std::thread::Builder::new()
            .name(format!("webcam {}", device.display()))
            .spawn(move || capture.run(sample_interval, &sender, &stopped))
            .map_err(|e| SourceError::Connect(format!("cannot start a capture thread: {e}")))?;
        Ok(Self {
            frames,
            stop,
            capture_thread: Some(capture_thread),
            frame_timeout,
            description,
        })
    }
}

impl Drop for WebcamSource {
    /// Stops the capture thread and waits for it (at most `STOP_POLL` and one conversion),
    /// so that the device is closed before a reconnect opens it again.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.capture_thread.take() {
            let _ = thread.join();
        }
    }
}

#[async_trait::async_trait]
impl FrameSource for WebcamSource {
    async fn next_frame(&mut self) -> Result<Frame, SourceError> {
        match tokio::time::timeout(self.frame_timeout, self.frames.recv()).await {
            Err(_) => Err(SourceError::Timeout(self.frame_timeout)),
            Ok(None) => Err(SourceError::Ended),
            Ok(Some(frame)) => frame,
        }
    }
}

/// A mapped capture buffer.
struct MappedBuffer {
    pointer: *mut libc::c_void,
    length: usize,
}

impl Drop for MappedBuffer {
    fn drop(&mut self) {
        // SAFETY: `pointer` and `length` are what mmap returned for this buffer, unmapped once.
        unsafe {
            libc::munmap(self.pointer, self.length);
        }
    }
}

/// An open, streaming V4L2 capture device (owned by the capture thread).
struct Capture {
    device: PathBuf,
    fd: OwnedFd,
    format: PixelFormat,
    width: u32,
    height: u32,
    bytes_per_line: u32,
    buffers: Vec<MappedBuffer>,
}

// SAFETY: the mapped buffers are used only by the thread that owns the Capture.
unsafe impl Send for Capture {}

fn errno_text(error: &std::io::Error, device: &Path) -> String {
    match error.raw_os_error() {
        Some(libc::EBUSY) => format!(
            "{} is in use by another program (close it, or give hadir another camera)",
            device.display()
        ),
        Some(libc::EACCES) | Some(libc::EPERM) => format!(
            "{}: permission denied (add the user running hadir to the `video` group)",
            device.display()
        ),
        Some(libc::ENODEV) | Some(libc::ENXIO) => {
            format!("{} was unplugged or has gone", device.display())
        }
        _ => format!("{}: {error}", device.display()),
    }
}

impl Capture {
    fn ioctl<T>(&self, request: libc::c_ulong, argument: &mut T) -> std::io::Result<()> {
        loop {
            // SAFETY: each request code is used with the struct of the size it encodes (the
            // layouts in `sys` are checked against the kernel's sizes by tests).
            let result = unsafe { libc::ioctl(self.fd.as_raw_fd(), request, argument as *mut T) };
            if result != -1 {
                return Ok(());
            }
            let error = std::io::Error::last_os_error();
            if error.kind() != std::io::ErrorKind::Interrupted {
                return Err(error);
            }
        }
    }

    fn open(device: &Path) -> Result<Self, SourceError> {
        let connect = |error: std::io::Error| SourceError::Connect(errno_text(&error, device));
        if !device.exists() {
            return Err(SourceError::Connect(format!(
                "there is no webcam {} on this machine",
                device.display()
            )));
        }
        let path = CString::new(device.as_os_str().as_encoded_bytes()).map_err(|_| {
            SourceError::Connect(format!("{} is not a device path", device.display()))
        })?;
        // SAFETY: `path` is a valid C string; the descriptor is owned right after.
        let raw = unsafe {
            libc::open(
                path.as_ptr(),
                libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(connect(std::io::Error::last_os_error()));
        }
        // SAFETY: `raw` is an open descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut capture = Self {
            device: device.to_owned(),
            fd,
            format: PixelFormat::Yuyv,
            width: 0,
            height: 0,
            bytes_per_line: 0,
            buffers: Vec::new(),
        };

        let mut capability = sys::Capability::default();
        capture
            .ioctl(sys::VIDIOC_QUERYCAP, &mut capability)
            .map_err(|e| {
                SourceError::Unsupported(format!(
                    "{} is not a Video4Linux2 device ({e})",
                    device.display()
                ))
            })?;
        let caps = if capability.capabilities & sys::CAP_DEVICE_CAPS != 0 {
            capability.device_caps
        } else {
            capability.capabilities
        };
        let card = String::from_utf8_lossy(&capability.card)
            .trim_end_matches('\0')
            .to_owned();
        if caps & sys::CAP_VIDEO_CAPTURE == 0 {
            return Err(SourceError::Unsupported(format!(
                "{} ({card}) captures no video; USB cameras often have a second node for \
                 metadata: try the next /dev/video number",
                device.display()
            )));
        }
        if caps & sys::CAP_STREAMING == 0 {
            return Err(SourceError::Unsupported(format!(
                "{} ({card}) does not stream to memory buffers",
                device.display()
            )));
        }

        let offered = capture.formats().map_err(connect)?;
        let Some(format) = [PixelFormat::Mjpeg, PixelFormat::Yuyv]
            .into_iter()
            .find(|f| offered.contains(&f.fourcc()))
        else {
            let names: Vec<String> = offered.iter().map(|&c| fourcc_text(c)).collect();
            return Err(SourceError::Unsupported(format!(
                "{} ({card}) offers {}; hadir reads MJPG or YUYV",
                device.display(),
                names.join(", ")
            )));
        };
        let mut requested = sys::Format::capture(format.fourcc(), WEBCAM_SIZE.0, WEBCAM_SIZE.1);
        capture
            .ioctl(sys::VIDIOC_S_FMT, &mut requested)
            .map_err(connect)?;
        let set = requested.pix();
        if set.pixelformat != format.fourcc() || set.width == 0 || set.height == 0 {
            return Err(SourceError::Unsupported(format!(
                "{} ({card}) would not take {} (it set {} {}×{})",
                device.display(),
                fourcc_text(format.fourcc()),
                fourcc_text(set.pixelformat),
                set.width,
                set.height
            )));
        }
        crate::bounds::check_frame_size(set.width, set.height)?;
        capture.format = format;
        capture.width = set.width;
        capture.height = set.height;
        capture.bytes_per_line = set.bytesperline;

        let mut request = sys::RequestBuffers {
            count: WEBCAM_BUFFERS,
            kind: sys::BUF_TYPE_VIDEO_CAPTURE,
            memory: sys::MEMORY_MMAP,
            ..Default::default()
        };
        capture
            .ioctl(sys::VIDIOC_REQBUFS, &mut request)
            .map_err(connect)?;
        if request.count == 0 {
            return Err(SourceError::Connect(format!(
                "{} gave no capture buffers",
                device.display()
            )));
        }
        for index in 0..request.count {
            let mut buffer = sys::Buffer::mmap_capture(index);
            capture
                .ioctl(sys::VIDIOC_QUERYBUF, &mut buffer)
                .map_err(connect)?;
            let length = buffer.length as usize;
            // SAFETY: maps the driver's buffer `index` at the offset the driver gave.
            let pointer = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    length,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    capture.fd.as_raw_fd(),
                    buffer.offset() as libc::off_t,
                )
            };
            if pointer == libc::MAP_FAILED {
                return Err(connect(std::io::Error::last_os_error()));
            }
            capture.buffers.push(MappedBuffer { pointer, length });
            capture
                .ioctl(sys::VIDIOC_QBUF, &mut buffer)
                .map_err(connect)?;
        }
        let mut kind = sys::BUF_TYPE_VIDEO_CAPTURE as libc::c_int;
        capture
            .ioctl(sys::VIDIOC_STREAMON, &mut kind)
            .map_err(connect)?;
        tracing::info!(
            device = %device.display(),
            card,
            format = %fourcc_text(format.fourcc()),
            width = capture.width,
            height = capture.height,
            "webcam streaming"
        );
        Ok(capture)
    }

    /// The pixel formats the device offers for capture.
    fn formats(&self) -> std::io::Result<Vec<u32>> {
        let mut formats = Vec::new();
        for index in 0.. {
            let mut description = sys::FormatDescription {
                index,
                kind: sys::BUF_TYPE_VIDEO_CAPTURE,
                ..Default::default()
            };
            match self.ioctl(sys::VIDIOC_ENUM_FMT, &mut description) {
                Ok(()) => formats.push(description.pixelformat),
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(formats)
    }

    /// Waits up to `timeout` for a filled buffer; `None` when none came.
    fn dequeue(&self, timeout: Duration) -> std::io::Result<Option<sys::Buffer>> {
        let mut poll = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut poll, 1, timeout.as_millis() as libc::c_int) };
        if ready < 0 {
            let error = std::io::Error::last_os_error();
            return if error.kind() == std::io::ErrorKind::Interrupted {
                Ok(None)
            } else {
                Err(error)
            };
        }
        if ready == 0 {
            return Ok(None);
        }
        if poll.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0
            && poll.revents & libc::POLLIN == 0
        {
            return Err(std::io::Error::from_raw_os_error(libc::ENODEV));
        }
        let mut buffer = sys::Buffer::mmap_capture(0);
        match self.ioctl(sys::VIDIOC_DQBUF, &mut buffer) {
            Ok(()) => Ok(Some(buffer)),
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The capture loop: hands due frames to `sender` until the source is dropped or the
    /// device fails.
    fn run(
        &mut self,
        sample_interval: Duration,
        sender: &tokio::sync::mpsc::Sender<Result<Frame, SourceError>>,
        stop: &AtomicBool,
    ) {
        let mut last_sent: Option<Instant> = None;
        while !stop.load(Ordering::Relaxed) && !sender.is_closed() {
            let mut buffer = match self.dequeue(STOP_POLL) {
                Ok(Some(buffer)) => buffer,
                Ok(None) => continue,
                Err(error) => {
                    let _ = sender
                        .try_send(Err(SourceError::Connect(errno_text(&error, &self.device))));
                    return;
                }
            };
            let now = Instant::now();
            let due = last_sent.is_none_or(|t| now >= t + sample_interval);
            let corrupted = buffer.flags & sys::BUF_FLAG_ERROR != 0;
            if due && !corrupted && sender.capacity() > 0 {
                let converted = self.buffers.get(buffer.index as usize).map(|mapped| {
                    let used = (buffer.bytesused as usize).min(mapped.length);
                    // SAFETY: the driver filled `used` bytes of this mapped buffer, and it is
                    // not queued again until the conversion below is done with it.
                    let data =
                        unsafe { std::slice::from_raw_parts(mapped.pointer as *const u8, used) };
                    to_rgb(
                        self.format,
                        self.width,
                        self.height,
                        self.bytes_per_line,
                        data,
                    )
                });
                match converted {
                    Some(Ok(image)) => {
                        last_sent = Some(now);
                        let _ = sender.try_send(Ok(Frame {
                            image,
                            captured_at: SystemTime::now(),
                        }));
                    }
                    Some(Err(reason)) => {
                        tracing::debug!(device = %self.device.display(), "{reason}");
                    }
                    None => {}
                }
            }
            if let Err(error) = self.ioctl(sys::VIDIOC_QBUF, &mut buffer) {
                let _ =
                    sender.try_send(Err(SourceError::Connect(errno_text(&error, &self.device))));
                return;
            }
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let mut kind = sys::BUF_TYPE_VIDEO_CAPTURE as libc::c_int;
        let _ = self.ioctl(sys::VIDIOC_STREAMOFF, &mut kind);
        // The buffers are unmapped, then the descriptor closed, as the fields drop.
        self.buffers.clear();
    }
}

/// The few V4L2 definitions hadir uses (from `linux/videodev2.h`, 64-bit layouts).
mod sys {
    pub const VIDIOC_QUERYCAP: libc::c_ulong = 0x8068_5600;
    pub const VIDIOC_ENUM_FMT: libc::c_ulong = 0xc040_5602;
    pub const VIDIOC_S_FMT: libc::c_ulong = 0xc0d0_5605;
    pub const VIDIOC_REQBUFS: libc::c_ulong = 0xc014_5608;
    pub const VIDIOC_QUERYBUF: libc::c_ulong = 0xc058_5609;
    pub const VIDIOC_QBUF: libc::c_ulong = 0xc058_560f;
    pub const VIDIOC_DQBUF: libc::c_ulong = 0xc058_5611;
    pub const VIDIOC_STREAMON: libc::c_ulong = 0x4004_5612;
    pub const VIDIOC_STREAMOFF: libc::c_ulong = 0x4004_5613;

    pub const CAP_VIDEO_CAPTURE: u32 = 0x0000_0001;
    pub const CAP_STREAMING: u32 = 0x0400_0000;
    pub const CAP_DEVICE_CAPS: u32 = 0x8000_0000;
    pub const BUF_TYPE_VIDEO_CAPTURE: u32 = 1;
    pub const MEMORY_MMAP: u32 = 1;
    pub const FIELD_NONE: u32 = 1;
    pub const BUF_FLAG_ERROR: u32 = 0x0000_0040;
    pub const PIX_FMT_MJPEG: u32 = u32::from_le_bytes(*b"MJPG");
    pub const PIX_FMT_YUYV: u32 = u32::from_le_bytes(*b"YUYV");

    #[repr(C)]
    #[derive(Default)]
    pub struct Capability {
        pub driver: [u8; 16],
        pub card: [u8; 32],
        pub bus_info: [u8; 32],
        pub version: u32,
        pub capabilities: u32,
        pub device_caps: u32,
        pub reserved: [u32; 3],
    }

    #[repr(C)]
    #[derive(Default)]
    pub struct FormatDescription {
        pub index: u32,
        pub kind: u32,
        pub flags: u32,
        pub description: [u8; 32],
        pub pixelformat: u32,
        pub mbus_code: u32,
        pub reserved: [u32; 3],
    }

    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    pub struct PixFormat {
        pub width: u32,
        pub height: u32,
        pub pixelformat: u32,
        pub field: u32,
        pub bytesperline: u32,
        pub sizeimage: u32,
        pub colorspace: u32,
        pub private: u32,
        pub flags: u32,
        pub ycbcr_enc: u32,
        pub quantization: u32,
        pub xfer_func: u32,
    }

    /// `struct v4l2_format`: the type, then a 200-byte union aligned to 8.
    #[repr(C)]
    pub struct Format {
        pub kind: u32,
        _pad: u32,
        pub union: [u64; 25],
    }

    impl Format {
        pub fn capture(pixelformat: u32, width: u32, height: u32) -> Self {
            let mut format = Self {
                kind: BUF_TYPE_VIDEO_CAPTURE,
                _pad: 0,
                union: [0; 25],
            };
            let pix = PixFormat {
                width,
                height,
                pixelformat,
                field: FIELD_NONE,
                ..Default::default()
            };
            // SAFETY: PixFormat (48 bytes, align 4) fits at the start of the 200-byte union.
            unsafe {
                std::ptr::write_unaligned(format.union.as_mut_ptr().cast::<PixFormat>(), pix);
            }
            format
        }

        pub fn pix(&self) -> PixFormat {
            // SAFETY: as above; the driver filled the union as a v4l2_pix_format.
            unsafe { std::ptr::read_unaligned(self.union.as_ptr().cast::<PixFormat>()) }
        }
    }

    #[repr(C)]
    #[derive(Default)]
    pub struct RequestBuffers {
        pub count: u32,
        pub kind: u32,
        pub memory: u32,
        pub capabilities: u32,
        pub flags: u8,
        pub reserved: [u8; 3],
    }

    #[repr(C)]
    #[derive(Default)]
    pub struct Timecode {
        pub kind: u32,
        pub flags: u32,
        pub frames: u8,
        pub seconds: u8,
        pub minutes: u8,
        pub hours: u8,
        pub userbits: [u8; 4],
    }

    /// `struct v4l2_buffer` (88 bytes on 64-bit Linux).
    #[repr(C)]
    #[derive(Default)]
    pub struct Buffer {
        pub index: u32,
        pub kind: u32,
        pub bytesused: u32,
        pub flags: u32,
        pub field: u32,
        /// `struct timeval`: seconds and microseconds.
        pub timestamp: [i64; 2],
        pub timecode: Timecode,
        pub sequence: u32,
        pub memory: u32,
        /// The union `m`: for MMAP buffers, the offset to map in its first 4 bytes.
        pub m: u64,
        pub length: u32,
        pub reserved2: u32,
        pub request_fd: i32,
    }

    impl Buffer {
        pub fn mmap_capture(index: u32) -> Self {
            Self {
                index,
                kind: BUF_TYPE_VIDEO_CAPTURE,
                memory: MEMORY_MMAP,
                ..Default::default()
            }
        }

        /// `m.offset` (a u32 at the union's start; little-endian targets).
        pub fn offset(&self) -> u32 {
            self.m as u32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_layouts_match_the_kernel() {
        assert_eq!(std::mem::size_of::<sys::Capability>(), 104);
        assert_eq!(std::mem::size_of::<sys::FormatDescription>(), 64);
        assert_eq!(std::mem::size_of::<sys::Format>(), 208);
        assert_eq!(std::mem::size_of::<sys::PixFormat>(), 48);
        assert_eq!(std::mem::size_of::<sys::RequestBuffers>(), 20);
        assert_eq!(std::mem::size_of::<sys::Buffer>(), 88);
        // The request codes carry the struct sizes (bits 16..30).
        let size = |request: libc::c_ulong| (request >> 16) & 0x3fff;
        assert_eq!(size(sys::VIDIOC_QUERYCAP), 104);
        assert_eq!(size(sys::VIDIOC_ENUM_FMT), 64);
        assert_eq!(size(sys::VIDIOC_S_FMT), 208);
        assert_eq!(size(sys::VIDIOC_REQBUFS), 20);
        assert_eq!(size(sys::VIDIOC_DQBUF), 88);
    }

    #[test]
    fn webcam_urls_name_devices() {
        assert_eq!(device_path("0"), Some(PathBuf::from("/dev/video0")));
        assert_eq!(device_path(" 12 "), Some(PathBuf::from("/dev/video12")));
        assert_eq!(
            device_path("/dev/video2"),
            Some(PathBuf::from("/dev/video2"))
        );
        assert_eq!(device_path("rtsp://cam/0"), None);
        assert_eq!(device_path(""), None);
    }

    #[test]
    fn yuyv_converts_to_the_right_colours() {
        // Two pixels a macropixel: white and black (Y 235 / 16, no chroma), then a red pair.
        let red = [81u8, 90, 81, 240];
        let mut data = vec![235, 128, 16, 128];
        data.extend_from_slice(&red);
        // Padding at the end of each line (bytes per line 12 for 4 pixels).
        data.extend_from_slice(&[0; 4]);
        let image = yuyv_to_rgb(4, 1, 12, &data).unwrap();
        assert_eq!(image.get_pixel(0, 0).0, [255, 255, 255]);
        assert_eq!(image.get_pixel(1, 0).0, [0, 0, 0]);
        let [r, g, b] = image.get_pixel(2, 0).0;
        assert!(r > 240 && g < 15 && b < 15, "red, got {r} {g} {b}");
        let error = yuyv_to_rgb(4, 2, 8, &data[..8]).unwrap_err();
        assert!(error.contains("needs 16 bytes"), "{error}");
    }

    #[test]
    fn mjpeg_frames_decode_and_garbage_is_an_error() {
        let mut jpeg = Vec::new();
        RgbImage::from_pixel(32, 16, image::Rgb([200, 40, 40]))
            .write_to(
                &mut std::io::Cursor::new(&mut jpeg),
                image::ImageFormat::Jpeg,
            )
            .unwrap();
        let image = to_rgb(PixelFormat::Mjpeg, 32, 16, 0, &jpeg).unwrap();
        assert_eq!(image.dimensions(), (32, 16));
        assert!(image.get_pixel(4, 4).0[0] > 150);
        let error = to_rgb(PixelFormat::Mjpeg, 32, 16, 0, b"not a jpeg").unwrap_err();
        assert!(error.contains("Motion-JPEG"), "{error}");
    }

    #[test]
    fn a_missing_device_is_a_clear_error() {
        let error = WebcamSource::open(
            Path::new("/dev/video987"),
            Duration::from_secs(1),
            Duration::from_secs(1),
        )
        .err()
        .expect("no such device")
        .to_string();
        assert!(error.contains("no webcam /dev/video987"), "{error}");
    }

    #[test]
    fn a_file_that_is_not_a_device_is_a_clear_error() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let error = WebcamSource::open(file.path(), Duration::from_secs(1), Duration::from_secs(1))
            .err()
            .expect("not a V4L2 device")
            .to_string();
        assert!(error.contains("is not a Video4Linux2 device"), "{error}");
    }
}
