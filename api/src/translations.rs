//! The texts people read, in Azerbaijani (the default), English and Russian, picked by the
//! request's `Accept-Language`: the problems' titles, details and field messages, and the
//! statuses' labels. English is what the code writes; this file holds the other two. A problem
//! is translated on its way out (`localize_problems`), so every error, wherever it was raised,
//! speaks the caller's language; its `code` never changes.

use crate::problem::ErrorCode;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpRequest};
use domain::notifications::Language;
use domain::status::Status;
use serde_json::Value;
use std::future::{Ready, ready};

/// The language a request asks for: the best supported one of its `Accept-Language`, or
/// Azerbaijani.
pub fn requested(headers: &actix_web::http::header::HeaderMap) -> Language {
    accept_language(headers).unwrap_or_default()
}

/// The language an `Accept-Language` header asks for, if it names one the service writes (also
/// the first language of an applicant's messages).
pub fn accept_language(headers: &actix_web::http::header::HeaderMap) -> Option<Language> {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Language::from_accept_language)
}

/// Extractor: the language the response is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preferred(pub Language);

impl FromRequest for Preferred {
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self(requested(request.headers()))))
    }
}

/// A status as a person reads it.
pub fn status_label(status: Status, language: Language) -> &'static str {
    use Language::{Az, En, Ru};
    use Status as S;
    match (status, language) {
        (S::Draft, Az) => "Qaralama",
        (S::Draft, En) => "Draft",
        (S::Draft, Ru) => "Черновик",
        (S::Submitted, Az) => "Göndərilib",
        (S::Submitted, En) => "Submitted",
        (S::Submitted, Ru) => "Подана",
        (S::Accepted, Az) => "Qəbul edilib",
        (S::Accepted, En) => "Accepted",
        (S::Accepted, Ru) => "Принята",
        (S::InspectionScheduled, Az) => "Baxış təyin edilib",
        (S::InspectionScheduled, En) => "Inspection scheduled",
        (S::InspectionScheduled, Ru) => "Назначен осмотр",
        (S::Inspected, Az) => "Baxış keçirilib",
        (S::Inspected, En) => "Inspected",
        (S::Inspected, Ru) => "Осмотр проведён",
        (S::UnderReview, Az) => "Baxılır",
        (S::UnderReview, En) => "Under review",
        (S::UnderReview, Ru) => "На рассмотрении",
        (S::ReturnedForCorrection, Az) => "Düzəliş üçün qaytarılıb",
        (S::ReturnedForCorrection, En) => "Returned for correction",
        (S::ReturnedForCorrection, Ru) => "Возвращена на исправление",
        (S::Completed, Az) => "Başa çatıb",
        (S::Completed, En) => "Completed",
        (S::Completed, Ru) => "Завершена",
        (S::Approved, Az) => "Təsdiq edilib",
        (S::Approved, En) => "Approved",
        (S::Approved, Ru) => "Одобрена",
        (S::Rejected, Az) => "İmtina edilib",
        (S::Rejected, En) => "Rejected",
        (S::Rejected, Ru) => "Отклонена",
        (S::Cancelled, Az) => "Ləğv edilib",
        (S::Cancelled, En) => "Cancelled",
        (S::Cancelled, Ru) => "Отменена",
    }
}

/// A problem code's meaning (the problem's `title`).
pub fn problem_title(code: ErrorCode, language: Language) -> &'static str {
    let (az, ru) = other_titles(code);
    match language {
        Language::Az => az,
        Language::En => code.title(),
        Language::Ru => ru,
    }
}

