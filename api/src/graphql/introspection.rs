//! How deep an operation may nest, and how much an introspection may ask for. Ordinary
//! selections are held to `query_depth_limit`; introspection (`__schema`, `__type` and all
//! below them) is measured by its own rules, which graphql-js's standard introspection
//! query (`getIntrospectionQuery()`, 15 levels, with or without its options) fits in:
//!
//! - at most [`INTROSPECTION_DEPTH_LIMIT`] levels deep;
//! - the fields that list types' members again (`fields`, `inputFields`, `interfaces`,
//!   `possibleTypes`) nested at most [`MAX_TYPE_LIST_NESTING`] deep (graphql-js's
//!   `MaxIntrospectionDepthRule`: `__type { fields { type { fields { type { fields … } } } } }`
//!   is how introspection amplifies, the standard query nests them once);
//! - at most [`MAX_INTROSPECTION_FIELDS`] introspection fields resolved per request, counted
//!   while they resolve: whatever aliases and fragments a document holds, past that it gets
//!   an error and nothing more.
//!
//! Measured right after the cost check ([`super::cost`]), which already refused documents
//! whose fragments expand past `query_complexity_limit`, so walking fragments expanded here
//! is bounded. `__schema { description }` is null: the schema has no description (the
//! library would answer with `__Schema`'s own).

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use async_graphql::{
    Name, Positioned, Request, ServerError, ServerResult, Value,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest, NextResolve, ResolveInfo,
    },
    parser::types::{ExecutableDocument, FragmentDefinition, Selection, SelectionSet},
};

use super::error::GRAPHQL_VALIDATION_FAILED;

/// Levels an introspection may nest (graphql-js's standard query: 15).
pub const INTROSPECTION_DEPTH_LIMIT: usize = 16;
/// Type-member lists (`fields`, `inputFields`, `interfaces`, `possibleTypes`) nested in one
/// another (the standard query: 1; graphql-js refuses 3).
pub const MAX_TYPE_LIST_NESTING: usize = 2;
/// Introspection fields one request may resolve (graphql-js's standard introspection query
/// resolves about 4,300 of this schema's, some 90 KB of JSON).
pub const MAX_INTROSPECTION_FIELDS: usize = 50_000;

/// The fields that list a type's members, each of which is a way back to every type.
const TYPE_LISTS: [&str; 4] = ["fields", "inputFields", "interfaces", "possibleTypes"];

/// The depth rules of the module's description, and the count of introspection fields.
pub struct DepthRules {
    /// `query_depth_limit`, for ordinary selections.
    pub depth_limit: usize,
}

impl ExtensionFactory for DepthRules {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(DepthRulesExtension {
            depth_limit: self.depth_limit,
            introspection_fields: AtomicUsize::new(0),
        })
    }
}

struct DepthRulesExtension {
    depth_limit: usize,
    /// Introspection fields resolved so far in this request.
    introspection_fields: AtomicUsize,
}

#[async_trait::async_trait]
impl Extension for DepthRulesExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        // A document that does not parse is left to the parser to report.
        if let Ok(document) = request.parsed_query() {
            check(document, self.depth_limit).map_err(|message| validation_error(&message))?;
        }
        next.run(ctx, request).await
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if !info.is_for_introspection {
            return next.run(ctx, info).await;
        }
        let resolved = self.introspection_fields.fetch_add(1, Ordering::Relaxed);
        if resolved == MAX_INTROSPECTION_FIELDS {
            return Err(validation_error(&format!(
                "the introspection asks for more than {MAX_INTROSPECTION_FIELDS} fields; \
                 graphql-js's standard introspection query asks for far fewer"
            )));
        }
        if resolved > MAX_INTROSPECTION_FIELDS {
            // One error is enough: nothing more is resolved. (A value, not None: the library
            // expects one for list items.)
            return Ok(Some(Value::Null));
        }
        if info.parent_type == "__Schema" && info.name == "description" {
            return Ok(Some(Value::Null));
        }
        next.run(ctx, info).await
    }
}

fn validation_error(message: &str) -> ServerError {
    let mut error = ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", Value::from(GRAPHQL_VALIDATION_FAILED));
    error
}

/// Ok when every operation of `document` keeps to the depth rules.
pub fn check(document: &ExecutableDocument, depth_limit: usize) -> Result<(), String> {
    let walker = Walker {
        fragments: &document.fragments,
        depth_limit,
    };
    for (_, operation) in document.operations.iter() {
        walker.selection_set(&operation.node.selection_set.node, Place::default())?;
    }
    Ok(())
}

/// Where a selection is.
#[derive(Clone, Copy, Default)]
struct Place {
    /// Its depth (a root field is 1).
    depth: usize,
    /// Within `__schema` or `__type`.
    introspection: bool,
    /// Type-member lists around it.
    type_lists: usize,
}

