//! The documents an application produces: on approval of an account change, the confirmation of
//! the new holder or the new name; on completion of a meter damage investigation, the inspection
//! result. This file decides what they say; an adapter renders them (PDF).

use crate::application::{
    AccountChangeVariant, AccountSelection, Application, MeterDamageTarget, Steps,
};
use crate::ports::PersonName;
use crate::service_level::baku_date;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DocumentKind {
    /// The new holder of the personal account, or the holder's new name.
    AccountChangeConfirmation,
    /// The result of the meter damage investigation.
    InspectionResult,
}

impl DocumentKind {
    pub const ALL: [Self; 2] = [Self::AccountChangeConfirmation, Self::InspectionResult];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccountChangeConfirmation => "account-change-confirmation",
            Self::InspectionResult => "inspection-result",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == input)
    }
}

/// What a document says, line by line, before rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentText {
    pub kind: DocumentKind,
    pub file_name: String,
    pub title: String,
    pub lines: Vec<String>,
}

/// A rendered document about to be stored with the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDocument {
    pub kind: DocumentKind,
    pub file_name: String,
    pub content_type: &'static str,
    pub content: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

/// A stored document, without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentInfo {
    pub id: i64,
    pub kind: DocumentKind,
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
    pub created_at: DateTime<Utc>,
}

/// Renders a document (PDF in production).
pub trait DocumentRenderer: Send + Sync {
    fn render(&self, text: &DocumentText) -> Vec<u8>;
    fn content_type(&self) -> &'static str;
}

const COMPANY: &str = "\"Azərişıq\" ASC";

/// The confirmation of an approved account change; `holder` is the name now on the account.
pub fn account_change_confirmation(
    application: &Application,
    holder: &PersonName,
    decided_at: DateTime<Utc>,
) -> Option<DocumentText> {
    let Steps::AccountChange {
        account:
            Some(AccountSelection {
                variant,
                subscriber_code,
            }),
        property,
        ..
    } = &application.steps
    else {
        return None;
    };
    let (title, what) = match variant {
        AccountChangeVariant::Transfer => (
            "Şəxsi hesabın digər abonentin adına keçirilməsi haqqında təsdiq / Confirmation of the account transfer",
            "Şəxsi hesab yeni sahibin adına keçirildi / The personal account was transferred to the new holder",
        ),
        AccountChangeVariant::NameChange => (
            "Şəxsi hesabın ad/soyad dəyişikliyi ilə yenilənməsi haqqında təsdiq / Confirmation of the name change",
            "Şəxsi hesabda abonentin yeni adı yazıldı / The holder's new name was written on the account",
        ),
    };
    let mut lines = vec![
        COMPANY.to_owned(),
        format!(
            "Müraciət nömrəsi / Application number: {}",
            application.number
        ),
        format!("Abonent kodu / Subscriber code: {subscriber_code}"),
        what.to_owned(),
        format!(
            "Abonent / Holder: {} {}",
            holder.first_name, holder.last_name
        ),
        format!("FİN / PIN: {}", application.applicant.pin),
    ];
    if let Some(property) = property {
        let district = property.key.district.district();
        lines.push(format!(
            "Rayon / District: {} ({})",
            district.name_az, district.code
        ));
        lines.push(format!(
            "Reyestr nömrəsi / Registry number: {}",
            property.key.registry_number
        ));
        lines.push(format!(
            "Qeydiyyat nömrəsi / Registration number: {}",
            property.key.registration_number
        ));
        let kind = match property.property_type {
            crate::property::PropertyType::Apartment => "mənzil / apartment",
            crate::property::PropertyType::PrivateHouse => "fərdi yaşayış evi / private house",
        };
        lines.push(format!("Obyekt / Property: {kind}"));
    }
    lines.push(format!("Tarix / Date: {}", baku_date(decided_at)));
    Some(DocumentText {
        kind: DocumentKind::AccountChangeConfirmation,
        file_name: format!("{}-confirmation.pdf", application.number),
        title: title.to_owned(),
        lines,
    })
}