/// The Azerbaijani and Russian titles; English is `ErrorCode::title`.
fn other_titles(code: ErrorCode) -> (&'static str, &'static str) {
    use ErrorCode as E;
    match code {
        E::MalformedJson => (
            "Sorğunun mətni düzgün JSON deyil",
            "Тело запроса не является корректным JSON",
        ),
        E::UnknownField => (
            "Sorğuda bu əməliyyatın tanımadığı sahə var",
            "В запросе есть поле, неизвестное этой операции",
        ),
        E::InvalidBody => (
            "Sorğunun mətni gözlənilən quruluşda deyil",
            "Тело запроса имеет неожиданную структуру",
        ),
        E::InvalidPathParameter => (
            "Ünvandakı parametr düzgün deyil",
            "Параметр пути недопустим",
        ),
        E::InvalidQueryParameter => (
            "Sorğu parametri düzgün deyil",
            "Параметр запроса недопустим",
        ),
        E::InvalidIdempotencyKey => (
            "Idempotency-Key başlığı düzgün deyil",
            "Заголовок Idempotency-Key недопустим",
        ),
        E::Unauthenticated => (
            "Etibarlı giriş tokeni tələb olunur",
            "Требуется действительный токен доступа",
        ),
        E::ForbiddenRole => (
            "Rolunuz bu əməliyyata icazə vermir",
            "Ваша роль не позволяет эту операцию",
        ),
        E::InsufficientScope => (
            "Xidmət hesabının tokenində bu əməliyyat üçün icazə yoxdur",
            "В токене сервисной учётной записи нет нужного разрешения",
        ),
        E::InvalidOnBehalfOf => (
            "Xidmət hesabı adından çıxış etdiyi müraciətçini göstərməlidir",
            "Сервисная учётная запись должна указать заявителя, от имени которого действует",
        ),
        E::BusinessRequired => (
            "Bu əməliyyat üçün müəssisə adından (VÖEN ilə) daxil olun",
            "Для этой операции войдите от имени организации (с VÖEN)",
        ),
        E::NotARepresentative => (
            "Siz bu müəssisənin nümayəndəsi deyilsiniz",
            "Вы не являетесь представителем этой организации",
        ),
        E::NoDepartment => (
            "Operatorun tokenində şöbə göstərilməlidir",
            "В токене оператора должен быть указан отдел",
        ),
        E::LinkInvalid => (
            "Sənəd keçidi etibarlı deyil",
            "Ссылка на документ недействительна",
        ),
        E::LinkExpired => (
            "Sənəd keçidinin müddəti bitib",
            "Срок действия ссылки на документ истёк",
        ),
        E::RouteNotFound => ("Belə əməliyyat yoxdur", "Такой операции нет"),
        E::ApplicationNotFound => ("Belə müraciət yoxdur", "Такого заявления нет"),
        E::DocumentNotFound => ("Belə sənəd yoxdur", "Такого документа нет"),
        E::MessageNotFound => ("Belə bildiriş yoxdur", "Такого сообщения нет"),
        E::WebhookSubscriptionNotFound => (
            "Belə webhook abunəliyi yoxdur",
            "Такой подписки на webhook нет",
        ),
        E::MessageNotFailed => (
            "Yalnız göndərilməsi alınmayan bildiriş təkrar göndərilə bilər",
            "Повторно отправить можно только неудавшееся сообщение",
        ),
        E::DeliveryInProgress => (
            "Göndəriş növbədədir və ya göndərilir",
            "Доставка в очереди или выполняется",
        ),
        E::PersonNotInRegistry => (
            "Vətəndaş reyestrində sizin FİN ilə şəxs yoxdur",
            "В реестре граждан нет лица с вашим FİN",
        ),
        E::SubscriberCodeNotFound => ("Belə abonent kodu yoxdur", "Такого абонентского кода нет"),
        E::HeadCodeNotFound => (
            "Müəssisənizin müqavilələri arasında belə baş kod yoxdur",
            "Среди договоров вашей организации нет такого головного кода",
        ),
        E::MethodNotAllowed => (
            "Bu metod burada icazəli deyil",
            "Этот метод здесь не разрешён",
        ),
        E::OpenApplicationExists => (
            "Bu hədəf üzrə artıq açıq müraciət var",
            "По этому объекту уже есть открытое заявление",
        ),
        E::ActionNotAllowed => (
            "Müraciətin hazırkı statusunda bu əməliyyat mümkün deyil",
            "В текущем статусе заявления это действие невозможно",
        ),
        E::ApplicationNotEditable => (
            "Müraciəti artıq dəyişmək olmaz",
            "Заявление больше нельзя изменить",
        ),
        E::VersionConflict => (
            "Müraciət bu arada dəyişdirilib",
            "Заявление тем временем было изменено",
        ),
        E::IdempotencyRequestInProgress => (
            "Bu Idempotency-Key ilə sorğu hələ icra olunur",
            "Запрос с этим Idempotency-Key ещё выполняется",
        ),
        E::IdempotencyRequestInterrupted => (
            "Bu Idempotency-Key ilə sorğu icra olunub, lakin cavabı itib",
            "Запрос с этим Idempotency-Key выполнен, но ответ потерян",
        ),
        E::PreconditionFailed => (
            "Müraciət siz oxuyandan sonra dəyişib",
            "Заявление изменилось после того, как вы его прочитали",
        ),
        E::PayloadTooLarge => ("Sorğunun mətni çox böyükdür", "Тело запроса слишком велико"),
        E::UnsupportedMediaType => (
            "Sorğunun mətni application/json olmalıdır",
            "Тело запроса должно быть application/json",
        ),
        E::IdempotencyKeyReused => (
            "Bu Idempotency-Key başqa sorğu üçün istifadə olunub",
            "Этот Idempotency-Key использован для другого запроса",
        ),
        E::ValidationFailed => (
            "Bəzi sahələr düzgün deyil",
            "Некоторые поля заполнены неверно",
        ),
        E::StepNotForKind => (
            "Addım bu növ müraciətə aid deyil",
            "Шаг не относится к этому виду заявления",
        ),
        E::ApplicationIncomplete => (
            "Müraciəti göndərməzdən əvvəl bəzi addımlar tamamlanmalıdır",
            "Перед подачей заявления нужно заполнить недостающие шаги",
        ),
        E::SubscriberCodeUnknown => (
            "Abonent kodu billinqə məlum olan məişət hesabı deyil",
            "Абонентский код не является известным биллингу бытовым счётом",
        ),
        E::SubscriberCodeNotYours => (
            "Abonent kodu sizin hesabınız deyil",
            "Абонентский код не ваш счёт",
        ),
        E::HeadCodeNotYours => (
            "Baş kod müəssisənizin müqaviləsi deyil",
            "Головной код не является договором вашей организации",
        ),
        E::MeteringPointNotUnderHeadCode => (
            "Uçot nöqtəsi seçilmiş baş koda aid deyil",
            "Точка учёта не относится к выбранному головному коду",
        ),
        E::AccountAlreadyYours => ("Hesab artıq sizin adınızadır", "Счёт уже оформлен на вас"),
        E::NameUnchanged => ("Adınız dəyişməyib", "Ваше имя не изменилось"),
        E::DebtOutstanding => (
            "Hesab üzrə ödənilməmiş borc var",
            "По счёту есть неоплаченный долг",
        ),
        E::PropertyNotFound => (
            "Daşınmaz əmlak reyestrində belə əmlak yoxdur",
            "В реестре недвижимости нет такого объекта",
        ),
        E::NotPropertyOwner => (
            "Siz bu əmlakın mülkiyyətçisi deyilsiniz",
            "Вы не являетесь владельцем этой недвижимости",
        ),
        E::PropertyTypeMismatch => (
            "Əmlakın növü reyestrdəkindən fərqlidir",
            "Тип недвижимости отличается от указанного в реестре",
        ),
        E::AccountNotAtProperty => (
            "Hesab bu əmlaka aid deyil",
            "Счёт не относится к этой недвижимости",
        ),
        E::UnknownDepartment => (
            "Bu növ müraciətlərlə belə şöbə işləmir",
            "Такой отдел не работает с этим видом заявлений",
        ),
        E::StepNotRequested => (
            "Bu addımın düzəldilməsi istənilməyib",
            "Исправление этого шага не запрашивалось",
        ),
        E::PreconditionRequired => (
            "Oxuduğunuz müraciətin ETag-i ilə If-Match göndərin",
            "Отправьте If-Match с ETag прочитанного заявления",
        ),
        E::TooManyRequests => (
            "Həddən artıq çox sorğu; bir az gözləyin",
            "Слишком много запросов; подождите немного",
        ),
        E::RequestTimeout => (
            "Sorğu çox uzun çəkdi; bir azdan yenidən cəhd edin",
            "Запрос выполнялся слишком долго; повторите попытку позже",
        ),
        E::DatabaseUnavailable => (
            "Verilənlər bazası əlçatan deyil; bir azdan yenidən cəhd edin",
            "База данных недоступна; повторите попытку позже",
        ),
        E::CitizenRegistryUnavailable => (
            "Vətəndaş reyestri əlçatan deyil; bir azdan yenidən cəhd edin",
            "Реестр граждан недоступен; повторите попытку позже",
        ),
        E::BillingUnavailable => (
            "Billinq sistemi əlçatan deyil; bir azdan yenidən cəhd edin",
            "Биллинговая система недоступна; повторите попытку позже",
        ),
        E::PropertyRegistryUnavailable => (
            "Daşınmaz əmlak reyestri əlçatan deyil; bir azdan yenidən cəhd edin",
            "Реестр недвижимости недоступен; повторите попытку позже",
        ),
        E::IdentityProviderUnavailable => (
            "Kimlik provayderinin açarları oxunmur; bir azdan yenidən cəhd edin",
            "Ключи поставщика удостоверений недоступны; повторите попытку позже",
        ),
        E::Internal => (
            "Bizim tərəfdə xəta baş verdi",
            "На нашей стороне произошла ошибка",
        ),
    }
}