struct Walker<'d> {
    fragments: &'d HashMap<Name, Positioned<FragmentDefinition>>,
    depth_limit: usize,
}

impl Walker<'_> {
    fn selection_set(&self, set: &SelectionSet, around: Place) -> Result<(), String> {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let name = field.name.node.as_str();
                    let mut place = Place {
                        depth: around.depth + 1,
                        introspection: around.introspection
                            || (around.depth == 0 && matches!(name, "__schema" | "__type")),
                        type_lists: around.type_lists,
                    };
                    if place.introspection {
                        if TYPE_LISTS.contains(&name) {
                            place.type_lists += 1;
                        }
                        if place.depth > INTROSPECTION_DEPTH_LIMIT {
                            return Err(format!(
                                "the introspection is nested too deep: deeper than \
                                 {INTROSPECTION_DEPTH_LIMIT} levels (graphql-js's standard \
                                 introspection query takes 15)"
                            ));
                        }
                        if place.type_lists > MAX_TYPE_LIST_NESTING {
                            return Err(format!(
                                "the introspection nests fields, inputFields, interfaces or \
                                 possibleTypes in one another more than \
                                 {MAX_TYPE_LIST_NESTING} times"
                            ));
                        }
                    } else if place.depth > self.depth_limit {
                        return Err(format!(
                            "the query is nested too deep: deeper than {} levels \
                             (query_depth_limit)",
                            self.depth_limit
                        ));
                    }
                    self.selection_set(&field.selection_set.node, place)?;
                }
                Selection::InlineFragment(fragment) => {
                    self.selection_set(&fragment.node.selection_set.node, around)?;
                }
                Selection::FragmentSpread(spread) => {
                    // An unknown fragment is validation's to report; cycles were refused
                    // by the cost check.
                    if let Some(definition) =
                        self.fragments.get(spread.node.fragment_name.node.as_str())
                    {
                        self.selection_set(&definition.node.selection_set.node, around)?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_query(query: &str) -> Result<(), String> {
        check(&async_graphql::parser::parse_query(query).unwrap(), 12)
    }

    fn nested(times: usize, inner: &str, wrap: &str) -> String {
        (0..times).fold(inner.to_owned(), |acc, _| format!("{wrap} {{ {acc} }}"))
    }

    #[test]
    fn ordinary_queries_keep_the_depth_limit() {
        assert_eq!(
            check_query(&format!("{{ {} }}", nested(11, "a", "b"))),
            Ok(())
        );
        let deep = check_query(&format!("{{ {} }}", nested(12, "a", "b"))).unwrap_err();
        assert!(deep.contains("deeper than 12 levels"), "{deep}");
        // Through a fragment too.
        let deep = check_query(&format!(
            "{{ ...F }} fragment F on Query {{ {} }}",
            nested(12, "a", "b")
        ))
        .unwrap_err();
        assert!(deep.contains("query_depth_limit"), "{deep}");
    }

    #[test]
    fn introspection_is_measured_by_its_own_rules() {
        // 15 levels, as graphql-js's standard query: allowed beside a limit of 12.
        let type_ref = nested(10, "name", "ofType");
        assert_eq!(
            check_query(&format!(
                "{{ __schema {{ types {{ fields {{ args {{ type {{ {type_ref} }} }} }} }} }} }}"
            )),
            Ok(())
        );
        let too_deep = nested(13, "name", "ofType");
        let error = check_query(&format!(
            "{{ __schema {{ types {{ fields {{ type {{ {too_deep} }} }} }} }} }}"
        ))
        .unwrap_err();
        assert!(
            error.contains("introspection is nested too deep"),
            "{error}"
        );
        // The amplification: type lists nested three times, even through fragments.
        assert_eq!(
            check_query("{ __type(name: \"Query\") { fields { type { fields { name } } } } }"),
            Ok(())
        );
        let error = check_query(
            "{ __type(name: \"Query\") { ...T } } fragment T on __Type { fields { type { \
             fields { type { fields { name } } } } } }",
        )
        .unwrap_err();
        assert!(error.contains("more than 2 times"), "{error}");
        let error = check_query(
            "{ __schema { types { interfaces { possibleTypes { inputFields { name } } } } } }",
        )
        .unwrap_err();
        assert!(error.contains("possibleTypes"), "{error}");
        // A field named like an introspection one below the root is ordinary.
        let error = check_query(&format!(
            "{{ a {{ __type {{ {} }} }} }}",
            nested(11, "a", "b")
        ))
        .unwrap_err();
        assert!(error.contains("query_depth_limit"), "{error}");
    }
}
