#!/usr/bin/env bash
# Builds the camera test videos from the cached face photos with ffmpeg.
#
#   tests/camera_fixtures/make_videos.sh [--force] OUT_DIR
#
# Photos: $HADIR_CACHE_DIR/photos (default ~/.cache/hadir/photos), fetched and checksummed by
# `python3 models/fetch.py --only photo`. Needs ffmpeg with libx264 (scripts/install-test-deps).
#
# Every video: H.264 constrained baseline profile (no B-frames), 25 fps, a key frame every 25
# frames exactly (GOP 25, no scene-cut key frames), yuv420p, CRF 28, MP4 with timestamps, no audio.
#   enrolled_then_empty_then_stranger.mp4  1280x720, 24 s: 0-8 s obama2.jpg (face ~300 px tall),
#                                          8-16 s empty grey scene, 16-24 s biden.jpg (~300 px)
#   enrolled_then_empty_then_stranger_jpg/ the same 24 s as 120 JPEGs at 5 fps (0001.jpg ...),
#                                          for mjpeg_server.py --dir ... --fps 5
#   empty.mp4                              1280x720, 10 s empty grey scene
#   office_1080p.mp4                       1920x1080, 60 s: a still synthetic office with people
#                                          (the photos as head-and-shoulders, faces 120-250 px)
#                                          present for a few seconds, then gone
#   office_1080p.schedule.tsv              when and where each face is in office_1080p.mp4
#   office_day_1080p.mp4                   1920x1080, 60 s: the same office on a working day: three
#                                          people at their desks throughout (faces 110-130 px),
#                                          two walking past once each
#   walk_across.mp4                        1280x720, 12 s: obama2.jpg (face 150 px) walks from the
#                                          left edge to the right in 8 s, then nobody
#   crossing.mp4                           1280x720, 12 s: obama3.jpg walks right, grace_hopper.jpg
#                                          left, crossing (she covers him) at about 5.5 s
#   *.schedule.tsv                         when and where each face is in each of the videos above
# Segment boundaries fall on key frames (8 s = frame 200 = 8 GOPs).
#
# Outputs are written under temporary names and renamed into place. When OUT_DIR already holds
# every output made by this same script (same SHA-256, in OUT_DIR/.make_videos.stamp), nothing
# is rebuilt; --force rebuilds anyway.
set -euo pipefail

usage() { echo "usage: $0 [--force] OUT_DIR" >&2; exit 2; }
FORCE=0
OUT=""
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    -*) usage ;;
    *) [ -z "$OUT" ] || usage; OUT="$arg" ;;
  esac
done
[ -n "$OUT" ] || usage

die() { echo "make_videos: $*" >&2; exit 1; }
command -v ffmpeg >/dev/null || die "ffmpeg not found (run scripts/install-test-deps)"
case "$(ffmpeg -hide_banner -encoders 2>/dev/null)" in *libx264*) ;; *) die "this ffmpeg has no libx264" ;; esac

PHOTOS="${HADIR_CACHE_DIR:-$HOME/.cache/hadir}/photos"
for p in obama.jpg obama2.jpg obama3.jpg biden.jpg astronaut.png grace_hopper.jpg; do
  [ -f "$PHOTOS/$p" ] || die "missing $PHOTOS/$p (run: python3 models/fetch.py --only photo)"
done

OUTPUTS=(enrolled_then_empty_then_stranger.mp4 enrolled_then_empty_then_stranger_jpg/0120.jpg
         empty.mp4 office_1080p.mp4 office_1080p.schedule.tsv office_day_1080p.mp4 walk_across.mp4
         crossing.mp4)
