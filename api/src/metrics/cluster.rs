//! This node in the cluster, for `/metrics`: who it is, what it holds, whether it leads,
//! how its lease renewals go and how far its clock is off PostgreSQL's.

use std::{fmt::Write as _, sync::atomic::Ordering};

use crate::cluster::membership::Cluster;

use super::escape;

/// Writes the cluster's metrics.
pub fn render(out: &mut String, cluster: &Cluster) {
    let c = &cluster.counters;
    let id = &cluster.identity;
    let _ = writeln!(
        out,
        "# HELP hadir_node_info This node: its id, its instance (drawn at each start), its version.\n# TYPE hadir_node_info gauge\n\
         hadir_node_info{{node_id=\"{}\",instance=\"{}\",version=\"{}\"}} 1",
        escape(&id.node_id),
        escape(&id.instance_id),
        env!("CARGO_PKG_VERSION"),
    );
    let _ = writeln!(
        out,
        "# HELP hadir_cluster_leader Whether this node is the leader (1) or not (0).\n# TYPE hadir_cluster_leader gauge\nhadir_cluster_leader {}",
        u8::from(cluster.is_leader())
    );
    if !cluster.is_shared() {
        return;
    }
    let _ = writeln!(
        out,
        "# HELP hadir_cluster_cameras_held Cameras this node holds the lease of.\n# TYPE hadir_cluster_cameras_held gauge\nhadir_cluster_cameras_held {}\n\
         # HELP hadir_cluster_nodes Nodes alive, as the last lease renewal saw them.\n# TYPE hadir_cluster_nodes gauge\nhadir_cluster_nodes {}\n\
         # HELP hadir_cluster_fenced Whether this node stopped reading because it could not renew its leases (1).\n# TYPE hadir_cluster_fenced gauge\nhadir_cluster_fenced {}\n\
         # HELP hadir_cluster_lease_renewals_total Lease renewals, by result.\n# TYPE hadir_cluster_lease_renewals_total counter\n\
         hadir_cluster_lease_renewals_total{{result=\"ok\"}} {}\nhadir_cluster_lease_renewals_total{{result=\"failed\"}} {}\n\
         # HELP hadir_cluster_clock_skew_seconds This node's clock minus PostgreSQL's.\n# TYPE hadir_cluster_clock_skew_seconds gauge\nhadir_cluster_clock_skew_seconds {}",
        c.cameras_held.load(Ordering::Relaxed),
        c.live_nodes.load(Ordering::Relaxed),
        u8::from(c.fenced.load(Ordering::Relaxed)),
        c.renewals_ok.load(Ordering::Relaxed),
        c.renewals_failed.load(Ordering::Relaxed),
        c.clock_skew_ms.load(Ordering::Relaxed) as f64 / 1_000.0,
    );
}
