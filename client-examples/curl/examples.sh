#!/usr/bin/env bash
# hadir's GraphQL API with curl (and jq): queries, mutations, notifications, a multipart
# photo upload (enrollFace) and the attendance CSV.
#
#   HADIR_URL=http://127.0.0.1:8080 HADIR_TOKEN=<admin token> ./examples.sh
#
# It creates (or updates) two demo employees, demo-ana and demo-budi, and reports a sighting
# of demo-ana, so run it against a server you are trying out. It stops at the first GraphQL
# error, saying what failed. HADIR_PHOTO names the photo to enrol (default: the test photo
# ~/.cache/hadir/photos/obama.jpg that models/fetch.py caches); without a photo, or with
# recognition stopped on the server, the enrolment is skipped with the reason.
set -euo pipefail

HADIR_URL="${HADIR_URL:-http://127.0.0.1:8080}"
HADIR_URL="${HADIR_URL%/}"
: "${HADIR_TOKEN:?set HADIR_TOKEN to an admin token (hadir token create --role admin)}"
HADIR_PHOTO="${HADIR_PHOTO:-${HADIR_CACHE_DIR:-$HOME/.cache/hadir}/photos/obama.jpg}"
for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "error: $tool is needed (apt-get install $tool)" >&2; exit 2; }
done

step() { printf '\n==> %s\n' "$*"; }

# Fails with the server's message when a response is not JSON or carries GraphQL errors;
# otherwise prints `.data`.
check() { # check WHAT RESPONSE
  local what=$1 response=$2
  if ! jq -e 'type == "object"' >/dev/null 2>&1 <<<"$response"; then
    echo "error: $what: not a GraphQL response: ${response:0:300}" >&2
    exit 1
  fi
  if jq -e '(.errors // []) | length > 0' >/dev/null <<<"$response"; then
    echo "error: $what failed:" >&2
    jq -r '.errors[] | "  \(.message) [\(.extensions.code // "no code")\(if .extensions.field then ", field " + .extensions.field else "" end)]"' <<<"$response" >&2
    exit 1
  fi
  jq '.data' <<<"$response"
}

# gql QUERY [VARIABLES-JSON]: one GraphQL request over HTTP, with the token in the header.
gql() {
  local body response variables=${2:-}
  body=$(jq -nc --arg query "$1" --argjson variables "${variables:-null}" '{query: $query, variables: $variables}')
  response=$(curl -sS "$HADIR_URL/graphql" \
    -H "Authorization: Bearer $HADIR_TOKEN" \
    -H 'Content-Type: application/json' \
    --data-binary "$body") || { echo "error: cannot reach $HADIR_URL/graphql" >&2; exit 1; }
  check "$(head -c 60 <<<"$1" | tr -s ' \n' ' ')…" "$response"
}

step "Who am I, the server's time, whether recognition runs, the summary counts"
gql '{ me { role } serverTime aiStatus { running state message } presenceSummary { present alert unavailable total } }'

step "Cameras (stream credentials are *** for non-admins)"
cameras=$(gql '{ cameras { cameraId name status isActive lastFrameAt streamUrl } }')
jq -c '.cameras[]' <<<"$cameras"
camera_id=$(jq -r '.cameras[0].cameraId // empty' <<<"$cameras")
if [ -z "$camera_id" ]; then
  step "No camera yet: creating demo-cam (createCamera)"
  gql 'mutation($input: CameraInput!) { createCamera(input: $input) { cameraId name status } }' \
    '{"input": {"cameraId": "demo-cam", "name": "Demo camera", "streamUrl": "rtsp://127.0.0.1:8554/demo", "enabled": false}}'
  camera_id=demo-cam
fi

# Creates an employee, or updates it when the id exists already (so the script can run twice).
upsert_employee() { # upsert_employee ID NAME DEPARTMENT ROLE
  local exists
  exists=$(gql 'query($id: ID!) { employee(employeeId: $id) { employeeId } }' "$(jq -nc --arg id "$1" '{id: $id}')")
  if jq -e '.employee == null' >/dev/null <<<"$exists"; then
    step "Creating employee $1 (createEmployee)"
    gql 'mutation($input: EmployeeInput!) { createEmployee(input: $input) { employeeId name department role presence { status } } }' \
      "$(jq -nc --arg id "$1" --arg name "$2" --arg dep "$3" --arg role "$4" \
        '{input: {employeeId: $id, name: $name, department: $dep, role: $role}}')"
  else
    step "Updating employee $1 (updateEmployee)"
    gql 'mutation($id: ID!, $input: EmployeeUpdateInput!) { updateEmployee(employeeId: $id, input: $input) { employeeId name department role presence { status } } }' \
      "$(jq -nc --arg id "$1" --arg name "$2" --arg dep "$3" --arg role "$4" \
        '{id: $id, input: {name: $name, department: $dep, role: $role}}')"
  fi
}
upsert_employee demo-ana "Ana Putri" Finance Accountant
upsert_employee demo-budi "Budi Santoso" Engineering "Site engineer"

