//! [`Patch`]: how a service is told to change one optional field of a record (leave it,
//! clear it, or set it), whatever protocol the change came in by.

/// A change to one field that may be empty. GraphQL's `MaybeUndefined` becomes one of these
/// (omitted: [`Patch::Unchanged`], `null`: [`Patch::Clear`], a value: [`Patch::Set`]) in the
/// GraphQL layer, so that the services do not know GraphQL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// The field stays as it is.
    #[default]
    Unchanged,
    /// The field is emptied (or goes back to its default, where it has one).
    Clear,
    /// The field takes this value.
    Set(T),
}

impl<T> Patch<T> {
    /// The same change, borrowing the value.
    pub fn as_ref(&self) -> Patch<&T> {
        match self {
            Self::Unchanged => Patch::Unchanged,
            Self::Clear => Patch::Clear,
            Self::Set(value) => Patch::Set(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_leaves_the_field_alone() {
        assert_eq!(Patch::<String>::default(), Patch::Unchanged);
        assert_eq!(
            Patch::Set("a".to_owned()).as_ref(),
            Patch::Set(&"a".to_owned())
        );
        assert_eq!(Patch::<String>::Clear.as_ref(), Patch::Clear);
    }
}
