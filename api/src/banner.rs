//! What a person sees at start-up, printed last, between two rules: where the dashboard and
//! GraphiQL are, and — on a first start with no admin token — the token, shown this once.
//! The token stands alone on its line (no border around it), so that it copies cleanly.

use std::{
    net::SocketAddr,
    sync::OnceLock,
    time::{Duration, Instant},
};

/// How long after the server starts the routine lines of its tasks starting (a camera task,
/// a leader job) are DEBUG rather than INFO, so that the banner stays the last thing a
/// person sees at start-up; later (a camera added, the leadership moving) they are INFO.
pub const START_UP_QUIET: Duration = Duration::from_secs(10);

static STARTED_AT: OnceLock<Instant> = OnceLock::new();

/// Notes the moment the server starts (the first call counts).
pub fn mark_start() {
    STARTED_AT.get_or_init(Instant::now);
}

/// Whether the server is still starting ([`START_UP_QUIET`] since [`mark_start`]).
pub fn starting() -> bool {
    STARTED_AT
        .get()
        .is_some_and(|at| at.elapsed() < START_UP_QUIET)
}

/// The rule above and below the banner.
pub const RULE: &str = "════════════════════════════════════════════════════════════════════════";

/// What the banner shows.
pub struct Banner<'a> {
    /// `http` or `https`.
    pub scheme: &'a str,
    /// The address the server listens on.
    pub local: SocketAddr,
    pub dashboard: bool,
    pub graphiql: bool,
    /// The admin token made at this start, if one was.
    pub first_admin_token: Option<&'a str>,
}

impl Banner<'_> {
    /// The base URL a person on this machine opens: `localhost` for an address that listens
    /// everywhere (0.0.0.0, ::), the address itself otherwise.
    pub fn base_url(&self) -> String {
        let port = self.local.port();
        match self.local.ip() {
            ip if ip.is_unspecified() || ip.is_loopback() => {
                format!("{}://localhost:{port}", self.scheme)
            }
            std::net::IpAddr::V6(ip) => format!("{}://[{ip}]:{port}", self.scheme),
            ip => format!("{}://{ip}:{port}", self.scheme),
        }
    }

    /// The banner's lines, rules included.
    pub fn render(&self) -> String {
        let base = self.base_url();
        let mut lines = vec![RULE.to_owned(), "  hadir is running".to_owned()];
        if self.dashboard {
            lines.push(format!("    dashboard  {base}/dashboard/"));
        }
        if self.graphiql {
            lines.push(format!("    GraphiQL   {base}/"));
        }
        lines.push(format!(
            "    GraphQL    {base}/graphql (HTTP and WebSocket)"
        ));
        if let Some(token) = self.first_admin_token {
            lines.extend([
                String::new(),
                "  No admin token was configured, so hadir created one. It is shown this once:"
                    .to_owned(),
                String::new(),
                format!("    {token}"),
                String::new(),
                "  Send it as `Authorization: Bearer <token>` (in GraphiQL: the Headers tab;"
                    .to_owned(),
                "  the dashboard asks for it).".to_owned(),
            ]);
        }
        lines.push(RULE.to_owned());
        lines.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn banner(local: &str, token: Option<&'static str>) -> String {
        Banner {
            scheme: "http",
            local: local.parse().unwrap(),
            dashboard: true,
            graphiql: true,
            first_admin_token: token,
        }
        .render()
    }

    #[test]
    fn the_urls_and_the_token_stand_between_two_rules() {
        let text = banner("0.0.0.0:8080", Some("hdr_abc"));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.first(), Some(&RULE));
        assert_eq!(lines.last(), Some(&RULE));
        assert!(text.contains("dashboard  http://localhost:8080/dashboard/"));
        assert!(text.contains("GraphiQL   http://localhost:8080/\n"));
        // The token alone on its line, for copying.
        assert!(lines.iter().any(|l| l.trim() == "hdr_abc"));
        assert!(!banner("10.0.0.5:80", None).contains("token was configured"));
        assert!(banner("10.0.0.5:80", None).contains("http://10.0.0.5:80/dashboard/"));
        assert!(banner("[::]:8080", None).contains("http://localhost:8080/"));
    }
}
