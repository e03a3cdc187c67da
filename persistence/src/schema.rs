//! The tables, for diesel. Written by hand to match both migration folders; the migration test
//! checks that every table here exists on both backends.
//!
//! Times are `Timestamp` (UTC without a zone) because that is the one timestamp type both
//! backends share through `MultiConnection`; conversion to and from `DateTime<Utc>` happens in
//! the row types.

diesel::table! {
    citizens (pin) {
        pin -> Text,
        first_name -> Text,
        last_name -> Text,
        patronymic -> Nullable<Text>,
        birth_date -> Date,
        registered_address -> Text,
    }
}

diesel::table! {
    businesses (tin) {
        tin -> Text,
        name -> Text,
    }
}

diesel::table! {
    business_representatives (tin, pin) {
        tin -> Text,
        pin -> Text,
    }
}

diesel::table! {
    subscriber_accounts (code) {
        code -> Text,
        holder_pin -> Text,
        holder_first_name -> Text,
        holder_last_name -> Text,
        address -> Text,
        district_code -> Text,
        property_registry_number -> Nullable<Text>,
        debt_qapik -> BigInt,
        debt_as_of -> Timestamp,
    }
}

diesel::table! {
    head_codes (code) {
        code -> Text,
        tin -> Text,
        contract_name -> Text,
        address -> Text,
        district_code -> Text,
    }
}

diesel::table! {
    metering_points (code) {
        code -> Text,
        head_code -> Text,
        address -> Text,
        meter_number -> Text,
    }
}

diesel::table! {
    properties (id) {
        id -> BigInt,
        district_code -> Text,
        registry_number -> Text,
        registration_number -> Text,
        property_type -> Text,
        address -> Text,
    }
}

diesel::table! {
    property_owners (property_id, pin) {
        property_id -> BigInt,
        pin -> Text,
    }
}

diesel::table! {
    departments (code) {
        code -> Text,
        name -> Text,
        kind -> Text,
    }
}

diesel::table! {
    department_districts (department_code, district_code) {
        department_code -> Text,
        district_code -> Text,
    }
}

diesel::table! {
    /// SQLite's counters of application numbers (PostgreSQL: `next_application_number`).
    application_number_sequences (prefix, year) {
        prefix -> Text,
        year -> Integer,
        last_value -> BigInt,
    }
}

diesel::table! {
    applications (id) {
        id -> BigInt,
        number -> Text,
        kind -> Text,
        status -> Text,
        applicant_pin -> Text,
        applicant_tin -> Nullable<Text>,
        login_method -> Text,
        subscriber_type -> Nullable<Text>,
        subscriber_code -> Nullable<Text>,
        head_code -> Nullable<Text>,
        metering_point_code -> Nullable<Text>,
        damage_description -> Nullable<Text>,
        change_variant -> Nullable<Text>,
        property_district_code -> Nullable<Text>,
        property_registry_number -> Nullable<Text>,
        property_registration_number -> Nullable<Text>,
        property_type -> Nullable<Text>,
        debt_qapik -> Nullable<BigInt>,
        debt_as_of -> Nullable<Timestamp>,
        debt_checked_at -> Nullable<Timestamp>,
        mobile_numbers -> Nullable<Text>,
        email -> Nullable<Text>,
        open_target -> Nullable<Text>,
        district_code -> Nullable<Text>,
        department_code -> Nullable<Text>,
        assignee -> Nullable<Text>,
        due_at -> Nullable<Timestamp>,
        visit_date -> Nullable<Date>,
        visit_from -> Nullable<Time>,
        visit_to -> Nullable<Time>,
        damage_found -> Nullable<Bool>,
        damage_cause -> Nullable<Text>,
        act_number -> Nullable<Text>,
        meter_readings -> Nullable<Text>,
        result_text -> Nullable<Text>,
        rejection_reason -> Nullable<Text>,
        correction_steps -> Nullable<Text>,
        correction_request -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        submitted_at -> Nullable<Timestamp>,
        version -> BigInt,
        language -> Text,
    }
}

diesel::table! {
    application_timeline (id) {
        id -> BigInt,
        application_id -> BigInt,
        at -> Timestamp,
        actor_id -> Text,
        actor_role -> Text,
        action -> Text,
        from_status -> Nullable<Text>,
        to_status -> Text,
        comment -> Nullable<Text>,
    }
}

