//! The `DateTime` scalar: an instant, always written in one RFC 3339 form, UTC with
//! milliseconds and `Z` (`2026-01-05T09:00:00.000Z`), whatever precision the value was
//! stored or computed with; any RFC 3339 time (another offset, more or fewer digits) is read.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{DateTime, Utc};

/// An instant (see the module's description).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime<Utc>);

/// An instant as RFC 3339, written in UTC with milliseconds: `2026-01-05T09:00:00.000Z`.
/// Any RFC 3339 time is accepted as input.
#[Scalar(
    name = "DateTime",
    specified_by_url = "https://scalars.graphql.org/andimarek/date-time"
)]
impl ScalarType for Timestamp {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => DateTime::parse_from_rfc3339(text)
                .map(|t| Timestamp(t.with_timezone(&Utc)))
                .map_err(|_| {
                    InputValueError::custom(format!(
                        "{text:?} is not an RFC 3339 date and time (e.g. 2026-01-05T09:00:00Z)"
                    ))
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(crate::clock::rfc3339(&self.0))
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(instant: DateTime<Utc>) -> Self {
        Self(instant)
    }
}

impl From<Timestamp> for DateTime<Utc> {
    fn from(timestamp: Timestamp) -> Self {
        timestamp.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_form_out_any_rfc_3339_in() {
        let nanos = DateTime::parse_from_rfc3339("2026-01-05T09:00:00.123456789+00:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            Timestamp(nanos).to_value(),
            Value::from("2026-01-05T09:00:00.123Z")
        );
        let whole = DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            Timestamp(whole).to_value(),
            Value::from("2026-01-05T09:00:00.000Z")
        );
        let parsed = Timestamp::parse(Value::from("2026-01-05T16:00:00+07:00"))
            .unwrap_or_else(|e| panic!("{}", e.into_server_error(Default::default()).message));
        assert_eq!(parsed, Timestamp(whole));
        assert!(Timestamp::parse(Value::from("yesterday")).is_err());
        assert!(Timestamp::parse(Value::from(5)).is_err());
    }
}
