//! The capture device itself: opening a V4L2 node, checking what it is and what it offers,
//! setting its format, mapping its buffers, and the capture thread's loop that converts due
//! frames and hands every buffer back to the driver.

use std::{
    ffi::CString,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    path::{Path, PathBuf},
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant, SystemTime},
};

use super::{
    STOP_POLL, WEBCAM_BUFFERS, WEBCAM_SIZE,
    formats::{PixelFormat, fourcc_text, to_rgb},
    v4l2,
};
use crate::source::{Frame, SourceError};

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
pub(super) struct Capture {
    device: PathBuf,
    fd: OwnedFd,
    pub(super) format: PixelFormat,
    pub(super) width: u32,
    pub(super) height: u32,
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
            // layouts in `v4l2` are checked against the kernel's sizes by tests).
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

    pub(super) fn open(device: &Path) -> Result<Self, SourceError> {
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

        let mut capability = v4l2::Capability::default();
        capture
            .ioctl(v4l2::VIDIOC_QUERYCAP, &mut capability)
            .map_err(|e| {
                SourceError::Unsupported(format!(
                    "{} is not a Video4Linux2 device ({e})",
                    device.display()
                ))
            })?;
        let caps = if capability.capabilities & v4l2::CAP_DEVICE_CAPS != 0 {
            capability.device_caps
        } else {
            capability.capabilities
        };
        let card = String::from_utf8_lossy(&capability.card)
            .trim_end_matches('\0')
            .to_owned();
        if caps & v4l2::CAP_VIDEO_CAPTURE == 0 {
            return Err(SourceError::Unsupported(format!(
                "{} ({card}) captures no video; USB cameras often have a second node for \
                 metadata: try the next /dev/video number",
                device.display()
            )));
        }
        if caps & v4l2::CAP_STREAMING == 0 {
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
        let mut requested = v4l2::Format::capture(format.fourcc(), WEBCAM_SIZE.0, WEBCAM_SIZE.1);
        capture
            .ioctl(v4l2::VIDIOC_S_FMT, &mut requested)
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

        let mut request = v4l2::RequestBuffers {
            count: WEBCAM_BUFFERS,
            kind: v4l2::BUF_TYPE_VIDEO_CAPTURE,
            memory: v4l2::MEMORY_MMAP,
            ..Default::default()
        };
        capture
            .ioctl(v4l2::VIDIOC_REQBUFS, &mut request)
            .map_err(connect)?;
        if request.count == 0 {
            return Err(SourceError::Connect(format!(
                "{} gave no capture buffers",
                device.display()
            )));
        }
        for index in 0..request.count {
            let mut buffer = v4l2::Buffer::mmap_capture(index);
            capture
                .ioctl(v4l2::VIDIOC_QUERYBUF, &mut buffer)
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
                .ioctl(v4l2::VIDIOC_QBUF, &mut buffer)
                .map_err(connect)?;
        }
        let mut kind = v4l2::BUF_TYPE_VIDEO_CAPTURE as libc::c_int;
        capture
            .ioctl(v4l2::VIDIOC_STREAMON, &mut kind)
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
            let mut description = v4l2::FormatDescription {
                index,
                kind: v4l2::BUF_TYPE_VIDEO_CAPTURE,
                ..Default::default()
            };
            match self.ioctl(v4l2::VIDIOC_ENUM_FMT, &mut description) {
                Ok(()) => formats.push(description.pixelformat),
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(formats)
    }

    /// Waits up to `timeout` for a filled buffer; `None` when none came.
    fn dequeue(&self, timeout: Duration) -> std::io::Result<Option<v4l2::Buffer>> {
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
        let mut buffer = v4l2::Buffer::mmap_capture(0);
        match self.ioctl(v4l2::VIDIOC_DQBUF, &mut buffer) {
            Ok(()) => Ok(Some(buffer)),
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The capture loop: hands due frames to `sender` until the source is dropped or the
    /// device fails.
    pub(super) fn run(
        &mut self,
        sample_interval: super::super::Pace,
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
            let due = last_sent.is_none_or(|t| now >= t + sample_interval.interval());
            let corrupted = buffer.flags & v4l2::BUF_FLAG_ERROR != 0;
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
            if let Err(error) = self.ioctl(v4l2::VIDIOC_QBUF, &mut buffer) {
                let _ =
                    sender.try_send(Err(SourceError::Connect(errno_text(&error, &self.device))));
                return;
            }
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let mut kind = v4l2::BUF_TYPE_VIDEO_CAPTURE as libc::c_int;
        let _ = self.ioctl(v4l2::VIDIOC_STREAMOFF, &mut kind);
        // The buffers are unmapped, then the descriptor closed, as the fields drop.
        self.buffers.clear();
    }
}
