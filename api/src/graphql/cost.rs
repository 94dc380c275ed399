//! The size of an operation, measured right after parsing and before any other work: every
//! field counts (each alias separately, `__typename` too), and so does every argument and
//! directive; fragment spreads count as what they expand to. A document over the limit is
//! refused before async-graphql's own checks, which walk fragments expanded (its recursion
//! depth check and validation visitors: a few fragments spreading each other twice would
//! expand to billions of fields). The document parsed here is the one executed.
//!
//! The count takes one pass over the document: each fragment's cost is computed once and
//! reused, cycles are found on the way, and the arithmetic saturates.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{
    Name, Positioned, Request, ServerError, ServerResult, Value,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest},
    parser::types::{ExecutableDocument, FragmentDefinition, Selection, SelectionSet},
};

use super::error::GRAPHQL_VALIDATION_FAILED;

/// Refuses documents that select more than `limit` (see the module's description).
pub struct OperationCost {
    pub limit: usize,
}

impl ExtensionFactory for OperationCost {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(OperationCostExtension { limit: self.limit })
    }
}

struct OperationCostExtension {
    limit: usize,
}

#[async_trait::async_trait]
impl Extension for OperationCostExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        // A document that does not parse is left to the parser to report.
        if let Ok(document) = request.parsed_query() {
            check(document, self.limit).map_err(|message| {
                let mut error = ServerError::new(message, None);
                error
                    .extensions
                    .get_or_insert_with(Default::default)
                    .set("code", Value::from(GRAPHQL_VALIDATION_FAILED));
                error
            })?;
        }
        next.run(ctx, request).await
    }
}

/// Why a document is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum CostError {
    TooLarge { cost: usize, limit: usize },
    FragmentCycle(String),
}

impl std::fmt::Display for CostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge { cost, limit } => write!(
                f,
                "the query is too complex: it selects at least {cost} fields, arguments and \
                 directives (each alias and __typename counted, fragments as expanded); the \
                 limit is {limit} (query_complexity_limit)"
            ),
            Self::FragmentCycle(name) => {
                write!(f, "fragment {name:?} spreads itself (a fragment cycle)")
            }
        }
    }
}

/// Ok when the document's cost is at most `limit`.
pub fn check(document: &ExecutableDocument, limit: usize) -> Result<usize, String> {
    cost(document, limit).map_err(|e| e.to_string())
}

/// The cost of every operation of a document together, stopping once it is over `limit`.
pub fn cost(document: &ExecutableDocument, limit: usize) -> Result<usize, CostError> {
    let mut counter = Counter {
        fragments: &document.fragments,
        done: HashMap::new(),
        visiting: Vec::new(),
    };
    // Fragments are counted once each even if no operation uses them: their text was sent.
    let mut total = 0usize;
    for (_, operation) in document.operations.iter() {
        let node = &operation.node;
        let own = node.directives.len() + node.variable_definitions.len();
        total = total
            .saturating_add(own)
            .saturating_add(counter.selection_set(&node.selection_set.node)?);
        if total > limit {
            return Err(CostError::TooLarge { cost: total, limit });
        }
    }
    Ok(total)
}

struct Counter<'d> {
    fragments: &'d HashMap<Name, Positioned<FragmentDefinition>>,
    /// The expanded cost of each fragment seen.
    done: HashMap<&'d str, usize>,
    /// The fragments being expanded (to find cycles).
    visiting: Vec<&'d str>,
}

impl<'d> Counter<'d> {
    fn selection_set(&mut self, set: &'d SelectionSet) -> Result<usize, CostError> {
        let mut total = 0usize;
        for item in &set.items {
            let cost = match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    1usize
                        .saturating_add(field.arguments.len())
                        .saturating_add(field.directives.len())
                        .saturating_add(self.selection_set(&field.selection_set.node)?)
                }
                Selection::InlineFragment(fragment) => {
                    let fragment = &fragment.node;
                    fragment
                        .directives
                        .len()
                        .saturating_add(self.selection_set(&fragment.selection_set.node)?)
                }
                Selection::FragmentSpread(spread) => {
                    let spread = &spread.node;
                    spread
                        .directives
                        .len()
                        .saturating_add(self.fragment(spread.fragment_name.node.as_str())?)
                }
            };
            total = total.saturating_add(cost);
        }
        Ok(total)
    }

    fn fragment(&mut self, name: &str) -> Result<usize, CostError> {
        // An unknown fragment is validation's to report.
        let Some((key, definition)) = self.fragments.get_key_value(name) else {
            return Ok(0);
        };
        let key = key.as_str();
        if let Some(cost) = self.done.get(key) {
            return Ok(*cost);
        }
        if self.visiting.contains(&key) {
            return Err(CostError::FragmentCycle(key.to_owned()));
        }
        self.visiting.push(key);
        let definition = &definition.node;
        let cost = definition
            .directives
            .len()
            .saturating_add(self.selection_set(&definition.selection_set.node)?);
        self.visiting.pop();
        self.done.insert(key, cost);
        Ok(cost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost_of(query: &str) -> Result<usize, CostError> {
        cost(
            &async_graphql::parser::parse_query(query).unwrap(),
            usize::MAX,
        )
    }

    #[test]
    fn fields_aliases_and_typename_all_count() {
        assert_eq!(cost_of("{ a b }"), Ok(2));
        assert_eq!(cost_of("{ x: a y: a __typename }"), Ok(3));
        assert_eq!(cost_of("{ a(first: 1) @include(if: true) { b } }"), Ok(4));
        assert_eq!(
            cost_of("query($v: Int) { ... on Query { a } ...F } fragment F on Query { b c }"),
            Ok(4)
        );
    }

    #[test]
    fn fragments_count_as_expanded_without_expanding_them() {
        // Each level doubles: 2^40 fields once expanded, counted in 40 steps.
        let mut query = String::from("{ ...F0 }");
        for level in 0..40 {
            query.push_str(&format!(
                " fragment F{level} on Query {{ ...F{next} ...F{next} }}",
                next = level + 1
            ));
        }
        query.push_str(" fragment F40 on Query { __typename }");
        let document = async_graphql::parser::parse_query(&query).unwrap();
        assert_eq!(cost(&document, usize::MAX), Ok(1 << 40));
        assert_eq!(
            cost(&document, 2_000),
            Err(CostError::TooLarge {
                cost: 1 << 40,
                limit: 2_000
            })
        );
    }

    #[test]
    fn fragment_cycles_are_refused() {
        assert_eq!(
            cost_of("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"),
            Err(CostError::FragmentCycle("A".into()))
        );
        assert_eq!(cost_of("{ ...Missing }"), Ok(0));
    }
}
