//! The mutation root, merged from one object per domain.

mod camera;
mod employee;
mod import;
mod notification;
mod sighting;
mod token;

use async_graphql::MergedObject;

/// Every mutation.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    employee::EmployeeMutation,
    import::ImportMutation,
    camera::CameraMutation,
    notification::NotificationMutation,
    sighting::SightingMutation,
    token::TokenMutation,
);