/// A field fault's message by its `code`, in Azerbaijani and Russian; `None` for a code this
/// table does not know (its problem code's title is used then).
fn field_message(code: &str, language: Language) -> Option<&'static str> {
    let (az, ru) = match code {
        "required" => ("Bu sahə tələb olunur", "Это поле обязательно"),
        "too-long" => (
            "Çox uzundur və ya elementlər çoxdur",
            "Слишком длинно или слишком много элементов",
        ),
        "too-many" => ("Elementlər həddən artıq çoxdur", "Слишком много элементов"),
        "repeated" => ("Bu dəyər artıq göstərilib", "Это значение уже указано"),
        "control-characters" => (
            "Mətndə idarəetmə simvolları var",
            "В тексте есть управляющие символы",
        ),
        "invalid-description" => ("Təsvir düzgün deyil", "Описание недопустимо"),
        "invalid-email" => (
            "E-poçt ünvanı düzgün deyil",
            "Адрес электронной почты недопустим",
        ),
        "invalid-mobile-number" => (
            "Mobil nömrə +994-dən sonra 9 rəqəmdən (və ya 0 ilə başlayan 10 rəqəmdən) ibarətdir, məsələn 050 123 45 67",
            "Мобильный номер — 9 цифр после +994 (или 10 цифр, начиная с 0), например 050 123 45 67",
        ),
        "unknown-operator-code" => (
            "Mobil operatorun kodu məlum deyil",
            "Код мобильного оператора неизвестен",
        ),
        "invalid-subscriber-code" => (
            "Abonent kodu 10 rəqəmdən ibarətdir",
            "Абонентский код состоит из 10 цифр",
        ),
        "invalid-head-code" => ("Baş kod düzgün deyil", "Головной код недопустим"),
        "invalid-metering-point-code" => (
            "Uçot nöqtəsinin kodu düzgün deyil",
            "Код точки учёта недопустим",
        ),
        "unknown-district" => ("Belə rayon yoxdur", "Такого района нет"),
        "invalid-register-number" => (
            "Reyestr nömrəsi düzgün deyil",
            "Реестровый номер недопустим",
        ),
        "invalid-property-type" => (
            "Əmlakın növü ev və ya mənzil olmalıdır",
            "Тип недвижимости должен быть дом или квартира",
        ),
        "invalid-pin" => (
            "FİN 7 hərf və rəqəmdən ibarətdir",
            "FİN состоит из 7 букв и цифр",
        ),
        "invalid-tin" => ("VÖEN 10 rəqəmdən ibarətdir", "VÖEN состоит из 10 цифр"),
        "invalid-department" => ("Şöbə kodu düzgün deyil", "Код отдела недопустим"),
        "invalid-assignee" => ("İcraçı düzgün göstərilməyib", "Исполнитель указан неверно"),
        "invalid-reason" => ("Səbəb düzgün deyil", "Причина недопустима"),
        "invalid-url" => ("Ünvan (URL) düzgün deyil", "Адрес (URL) недопустим"),
        "invalid-secret" => ("Gizli açar düzgün deyil", "Секрет недопустим"),
        _ => return None,
    };
    match language {
        Language::Az => Some(az),
        Language::Ru => Some(ru),
        Language::En => None,
    }
}

