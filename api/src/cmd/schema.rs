//! `hadir schema`: prints the GraphQL schema (SDL), as `schema.graphql` holds it.

/// Prints the SDL.
pub fn run() -> anyhow::Result<()> {
    print!("{}", crate::graphql::sdl());
    Ok(())
}