step "Reporting that demo-ana was seen at $camera_id (reportSighting, as an edge device would)"
gql 'mutation($input: SightingInput!) { reportSighting(input: $input) { employeeId cameraId seenAt status latest } }' \
  "$(jq -nc --arg cam "$camera_id" '{input: {employeeId: "demo-ana", cameraId: $cam, score: 0.71}}')"

step "Everyone and where they were last seen (employees)"
gql '{ employees { employeeId name department presence { status lastSeenAgo camera { name } } } }' |
  jq -r '.employees[] | "  \(.presence.status | .[0:11] | . + " " * (11 - length)) \(.name) (\(.employeeId))\(if .presence.lastSeenAgo then ", last seen \(.presence.lastSeenAgo) at \(.presence.camera.name // "?")" else "" end)"'

step "Only those present now (employees(status: AVAILABLE)) and the counts"
gql '{ employees(status: AVAILABLE) { employeeId name } presenceSummary { present alert unavailable total } }'

step "Enrolling a face for demo-budi from a photo (enrollFace: GraphQL multipart request)"
ai_running=$(gql '{ aiStatus { running } }' | jq -r '.aiStatus.running')
if [ ! -f "$HADIR_PHOTO" ]; then
  echo "SKIPPED: no photo at $HADIR_PHOTO (set HADIR_PHOTO, or run python3 models/fetch.py)"
elif [ "$ai_running" != true ]; then
  echo "SKIPPED: recognition is not running on this server (see aiStatus above)"
else
  # Start from no faces, so that running the script twice enrols one face, not two.
  gql 'mutation { removeFaces(employeeId: "demo-budi") { employeeId faceCount } }'
  # The multipart request: `operations` (the query, the file variable null), `map` (which
  # form part goes into which variable), then the file part itself.
  response=$(curl -sS "$HADIR_URL/graphql" \
    -H "Authorization: Bearer $HADIR_TOKEN" \
    -F operations='{"query": "mutation($photo: Upload!) { enrollFace(employeeId: \"demo-budi\", photo: $photo) { employeeId name faceCount consentedAt } }", "variables": {"photo": null}}' \
    -F map='{"0": ["variables.photo"]}' \
    -F "0=@$HADIR_PHOTO;type=image/jpeg")
  check "enrollFace" "$response"
fi

step "Unread notifications, newest first (the bell), and their count"
unread=$(gql '{ unreadNotificationCount notifications(unreadOnly: true, first: 5) { totalCount nodes { id type message createdAt employee { employeeId } camera { cameraId } } } }')
echo "$unread"
newest=$(jq -r '.notifications.nodes[0].id // empty' <<<"$unread")
if [ -n "$newest" ]; then
  step "Marking notification $newest read (markNotificationRead)"
  gql 'mutation($id: ID!) { markNotificationRead(id: $id) { id type isRead } }' "$(jq -nc --arg id "$newest" '{id: $id}')"
else
  echo "(none unread: an EMPLOYEE_LOST comes once someone goes unseen for lost_after)"
fi

step "Marking every notification read (markAllNotificationsRead: how many were unread)"
gql 'mutation { markAllNotificationsRead }'

step "The alert history: the last 5 notifications, read or not"
gql '{ notifications(first: 5) { totalCount nodes { id type message createdAt isRead } } }' |
  jq -r '"  \(.notifications.totalCount) in all", (.notifications.nodes[] | "  #\(.id) \(.createdAt[0:19]) \(.type) \(if .isRead then "read" else "UNREAD" end): \(.message)")'

today=$(date +%F)
step "Today's attendance ($today, attendance(date))"
gql 'query($date: Date!) { attendance(date: $date) { employee { employeeId name } firstSeen lastSeen totalMinutes status } }' \
  "$(jq -nc --arg d "$today" '{date: $d}')"

step "The attendance report for this month so far (attendanceReport)"
gql 'query($from: Date!, $to: Date!) { attendanceReport(from: $from, to: $to) { employee { employeeId name } daysPresent daysLate daysLeftEarly daysAbsent totalHours } }' \
  "$(jq -nc --arg from "$(date +%Y-%m-01)" --arg to "$today" '{from: $from, to: $to}')"

step "The same as CSV (GET /reports/attendance.csv with the Authorization header)"
csv=$(curl -sS --fail-with-body "$HADIR_URL/reports/attendance.csv?from=$(date +%Y-%m-01)&to=$today" \
  -H "Authorization: Bearer $HADIR_TOKEN") || { echo "error: the CSV report failed: $csv" >&2; exit 1; }
head -n 1 <<<"$csv" | grep -q '^date,employee_id,' || { echo "error: unexpected CSV: ${csv:0:300}" >&2; exit 1; }
echo "$csv"

printf '\nAll examples ran against %s.\n' "$HADIR_URL"