/// Amounts in qəpik as manat with two decimals.
fn manat(qapik: i64) -> String {
    let sign = if qapik < 0 { "-" } else { "" };
    let qapik = qapik.unsigned_abs();
    format!("{sign}{}.{:02}", qapik / 100, qapik % 100)
}

/// Rewrites a problem document (its JSON) in `language`: the title, the detail and the
/// fields' messages. English is left as the code wrote it, with its particulars.
pub fn translate_problem(problem: &mut Value, language: Language) {
    if language == Language::En {
        return;
    }
    let Some(code) = problem["code"].as_str().and_then(ErrorCode::parse) else {
        return;
    };
    let title = problem_title(code, language);
    let mut fields = Vec::new();
    // `get_mut`, not `[]`: indexing a map for writing inserts a `null` where the key is absent.
    if let Some(errors) = problem.get_mut("errors").and_then(Value::as_array_mut) {
        for error in errors {
            let field_code = error["code"].as_str().unwrap_or_default().to_owned();
            let message = field_message(&field_code, language).unwrap_or_else(|| {
                // A problem code used at a field (a refusal naming its field).
                ErrorCode::parse(&field_code).map_or(title, |e| problem_title(e, language))
            });
            error["message"] = Value::from(message);
            fields.push((
                error["field"].as_str().unwrap_or_default().to_owned(),
                message,
            ));
        }
    }
    let detail = match code {
        ErrorCode::DebtOutstanding => problem["debt"]["amount_qapik"].as_i64().map(|q| {
            match language {
                Language::Az => format!(
                    "Hesab üzrə {} AZN ödənilməmiş borc var; müraciətdən əvvəl onu ödəyin",
                    manat(q)
                ),
                _ => format!(
                    "По счёту есть неоплаченный долг {} AZN; оплатите его перед подачей заявления",
                    manat(q)
                ),
            }
        }),
        ErrorCode::ApplicationIncomplete => {
            let steps: Vec<&str> = problem["missing_steps"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            (!steps.is_empty()).then(|| format!("{title}: {}", steps.join(", ")))
        }
        ErrorCode::OpenApplicationExists => problem["open_application"]
            .as_str()
            .map(|number| format!("{title}: {number}")),
        _ => match fields.as_slice() {
            [(field, message)] if !field.is_empty() => Some(format!("{field}: {message}")),
            [_, _, ..] => Some(match language {
                Language::Az => format!("{} sahə düzgün deyil", fields.len()),
                _ => format!("Неверно заполнено полей: {}", fields.len()),
            }),
            _ => None,
        },
    };
    problem["title"] = Value::from(title);
    problem["detail"] = Value::from(detail.unwrap_or_else(|| title.to_owned()));
}

/// Middleware: every problem answer in the caller's language, saying which (`Content-Language`),
/// and that it varies by `Accept-Language`.
pub async fn localize_problems(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let language = requested(request.headers());
    // The inner middlewares answer their refusals as responses (`request.error_response`), so
    // they are translated here; an `Err` (CORS's own) passes untranslated. The request must not
    // be cloned before routing, which needs it alone.
    let response = next.call(request).await?.map_into_boxed_body();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == crate::problem::PROBLEM_CONTENT_TYPE.as_bytes());
    if !is_problem {
        return Ok(response);
    }
    let (http_request, http_response) = response.into_parts();
    let (http_response, body) = http_response.into_parts();
    // Problems are small (the fields at fault at most); one that cannot be read is passed on.
    let bytes = actix_web::body::to_bytes_limited(body, 1024 * 1024)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let translated = match serde_json::from_slice::<Value>(&bytes) {
        Ok(mut problem) => {
            translate_problem(&mut problem, language);
            serde_json::to_vec(&problem).unwrap_or_else(|_| bytes.to_vec())
        }
        Err(_) => bytes.to_vec(),
    };
    let mut http_response = http_response.set_body(BoxBody::new(translated));
    let headers = http_response.headers_mut();
    headers.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(language.as_str()),
    );
    // One Vary header naming everything (CORS's names come first), not a second one beside it.
    let vary: Vec<String> = headers
        .get_all(header::VARY)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty() && !name.eq_ignore_ascii_case("accept-language"))
        .chain(std::iter::once("Accept-Language".to_owned()))
        .collect();
    if let Ok(value) = HeaderValue::from_str(&vary.join(", ")) {
        headers.insert(header::VARY, value);
    }
    Ok(ServiceResponse::new(http_request, http_response))
}

