//! What may be shown of a secret, and to whom. Camera URLs carry secrets in their user and
//! password and often in their query (`?token=…`, `apikey=…`), and their paths name files
//! of the server's:
//!
//! - admins see stream URLs whole (they configured them);
//! - logs and stored messages see them with the user, password and query values replaced
//!   ([`url_for_logs`], [`message_for_logs`]);
//! - viewers, MQTT and webhooks see scheme, host and port only ([`url_for_viewers`],
//!   [`message_for_viewers`]); a local file is `file://` and nothing more.

/// What replaces a secret.
pub const HIDDEN: &str = "***";

/// A URL that does not parse, for logs: whatever stands between `://` and an `@` before the
/// path is hidden, and so is the query.
fn unparsed_for_logs(url: &str) -> String {
    let Some(at) = url.find("://") else {
        return url.to_owned();
    };
    let (scheme, rest) = url.split_at(at + 3);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(i) => format!("{HIDDEN}@{}", &authority[i + 1..]),
        None => authority.to_owned(),
    };
    let tail = match tail.find(['?', '#']) {
        Some(i) => format!("{}?{HIDDEN}", &tail[..i]),
        None => tail.to_owned(),
    };
    format!("{scheme}{authority}{tail}")
}

/// The URL for a log line or a stored message: no user, password or query value.
pub fn url_for_logs(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return unparsed_for_logs(url);
    };
    if parsed.cannot_be_a_base() {
        return url.to_owned();
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        let _ = parsed.set_username(HIDDEN);
        let _ = parsed.set_password(None);
    }
    if parsed.query().is_some() {
        let keys: Vec<String> = parsed.query_pairs().map(|(k, _)| k.into_owned()).collect();
        let mut pairs = parsed.query_pairs_mut();
        pairs.clear();
        for key in keys {
            pairs.append_pair(&key, HIDDEN);
        }
    }
    if parsed.fragment().is_some() {
        parsed.set_fragment(None);
    }
    parsed.to_string()
}

/// The URL for those who may not see it: scheme, host and port (`rtsp://10.0.0.5:554`); a
/// local file is `file://`; a webcam number or device stays as it is.
pub fn url_for_viewers(url: &str) -> String {
    let trimmed = url.trim();
    if trimmed.chars().all(|c| c.is_ascii_digit()) || trimmed.starts_with("/dev/video") {
        return trimmed.to_owned();
    }
    match url::Url::parse(trimmed) {
        Ok(parsed) if parsed.scheme() == "file" => "file://".to_owned(),
        Ok(parsed) => match parsed.host_str() {
            Some(host) => match parsed.port() {
                Some(port) => format!("{}://{host}:{port}", parsed.scheme()),
                None => format!("{}://{host}", parsed.scheme()),
            },
            None => format!("{}:", parsed.scheme()),
        },
        Err(_) => HIDDEN.to_owned(),
    }
}

/// Every URL in `text` (found by its `scheme://`) rewritten by `rewrite`.
fn rewrite_urls(text: &str, rewrite: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        // The scheme: letters, digits, + - . before `://`.
        let start = rest[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            .last()
            .map_or(at, |(i, _)| i);
        // The URL runs to whitespace, a quote or a closing bracket.
        let end = rest[at..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ')' | ']' | '>' | '`'))
            .map_or(rest.len(), |i| at + i);
        out.push_str(&rest[..start]);
        if start == at {
            // No scheme before `://`: not a URL.
            out.push_str(&rest[at..end]);
        } else {
            // A trailing `:` or `,` belongs to the sentence, not the URL.
            let url = rest[start..end].trim_end_matches([':', ',', ';', '.']);
            out.push_str(&rewrite(url));
            out.push_str(&rest[start + url.len()..end]);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// A message (a camera's error, say) with every URL in it as [`url_for_logs`] shows it.
pub fn message_for_logs(text: &str) -> String {
    rewrite_urls(text, url_for_logs)
}

/// A message with every URL in it as [`url_for_viewers`] shows it.
pub fn message_for_viewers(text: &str) -> String {
    rewrite_urls(text, url_for_viewers)
}

/// What a viewer is told of a camera's message: URLs reduced as [`message_for_viewers`]
/// does, and for a camera reading a local file, nothing that names the file or says what
/// the operating system made of it (which would tell who may watch whether a path exists).
pub fn camera_message_for_viewers(stream_url: &str, text: &str) -> String {
    if let Ok(url) = url::Url::parse(stream_url.trim())
        && url.scheme() == "file"
    {
        let path = url
            .to_file_path()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|()| url.path().to_owned());
        if text.contains(&path) || text.contains("os error") || text.contains(url.path()) {
            return "the camera's file cannot be read (an admin sees why)".to_owned();
        }
    }
    message_for_viewers(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admins_logs_and_viewers_see_less_and_less() {
        let url = "rtsp://admin:s3cret@10.0.0.5:554/Streaming/101?token=abc&channel=1";
        assert_eq!(
            url_for_logs(url),
            "rtsp://***@10.0.0.5:554/Streaming/101?token=***&channel=***"
        );
        assert_eq!(url_for_viewers(url), "rtsp://10.0.0.5:554");
        assert_eq!(
            url_for_viewers("http://cam.lan/snap.jpg?apikey=k"),
            "http://cam.lan"
        );
        assert_eq!(url_for_viewers("file:///srv/secret/door.mp4"), "file://");
        assert_eq!(url_for_viewers("0"), "0");
        assert_eq!(url_for_viewers("/dev/video2"), "/dev/video2");
        assert_eq!(url_for_viewers("not a url"), HIDDEN);
        assert_eq!(url_for_logs("rtsp://10.0.0.5/s1"), "rtsp://10.0.0.5/s1");
        // URLs that do not parse lose their credentials too.
        assert_eq!(
            url_for_logs("rtsp://admin:s3cret@/path?k=v"),
            "rtsp://***@/path?***"
        );
    }

    #[test]
    fn viewers_learn_nothing_of_local_files() {
        assert_eq!(
            camera_message_for_viewers(
                "file:///srv/cams/door.mp4",
                "cannot connect: /srv/cams/door.mp4: No such file or directory (os error 2)"
            ),
            "the camera's file cannot be read (an admin sees why)"
        );
        assert_eq!(
            camera_message_for_viewers("file:///srv/cams/door.mp4", "no frame for 30 seconds"),
            "no frame for 30 seconds"
        );
        assert_eq!(
            camera_message_for_viewers("rtsp://u:p@cam/x", "rtsp://u:p@cam/x: 401"),
            "rtsp://cam: 401"
        );
    }

    #[test]
    fn urls_inside_messages_are_rewritten() {
        let message = "cannot connect: error sending request for url (http://u:p@10.1.1.1:8080/snap?apikey=K): connection refused";
        assert_eq!(
            message_for_logs(message),
            "cannot connect: error sending request for url (http://***@10.1.1.1:8080/snap?apikey=***): connection refused"
        );
        assert_eq!(
            message_for_viewers(message),
            "cannot connect: error sending request for url (http://10.1.1.1:8080): connection refused"
        );
        assert_eq!(
            message_for_viewers("rtsp://a:b@h/x: 401 Unauthorized, then file:///etc/x"),
            "rtsp://h: 401 Unauthorized, then file://"
        );
        assert_eq!(message_for_viewers("no url here: a://"), "no url here: a:");
        assert_eq!(message_for_viewers("://odd"), "://odd");
        assert_eq!(message_for_logs("héllo wörld"), "héllo wörld");
    }
}
