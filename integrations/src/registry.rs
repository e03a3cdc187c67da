//! The citizen registry (PIN → main information) and the business registry (TIN → name and
//! representatives), one system. Main information is cached briefly: it is read on every step of
//! a session and changes rarely.

use crate::client::HttpSystem;
use chrono::NaiveDate;
use domain::identity::{Pin, Tin};
use domain::ports::{
    BusinessInformation, CitizenRegistry, MainInformation, PersonName, Unavailable,
};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Deserialize)]
struct CitizenAnswer {
    pin: String,
    first_name: String,
    last_name: String,
    #[serde(default)]
    patronymic: Option<String>,
    birth_date: NaiveDate,
    registered_address: String,
}

#[derive(Debug, Deserialize)]
struct BusinessAnswer {
    tin: String,
    name: String,
    #[serde(default)]
    representatives: Vec<String>,
}

/// The most entries the cache holds; beyond, the oldest go.
const CACHE_ENTRIES: usize = 10_000;

#[derive(Debug)]
pub struct HttpCitizenRegistry {
    system: HttpSystem,
    cache_for: Duration,
    cache: Mutex<HashMap<String, (Instant, MainInformation)>>,
}

impl HttpCitizenRegistry {
    /// `cache_for`: how long main information is kept (zero: never).
    pub fn new(system: HttpSystem, cache_for: Duration) -> Self {
        Self {
            system,
            cache_for,
            cache: Mutex::default(),
        }
    }

    fn cached(&self, pin: &Pin) -> Option<MainInformation> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(pin.as_str())
            .filter(|(at, _)| at.elapsed() < self.cache_for)
            .map(|(_, info)| info.clone())
    }

    fn remember(&self, info: &MainInformation) {
        if self.cache_for.is_zero() {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_ENTRIES {
            let cache_for = self.cache_for;
            cache.retain(|_, (at, _)| at.elapsed() < cache_for);
            if cache.len() >= CACHE_ENTRIES {
                cache.clear();
            }
        }
        cache.insert(info.pin.as_str().to_owned(), (Instant::now(), info.clone()));
    }
}

impl CitizenRegistry for HttpCitizenRegistry {
    fn main_information(&self, pin: &Pin) -> Result<Option<MainInformation>, Unavailable> {
        if let Some(info) = self.cached(pin) {
            return Ok(Some(info));
        }
        let answer: Option<CitizenAnswer> = self.system.get(&["citizens", pin.as_str()], &[])?;
        let Some(answer) = answer else {
            return Ok(None);
        };
        if answer.pin != pin.as_str() {
            return Err(self.system.malformed("PIN (another person's)", &answer.pin));
        }
        let info = MainInformation {
            pin: pin.clone(),
            name: PersonName {
                first_name: answer.first_name,
                last_name: answer.last_name,
            },
            patronymic: answer.patronymic,
            birth_date: answer.birth_date,
            registered_address: answer.registered_address,
        };
        self.remember(&info);
        Ok(Some(info))
    }

    fn business(&self, tin: &Tin) -> Result<Option<BusinessInformation>, Unavailable> {
        let answer: Option<BusinessAnswer> = self.system.get(&["businesses", tin.as_str()], &[])?;
        let Some(answer) = answer else {
            return Ok(None);
        };
        if answer.tin != tin.as_str() {
            return Err(self
                .system
                .malformed("TIN (another business's)", &answer.tin));
        }
        let representatives = answer
            .representatives
            .iter()
            .map(|p| Pin::parse(p).map_err(|_| self.system.malformed("PIN", p)))
            .collect::<Result<_, _>>()?;
        Ok(Some(BusinessInformation {
            tin: tin.clone(),
            name: answer.name,
            representatives,
        }))
    }
}
