//! Who this process is in the cluster: its node id (the host name unless set), the URL its
//! peers reach it at (the host name and the bound port unless set), a random instance id per
//! start, and the digest of its camera folder (nodes with different folders are told apart).

use std::{net::SocketAddr, path::Path};

use sha2::{Digest, Sha256};

use super::settings::{self, ClusterSection};

/// Why this node cannot say who it is.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("cluster.node_id is not set and the host name {0:?} is no node id (set HADIR_NODE_ID)")]
    BadHostName(String),
    #[error(
        "cluster.node_id is not set and this machine's host name cannot be read (set \
         HADIR_NODE_ID)"
    )]
    NoHostName,
    #[error(
        "this node listens on {listen} but has no host name peers could resolve ({host:?}) and \
         no cluster.advertise_url: it cannot join a cluster; set HADIR_ADVERTISE_URL to \
         http://<address peers reach>:{port}"
    )]
    NoAdvertiseUrl {
        listen: SocketAddr,
        host: String,
        port: u16,
    },
}

/// The machine's host name, if it can be read.
pub fn host_name() -> Option<String> {
    #[cfg(unix)]
    {
        let mut buffer = [0u8; 256];
        // SAFETY: the buffer is valid for its length; gethostname writes at most that much.
        let result = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
        if result != 0 {
            return None;
        }
        let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
        let name = String::from_utf8_lossy(&buffer[..end]).trim().to_owned();
        (!name.is_empty()).then_some(name)
    }
    #[cfg(not(unix))]
    {
        std::env::var("COMPUTERNAME").ok()
    }
}

/// This node's id: `cluster.node_id`, or the host name.
pub fn node_id(section: &ClusterSection) -> Result<String, IdentityError> {
    if let Some(id) = &section.node_id {
        return Ok(id.clone());
    }
    let host = host_name().ok_or(IdentityError::NoHostName)?;
    settings::node_id(&host).map_err(|_| IdentityError::BadHostName(host.clone()))?;
    Ok(host)
}

/// How peers reach this node: `cluster.advertise_url`, else the bound address when it is a
/// specific one, else the host name (when it resolves) with the bound port.
pub fn advertise_url(
    section: &ClusterSection,
    bound: SocketAddr,
    tls: bool,
) -> Result<String, IdentityError> {
    if let Some(url) = &section.advertise_url {
        return Ok(url.trim_end_matches('/').to_owned());
    }
    let scheme = if tls { "https" } else { "http" };
    if !bound.ip().is_unspecified() {
        return Ok(format!("{scheme}://{bound}"));
    }
    let host = host_name().unwrap_or_default();
    let resolves = !host.is_empty()
        && std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), bound.port()))
            .map(|mut addresses| addresses.next().is_some())
            .unwrap_or(false);
    if !resolves {
        return Err(IdentityError::NoAdvertiseUrl {
            listen: bound,
            host,
            port: bound.port(),
        });
    }
    Ok(format!("{scheme}://{host}:{}", bound.port()))
}

/// The node id of a process alone on its database (SQLite), whose host name need not be a
/// node id (a container's, an initramfs's `(none)`).
pub const LOCAL_NODE_ID: &str = "hadir";

/// This node's id on a database it may share (`clustered`: PostgreSQL) — `cluster.node_id`
/// or a host name that is a node id, else an error saying to set one — or alone (SQLite):
/// the same when there is one, else [`LOCAL_NODE_ID`].
pub fn node_id_for(section: &ClusterSection, clustered: bool) -> Result<String, IdentityError> {
    match node_id(section) {
        Err(_) if !clustered => Ok(LOCAL_NODE_ID.to_owned()),
        other => other,
    }
}

/// This process alone (SQLite, tests): its node id ([`node_id_for`]), a fresh instance, no
/// advertised URL, no camera limit.
pub fn local(section: &ClusterSection) -> super::leases::NodeIdentity {
    super::leases::NodeIdentity {
        node_id: node_id_for(section, false).unwrap_or_else(|_| LOCAL_NODE_ID.to_owned()),
        instance_id: new_instance_id(),
        advertise_url: String::new(),
        max_cameras: section.max_cameras,
        folder_digest: String::new(),
    }
}

/// A fresh instance id (a random UUID), drawn at each start.
pub fn new_instance_id() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string()
}

/// SHA-256 over the camera folder's `*.json` files, names and contents, in name order
/// (a missing folder digests as empty).
pub fn folder_digest(folder: &Path) -> String {
    let mut files: Vec<_> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut hash = Sha256::new();
    for path in files {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        hash.update(name.unwrap_or_default().as_bytes());
        hash.update([0]);
        // Camera files are small (the folder sync caps them); an unreadable one digests empty.
        hash.update(std::fs::read(&path).unwrap_or_default());
        hash.update([0]);
    }
    hex::encode(hash.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_ids_are_fresh_uuids() {
        let (a, b) = (new_instance_id(), new_instance_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert!(uuid::Uuid::parse_str(&a).is_ok());
    }

    #[test]
    fn advertised_urls_come_from_the_setting_or_the_bound_address() {
        let mut section = ClusterSection::default();
        let bound: SocketAddr = "10.1.2.3:8080".parse().unwrap();
        assert_eq!(
            advertise_url(&section, bound, false).unwrap(),
            "http://10.1.2.3:8080"
        );
        section.advertise_url = Some("https://node-a.example:8443/".into());
        assert_eq!(
            advertise_url(&section, bound, false).unwrap(),
            "https://node-a.example:8443"
        );
    }

    #[test]
    fn folder_digests_follow_names_and_contents() {
        let dir = tempfile::tempdir().unwrap();
        let empty = folder_digest(dir.path());
        std::fs::write(dir.path().join("a.json"), "{}").unwrap();
        let one = folder_digest(dir.path());
        assert_ne!(empty, one);
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        assert_eq!(folder_digest(dir.path()), one, "only camera files count");
        std::fs::write(dir.path().join("a.json"), "{\"id\":1}").unwrap();
        assert_ne!(folder_digest(dir.path()), one);
        assert_eq!(folder_digest(&dir.path().join("missing")), empty);
    }
}
