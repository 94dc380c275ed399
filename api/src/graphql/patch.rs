//! GraphQL's `MaybeUndefined` as the services' [`Patch`]: omitted leaves a field,
//! `null` clears it, a value sets it.

use async_graphql::MaybeUndefined;

use crate::patch::Patch;

impl<T> From<MaybeUndefined<T>> for Patch<T> {
    fn from(value: MaybeUndefined<T>) -> Self {
        match value {
            MaybeUndefined::Undefined => Patch::Unchanged,
            MaybeUndefined::Null => Patch::Clear,
            MaybeUndefined::Value(value) => Patch::Set(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn omitted_null_and_a_value() {
        assert_eq!(
            Patch::from(MaybeUndefined::<i32>::Undefined),
            Patch::Unchanged
        );
        assert_eq!(Patch::from(MaybeUndefined::<i32>::Null), Patch::Clear);
        assert_eq!(Patch::from(MaybeUndefined::Value(3)), Patch::Set(3));
    }
}