/// The result of a completed meter damage investigation.
pub fn inspection_result(
    application: &Application,
    decided_at: DateTime<Utc>,
) -> Option<DocumentText> {
    let Steps::MeterDamage {
        target: Some(target),
        ..
    } = &application.steps
    else {
        return None;
    };
    let outcome = &application.work.outcome;
    let mut lines = vec![
        COMPANY.to_owned(),
        format!(
            "Müraciət nömrəsi / Application number: {}",
            application.number
        ),
        match target {
            MeterDamageTarget::Residential { subscriber_code } => {
                format!("Abonent kodu / Subscriber code: {subscriber_code}")
            }
            MeterDamageTarget::NonResidential {
                head_code,
                metering_point,
            } => {
                format!(
                    "Baş kod / Head code: {head_code}, uçot nöqtəsi / metering point: {metering_point}"
                )
            }
        },
    ];
    if let Some(visit) = outcome.visit {
        lines.push(format!(
            "Baxış / Inspection: {} {}–{}",
            visit.date,
            visit.from.format("%H:%M"),
            visit.to.format("%H:%M")
        ));
    }
    if let Some(findings) = &outcome.findings {
        lines.push(format!("Akt nömrəsi / Act number: {}", findings.act_number));
        lines.push(if findings.damage_found {
            format!(
                "Zədə aşkar edildi / Damage found: {}",
                findings.cause.map_or("-", |c| c.as_str())
            )
        } else {
            "Zədə aşkar edilmədi / No damage found".to_owned()
        });
        for reading in &findings.readings {
            lines.push(format!(
                "Göstərici / Reading ({}): {} kWh",
                reading.register, reading.value_kwh
            ));
        }
    }
    if let Some(result) = &outcome.result {
        lines.push(format!("Nəticə / Result: {result}"));
    }
    lines.push(format!("Tarix / Date: {}", baku_date(decided_at)));
    Some(DocumentText {
        kind: DocumentKind::InspectionResult,
        file_name: format!("{}-inspection-result.pdf", application.number),
        title: "Sayğac zədələnməsinin araşdırılmasının nəticəsi / Result of the meter damage investigation".to_owned(),
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::{ApplicationKind, ApplicationNumber, Work};
    use crate::codes::SubscriberCode;
    use crate::identity::{Applicant, LoginMethod, Pin};
    use crate::property::PropertyData;
    use crate::status::Status;
    use crate::workflow::{DamageCause, InspectionFindings, MeterReading, Outcome};
    use chrono::TimeZone;

    fn application(steps: Steps, work: Work) -> Application {
        let at = Utc
            .with_ymd_and_hms(2026, 11, 25, 18, 30, 0)
            .single()
            .unwrap_or_default();
        Application {
            number: ApplicationNumber::new(steps.kind(), 2026, 7),
            status: Status::Approved,
            applicant: Applicant {
                pin: Pin::parse("5T9BQ4E").unwrap_or_else(|_| unreachable!()),
                tin: None,
                login_method: LoginMethod::AsanImza,
            },
            steps,
            contact: None,
            work,
            created_at: at,
            updated_at: at,
            submitted_at: Some(at),
            language: crate::notifications::Language::Az,
            version: 3,
            timeline: vec![],
        }
    }

    #[test]
    fn the_transfer_confirmation_names_the_application_the_account_the_holder_and_the_property() {
        let steps = Steps::AccountChange {
            account: Some(AccountSelection {
                variant: AccountChangeVariant::Transfer,
                subscriber_code: SubscriberCode::parse("1000000004")
                    .unwrap_or_else(|_| unreachable!()),
            }),
            property: PropertyData::parse("AZ-BA-NRM", "110033056204", "2026-203517", "apartment")
                .ok(),
            debt_check: None,
        };
        let decided = Utc
            .with_ymd_and_hms(2026, 11, 25, 21, 0, 0)
            .single()
            .unwrap_or_default();
        let holder = PersonName {
            first_name: "Tural".into(),
            last_name: "Abbasov".into(),
        };
        let text =
            account_change_confirmation(&application(steps, Work::default()), &holder, decided)
                .unwrap_or_else(|| unreachable!());
        let all = text.lines.join("\n");
        for expected in [
            "AC-2026-000007",
            "1000000004",
            "Tural Abbasov",
            "Nərimanov",
            "110033056204",
            "2026-203517",
            "mənzil / apartment",
            "2026-11-26",
        ] {
            assert!(all.contains(expected), "{expected} missing from:\n{all}");
        }
        assert_eq!(text.file_name, "AC-2026-000007-confirmation.pdf");
        assert_eq!(text.kind, DocumentKind::AccountChangeConfirmation);
    }

    #[test]
    fn the_inspection_result_carries_the_findings_and_the_result() {
        let steps = Steps::MeterDamage {
            target: SubscriberCode::parse("1000000001")
                .ok()
                .map(|subscriber_code| MeterDamageTarget::Residential { subscriber_code }),
            description: None,
        };
        let work = Work {
            outcome: Outcome {
                findings: Some(InspectionFindings {
                    damage_found: true,
                    cause: Some(DamageCause::BrokenSeal),
                    act_number: "AKT-2026/0457".into(),
                    readings: vec![MeterReading {
                        register: "total".into(),
                        value_kwh: 12345,
                    }],
                }),
                result: Some("Sayğac dəyişdirildi.".into()),
                ..Outcome::default()
            },
            ..Work::default()
        };
        let decided = Utc
            .with_ymd_and_hms(2026, 11, 25, 10, 0, 0)
            .single()
            .unwrap_or_default();
        let text =
            inspection_result(&application(steps, work), decided).unwrap_or_else(|| unreachable!());
        let all = text.lines.join("\n");
        for expected in [
            "MD-2026-000007",
            "1000000001",
            "AKT-2026/0457",
            "broken-seal",
            "12345 kWh",
            "Sayğac dəyişdirildi.",
        ] {
            assert!(all.contains(expected), "{expected} missing from:\n{all}");
        }
        assert_eq!(
            inspection_result(
                &application(
                    Steps::empty(ApplicationKind::MeterDamageInvestigation),
                    Work::default()
                ),
                decided
            ),
            None
        );
    }
}