mkdir -p "$OUT"
STAMP="$OUT/.make_videos.stamp"
SELF_SHA=$(sha256sum "$0" | cut -d' ' -f1)
if [ "$FORCE" = 0 ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$SELF_SHA" ]; then
  all=1
  for o in "${OUTPUTS[@]}"; do [ -s "$OUT/$o" ] || all=0; done
  if [ "$all" = 1 ]; then echo "make_videos: $OUT is up to date"; exit 0; fi
fi
rm -f "$STAMP"

WORK=$(mktemp -d "$OUT/.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Encoder settings shared by every video.
X264=(-c:v libx264 -preset fast -profile:v baseline -bf 0 -g 25 -keyint_min 25 -sc_threshold 0
      -crf 28 -pix_fmt yuv420p -r 25 -an -movflags +faststart)
FF=(ffmpeg -hide_banner -nostdin -loglevel error -y)
GREY=0x808080
# A photo decoded once and repeated as a 25 fps stream (`-loop 1` would decode it per frame:
# 2.7x slower).
STILL="loop=loop=-1:size=1:start=0,setpts=N/25/TB"

now() { date +%s%3N; }  # milliseconds
T_ALL=$(now)
report() { # name start
  printf 'make_videos: %-42s %9s bytes  %s s\n' "$1" "$(stat -c %s "$OUT/$1")" "$(secs "$2")"
}
secs() { local ms=$(( $(now) - $1 )); printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100)); }

# (a) 8 s obama2, 8 s empty, 8 s biden. Crops (source pixels) keep head and shoulders and are
# scaled to 720 px high so that the face (MTCNN box) is ~300 px tall, centred on grey.
t=$(now)
"${FF[@]}" -f lavfi -i "color=c=$GREY:s=1280x720:r=25:d=24" \
  -i "$PHOTOS/obama2.jpg" -i "$PHOTOS/biden.jpg" \
  -filter_complex "[1:v]crop=626:1022:0:0,scale=-2:720,format=yuv420p,$STILL[a];
    [2:v]crop=970:938:0:0,scale=-2:720,format=yuv420p,$STILL[b];
    [0:v][a]overlay=x=(W-w)/2:y=(H-h)/2:enable='lt(t,8)'[v1];
    [v1][b]overlay=x=(W-w)/2:y=(H-h)/2:enable='gte(t,16)',format=yuv420p[v]" \
  -map '[v]' -frames:v 600 "${X264[@]}" "$WORK/a.mp4"
mv "$WORK/a.mp4" "$OUT/enrolled_then_empty_then_stranger.mp4"
report enrolled_then_empty_then_stranger.mp4 "$t"

t=$(now)
mkdir -p "$WORK/jpg"
"${FF[@]}" -i "$OUT/enrolled_then_empty_then_stranger.mp4" -vf fps=5 -q:v 5 "$WORK/jpg/%04d.jpg"
rm -rf "$OUT/enrolled_then_empty_then_stranger_jpg"
mv "$WORK/jpg" "$OUT/enrolled_then_empty_then_stranger_jpg"
printf 'make_videos: %-42s %9s bytes  %s s\n' "enrolled_then_empty_then_stranger_jpg/ ($(ls "$OUT/enrolled_then_empty_then_stranger_jpg" | wc -l) files)" \
  "$(du -sb "$OUT/enrolled_then_empty_then_stranger_jpg" | cut -f1)" "$(secs "$t")"

# (b) 10 s of the empty grey scene.
t=$(now)
"${FF[@]}" -f lavfi -i "color=c=$GREY:s=1280x720:r=25:d=10" -frames:v 250 "${X264[@]}" "$WORK/b.mp4"
mv "$WORK/b.mp4" "$OUT/empty.mp4"
report empty.mp4 "$t"

