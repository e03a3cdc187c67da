//! The registries and billing as the use cases see them: each read goes to the configured
//! adapter (HTTP or local) and is recorded in the access log with who read whose data and why.
//! A read that cannot be recorded is not used (503).

use crate::read_context;
use domain::access_log::{AccessLog, PersonalDataRead};
use domain::codes::{HeadCode, MeteringPointCode, SubscriberCode};
use domain::identity::{Pin, Tin};
use domain::ports::{
    Billing, BusinessInformation, CitizenRegistry, DebtStatement, HeadCodeAccount, MainInformation,
    MeteringPoint, PropertyRecord, PropertyRegistry, SubscriberAccount, Unavailable,
};
use domain::property::PropertyKey;
use std::sync::Arc;

#[derive(Clone)]
pub struct RecordedRegistries {
    pub citizens: Arc<dyn CitizenRegistry>,
    pub billing: Arc<dyn Billing>,
    pub properties: Arc<dyn PropertyRegistry>,
    pub log: Arc<dyn AccessLog>,
}

impl std::fmt::Debug for RecordedRegistries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecordedRegistries")
    }
}

impl RecordedRegistries {
    fn note(
        &self,
        registry: &'static str,
        data: &'static str,
        subject: &str,
    ) -> Result<(), Unavailable> {
        let (reader, purpose) = read_context::current();
        self.log.record(&PersonalDataRead {
            at: chrono::Utc::now(),
            reader,
            subject: subject.to_owned(),
            registry,
            data,
            purpose,
        })
    }
}

impl CitizenRegistry for RecordedRegistries {
    fn main_information(&self, pin: &Pin) -> Result<Option<MainInformation>, Unavailable> {
        let found = self.citizens.main_information(pin)?;
        self.note("citizen-registry", "main-information", pin.as_str())?;
        Ok(found)
    }

    fn business(&self, tin: &Tin) -> Result<Option<BusinessInformation>, Unavailable> {
        let found = self.citizens.business(tin)?;
        self.note("business-registry", "business", tin.as_str())?;
        Ok(found)
    }
}

impl Billing for RecordedRegistries {
    fn residential_accounts(&self, holder: &Pin) -> Result<Vec<SubscriberAccount>, Unavailable> {
        let found = self.billing.residential_accounts(holder)?;
        self.note("billing", "subscriber-accounts", holder.as_str())?;
        Ok(found)
    }

    fn account(&self, code: &SubscriberCode) -> Result<Option<SubscriberAccount>, Unavailable> {
        let found = self.billing.account(code)?;
        // Whose account it is, when billing knows it.
        let subject = found.as_ref().map_or_else(
            || code.as_str().to_owned(),
            |a| a.holder_pin.as_str().to_owned(),
        );
        self.note("billing", "account", &subject)?;
        Ok(found)
    }

    fn debt(&self, code: &SubscriberCode) -> Result<Option<DebtStatement>, Unavailable> {
        let found = self.billing.debt(code)?;
        self.note("billing", "debt", code.as_str())?;
        Ok(found)
    }

    fn head_codes(&self, tin: &Tin) -> Result<Vec<HeadCodeAccount>, Unavailable> {
        let found = self.billing.head_codes(tin)?;
        self.note("billing", "head-codes", tin.as_str())?;
        Ok(found)
    }

    fn head_code(&self, code: &HeadCode) -> Result<Option<HeadCodeAccount>, Unavailable> {
        let found = self.billing.head_code(code)?;
        let subject = found
            .as_ref()
            .map_or_else(|| code.as_str().to_owned(), |h| h.tin.as_str().to_owned());
        self.note("billing", "head-code", &subject)?;
        Ok(found)
    }

    fn metering_points(&self, head_code: &HeadCode) -> Result<Vec<MeteringPoint>, Unavailable> {
        let found = self.billing.metering_points(head_code)?;
        self.note("billing", "metering-points", head_code.as_str())?;
        Ok(found)
    }

    fn metering_point(
        &self,
        code: &MeteringPointCode,
    ) -> Result<Option<MeteringPoint>, Unavailable> {
        let found = self.billing.metering_point(code)?;
        self.note("billing", "metering-point", code.as_str())?;
        Ok(found)
    }
}

impl PropertyRegistry for RecordedRegistries {
    fn property(&self, key: &PropertyKey) -> Result<Option<PropertyRecord>, Unavailable> {
        let found = self.properties.property(key)?;
        // Register numbers may hold '/': the parts are joined by a space, which none holds.
        let subject = format!(
            "{} {} {}",
            key.district.as_str(),
            key.registry_number.as_str(),
            key.registration_number.as_str()
        );
        self.note("property-registry", "property", &subject)?;
        Ok(found)
    }
}
