#!/usr/bin/env bash
# Runs `hadir camera check 0` against a real Video4Linux2 device: the kernel's virtual video
# test driver (vivid, a webcam with a colour-bar test pattern) in a small virtual machine,
# since the machines tests run on have no camera and cannot load kernel modules.
#
#   tests/webcam/vivid_vm.sh HADIR_BINARY OUT_DIR
#
# Debian's kernel package (which ships vivid.ko) and busybox-static are fetched with
# `apt-get download` into $HADIR_CACHE_DIR/vivid-vm (default ~/.cache/hadir) once; the VM
# boots that kernel with an initramfs holding busybox, the media modules, HADIR_BINARY and
# the libraries it links, under qemu-system-x86_64 (scripts/install-test-deps installs it),
# emulated: no KVM needed. Inside, /init loads vivid and runs
#   hadir camera check 0 --frames 3 --interval 0.5 --save /frame.png
# then prints the saved frame as base64 between markers; then it runs `hadir serve` with the
# webcam as camera DESK and prints the camera's status (GraphQL) and its snapshot.jpg. This
# script writes the VM's console to OUT_DIR/console.log, the frame to OUT_DIR/frame.png and
# the snapshot to OUT_DIR/snapshot.jpg, and exits 0 when the VM said the check passed (the
# Rust test that calls it checks the status and both images' pixels).
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 HADIR_BINARY OUT_DIR" >&2; exit 2; }
HADIR_BINARY="$(readlink -f "$1")"
OUT="$2"
die() { echo "vivid_vm: $*" >&2; exit 1; }
[ -x "$HADIR_BINARY" ] || die "$HADIR_BINARY is not an executable"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found (run scripts/install-test-deps)"
mkdir -p "$OUT"
OUT="$(readlink -f "$OUT")"

CACHE="${HADIR_CACHE_DIR:-$HOME/.cache/hadir}/vivid-vm"
mkdir -p "$CACHE"
cd "$CACHE"

# The kernel package linux-image-amd64 points at, and busybox-static: fetched and unpacked once.
KERNEL_PACKAGE="$(apt-cache depends linux-image-amd64 2>/dev/null \
  | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')"