# (c) 60 s office at 1080p. A still synthetic background (wall with lighting gradient, door,
# whiteboard, window, floor, two desks with monitors, a plant; faint static grain), no faces.
t=$(now)
"${FF[@]}" -f lavfi -i "color=c=0xcfc6b4:s=1920x1080:d=1,format=rgb24" -frames:v 1 -vf "
geq=r='r(X,Y)*(0.80+0.25*(1-Y/H))*(0.9+0.15*X/W)':g='g(X,Y)*(0.80+0.25*(1-Y/H))*(0.9+0.15*X/W)':b='b(X,Y)*(0.80+0.25*(1-Y/H))*(0.9+0.12*X/W)',
drawbox=x=0:y=760:w=1920:h=320:color=0x6b6259:t=fill,
drawbox=x=0:y=752:w=1920:h=10:color=0x4a443e:t=fill,
drawbox=x=1380:y=110:w=460:h=420:color=0x9fc3d8:t=fill,
drawbox=x=1380:y=110:w=460:h=420:color=0xe8e8e8:t=14,
drawbox=x=1603:y=110:w=14:h=420:color=0xe8e8e8:t=fill,
drawbox=x=1380:y=313:w=460:h=14:color=0xe8e8e8:t=fill,
drawbox=x=80:y=180:w=260:h=560:color=0x8a6a4a:t=fill,
drawbox=x=80:y=180:w=260:h=560:color=0x5e4630:t=8,
drawbox=x=300:y=460:w=16:h=40:color=0xc8b070:t=fill,
drawbox=x=560:y=220:w=300:h=200:color=0xf2f2ee:t=fill,
drawbox=x=560:y=220:w=300:h=200:color=0x707070:t=6,
drawbox=x=600:y=260:w=120:h=8:color=0x3060a0:t=fill,
drawbox=x=600:y=290:w=200:h=8:color=0xa04040:t=fill,
drawbox=x=600:y=320:w=160:h=8:color=0x40a060:t=fill,
drawbox=x=200:y=820:w=700:h=40:color=0x3a3a3c:t=fill,
drawbox=x=230:y=860:w=24:h=220:color=0x2a2a2c:t=fill,
drawbox=x=846:y=860:w=24:h=220:color=0x2a2a2c:t=fill,
drawbox=x=380:y=640:w=260:h=170:color=0x18181a:t=fill,
drawbox=x=395:y=652:w=230:h=140:color=0x2c3e50:t=fill,
drawbox=x=495:y=810:w=30:h=12:color=0x18181a:t=fill,
drawbox=x=1100:y=840:w=720:h=40:color=0x3a3a3c:t=fill,
drawbox=x=1130:y=880:w=24:h=200:color=0x2a2a2c:t=fill,
drawbox=x=1766:y=880:w=24:h=200:color=0x2a2a2c:t=fill,
drawbox=x=1250:y=680:w=280:h=160:color=0x18181a:t=fill,
drawbox=x=1264:y=692:w=252:h=132:color=0x1f3040:t=fill,
drawbox=x=1000:y=600:w=70:h=150:color=0x3c6e3c:t=fill,
drawbox=x=1010:y=750:w=50:h=60:color=0x7a4a2a:t=fill,
noise=alls=6:allf=u,gblur=sigma=1.2" "$WORK/bg.png"