diesel::table! {
    application_documents (id) {
        id -> BigInt,
        application_id -> BigInt,
        kind -> Text,
        file_name -> Text,
        content_type -> Text,
        content -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_subscriptions (id) {
        id -> BigInt,
        url -> Text,
        event_types -> Text,
        secret -> Text,
        description -> Nullable<Text>,
        active -> Bool,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    notification_events (id) {
        id -> BigInt,
        public_id -> Text,
        application_id -> BigInt,
        event_type -> Text,
        occurred_at -> Timestamp,
        language -> Text,
        mobile -> Nullable<Text>,
        email -> Nullable<Text>,
        facts -> Text,
    }
}

diesel::table! {
    outbox_messages (id) {
        id -> BigInt,
        event_id -> BigInt,
        channel -> Text,
        recipient -> Text,
        subscription_id -> Nullable<BigInt>,
        fallback_of -> Nullable<BigInt>,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_by -> Nullable<Text>,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        provider_reference -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    outbox_attempts (id) {
        id -> BigInt,
        message_id -> BigInt,
        attempt -> Integer,
        at -> Timestamp,
        outcome -> Text,
        detail -> Nullable<Text>,
        worker -> Text,
    }
}

diesel::table! {
    personal_data_reads (id) {
        id -> BigInt,
        at -> Timestamp,
        reader_kind -> Text,
        reader_id -> Text,
        on_behalf_of -> Nullable<Text>,
        subject -> Text,
        registry -> Text,
        data -> Text,
        purpose -> Text,
    }
}

diesel::table! {
    delegated_calls (id) {
        id -> BigInt,
        at -> Timestamp,
        client_id -> Text,
        applicant_pin -> Text,
        applicant_tin -> Nullable<Text>,
        login_method -> Text,
        method -> Text,
        path -> Text,
    }
}

diesel::table! {
    idempotency_keys (owner, idempotency_key) {
        owner -> Text,
        idempotency_key -> Text,
        request_hash -> Text,
        fence -> Text,
        locked_until -> Timestamp,
        committed -> Bool,
        response_status -> Nullable<Integer>,
        response_headers -> Nullable<Text>,
        response_body -> Nullable<Binary>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(notification_events -> applications (application_id));
diesel::joinable!(outbox_messages -> notification_events (event_id));
diesel::joinable!(outbox_messages -> webhook_subscriptions (subscription_id));
diesel::joinable!(outbox_attempts -> outbox_messages (message_id));
diesel::joinable!(application_timeline -> applications (application_id));
diesel::joinable!(application_documents -> applications (application_id));
diesel::joinable!(metering_points -> head_codes (head_code));
diesel::joinable!(property_owners -> properties (property_id));
diesel::joinable!(department_districts -> departments (department_code));

diesel::table! {
    /// Submitted applications by department, kind and status, kept by triggers; each database
    /// connection adds to a slot of its own (PostgreSQL; SQLite keeps slot 0): sum the slots.
    application_counts (department_code, kind, status, slot) {
        department_code -> Text,
        kind -> Text,
        status -> Text,
        slot -> SmallInt,
        count -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    citizens,
    businesses,
    business_representatives,
    subscriber_accounts,
    head_codes,
    metering_points,
    properties,
    property_owners,
    departments,
    department_districts,
    application_number_sequences,
    applications,
    application_timeline,
    application_documents,
    webhook_subscriptions,
    notification_events,
    outbox_messages,
    outbox_attempts,
    personal_data_reads,
    delegated_calls,
    idempotency_keys,
    application_counts,
);

/// Every table, for checks that walk them all (the storage tests check each exists after migrating).
/// `application_number_sequences` is SQLite's alone (PostgreSQL gives numbers from sequences).
pub const TABLES: [&str; 21] = [
    "citizens",
    "businesses",
    "business_representatives",
    "subscriber_accounts",
    "head_codes",
    "metering_points",
    "properties",
    "property_owners",
    "departments",
    "department_districts",
    "applications",
    "application_timeline",
    "application_documents",
    "webhook_subscriptions",
    "notification_events",
    "outbox_messages",
    "outbox_attempts",
    "personal_data_reads",
    "delegated_calls",
    "idempotency_keys",
    "application_counts",
];
