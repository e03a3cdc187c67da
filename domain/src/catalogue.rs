//! The catalogue of the two e-services: their steps and fields, as the portal's forms show them.

use crate::application::ApplicationKind;
use serde::Serialize;

/// One e-service.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceDescription {
    pub kind: ApplicationKind,
    pub title_az: &'static str,
    pub title_en: &'static str,
    pub summary: &'static str,
    /// Who may apply.
    pub audience: &'static [&'static str],
    pub steps: &'static [StepDescription],
}

/// One step of the form.
#[derive(Debug, Clone, Serialize)]
pub struct StepDescription {
    /// The request field that fills it (`subscriber`, `account`, `property`, `contact`), or
    /// `main-information` for the step filled from the registries.
    pub id: &'static str,
    pub title_az: &'static str,
    pub title_en: &'static str,
    pub fields: &'static [FieldDescription],
}

/// One field of a step.
#[derive(Debug, Clone, Serialize)]
pub struct FieldDescription {
    pub name: &'static str,
    pub required: bool,
    pub format: &'static str,
    /// Where the choices come from, when the field is a choice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub choices_from: Option<&'static str>,
}

const fn field(name: &'static str, required: bool, format: &'static str) -> FieldDescription {
    FieldDescription {
        name,
        required,
        format,
        choices_from: None,
    }
}

const fn choice(
    name: &'static str,
    required: bool,
    format: &'static str,
    from: &'static str,
) -> FieldDescription {
    FieldDescription {
        name,
        required,
        format,
        choices_from: Some(from),
    }
}

const MAIN_INFORMATION: StepDescription = StepDescription {
    id: "main-information",
    title_az: "Əsas məlumatlar",
    title_en: "Main information",
    fields: &[choice(
        "person",
        true,
        "filled in from the state registries",
        "GET /api/v1/me",
    )],
};

const CONTACT: StepDescription = StepDescription {
    id: "contact",
    title_az: "Əlaqə məlumatları",
    title_en: "Contact information",
    fields: &[
        field(
            "contact.mobile_numbers",
            true,
            "1 to 3 active Azerbaijani mobile numbers (+994, operator 10, 50, 51, 55, 60, 70, 77 or 99)",
        ),
        field("contact.email", false, "e-mail address"),
    ],
};

const SERVICES: &[ServiceDescription] = &[
    ServiceDescription {
        kind: ApplicationKind::MeterDamageInvestigation,
        title_az: "Əhali və qeyri-əhali abonentləri üçün sayğac zədələnməsinin araşdırılması",
        title_en: "Investigation of meter damage for residential and non-residential subscribers",
        summary: "Report a damaged meter; the application goes to the relevant department, and the applicant is told by SMS and e-mail when it is registered and of its result.",
        audience: &[
            "residential subscribers",
            "non-residential subscribers (acting for a business with its VÖEN)",
        ],
        steps: &[
            MAIN_INFORMATION,
            StepDescription {
                id: "subscriber",
                title_az: "Müraciət məlumatları",
                title_en: "Application information",
                fields: &[
                    field("subscriber.type", true, "residential | non-residential"),
                    choice(
                        "subscriber.subscriber_code",
                        true,
                        "10 digits; residential only",
                        "GET /api/v1/me/subscriber-accounts",
                    ),
                    choice(
                        "subscriber.head_code",
                        true,
                        "8 digits; non-residential only",
                        "GET /api/v1/me/head-codes",
                    ),
                    choice(
                        "subscriber.metering_point",
                        true,
                        "non-residential only",
                        "GET /api/v1/me/head-codes/{head_code}/metering-points",
                    ),
                    field(
                        "damage_description",
                        false,
                        "free text, at most 2000 characters",
                    ),
                ],
            },
            CONTACT,
        ],
    },
    ServiceDescription {
        kind: ApplicationKind::AccountChange,
        title_az: "Elektrik enerjisinin alqı-satqı müqaviləsinin (şəxsi hesabın) digər məişət abonentinin adına keçirilməsi və ya ad/soyad dəyişikliyi ilə əlaqədar yenilənməsi",
        title_en: "Transfer of the electricity sale contract (personal account) to another household subscriber, or its update after a name change",
        summary: "Move a personal account to the new owner of the property, or bring it in line with the holder's new name; the account must have no unpaid debt. The application goes to the registration office, and the documents are sent by SMS.",
        audience: &["residential subscribers"],
        steps: &[
            MAIN_INFORMATION,
            StepDescription {
                id: "account",
                title_az: "Müraciət məlumatları",
                title_en: "Application information",
                fields: &[
                    field("account.variant", true, "transfer | name-change"),
                    choice(
                        "account.subscriber_code",
                        true,
                        "10 digits; checked for unpaid debt",
                        "GET /api/v1/subscriber-accounts/{code}/debt",
                    ),
                ],
            },
            StepDescription {
                id: "property",
                title_az: "Fərdi yaşayış evi / mənzil məlumatları",
                title_en: "Private house or apartment information",
                fields: &[
                    choice(
                        "property.district",
                        true,
                        "district code",
                        "GET /api/v1/districts",
                    ),
                    field(
                        "property.registry_number",
                        true,
                        "from the real-estate register extract",
                    ),
                    field(
                        "property.registration_number",
                        true,
                        "from the real-estate register extract",
                    ),
                    field("property.property_type", true, "private-house | apartment"),
                ],
            },
            CONTACT,
        ],
    },
];

/// Both e-services.
pub fn services() -> &'static [ServiceDescription] {
    SERVICES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_entry_per_kind_each_ending_with_contact() {
        for kind in ApplicationKind::ALL {
            let matching: Vec<_> = services().iter().filter(|s| s.kind == kind).collect();
            assert_eq!(matching.len(), 1);
            assert_eq!(matching[0].steps.last().map(|s| s.id), Some("contact"));
            assert_eq!(
                matching[0].steps.first().map(|s| s.id),
                Some("main-information")
            );
        }
    }
}
