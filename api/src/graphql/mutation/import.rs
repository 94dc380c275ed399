//! Bulk import of a staff directory (admins): a CSV and the photos it names, uploaded
//! together in one GraphQL multipart request.

use async_graphql::{Context, ErrorExtensions as _, Object, Upload};

use crate::{
    graphql::{error::bad_input, guard::RoleGuard, types::ImportReport},
    import::{
        Importer, MAX_UPLOADED_PHOTOS, Quiet,
        photos::{NoPhotos, PhotoSource, UploadedPhotos},
        rows::MAX_CSV_BYTES,
    },
    state::AppState,
};

#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    /// Imports a staff directory: `csv` has the columns employee_id, name, department, role
    /// and photos (a header line names them, in any order; photos are `;`-separated file
    /// names), and `photos` are the files it names, each uploaded under that name. Creates
    /// or updates the employees and enrols each photo with the checks of `enrollFace`; the
    /// report names every refused row and photo. Re-running it changes nothing. One request
    /// carries at most 200 photos and `max_request_bytes` in all: import a larger directory
    /// in parts (or with `hadir import` on the server). An import that outlasts
    /// `request_timeout_secs` still goes on to its end; run it again for the report.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn import_employees(
        &self,
        ctx: &Context<'_>,
        csv: Upload,
        photos: Option<Vec<Upload>>,
    ) -> async_graphql::Result<ImportReport> {
        let state = ctx.data_unchecked::<AppState>();
        let csv = upload_bytes(ctx, &csv, "csv", MAX_CSV_BYTES)?;
        let photos = photos.unwrap_or_default();
        if photos.len() > MAX_UPLOADED_PHOTOS {
            return Err(bad_input(
                "photos",
                format!(
                    "{} photos; one import takes at most {MAX_UPLOADED_PHOTOS}: import in parts \
                     (re-running is safe)",
                    photos.len()
                ),
            ));
        }
        let limit = state.config.recognition.max_photo_bytes;
        let mut files = Vec::with_capacity(photos.len());
        for photo in &photos {
            let value = photo
                .value(ctx)
                .map_err(|e| bad_input("photos", format!("an upload cannot be read: {e}")))?;
            if value.content.len() > limit {
                return Err(bad_input(
                    "photos",
                    format!(
                        "{}: the file is larger than {limit} bytes (max_photo_bytes)",
                        value.filename
                    ),
                ));
            }
            files.push((value.filename, value.content));
        }
        let source: Box<dyn PhotoSource> = if files.is_empty() {
            Box::new(NoPhotos)
        } else {
            Box::new(UploadedPhotos::new(files).map_err(|e| e.extend())?)
        };
        let importer = Importer::new(state.employees.clone(), state.faces.clone());
        // On a task of its own: a request that times out leaves the import to finish
        // (rows half done would only be redone by the next run).
        let report = tokio::spawn(async move { importer.run(&csv, &*source, &Quiet).await })
            .await
            .map_err(|e| {
                crate::error::AppError::Refused(format!("the import failed: {e}")).extend()
            })?
            .map_err(|e| e.extend())?;
        Ok(report.into())
    }
}

/// The bytes of an upload, refusing one over `limit`.
fn upload_bytes(
    ctx: &Context<'_>,
    upload: &Upload,
    field: &str,
    limit: usize,
) -> async_graphql::Result<Vec<u8>> {
    let value = upload
        .value(ctx)
        .map_err(|e| bad_input(field, format!("the upload cannot be read: {e}")))?;
    if value.content.len() > limit {
        return Err(bad_input(
            field,
            format!(
                "the file is {} bytes; it may be at most {limit}",
                value.content.len()
            ),
        ));
    }
    Ok(value.content.to_vec())
}