# Head-and-shoulders crop of each photo (source pixels) and the height of the face's MTCNN box
# inside that crop, so a sprite can be scaled to a given face height.
declare -A CROP=(
  [obama.jpg]=498:695:242:0        [obama2.jpg]=588:894:38:83     [obama3.jpg]=586:760:480:141
  [biden.jpg]=601:821:267:50       [astronaut.png]=185:240:131:25 [grace_hopper.jpg]=364:445:82:33
)
declare -A FACE_H=(
  [obama.jpg]=340 [obama2.jpg]=426 [obama3.jpg]=362 [biden.jpg]=391 [astronaut.png]=114
  [grace_hopper.jpg]=212
)
# compose NAME WIDTH HEIGHT SECONDS ROW...: the background scaled to WIDTHxHEIGHT with each
# ROW's sprite on it, written to $OUT/NAME, and when and where each is to $OUT/NAME's
# .schedule.tsv. A ROW is "start_s end_s photo face_px x_at_start x_at_end y" (the sprite's
# top-left corner; x moves linearly from x_at_start to x_at_end: someone walking by). Rows
# drawn later cover earlier ones where they overlap (nearer the camera).
compose() {
  local name=$1 width=$2 height=$3 secs=$4; shift 4
  local inputs=(-i "$WORK/bg.png")
  local graph="[0:v]scale=$width:$height,format=yuv420p,$STILL[s0];"
  local tsv=$'start_s\tend_s\tphoto\tface_px\tsprite_w\tsprite_h\tx_start\tx_end\ty\n'
  local i=0 row start end photo face x0 x1 y sh sw sprite
  for row in "$@"; do
    read -r start end photo face x0 x1 y <<<"$row"
    i=$((i + 1))
    sh=${CROP[$photo]#*:}; sh=${sh%%:*}; sh=$(( (face * sh / ${FACE_H[$photo]} + 1) / 2 * 2 ))
    sprite="$WORK/${name%.mp4}-sprite$i.png"
    # Soft elliptical alpha: a bust rather than a rectangle of photo background.
    "${FF[@]}" -i "$PHOTOS/$photo" -frames:v 1 -vf "crop=${CROP[$photo]},scale=-2:$sh,format=rgba,
      geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='255*clip((1-hypot((X-W/2)/(W/2),(Y-H*0.52)/(H*0.52)))/0.12,0,1)'" \
      "$sprite"
    sw=$(ffprobe -v error -select_streams v:0 -show_entries stream=width -of csv=p=0 "$sprite")
    inputs+=(-i "$sprite")
    graph+="[$i:v]format=yuva420p,$STILL[p$i];[s$((i - 1))][p$i]overlay=x='$x0+($x1-($x0))*(t-$start)/($end-$start)':y=$y:enable='between(t,$start,$end)'[s$i];"
    tsv+="$start"$'\t'"$end"$'\t'"$photo"$'\t'"$face"$'\t'"$sw"$'\t'"$sh"$'\t'"$x0"$'\t'"$x1"$'\t'"$y"$'\n'
  done
  graph+="[s$i]format=yuv420p[v]"
  "${FF[@]}" "${inputs[@]}" -filter_complex "$graph" -map '[v]' -frames:v $((secs * 25)) "${X264[@]}" "$WORK/$name"
  mv "$WORK/$name" "$OUT/$name"
  printf '%s' "$tsv" > "$OUT/${name%.mp4}.schedule.tsv"
}

# Who appears when in the office: start_s end_s photo face_px x_at_start x_at_end y.
SCHEDULE=(
  "3 9 obama.jpg 200 250 700 240"
  "12 17 biden.jpg 150 1300 1300 380"
  "20 26 grace_hopper.jpg 250 1450 1000 160"
  "29 34 obama3.jpg 120 880 880 430"
  "37 43 obama2.jpg 180 380 620 300"
  "38 44 biden.jpg 130 1480 1380 400"
  "47 52 astronaut.png 160 1050 1050 330"
  "55 58.5 obama.jpg 220 650 800 200"
)
compose office_1080p.mp4 1920 1080 60 "${SCHEDULE[@]}"
report office_1080p.mp4 "$t"

# (c2) An office day at 1080p, 60 s: three people at their desks the whole time (still, as
# people sit), two others walking past once each.
t=$(now)
compose office_day_1080p.mp4 1920 1080 60 \
  "0 60 obama3.jpg 120 430 430 470" \
  "0 60 grace_hopper.jpg 130 1300 1300 500" \
  "0 60 astronaut.png 110 1000 1000 420" \
  "14 20 biden.jpg 160 1550 800 260" \
  "38 44 obama2.jpg 170 150 900 240"
report office_day_1080p.mp4 "$t"

# (d) One person walking across a 720p frame: obama2, face 150 px, from the left edge to the
# right in 8 s (150 px a second), then nobody for 3 s.
t=$(now)
compose walk_across.mp4 1280 720 12 "1 9 obama2.jpg 150 -60 1140 180"
report walk_across.mp4 "$t"

# (e) Two people crossing each other on a 720p frame: obama3 walking right, Grace Hopper
# walking left (nearer the camera: she covers him as they pass, at about 5.5 s), then nobody.
t=$(now)
compose crossing.mp4 1280 720 12 \
  "1 10 obama3.jpg 140 60 1000 230" \
  "1 10 grace_hopper.jpg 170 1020 80 190"
report crossing.mp4 "$t"

echo "$SELF_SHA" > "$STAMP"
echo "make_videos: all done in $(secs "$T_ALL") s"
