//! Attendance end to end: a simulated working day reported through `reportSighting` with
//! explicit `seenAt` times, in a non-UTC time zone, on SQLite and PostgreSQL.

mod common;

use std::time::Duration;

use chrono::{
    DateTime, Datelike, NaiveDate, NaiveTime, Offset, TimeDelta, TimeZone, Timelike, Utc,
};
use common::{ADMIN_TOKEN, Backend, ServerOptions, TestDb, TestServer, create_token};
use serde_json::{Value, json};

/// The test's site: a whole-hour time zone (never UTC) in which it is now about 20:00, so
/// that today's working day (09:00–17:00) has ended and its sightings lie in the past. Every
/// weekday works except the day three days ago, the test's day off.
struct Site {
    tz: chrono_tz::Tz,
    zone: String,
    today: NaiveDate,
    day_off: NaiveDate,
}

impl Site {
    fn new() -> Self {
        let hour = Utc::now().hour() as i32;
        let mut offset = 20 - hour;
        if offset > 14 {
            offset -= 24;
        }
        if offset == 0 {
            offset = 1;
        }
        // IANA's Etc zones count the other way: UTC+7 is Etc/GMT-7.
        let zone = format!(
            "Etc/GMT{}{}",
            if offset > 0 { "-" } else { "+" },
            offset.abs()
        );
        let tz: chrono_tz::Tz = zone.parse().unwrap();
        let today = Utc::now().with_timezone(&tz).date_naive();
        Self {
            tz,
            zone,
            today,
            day_off: today - TimeDelta::days(3),
        }
    }

    fn work_days(&self) -> String {
        let off = self.day_off.weekday();
        let days: Vec<String> = (0..7)
            .map(|i| off.succ().checked_add(i))
            .take(6)
            .map(|d| d.to_string().to_ascii_lowercase()[..3].to_owned())
            .collect();
        days.join(",")
    }

    fn at(&self, date: NaiveDate, hh: u32, mm: u32) -> DateTime<Utc> {
        self.tz
            .from_local_datetime(&date.and_time(NaiveTime::from_hms_opt(hh, mm, 0).unwrap()))
            .unwrap()
            .with_timezone(&Utc)
    }

    fn options(&self) -> ServerOptions {
        ServerOptions {
            // Sightings every 10 minutes make one visit.
            lost_after_secs: 600,
            extra_env: vec![
                ("HADIR_TIMEZONE".into(), self.zone.clone()),
                ("HADIR_WORK_DAYS".into(), self.work_days()),
                ("HADIR_ATTENDANCE_CLOSE_INTERVAL_SECS".into(), "1".into()),
            ],
            ..Default::default()
        }
    }
}

trait AddDays {
    fn checked_add(self, days: u32) -> chrono::Weekday;
}

impl AddDays for chrono::Weekday {
    fn checked_add(self, days: u32) -> chrono::Weekday {
        (0..days).fold(self, |d, _| d.succ())
    }
}

async fn seen(server: &TestServer, employee: &str, at: DateTime<Utc>) {
    server
        .gql(
            ADMIN_TOKEN,
            "mutation($i: SightingInput!) { reportSighting(input: $i) { employeeId } }",
            json!({ "i": { "employeeId": employee, "cameraId": "CAM1", "seenAt": at.to_rfc3339(), "score": 0.7 } }),
        )
        .await;
}

/// Sightings every 10 minutes from `from` to `to` (local times of `date`).
async fn present(
    server: &TestServer,
    site: &Site,
    employee: &str,
    date: NaiveDate,
    from: (u32, u32),
    to: (u32, u32),
) {
    let (mut t, end) = (site.at(date, from.0, from.1), site.at(date, to.0, to.1));
    while t <= end {
        seen(server, employee, t).await;
        t += TimeDelta::minutes(10);
    }
}

async fn day_of(server: &TestServer, date: NaiveDate) -> Value {
    server
        .gql(
            ADMIN_TOKEN,
            "query($d: Date!) { attendance(date: $d) { employee { employeeId } date firstSeen lastSeen totalMinutes status } }",
            json!({ "d": date.to_string() }),
        )
        .await["attendance"]
        .clone()
}

fn row<'a>(day: &'a Value, employee: &str) -> &'a Value {
    day.as_array()
        .unwrap()
        .iter()
        .find(|r| r["employee"]["employeeId"] == employee)
        .unwrap_or_else(|| panic!("no row for {employee} in {day}"))
}