/// docs/ERRORS.md: every problem `code` with its HTTP status, `type` and meaning (a test fails
/// when the file is stale; `UPDATE_DOCS=1 cargo test error_catalogue` writes it). Here rather
/// than beside `ErrorCode`, so that `problem` does not depend on the translations.
pub fn error_catalogue() -> String {
    let mut text = String::from(
        "# Error codes\n\n\
         Every error is an RFC 9457 problem (`application/problem+json`) with a stable `code`; \
         its `type` is `urn:azerisiq:eservices:problem:<code>`, its `title` the meaning below, and \
         `errors` lists the fields at fault where there are any. Generated from `ErrorCode` in \
         `api/src/problem.rs` (titles in `api/src/translations.rs`): a client may rely on a code's meaning and status; new codes may be \
         added (docs/VERSIONING.md).\n\n\
         The `title` and `detail` come in the language `Accept-Language` asks for: Azerbaijani \
         (the default), English or Russian (`api/src/translations.rs`).\n\n\
         | code | HTTP status | meaning | Azərbaycanca | По-русски |\n|---|---|---|---|---|\n",
    );
    for code in ErrorCode::ALL {
        let status = code.status();
        text.push_str(&format!(
            "| `{}` | {} {} | {} | {} | {} |\n",
            code.as_str(),
            status.as_u16(),
            status.canonical_reason().unwrap_or_default(),
            code.title(),
            problem_title(*code, domain::notifications::Language::Az),
            problem_title(*code, domain::notifications::Language::Ru),
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_code_and_status_has_three_different_texts() {
        for code in ErrorCode::ALL {
            let texts: Vec<&str> = Language::ALL
                .iter()
                .map(|l| problem_title(*code, *l))
                .collect();
            assert!(texts.iter().all(|t| !t.is_empty()), "{code}");
            assert!(
                texts[0] != texts[1] && texts[1] != texts[2],
                "{code}: {texts:?}"
            );
        }
        for status in Status::ALL {
            let texts: Vec<&str> = Language::ALL
                .iter()
                .map(|l| status_label(status, *l))
                .collect();
            assert!(texts[0] != texts[1] && texts[1] != texts[2], "{status:?}");
        }
    }

    #[test]
    fn a_problem_is_translated_with_its_particulars_and_its_code_kept() {
        let mut debt = json!({"type": "urn:azerisiq:eservices:problem:debt-outstanding", "title": "The account has an unpaid debt",
            "status": 422, "detail": "the account has an unpaid debt of 4523.70 AZN; pay it before applying", "code": "debt-outstanding",
            "errors": [{"field": "account.subscriber_code", "code": "debt-outstanding", "message": "…"}],
            "debt": {"amount_qapik": 452370, "currency": "AZN", "as_of": "2026-11-01T00:00:00Z"}});
        let english = debt.clone();
        translate_problem(&mut debt.clone(), Language::En);
        let mut unchanged = english.clone();
        translate_problem(&mut unchanged, Language::En);
        assert_eq!(unchanged, english);
        translate_problem(&mut debt, Language::Az);
        assert_eq!(debt["code"], json!("debt-outstanding"));
        assert_eq!(debt["title"], json!("Hesab üzrə ödənilməmiş borc var"));
        assert_eq!(
            debt["detail"],
            json!("Hesab üzrə 4523.70 AZN ödənilməmiş borc var; müraciətdən əvvəl onu ödəyin")
        );
        assert_eq!(
            debt["errors"][0]["message"],
            json!("Hesab üzrə ödənilməmiş borc var")
        );

        let mut fields = json!({"code": "validation-failed", "title": "Some fields are not valid", "detail": "2 fields are not valid",
            "errors": [{"field": "contact.email", "code": "invalid-email", "message": "not an e-mail address"},
                       {"field": "pin", "code": "something-new", "message": "new"}]});
        translate_problem(&mut fields, Language::Ru);
        assert_eq!(fields["detail"], json!("Неверно заполнено полей: 2"));
        assert_eq!(
            fields["errors"][0]["message"],
            json!("Адрес электронной почты недопустим")
        );
        assert_eq!(
            fields["errors"][1]["message"],
            json!("Некоторые поля заполнены неверно"),
            "an unknown field code gets the problem's title"
        );

        let mut unknown = json!({"code": "not-a-code", "title": "x", "detail": "y"});
        translate_problem(&mut unknown, Language::Az);
        assert_eq!(unknown["title"], json!("x"), "left alone");

        let mut plain = json!({"code": "forbidden-role", "title": "Your role may not use this operation", "detail": "x", "status": 403});
        translate_problem(&mut plain, Language::Az);
        assert!(
            plain.get("errors").is_none(),
            "no field appears that was not there: {plain}"
        );
    }

    #[test]
    fn manat_has_two_decimals() {
        assert_eq!(manat(452_370), "4523.70");
        assert_eq!(manat(5), "0.05");
        assert_eq!(manat(-120), "-1.20");
    }
}
