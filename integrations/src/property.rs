//! The real-estate register: district + registry number + registration number → the property.

use crate::client::HttpSystem;
use domain::identity::Pin;
use domain::ports::{PropertyRecord, PropertyRegistry, Unavailable};
use domain::property::{PropertyKey, PropertyType};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct PropertyAnswer {
    property_type: String,
    address: String,
    #[serde(default)]
    owners: Vec<String>,
}

#[derive(Debug)]
pub struct HttpPropertyRegistry {
    system: HttpSystem,
}

impl HttpPropertyRegistry {
    pub fn new(system: HttpSystem) -> Self {
        Self { system }
    }
}

impl PropertyRegistry for HttpPropertyRegistry {
    fn property(&self, key: &PropertyKey) -> Result<Option<PropertyRecord>, Unavailable> {
        let answer: Option<PropertyAnswer> = self.system.get(
            &[
                "properties",
                key.district.as_str(),
                key.registry_number.as_str(),
                key.registration_number.as_str(),
            ],
            &[],
        )?;
        let Some(answer) = answer else {
            return Ok(None);
        };
        Ok(Some(PropertyRecord {
            key: key.clone(),
            property_type: PropertyType::parse(&answer.property_type).ok_or_else(|| {
                self.system
                    .malformed("property type", &answer.property_type)
            })?,
            address: answer.address,
            owners: answer
                .owners
                .iter()
                .map(|p| Pin::parse(p).map_err(|_| self.system.malformed("PIN", p)))
                .collect::<Result<_, _>>()?,
        }))
    }
}