async fn a_simulated_working_day(backend: Backend) {
    let Some(db) = TestDb::create(backend, "a_simulated_working_day") else {
        return;
    };
    let site = Site::new();
    let server = TestServer::start(&db, &site.options());
    for (id, name) in [
        ("E1", "Lee, Ann"),
        ("E2", "Budi \"Late\" Santoso"),
        ("E3", "Citra Dewi"),
        ("E4", "Dewi Absent"),
        ("E5", "Eka Nightshift"),
        ("E6", "Fajar Here-Now"),
    ] {
        server
            .gql(
                ADMIN_TOKEN,
                "mutation($i: EmployeeInput!) { createEmployee(input: $i) { employeeId } }",
                json!({ "i": { "employeeId": id, "name": name, "department": "Ops" } }),
            )
            .await;
    }
    // The site as the API tells it: its zone, its date now (not UTC's: the zone is chosen so
    // that it is about 20:00 there), its offset and its working days.
    let described = server
        .gql(
            ADMIN_TOKEN,
            "{ site { timeZone today utcOffsetMinutes workStart workEnd graceMinutes workDays } }",
            json!({}),
        )
        .await;
    let offset_minutes = site
        .tz
        .offset_from_utc_datetime(&Utc::now().naive_utc())
        .fix()
        .local_minus_utc()
        / 60;
    let expected_days: Vec<String> = site
        .work_days()
        .split(',')
        .map(|d| d.to_ascii_uppercase())
        .collect();
    let mut listed: Vec<String> = described["site"]["workDays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    let mut expected_sorted = expected_days.clone();
    expected_sorted.sort();
    assert_eq!(listed, expected_sorted, "{described}");
    assert_eq!(described["site"]["timeZone"], site.zone.as_str());
    assert_eq!(described["site"]["today"], site.today.to_string());
    assert_eq!(described["site"]["utcOffsetMinutes"], offset_minutes);
    assert_eq!(described["site"]["workStart"], "09:00", "{described}");

    // E6 is in now: a live sighting. A buffered sighting from days ago must not disturb that.
    server
        .gql(ADMIN_TOKEN, "mutation { reportSighting(input: {employeeId: \"E6\", cameraId: \"CAM1\"}) { employeeId } }", json!({}))
        .await;
    let today = site.today;
    let yesterday = today - TimeDelta::days(1);
    present(&server, &site, "E1", today, (8, 50), (17, 10)).await; // on time
    present(&server, &site, "E2", today, (9, 40), (17, 0)).await; // late
    present(&server, &site, "E3", today, (8, 55), (15, 0)).await; // leaves early
    present(&server, &site, "E1", site.day_off, (10, 0), (12, 0)).await; // a day off
    // Across local midnight: 23:40 yesterday to 00:20 today, local time.
    for at in [
        site.at(yesterday, 23, 40),
        site.at(yesterday, 23, 50),
        site.at(today, 0, 0),
        site.at(today, 0, 10),
        site.at(today, 0, 20),
    ] {
        seen(&server, "E5", at).await;
    }

    seen(&server, "E6", site.at(site.day_off, 11, 0)).await;
    let presence = server
        .gql(
            ADMIN_TOKEN,
            "{ employee(employeeId: \"E6\") { presence { status lastSeenAgo } } }",
            json!({}),
        )
        .await;
    assert_eq!(presence["employee"]["presence"]["status"], "AVAILABLE");
    // Still the live sighting of a few seconds ago, not the buffered one of days ago (the
    // steps between take seconds on a loaded machine: "just now" or "N seconds ago").
    let ago = presence["employee"]["presence"]["lastSeenAgo"]
        .as_str()
        .unwrap_or_default();
    assert!(
        ago == "just now" || ago.ends_with(" seconds ago"),
        "{presence}"
    );

    // The closer writes ABSENT for E4: today's working day has ended.
    let mut day = Value::Null;
    for _ in 0..40 {
        day = day_of(&server, today).await;
        if day.as_array().unwrap().len() == 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let time = |v: &Value| DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    let e1 = row(&day, "E1");
    assert_eq!(e1["status"], "PRESENT", "{e1}");
    assert_eq!(time(&e1["firstSeen"]), site.at(today, 8, 50));
    assert_eq!(time(&e1["lastSeen"]), site.at(today, 17, 10));
    assert_eq!(e1["totalMinutes"], 500);
    assert_eq!(e1["date"], today.to_string());
    assert_eq!(row(&day, "E2")["status"], "LATE");
    assert_eq!(row(&day, "E3")["status"], "LEFT_EARLY");
    assert_eq!(row(&day, "E3")["totalMinutes"], 360);
    let e4 = row(&day, "E4");
    assert_eq!(e4["status"], "ABSENT");
    assert_eq!(
        (e4["firstSeen"].clone(), e4["totalMinutes"].clone()),
        (Value::Null, json!(0))
    );
    // E5's night: 20 minutes yesterday, 20 today, in the site's days (not UTC's).
    assert_eq!(row(&day, "E5")["totalMinutes"], 20);
    assert_eq!(time(&row(&day, "E5")["firstSeen"]), site.at(today, 0, 0));
    let before_today = day_of(&server, yesterday).await;
    assert_eq!(row(&before_today, "E5")["totalMinutes"], 20);
    assert_eq!(
        time(&row(&before_today, "E5")["lastSeen"]),
        site.at(today, 0, 0)
    );
    // Nobody is absent before they were employed here.
    assert_eq!(before_today.as_array().unwrap().len(), 1, "{before_today}");
    // The day off: seen counts as present, with no lateness.
    let off = day_of(&server, site.day_off).await;
    assert_eq!(off.as_array().unwrap().len(), 2, "{off}");
    assert_eq!(row(&off, "E1")["status"], "PRESENT");
    assert_eq!(row(&off, "E1")["totalMinutes"], 120);

    // The report over the last week.
    let report = server
        .gql(
            ADMIN_TOKEN,
            "query($f: Date!, $t: Date!) { attendanceReport(from: $f, to: $t) { employee { employeeId } daysPresent daysLate daysLeftEarly daysAbsent totalMinutes } }",
            json!({ "f": (today - TimeDelta::days(6)).to_string(), "t": today.to_string() }),
        )
        .await["attendanceReport"]
        .clone();
    let of = |id: &str| {
        report
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["employee"]["employeeId"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(of("E1")["daysPresent"], 2, "{report}");
    assert_eq!(of("E1")["totalMinutes"], 620);
    assert_eq!(
        (
            of("E2")["daysLate"].clone(),
            of("E2")["daysPresent"].clone()
        ),
        (json!(1), json!(1))
    );
    assert_eq!(of("E3")["daysLeftEarly"], 1);
    assert_eq!(of("E4")["daysAbsent"], 1);

    // Visits and the alert history.
    let visits = server
        .gql(
            ADMIN_TOKEN,
            "query($f: DateTime, $t: DateTime) { visits(employeeId: \"E3\", from: $f, to: $t) { camera { cameraId } startedAt endedAt sightings durationMinutes } }",
            json!({ "f": site.at(today, 0, 0).to_rfc3339(), "t": site.at(today, 23, 59).to_rfc3339() }),
        )
        .await["visits"]
        .clone();
    assert_eq!(visits.as_array().unwrap().len(), 1, "{visits}");
    assert_eq!(visits[0]["durationMinutes"], 360);
    assert_eq!(visits[0]["sightings"], 37);

    // Rebuilding the week gives the same rows as the live computation.
    let days = [today, yesterday, site.day_off];
    let mut before = Vec::new();
    for d in days {
        before.push(day_of(&server, d).await);
    }
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hadir"))
        .args(["attendance", "rebuild", "--from"])
        .arg((today - TimeDelta::days(6)).to_string())
        .args(["--to", &today.to_string()])
        .env("HADIR_DATABASE_URL", &db.url)
        .env("HADIR_TIMEZONE", &site.zone)
        .env("HADIR_WORK_DAYS", site.work_days())
        .env("HADIR_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for (d, was) in days.iter().zip(before) {
        assert_eq!(day_of(&server, *d).await, was, "rebuild of {d}");
    }

    // CSV: a header row, RFC 4180 quoting; a viewer may read it, nobody without a token.
    let viewer = create_token(&server, "VIEWER").await;
    let url = server.url(&format!("/reports/attendance.csv?from={today}&to={today}"));
    let response = server
        .http
        .get(&url)
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "date,employee_id,name,department,first_seen,last_seen,total_minutes,status"
    );
    assert_eq!(lines.len(), 7, "{csv}");
    let offset = site
        .at(today, 0, 0)
        .with_timezone(&site.tz)
        .format("%:z")
        .to_string();
    let expected = format!(
        "{today},E1,\"Lee, Ann\",Ops,{today}T08:50:00{offset},{today}T17:10:00{offset},500,PRESENT"
    );
    assert!(lines.contains(&expected.as_str()), "{expected} in {csv}");
    assert!(csv.contains("\"Budi \"\"Late\"\" Santoso\""), "{csv}");
    let refused = server
        .http
        .get(server.url(&format!("/reports/attendance.csv?from={today}&to={today}")))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let bad = server
        .http
        .get(server.url(&format!(
            "/reports/attendance.csv?from=yesterday&to={today}"
        )))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    // The command-line report says the same.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hadir"))
        .args(["report", "attendance", "--format", "csv", "--from"])
        .arg(today.to_string())
        .args(["--to", &today.to_string()])
        .env("HADIR_DATABASE_URL", &db.url)
        .env("HADIR_TIMEZONE", &site.zone)
        .env("HADIR_LOG", "warn")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), csv);
}

on_both_backends!(a_simulated_working_day);
