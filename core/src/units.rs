//! Durations in the serde form of the options: seconds as a number (a leaf: used by
//! `options` and `retry`).

/// `Option<Duration>` as seconds (a number), `null` = none.
pub(crate) mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_f64(d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<f64>::deserialize(d)?
            .map(|v| {
                Duration::try_from_secs_f64(v).map_err(|_| {
                    serde::de::Error::custom(format!(
                        "a duration must be a non-negative number of seconds, not {v}"
                    ))
                })
            })
            .transpose()
    }
}

/// `Duration` as seconds (a number).
pub(crate) mod secs_required {
    use std::time::Duration;

    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        super::secs::deserialize(d)?
            .ok_or_else(|| serde::de::Error::custom("a duration is required here, not null"))
    }
}
