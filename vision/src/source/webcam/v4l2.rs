//! The few Video4Linux2 definitions hadir uses (from `linux/videodev2.h`, 64-bit layouts):
//! the ioctl request codes, the flags and the structs they take, checked against the
//! kernel's sizes by the tests below.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_layouts_match_the_kernel() {
        assert_eq!(std::mem::size_of::<Capability>(), 104);
        assert_eq!(std::mem::size_of::<FormatDescription>(), 64);
        assert_eq!(std::mem::size_of::<Format>(), 208);
        assert_eq!(std::mem::size_of::<PixFormat>(), 48);
        assert_eq!(std::mem::size_of::<RequestBuffers>(), 20);
        assert_eq!(std::mem::size_of::<Buffer>(), 88);
        // The request codes carry the struct sizes (bits 16..30).
        let size = |request: libc::c_ulong| (request >> 16) & 0x3fff;
        assert_eq!(size(VIDIOC_QUERYCAP), 104);
        assert_eq!(size(VIDIOC_ENUM_FMT), 64);
        assert_eq!(size(VIDIOC_S_FMT), 208);
        assert_eq!(size(VIDIOC_REQBUFS), 20);
        assert_eq!(size(VIDIOC_DQBUF), 88);
    }
}