[ -n "$KERNEL_PACKAGE" ] || die "apt-cache names no kernel for linux-image-amd64 (apt-get update?)"
for package in "$KERNEL_PACKAGE" busybox-static; do
  if [ ! -f "$package.unpacked" ]; then
    rm -rf "$package" ./*.deb
    apt-get download "$package" >/dev/null 2>&1 || die "apt-get download $package failed"
    mkdir -p "$package"
    dpkg-deb -x ./*.deb "$package"
    rm -f ./*.deb
    touch "$package.unpacked"
  fi
done
KERNEL_ROOT="$CACHE/$KERNEL_PACKAGE"
VMLINUZ="$(ls "$KERNEL_ROOT"/boot/vmlinuz-* | head -n1)"
MODULES="$(ls -d "$KERNEL_ROOT"/lib/modules/* | head -n1)"
RELEASE="$(basename "$MODULES")"
[ -f "$VMLINUZ" ] || die "no kernel in $KERNEL_PACKAGE"

# vivid and what it depends on, in load order (each module's `depends=` in its .modinfo; the
# package ships no modules.dep, which depmod would make at install time).
module_file() {
  local name="$1" found
  found="$(find "$MODULES/kernel" \( -name "$name.ko*" -o -name "${name//_/-}.ko*" \) | head -n1)"
  [ -n "$found" ] || die "module $name is not in $RELEASE"
  echo "$found"
}
module_chain() {
  local file dep
  file="$(module_file "$1")"
  for dep in $(decompress "$file" | tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '); do
    module_chain "$dep"
  done
  echo "$file"
}
decompress() {
  case "$1" in
    *.xz) xz -dc "$1" ;;
    *.zst) zstd -qdc "$1" ;;
    *) cat "$1" ;;
  esac
}
LOAD_ORDER="$(module_chain vivid | awk '!seen[$0]++')"

ROOT="$(mktemp -d)"
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT"/{bin,dev,proc,sys,tmp,modules,lib,lib64}
cp "$CACHE/busybox-static/bin/busybox" "$ROOT/bin/busybox"
for tool in sh mount insmod ls cat base64 poweroff sleep echo mkdir dmesg ifconfig wget seq tail; do
  ln -s busybox "$ROOT/bin/$tool"
done
: > "$ROOT/modules/order"
for module in $LOAD_ORDER; do
  file="$(basename "$module")"; file="${file%.xz}"; file="${file%.zst}"
  decompress "$module" > "$ROOT/modules/$file"
  echo "$file" >> "$ROOT/modules/order"
done

# hadir and the shared libraries it links, at the same paths.
cp "$HADIR_BINARY" "$ROOT/bin/hadir"
ldd "$HADIR_BINARY" | awk '/=> \// { print $3 } $1 ~ /^\// { print $1 }' | while read -r lib; do
  mkdir -p "$ROOT$(dirname "$lib")"
  cp -L "$lib" "$ROOT$lib"
done

cat > "$ROOT/init" <<'EOF'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules/order); do
  insmod "/modules/$m" || echo "VIVID-VM: insmod $m failed"
done
for i in 1 2 3 4 5 6 7 8 9 10; do [ -e /dev/video0 ] && break; sleep 0.5; done
ls /dev/video* || echo "VIVID-VM: no /dev/video device"
if /bin/hadir camera check 0 --frames 3 --interval 0.5 --save /tmp/frame.png; then
  echo "VIVID-VM-FRAME-BEGIN"
  base64 /tmp/frame.png
  echo "VIVID-VM-FRAME-END"
  echo "VIVID-VM-RESULT: PASS"
else
  echo "VIVID-VM-RESULT: FAIL"
fi
# The server with the webcam as a camera (no face models in here: recognition is off, the
# camera task runs): its status, and its snapshot over HTTP.
ifconfig lo 127.0.0.1 up
mkdir -p /cams /tmp/hadir
echo '{"id": "DESK", "name": "Desk webcam", "rtsp_url": "0", "fps": 1}' > /cams/desk.json
HOME=/tmp HADIR_CACHE_DIR=/tmp/hadir/cache HADIR_DATABASE_URL='sqlite:///tmp/hadir/hadir.sqlite?mode=rwc' \
  HADIR_LISTEN=127.0.0.1:8080 HADIR_ADMIN_TOKEN=vm-token HADIR_CAMERA_CONFIGS=/cams \
  /bin/hadir serve > /tmp/serve.log 2>&1 &
for i in $(seq 90); do
  wget -q -O /tmp/snapshot.jpg --header 'Authorization: Bearer vm-token' "http://127.0.0.1:8080/cameras/DESK/snapshot.jpg" && break
  rm -f /tmp/snapshot.jpg
  sleep 1
done
echo "VIVID-VM-CAMERA: $(wget -q -O - --header 'Authorization: Bearer vm-token' \
  --header 'Content-Type: application/json' \
  --post-data '{"query":"{ camera(cameraId: \"DESK\") { status lastFrameAt statusMessage } }"}' \
  http://127.0.0.1:8080/graphql)"
if [ -s /tmp/snapshot.jpg ]; then
  echo "VIVID-VM-SNAPSHOT-BEGIN"
  base64 /tmp/snapshot.jpg
  echo "VIVID-VM-SNAPSHOT-END"
else
  echo "VIVID-VM: no snapshot; the server's log:"
  tail -n 30 /tmp/serve.log
fi
poweroff -f
EOF
chmod +x "$ROOT/init"
(cd "$ROOT" && find . | cpio -o -H newc --quiet) > "$OUT/initramfs.cpio"

# Emulated (TCG), not KVM: boots in seconds, and KVM inside this kind of sandboxed machine was
# seen to spin without ever starting the kernel.
timeout 300 qemu-system-x86_64 -accel tcg -cpu max -m 2048 -nographic -no-reboot \
  -kernel "$VMLINUZ" -initrd "$OUT/initramfs.cpio" \
  -append "console=ttyS0 panic=-1 quiet loglevel=3" \
  < /dev/null > "$OUT/console.log" 2>&1 || true
rm -f "$OUT/initramfs.cpio"
tr -d '\r' < "$OUT/console.log" > "$OUT/console.txt"
# What the VM printed between BEGIN and END markers, decoded into a file.
extract() {
  sed -n "/^VIVID-VM-$1-BEGIN\$/,/^VIVID-VM-$1-END\$/p" "$OUT/console.txt" \
    | sed '1d;$d' | base64 -d > "$OUT/$2" 2>/dev/null || true
}
extract FRAME frame.png
extract SNAPSHOT snapshot.jpg
grep -q '^VIVID-VM-RESULT: PASS' "$OUT/console.txt" \
  || die "the check in the VM did not pass; see $OUT/console.log"
echo "vivid_vm: hadir read the vivid webcam in the VM; frame in $OUT/frame.png"
