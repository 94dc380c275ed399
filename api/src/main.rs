//! `hadir`: the command line ([`api::cmd`], one file per command). `hadir` alone (or
//! `hadir serve`) runs the server.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    api::cmd::main().await
}
